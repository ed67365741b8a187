"""The operator's tools on a data directory: `rewinddb verify`, `snapshot` and `log`.

    rewinddb verify --data-dir D             every record (CRC, LSN order, hash chain) and
                                             every snapshot against a replay; exit 1 and the
                                             exact place of the first problem if any
    rewinddb verify --data-dir D --digest HEX --lsn N
                                             does the log up to LSN N still have that digest?
    rewinddb snapshot --data-dir D [storage settings]
                                             write a snapshot now (the server must be stopped)
    rewinddb log --data-dir D [--from LSN] [--table T] [--json]
                                             print the log's events, table names as of each record

`verify` and `log` only read (`engine.inspection`), so they may run beside a server;
`snapshot` opens the database like the server does, so it needs the directory's lock.
Output goes to stdout; diagnostics to stderr (through logging); exit status 0 means
success, 1 a problem found or an error.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
from typing import TextIO

from engine.database import Database, DataDirectoryLocked, StorageConfig
from engine.inspection import LogEntry, read_entries, verify_database
from engine.recovery import RecoveryError
from engine.storage.log import LogCorruption
from engine.storage.verify import VerifyReport, verify_digest
from server import config as cfg
from server.app import storage_config


def _data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("REWINDDB_DATA_DIR", "./rewinddb-data"),
                        help="data directory (REWINDDB_DATA_DIR; default ./rewinddb-data)")


def add_tool_commands(commands: argparse._SubParsersAction) -> None:
    verify = commands.add_parser("verify", help="check the log and the snapshots of a data directory")
    _data_dir_argument(verify)
    verify.add_argument("--digest", help="with --lsn: check that the log up to that LSN has this digest (hex)")
    verify.add_argument("--lsn", type=int, help="with --digest: the LSN the digest was taken at")
    snapshot = commands.add_parser(
        "snapshot", help="write a snapshot of a stopped server's data directory",
        description="Open the data directory as the server would (its storage settings come from the "
                    "same flags, REWINDDB_* variables and --config file as `rewinddb serve`'s), write a "
                    "snapshot of the state at its last LSN, and close it.")
    cfg.add_arguments(snapshot, tuple(s for s in cfg.SETTINGS if s.section == "storage"))
    log = commands.add_parser("log", help="print the events in the log")
    _data_dir_argument(log)
    log.add_argument("--from", dest="from_lsn", type=int, default=1, help="first LSN to print (default 1)")
    log.add_argument("--table", help="only events of this table (name as of each record)")
    log.add_argument("--json", action="store_true", help="one JSON object per record")


def run_tool(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.command == "verify":
        if (args.digest is None) != (args.lsn is None):
            print("rewinddb verify: --digest and --lsn go together", file=sys.stderr)
            return 2
        if args.digest is not None:
            return _verify_digest(args.data_dir, args.lsn, args.digest, out)
        return _verify(args.data_dir, out)
    if args.command == "snapshot":
        try:
            config = cfg.load(args)
        except cfg.ConfigError as e:
            print(f"rewinddb snapshot: {e}", file=sys.stderr)
            return 2
        return _snapshot(config.data_dir, storage_config(config), out)
    if args.command == "log":
        return _log(args.data_dir, args.from_lsn, args.table, args.json, out)
    return 2


def _time(us: int | None) -> str:
    if us is None:
        return "-"
    return dt.datetime.fromtimestamp(us // 1_000_000, dt.timezone.utc).replace(microsecond=us % 1_000_000).isoformat()


def _verify(data_dir: str, out: TextIO) -> int:
    report: VerifyReport = verify_database(data_dir)
    print(f"log:       {report.directory}", file=out)
    print(f"segments:  {len(report.segments)}", file=out)
    print(f"records:   {report.records}", file=out)
    print(f"first:     LSN {report.first_lsn} at {_time(report.first_commit_time_us)}", file=out)
    print(f"last:      LSN {report.last_lsn} at {_time(report.last_commit_time_us)}", file=out)
    print(f"digest:    {report.digest} (after LSN {report.last_lsn})", file=out)
    for check in report.checks:
        print(f"{'ok' if check.ok else 'FAILED'}: {check.name}: {check.detail}", file=out)
    if report.problem is not None:
        where = report.problem_path or report.directory
        offset = f": offset {report.problem_offset}" if report.problem_offset is not None else ""
        print(f"PROBLEM: {where}{offset}: {report.problem}", file=out)
    print("verify: ok" if report.ok else "verify: FAILED", file=out)
    return 0 if report.ok else 1


def _verify_digest(data_dir: str, lsn: int, digest: str, out: TextIO) -> int:
    ok = verify_digest(os.path.join(data_dir, "log"), lsn, digest.strip().lower())
    if ok:
        print(f"ok: the log up to LSN {lsn} has digest {digest}", file=out)
        return 0
    print(f"MISMATCH: the log up to LSN {lsn} does not have digest {digest} (or is damaged before it; "
          f"run `rewinddb verify --data-dir {data_dir}`)", file=out)
    return 1


def _snapshot(data_dir: str, storage: StorageConfig, out: TextIO) -> int:
    try:
        db = Database.open(data_dir, storage)
    except (DataDirectoryLocked, LogCorruption, RecoveryError) as exc:
        print(f"rewinddb snapshot: {exc}", file=sys.stderr)
        return 1

    async def take() -> None:
        try:
            info = await db.checkpoint()
            if info is None:
                print(f"the newest snapshot is already as of LSN {db.state.lsn}", file=out)
            else:
                print(f"snapshot at LSN {info.lsn}: {info.path} ({info.size} bytes)", file=out)
        finally:
            await db.close()
    asyncio.run(take())
    return 0


def _log(data_dir: str, from_lsn: int, table: str | None, as_json: bool, out: TextIO) -> int:
    try:
        for entry in read_entries(data_dir, from_lsn, table):
            if as_json:
                print(json.dumps(entry.to_json(), ensure_ascii=False), file=out)
            else:
                _print_entry(entry, out)
    except LogCorruption as exc:
        print(f"rewinddb log: the log is damaged: {exc}; run `rewinddb verify`", file=sys.stderr)
        return 1
    except BrokenPipeError:
        sys.stderr.close()      # `rewinddb log | head`: stop quietly
    return 0


def _print_entry(entry: LogEntry, out: TextIO) -> None:
    who = f"{entry.user}" + (f" ({entry.application_name})" if entry.application_name else "") + \
        (f" from {entry.client_addr}" if entry.client_addr else "")
    reason = f"  reason: {entry.reason}" if entry.reason else ""
    print(f"LSN {entry.lsn}  {entry.committed_at.isoformat()}  {who}{reason}", file=out)
    for event in entry.events:
        parts = [f"  {event.kind}"]
        if event.table is not None:
            parts.append(event.table)
        if event.rowid is not None:
            parts.append(f"rowid={event.rowid}")
        if event.values is not None:
            parts.append(json.dumps(event.values, ensure_ascii=False))
        if event.detail:
            parts.append(json.dumps(event.detail, ensure_ascii=False))
        print(" ".join(parts), file=out)
