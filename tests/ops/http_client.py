"""Test helpers for the HTTP API: a server with its HTTP port, and small http.client wrappers.

`http_server(path)` starts the real server with `--http-port` on a port that was free a moment
ago (retrying on a clash with another process). `get`/`post_sql` return (status, headers,
body); `SseReader` reads Server-Sent Events from a live stream.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, RunningServer

TIMEOUT = 60.0      # a hang fails the test instead of blocking the suite; not a measurement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer(RunningServer):
    def __init__(self, data_dir: Path, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        super().__init__(data_dir, extra_args, env)
        self.http_port = 0

    def start(self, timeout: float = 30.0) -> HttpServer:
        base_args = self.extra_args
        for attempt in range(5):
            self.http_port = free_port()
            self.extra_args = (*base_args, "--http-port", str(self.http_port))
            try:
                super().start(timeout)
                return self
            except RuntimeError as e:
                if "address already in use" not in str(e) or attempt == 4:
                    raise
            finally:
                self.extra_args = base_args
        return self

    def start_listening(self, timeout: float = 60.0) -> HttpServer:
        """Start the process and return once the HTTP API listens, before recovery ends."""
        self.http_port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        with open(self.log_path, "a") as log:
            seen = log.tell()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", "0",
                 "--http-port", str(self.http_port), "--data-dir", str(self.data_dir), *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while "HTTP API listening" not in self.log_path.read_text()[seen:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP API did not start:\n{self.log_path.read_text()}")
            time.sleep(0.01)
        return self

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=TIMEOUT)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = self.connection()
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def post_sql(self, sql: str, params: list[Any] | None = None) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"sql": sql}
        if params is not None:
            body["params"] = params
        status, _, data = self.request("POST", "/v1/sql", json.dumps(body).encode(),
                                       {"content-type": "application/json"})
        return status, json.loads(data)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


class SseReader:
    """One open GET /v1/changes stream."""

    def __init__(self, server: HttpServer, path: str, headers: dict[str, str] | None = None) -> None:
        self.conn = server.connection()
        self.conn.request("GET", path, headers=headers or {})
        self.response = self.conn.getresponse()

    def next_event(self) -> dict[str, str]:
        """The next event's fields (id, data, event); comments and retry lines are skipped."""
        fields: dict[str, str] = {}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("the stream ended")
            text = line.decode().rstrip("\n")
            if text == "":
                if "data" in fields:
                    return fields
                fields = {}
                continue
            if text.startswith(":"):
                continue
            name, _, value = text.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def changes(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for _ in range(count):
            event = self.next_event()
            assert "event" not in event, event
            out.append((event["id"], json.loads(event["data"])))
        return out

    def close(self) -> None:
        self.conn.close()
