"""The `rewinddb` command line.

    rewinddb serve [--config FILE] [--host H] [--port P] [--data-dir D] [--http-port N] ...
    rewinddb shell [--data-dir D | --connect DSN]
    rewinddb backup [--data-dir D] DESTINATION
    rewinddb cert [--out-dir D] [--host NAME ...]
    rewinddb verify --data-dir D            check every record and every snapshot
    rewinddb verify --digest HEX --lsn N    prove the log up to N still has that digest
    rewinddb snapshot --data-dir D          write a snapshot now (server stopped)
    rewinddb log --data-dir D [--from LSN] [--table T] [--json]   print the events
    rewinddb restore --data-dir D --to <timestamp|lsn> --into NEWDIR

`serve` takes every setting of `server.config.SETTINGS` as a flag, a REWINDDB_* environment
variable or a key of the TOML file (`--config` / REWINDDB_CONFIG), in that order of precedence;
`rewinddb serve --help` lists them all. `shell` is the SQL shell
(`server.shell`); `backup` copies the log while the server runs (`server.backup`); `restore`
makes a new data directory equal to D at a point in its history (`engine.rewind.restore`,
on a backup copy of D's log); the operator's tools `verify`, `snapshot` and `log` are in
`server/tools.py`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from engine.database import DataDirectoryLocked
from engine.recovery import RecoveryError
from engine.storage.log import LogCorruption
from server import config as cfg
from server.tools import add_tool_commands, run_tool

log = logging.getLogger("rewinddb")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rewinddb", description="An event-sourced database that speaks PostgreSQL.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the server",
        description="Run the server. Every setting can also be given as a REWINDDB_* environment variable "
                    "or as a key in the TOML file named by --config; flags win over the environment, "
                    "which wins over the file.")
    cfg.add_arguments(serve)
    from server.shell import add_arguments as add_shell_arguments
    add_shell_arguments(commands.add_parser(
        "shell", help="interactive SQL shell",
        description="An interactive SQL shell on a data directory (opened in-process) or a running server. "
                    "Reads statements from standard input when it is not a terminal."))
    from server.backup import add_arguments as add_backup_arguments
    add_backup_arguments(commands.add_parser(
        "backup", help="copy the log into a new data directory, safely while the server runs",
        description="Copy a data directory's log (every complete record) into a new directory, "
                    "which a server can then open. Safe while the server is running."))
    cert = commands.add_parser("cert", help="make a self-signed TLS certificate and key for local use")
    cert.add_argument("--out-dir", default=".", help="where to write server.crt and server.key (default .)")
    cert.add_argument("--host", action="append", dest="hosts",
                      help="a name or address the certificate is for (repeatable; default localhost, "
                           "127.0.0.1, ::1)")
    add_tool_commands(commands)
    restore = commands.add_parser(
        "restore", help="a new database equal to one at a point in its history",
        description="Write a new data directory whose log is D's log up to a point (same records, LSNs and "
                    "digest), verify it, and print its last transaction and digest. D may be in use by a server.")
    restore.add_argument("--data-dir", required=True, help="the source data directory")
    restore.add_argument("--to", required=True, metavar="POINT",
                         help="a transaction number (123 or tx:123) or a timestamp (UTC unless it has an offset)")
    restore.add_argument("--into", required=True, metavar="NEWDIR", help="the new data directory (must not exist or be empty)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "shell":
        from server.shell import main as shell_main
        return shell_main(args)
    if args.command == "backup":
        from server.backup import main as backup_main
        return backup_main(args)
    if args.command == "cert":
        from server.tls import make_self_signed
        cert_path, key_path = make_self_signed(args.out_dir, args.hosts or ["localhost", "127.0.0.1", "::1"])
        print(f"wrote {cert_path} and {key_path}")
        return 0
    if args.command == "restore":
        return restore(args)
    return run_tool(args)


def restore(args: argparse.Namespace) -> int:
    """Back up D's log (safe while a server runs), then write its prefix up to the point."""
    import shutil
    import tempfile
    from engine.errors import SqlError
    from engine.rewind.restore import RestoreError, describe, parse_target, restore as restore_to
    from server.backup import BackupError, backup
    scratch = tempfile.mkdtemp(prefix=".rewinddb-restore-", dir=os.path.dirname(os.path.abspath(args.into)) or ".")
    try:
        point = parse_target(args.to)
        backup(args.data_dir, os.path.join(scratch, "copy"))
        result = restore_to(os.path.join(scratch, "copy", "log"), point, args.into)
    except (RestoreError, BackupError, SqlError, LogCorruption, OSError) as e:
        print(f"rewinddb restore: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(describe(result))
    return 0


def serve(args: argparse.Namespace) -> int:
    from server import logs
    from server.app import Server
    try:
        config = cfg.load(args)
    except cfg.ConfigError as e:
        print(f"rewinddb: {e}", file=sys.stderr)
        return 2
    logs.setup(config.log_format, config.log_level)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    try:
        return asyncio.run(Server(config).run())
    except DataDirectoryLocked as e:
        log.error("%s", e)
        return 1
    except LogCorruption as e:
        log.error("refusing to start: the log is damaged: %s; run `rewinddb verify`", e)
        return 1
    except RecoveryError as e:
        log.error("refusing to start: %s", e)
        return 1
    except (OSError, ValueError) as e:
        log.error("could not start: %s", e)
        return 1
