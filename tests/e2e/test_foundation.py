"""The walking skeleton end to end: psql and psycopg against the real server, restarts,
SIGKILL with a ledger of acknowledged commits, and one bad client among good ones."""
from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import RunningServer

HERE = Path(__file__).resolve().parent


def test_psql_session_prints_what_postgresql_prints(server):
    out = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                          "-f", "tests/e2e/psql_session.sql"], capture_output=True, text=True, timeout=60,
                         cwd=HERE.parent.parent)
    expected = (HERE / "psql_session.out").read_text()
    assert out.stdout + out.stderr == expected


def test_psycopg_parameters_and_transactions(server):
    with psycopg.connect(server.dsn) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) DEFAULT 0)")
        conn.commit()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO accounts (id, owner, balance) VALUES (%s, %s, %s)",
                            [(i, f"owner{i}", i * 10) for i in range(1, 21)])
        conn.commit()
        assert conn.execute("SELECT count(*), sum(balance) FROM accounts").fetchone() == (20, 2100)
        conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (5, 1))
        conn.rollback()
        assert conn.execute("SELECT balance FROM accounts WHERE id = 1").fetchone()[0] == 10
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO accounts (id, owner) VALUES (1, 'dup')")
        conn.rollback()
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute("INSERT INTO accounts (id) VALUES (99)")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        rows = conn.execute("SELECT id, owner FROM accounts WHERE id BETWEEN %s AND %s ORDER BY id DESC LIMIT 2",
                            (3, 9)).fetchall()
        assert rows == [(9, "owner9"), (8, "owner8")]


def test_errors_carry_their_sqlstate(server):
    cases = {
        "SELECT * FROM no_such_table": "42P01",
        "SELECT no_such_column": "42703",
        "SELEC 1": "42601",
        "SELECT 1/0": "22012",
        "SELECT 'x'::int": "22P02",
        "SELECT 1 + 'a'::text": "42883",
    }
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for sql, sqlstate in cases.items():
            with pytest.raises(psycopg.Error) as info:
                conn.execute(sql)
            assert info.value.sqlstate == sqlstate, sql


def test_restart_keeps_every_commit(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)")
        for i in range(50):
            conn.execute("INSERT INTO kv VALUES (%s, %s)", (i, str(i)))
        conn.execute("UPDATE kv SET v = 'changed' WHERE k < 10")
        conn.execute("DELETE FROM kv WHERE k >= 40")
    assert fresh_server.stop() == 0
    fresh_server.start()
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM kv").fetchone()[0] == 40
        assert conn.execute("SELECT count(*) FROM kv WHERE v = 'changed'").fetchone()[0] == 10
        conn.execute("INSERT INTO kv VALUES (100, 'after restart')")
        assert conn.execute("SELECT v FROM kv WHERE k = 100").fetchone()[0] == "after restart"


def test_sigkill_loses_no_acknowledged_commit(fresh_server):
    """Writers commit two-table transactions while the server is killed; every commit that was
    acknowledged is there after restart, and no transaction is half there."""
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int PRIMARY KEY, writer int)")
        conn.execute("CREATE TABLE b (id int PRIMARY KEY, writer int)")
    acknowledged: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            with psycopg.connect(fresh_server.dsn) as conn:
                for i in range(100000):
                    key = n * 1_000_000 + i
                    conn.execute("INSERT INTO a VALUES (%s, %s)", (key, n))
                    conn.execute("INSERT INTO b VALUES (%s, %s)", (key, n))
                    conn.commit()
                    with lock:
                        acknowledged.append(key)
        except psycopg.Error:
            pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    fresh_server.kill()
    for t in threads:
        t.join(10)
    with lock:
        acked = set(acknowledged)
    assert len(acked) > 10
    fresh_server.start()
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        in_a = {r[0] for r in conn.execute("SELECT id FROM a")}
        in_b = {r[0] for r in conn.execute("SELECT id FROM b")}
    assert acked <= in_a
    assert in_a == in_b


def test_second_server_on_same_data_directory_refuses(fresh_server):
    second = RunningServer(fresh_server.data_dir)
    with pytest.raises(RuntimeError, match="in use by another rewinddb process"):
        second.start(timeout=15)


def test_sigterm_exits_cleanly(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
    assert fresh_server.stop() == 0
    assert "stopped" in fresh_server.log()


def test_malformed_message_closes_only_that_connection(server):
    with psycopg.connect(server.dsn, autocommit=True) as good:
        bad = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        startup = b"user\x00postgres\x00\x00"
        bad.sendall(struct.pack("!ii", 8 + len(startup), 196608) + startup)
        time.sleep(0.2)
        bad.recv(65536)
        bad.sendall(b"Q" + struct.pack("!i", 1 << 30))       # a 1 GiB query: refused at the header
        reply = b""
        while True:
            chunk = bad.recv(65536)
            if not chunk:
                break
            reply += chunk
        bad.close()
        assert reply[:1] == b"E" and b"08P01" in reply
        assert good.execute("SELECT 41 + 1").fetchone()[0] == 42
