"""A throwaway local PostgreSQL 15 for recording golden files and for same-run benchmarks.

`LocalPostgres` runs initdb as the `postgres` user (PostgreSQL refuses to run as root) with
the C.UTF-8 locale and UTF8 encoding, starts the server on a free port on 127.0.0.1 with
trust authentication, and removes everything on stop. It is never used by the normal test
run: golden tests compare against committed files.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bindir() -> Path:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.bindir = pg_bindir()
        self.port = free_port()
        self.settings = settings or {}
        self.dir = Path(tempfile.mkdtemp(prefix="rewinddb-pg-"))
        self.data = self.dir / "data"

    def _as_postgres(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, check=True, capture_output=True, text=True, **kw)

    def start(self) -> LocalPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                           "--locale=C.UTF-8", "--encoding=UTF8", "-A", "trust"])
        options = " ".join(f"-c {k}={v}" for k, v in {"listen_addresses": "127.0.0.1",
                                                        "unix_socket_directories": str(self.dir),
                                                        "fsync": "on", "timezone": "UTC",
                                                        **self.settings}.items())
        self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                           "-o", f"-p {self.port} {options}", "-w", "start"])
        return self

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def stop(self) -> None:
        try:
            self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(port)
