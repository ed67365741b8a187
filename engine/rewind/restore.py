"""Restore and fork: a new database equal to an existing one at a point in its history.

`restore(source_log, point, target_dir)` writes a new data directory whose log is the
source log's prefix up to the point: the same records (payloads and commit times) with the
same LSNs, so the new log's hash chain and digest at that point are the source's, history
and audit trail included. Nothing is re-derived: the new database is what replaying those
records gives, exactly what `FOR SYSTEM_TIME AS OF` the point shows on the source.

`source_log` is a log directory no server is using: `rewinddb restore` first takes a clean
copy of the live data directory's log with `rewinddb backup`'s copier (server/backup.py),
since opening a log runs recovery on it.

Verification after writing: the new log's chain value at the last LSN equals the source's,
`verify_log` finds the new log intact, and the new directory opens (a full replay).

Data flow: rewinddb restore (server/cli.py: backup, then restore) -> SegmentedLog (the
copy) -> SegmentedLog (target) -> Database.open(target).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.rewind.points import Point, parse_point
from engine.storage.log import SegmentedLog
from engine.storage.verify import verify_log
from engine.types import UTC

FLUSH_EVERY = 4096            # records appended between fsyncs of the new log


class RestoreError(Exception):
    """The restore cannot be done as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class RestoreResult:
    lsn: int                  # the last transaction the new database holds
    commit_time_us: int       # its commit time (0 for an empty database)
    digest: str               # the hash-chain value after it, hex (the source's at the same LSN)


def parse_target(text: str) -> Point:
    """--to: a transaction number (`123` or `tx:123`) or a timestamp (UTC unless it says otherwise)."""
    stripped = text.strip()
    if stripped.isdigit():
        return Point(lsn=int(stripped))
    return parse_point(stripped, UTC)


def restore(source_log: str | os.PathLike[str], point: Point, target_dir: str | os.PathLike[str],
            segment_size: int = 64 << 20) -> RestoreResult:
    target = Path(target_dir)
    if not Path(source_log).is_dir():
        raise RestoreError(f"{source_log} is not a log directory")
    if target.exists() and any(target.iterdir()):
        raise RestoreError(f"{target_dir} exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    try:
        source = SegmentedLog.open(source_log)
        try:
            result = _write_prefix(source, _resolve(source, point), target / "log", segment_size)
        finally:
            _close(source)
        _verify(target, result)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return result


def _resolve(log: SegmentedLog, point: Point) -> int:
    if point.lsn is not None:
        if point.lsn > log.durable_lsn:
            raise RestoreError(f"transaction {point.lsn} does not exist (the log ends at {log.durable_lsn})")
        return point.lsn
    return log.lsn_at_time(point.time_us)


def _write_prefix(source: SegmentedLog, last: int, target_log: Path, segment_size: int) -> RestoreResult:
    new = SegmentedLog.open(target_log, segment_size=segment_size)
    try:
        time_us, chain = 0, source.chain_at(0)
        for record in source.records(1, last):
            if record.lsn % FLUSH_EVERY == 0 or record.lsn == last:
                new.append_durable(record.commit_time_us, record.payload)
            else:
                new.append(record.commit_time_us, record.payload)
            time_us, chain = record.commit_time_us, record.chain
        written, digest = new.head()
        if written != last or digest != chain.hex():
            raise RestoreError(f"the new log ends at {written} with digest {digest}, "
                               f"expected {last} with {chain.hex()}")
    finally:
        _close(new)
    return RestoreResult(last, time_us, chain.hex())


def _verify(target: Path, result: RestoreResult) -> None:
    report = verify_log(target / "log")
    if not report.ok or report.last_lsn != result.lsn:
        raise RestoreError(f"the new log does not verify: {report.problem or report.last_lsn}")
    from engine.database import Database
    db = Database.open(target)
    try:
        if db.state.lsn != result.lsn:
            raise RestoreError(f"the new database replays to {db.state.lsn}, expected {result.lsn}")
    finally:
        _close(db)


def _close(closable) -> None:
    """Close a log or database from this tool's thread (no event loop is running)."""
    asyncio.run(closable.close())


def describe(result: RestoreResult) -> str:
    when = dt.datetime.fromtimestamp(result.commit_time_us / 1e6, UTC).isoformat() if result.commit_time_us else "-"
    return f"restored through transaction {result.lsn} (committed {when}); digest {result.digest}"
