"""Limits that protect the server from slow, silent or greedy clients, each a setting in
server/config.py: authentication_timeout (clients that do not log in are dropped),
idle_session_timeout and statement_timeout as server-wide defaults, query_memory_limit (53200,
and the session goes on), output_batch_rows (rows written to the client at a time, counted by
`rewinddb_output_writes_total`). The memory budget's operators are exercised one by one in
test_sql_fuzz.py; max_connections in tests/txn/test_connections.py; max_message_size and a
client that never reads its results in test_protocol_fuzz.py.
"""
from __future__ import annotations

import re
import socket
import time

import psycopg
import pytest

from tests.conftest import RunningServer
from tests.ops.http_client import HttpServer
from tests.robust import hostile as H


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection (fails on a hang)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    server = RunningServer(tmp_path_factory.mktemp("limits") / "data",
                           ("--authentication-timeout", "1", "--idle-session-timeout", "1500",
                            "--statement-timeout", "1000", "--query-memory-limit", "32MiB")).start()
    yield server
    server.kill()


def test_clients_that_do_not_log_in_are_dropped(strict_server) -> None:
    silent = H.connect(strict_server.port)
    slow = H.connect(strict_server.port)
    half = H.connect(strict_server.port)
    half.sendall(H.startup_packet()[:6])             # a startup packet that never completes
    packet = H.startup_packet()
    try:
        for byte in packet[:5]:                       # one byte every 0.4 s: never done within 1 s
            slow.sendall(bytes([byte]))
            time.sleep(0.4)
    except OSError:
        pass                                          # dropped already
    with psycopg.connect(strict_server.dsn) as ok:    # meanwhile, everyone else is served
        assert ok.execute("SELECT 1").fetchone() == (1,)
    for sock in (silent, slow, half):
        assert closed_by_server(sock) == b""          # closed without a word, as PostgreSQL does
        sock.close()
    assert strict_server.log().count("not logged in within authentication_timeout") >= 3


def test_a_client_stuck_in_scram_is_dropped(tmp_path) -> None:
    server = RunningServer(tmp_path / "data", ("--local-auth", "scram-sha-256", "--password", H.PASSWORD,
                                               "--authentication-timeout", "1")).start()
    try:
        sock = H.open_in_state(server.port, "authentication")    # AuthenticationSASL received, never answered
        assert closed_by_server(sock) == b""
        with psycopg.connect(server.dsn, password=H.PASSWORD) as ok:
            assert ok.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.kill()


def test_idle_session_timeout_is_a_server_default(strict_server) -> None:
    sock = H.open_in_state(strict_server.port, "idle")
    replies = H.check_replies(closed_by_server(sock))
    assert replies.sqlstates == ["57P05"]
    with psycopg.connect(strict_server.dsn, autocommit=True) as conn:
        assert conn.execute("SHOW idle_session_timeout").fetchone() == ("1500ms",)
        conn.execute("SET idle_session_timeout = 0")         # a session may lift it
        time.sleep(2)
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_statement_timeout_is_a_server_default(strict_server) -> None:
    with psycopg.connect(strict_server.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT count(*) FROM generate_series(1, 10000000000)")
        assert conn.execute("SELECT 3").fetchone() == (3,)


def test_a_statement_over_the_memory_budget_fails_alone(strict_server) -> None:
    with psycopg.connect(strict_server.dsn) as conn:
        conn.execute("SET statement_timeout = 0")
        with pytest.raises(psycopg.errors.OutOfMemory, match="out of memory") as info:
            conn.execute("SELECT g FROM generate_series(1, 5000000) g ORDER BY g DESC LIMIT 5")
        assert "query_memory_limit" in info.value.diag.message_detail
        conn.rollback()
        # the same shape within budget works, on the same connection
        assert conn.execute("SELECT g FROM generate_series(1, 50000) g ORDER BY g DESC LIMIT 1").fetchone() == (50000,)


def test_limits_are_settings(tmp_path) -> None:
    from server.config import SETTINGS_BY_NAME
    for name in ("max_connections", "max_message_size", "authentication_timeout", "statement_timeout",
                 "idle_session_timeout", "idle_in_transaction_session_timeout", "query_memory_limit",
                 "auth_failure_delay", "output_batch_rows", "transaction_memory_limit"):
        assert name in SETTINGS_BY_NAME, name


def _output_writes(server: HttpServer) -> int:
    status, _, body = server.get("/metrics")
    assert status == 200
    return int(re.search(r"^rewinddb_output_writes_total (\d+)$", body.decode(), re.M).group(1))


@pytest.mark.parametrize("batch_rows, fewest, most", [(10, 100, None), (None, 1, 5)])
def test_rows_reach_the_client_at_most_output_batch_rows_at_a_time(tmp_path, batch_rows, fewest, most) -> None:
    args = ("--output-batch-rows", str(batch_rows)) if batch_rows else ()
    server = HttpServer(tmp_path / "data", args).start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("SELECT 1")
            before = _output_writes(server)
            rows = conn.execute("SELECT g FROM generate_series(1, 1000) g").fetchall()
            writes = _output_writes(server) - before
            assert rows == [(g,) for g in range(1, 1001)]
            assert writes >= fewest and (most is None or writes <= most), writes
            with conn.cursor().copy("COPY (SELECT g FROM generate_series(1, 1000) g) TO STDOUT") as copy:
                assert b"".join(copy) == b"".join(b"%d\n" % g for g in range(1, 1001))
    finally:
        server.stop()
