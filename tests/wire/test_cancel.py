"""Cancel requests and statement_timeout (57014): a long query stops at its next batch, a
statement waiting for a row lock stops waiting, and the session goes on; NoticeResponse and
ParameterStatus reach the client."""
from __future__ import annotations

import asyncio
import threading
import time

import asyncpg
import psycopg
import pytest

# a billion rows to count: it only ever ends by being interrupted
LONG_QUERY = "SELECT count(*) FROM thousand a CROSS JOIN thousand b CROSS JOIN thousand c"


@pytest.fixture(scope="module")
def server(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE thousand (n int)")
        conn.execute("INSERT INTO thousand SELECT g FROM generate_series(1, 1000) g")
    return server


def cancel_later(conn: psycopg.Connection, delay: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), conn.cancel()))
    thread.start()
    return thread


def test_cancel_request_stops_a_long_query(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        thread = cancel_later(conn, 0.5)
        with pytest.raises(psycopg.errors.QueryCanceled, match="canceling statement due to user request"):
            conn.execute(LONG_QUERY)
        thread.join()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_cancel_request_stops_a_wait_for_a_row_lock(server):
    with psycopg.connect(server.dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE counters (id int PRIMARY KEY, n int)")
        setup.execute("INSERT INTO counters VALUES (1, 0)")
    with psycopg.connect(server.dsn) as holder, psycopg.connect(server.dsn) as waiter:
        holder.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
        thread = cancel_later(waiter, 0.5)
        with pytest.raises(psycopg.errors.QueryCanceled):
            waiter.execute("UPDATE counters SET n = n + 10 WHERE id = 1")
        thread.join()
        waiter.rollback()
        holder.commit()
        waiter.execute("UPDATE counters SET n = n + 10 WHERE id = 1")
        waiter.commit()
        assert waiter.execute("SELECT n FROM counters").fetchone() == (11,)


def test_statement_timeout(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '300ms'")
        with pytest.raises(psycopg.errors.QueryCanceled, match="canceling statement due to statement timeout"):
            conn.execute(LONG_QUERY)
        assert conn.execute("SELECT 2").fetchone() == (2,)
        conn.execute("CREATE TABLE slots (id int PRIMARY KEY)")
        conn.execute("INSERT INTO slots VALUES (1)")
        with psycopg.connect(server.dsn) as holder:
            holder.execute("SELECT * FROM slots WHERE id = 1 FOR UPDATE")
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                conn.execute("DELETE FROM slots WHERE id = 1")          # waits for the lock, then times out
            holder.rollback()
        conn.execute("RESET statement_timeout")
        conn.execute("DELETE FROM slots WHERE id = 1")


def test_asyncpg_timeouts_cancel_and_statement_timeout(server):
    async def main():
        conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres",
                                     server_settings={"statement_timeout": "400"})
        try:
            with pytest.raises(asyncio.TimeoutError):             # asyncpg sends a CancelRequest
                await conn.fetchval(LONG_QUERY, timeout=0.3)
            assert await conn.fetchval("SELECT 3") == 3
            with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
                await conn.fetchval(LONG_QUERY)
            statement = await conn.prepare(LONG_QUERY)
            with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
                await statement.fetchval()                        # the extended protocol too
            assert await conn.fetchval("SHOW statement_timeout") == "400ms"
        finally:
            await conn.close()
    asyncio.run(main())


def test_notices_and_parameter_status(server):
    notices = []
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append((diag.severity, diag.sqlstate, diag.message_primary)))
        conn.execute("DROP TABLE IF EXISTS never_there")
        conn.execute("COMMIT")
        assert notices == [("NOTICE", "00000", 'table "never_there" does not exist, skipping'),
                           ("WARNING", "25P01", "there is no transaction in progress")]
        conn.execute("SET application_name = 'reported'")
        assert conn.info.parameter_status("application_name") == "reported"
        conn.execute("SET TimeZone = 'Europe/Paris'")
        assert conn.info.parameter_status("TimeZone") == "Europe/Paris"
