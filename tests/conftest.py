"""Shared fixtures: the real rewinddb server, started as a subprocess on a free port.

`RunningServer` starts `python -m server serve --port 0 --http-port 0` on 127.0.0.1 (the HTTP
API off, so parallel servers never compete for its default port; tests of the HTTP API pass
their own `--http-port`) with a data directory under pytest's tmp_path, learns the port from
the "ready" log line, and can stop (SIGTERM), kill (SIGKILL) and restart the process on the
same data directory. Tests talk to it only through real clients. Its log rolls at 4 MiB
(`TEST_SEGMENT_SIZE`; a test may pass its own `--segment-size`): every segment is
preallocated, and the 64 MiB default would fill the disk when several suites run at once.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"ready to accept connections on [\d.]+:(\d+)")
TEST_SEGMENT_SIZE = "4MiB"


class RunningServer:
    def __init__(self, data_dir: Path, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 prefix: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.prefix = prefix            # a command that runs the server, e.g. ("prlimit", "--fsize=N")
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.output = ""

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def start(self, timeout: float = 30.0) -> RunningServer:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "REWINDDB_SEGMENT_SIZE": TEST_SEGMENT_SIZE, **self.env}
        log = open(self.log_path, "a")
        seen = log.tell()
        self.proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", "0",
             "--http-port", "0", "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text()[seen:]
            ready = READY.search(text)
            if ready:
                self.port = int(ready.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.02)
        raise RuntimeError(f"server did not become ready:\n{self.log_path.read_text()}")

    def stop(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def restart(self) -> RunningServer:
        if self.proc is not None:
            self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own for one test (restarts, kills, fault injection)."""
    server = RunningServer(tmp_path / "data").start()
    yield server
    if server.proc is not None:
        server.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server shared by the tests of a module."""
    server = RunningServer(tmp_path_factory.mktemp("rewinddb") / "data").start()
    yield server
    if server.proc is not None:
        server.kill()
