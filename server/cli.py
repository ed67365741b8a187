"""The `rewinddb` command line.

    rewinddb serve [--host H] [--port P] [--data-dir D]

Each setting can also come from the environment (REWINDDB_HOST, REWINDDB_PORT,
REWINDDB_DATA_DIR); a flag wins over the environment, which wins over the default.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from engine.database import DataDirectoryLocked
from engine.storage.log import LogCorruption


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rewinddb", description="An event-sourced database that speaks PostgreSQL.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=_env("REWINDDB_HOST", "127.0.0.1"),
                       help="address to listen on (REWINDDB_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=int(_env("REWINDDB_PORT", "5432")),
                       help="TCP port (REWINDDB_PORT; default 5432; 0 picks a free port)")
    serve.add_argument("--data-dir", default=_env("REWINDDB_DATA_DIR", "./rewinddb-data"),
                       help="data directory (REWINDDB_DATA_DIR; default ./rewinddb-data)")
    serve.add_argument("--max-connections", type=int, default=int(_env("REWINDDB_MAX_CONNECTIONS", "100")),
                       help="most concurrent client sessions (REWINDDB_MAX_CONNECTIONS; default 100)")
    serve.add_argument("--segment-size", type=int, default=int(_env("REWINDDB_SEGMENT_SIZE", str(64 << 20))),
                       help="log segment size in bytes (REWINDDB_SEGMENT_SIZE; default 64 MiB)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if args.command == "serve":
        return serve(args)
    return 2


def serve(args: argparse.Namespace) -> int:
    from server.app import Config, Server
    config = Config(host=args.host, port=args.port, data_dir=args.data_dir,
                    max_connections=args.max_connections, segment_size=args.segment_size)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    try:
        return asyncio.run(Server(config).run())
    except DataDirectoryLocked as e:
        logging.getLogger("rewinddb").error("%s", e)
        return 1
    except LogCorruption as e:
        logging.getLogger("rewinddb").error("refusing to start: the log is damaged: %s; run `rewinddb verify`", e)
        return 1
    except OSError as e:
        logging.getLogger("rewinddb").error("could not start: %s", e)
        return 1
