"""Shared benchmark plumbing: start rewinddb and a local PostgreSQL 15 side by side.

Both run on this machine in the same run, so results are ratios (rewinddb / PostgreSQL),
never absolute claims. rewinddb runs as the real server process on a free port with a fresh
data directory; PostgreSQL comes from `tests.support.postgres.LocalPostgres` with default
durability (fsync on, synchronous_commit on).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from tests.conftest import RunningServer
from tests.support.postgres import LocalPostgres

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@contextlib.contextmanager
def rewinddb_server(extra_args: tuple[str, ...] = ()) -> Iterator[RunningServer]:
    root = Path(tempfile.mkdtemp(prefix="rewinddb-bench-"))
    server = RunningServer(root / "data", extra_args).start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[LocalPostgres]:
    pg = LocalPostgres().start()
    try:
        yield pg
    finally:
        pg.stop()


def machine() -> str:
    import os
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def today() -> str:
    return dt.date.today().isoformat()
