"""Connections: 500 at once hold; 10,000 connect/disconnect cycles leak neither file descriptors
nor memory (the server process's /proc counts before and after); max_connections answers 53300
and frees a slot as soon as a client leaves."""
from __future__ import annotations

import asyncio
import os
import time

import asyncpg
import psycopg
import pytest

from tests.conftest import RunningServer


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _settled_fds(pid: int, expected: int | None = None) -> int:
    """The server's fd count once the sockets of clients that just left are closed (the server
    closes them asynchronously): wait for `expected`, or for the count to stop changing."""
    count = _fds(pid)
    for _ in range(200):
        time.sleep(0.02)
        now = _fds(pid)
        if (expected is None and now == count) or now == expected:
            return now
        count = now
    return count


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def roomy_server(tmp_path):
    server = RunningServer(tmp_path / "data", ("--max-connections", "600")).start()
    yield server
    if server.proc is not None:
        server.kill()


def connect(server):
    return asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres")


async def test_500_concurrent_connections(roomy_server):
    admin = await connect(roomy_server)
    await admin.execute("CREATE TABLE seen (pid int PRIMARY KEY)")
    conns = []
    for start in range(0, 500, 50):
        conns.extend(await asyncio.gather(*(connect(roomy_server) for _ in range(50))))
    await asyncio.gather(*(c.execute("INSERT INTO seen VALUES (pg_backend_pid())") for c in conns))
    assert await admin.fetchval("SELECT count(*) FROM seen") == 500
    assert {await c.fetchval("SELECT 1") for c in conns} == {1}
    await asyncio.gather(*(c.close() for c in conns))
    assert await admin.fetchval("SELECT count(*) FROM seen") == 500
    await admin.close()


def test_connect_disconnect_cycles_leak_nothing(roomy_server):
    pid = roomy_server.proc.pid

    def cycles(n: int) -> None:
        for _ in range(n):
            with psycopg.connect(roomy_server.dsn, autocommit=True) as conn:
                conn.execute("SELECT 1")

    cycles(500)                             # warm up: caches, allocator arenas
    fds_before, rss_before = _settled_fds(pid), _rss_kib(pid)
    cycles(10_000)
    fds_after, rss_after = _settled_fds(pid, fds_before), _rss_kib(pid)
    assert fds_after == fds_before, (fds_before, fds_after)
    assert rss_after - rss_before < 16 * 1024, f"RSS grew from {rss_before} KiB to {rss_after} KiB"


def _connect_when_a_slot_frees(server) -> psycopg.Connection:
    """A client that just left frees its slot once the server has seen it go (asynchronously)."""
    for _ in range(200):
        try:
            return psycopg.connect(server.dsn)
        except psycopg.OperationalError as e:
            assert "too many clients" in str(e)
            time.sleep(0.02)
    raise AssertionError("the slot of a client that left was never freed")


def test_max_connections_is_enforced_and_slots_are_freed(tmp_path):
    server = RunningServer(tmp_path / "data", ("--max-connections", "5")).start()
    try:
        for _ in range(3):
            held = [_connect_when_a_slot_frees(server) for _ in range(5)]
            with pytest.raises(psycopg.OperationalError, match="too many clients"):
                psycopg.connect(server.dsn)
            held.pop().close()
            held.append(_connect_when_a_slot_frees(server))
            for conn in held:
                conn.close()
        with _connect_when_a_slot_frees(server) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.kill()
