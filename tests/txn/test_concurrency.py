"""Many real clients at once: no lost updates, totals kept across deadlock-prone transfers,
SKIP LOCKED queues, and the waits that end with 55P03, 57014 and 40P01.

Clients are asyncpg connections to one rewinddb server. Where PostgreSQL makes the client
retry (40001 serialization failures, 40P01 deadlocks), the clients retry, as applications
must with PostgreSQL.
"""
from __future__ import annotations

import asyncio
import random

import asyncpg
import psycopg
import pytest

LEVELS = ("read committed", "repeatable read", "serializable")
RETRY = ("40001", "40P01")


def connect(server, **kw):
    return asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres", **kw)


async def retrying(conn, level: str, body) -> int:
    """Run `body(conn)` in a transaction at `level` until it commits; returns the retries."""
    retries = 0
    while True:
        try:
            async with conn.transaction(isolation=level.replace(" ", "_")):
                await body(conn)
            return retries
        except asyncpg.PostgresError as e:
            if e.sqlstate not in RETRY:
                raise
            retries += 1


@pytest.mark.parametrize("level", LEVELS)
async def test_concurrent_increments_are_never_lost(server, level):
    clients, increments = 12, 25
    admin = await connect(server)
    table = f"counter_{level.replace(' ', '_')}"
    await admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, n int NOT NULL)")
    await admin.execute(f"INSERT INTO {table} VALUES (1, 0)")

    async def client() -> int:
        conn = await connect(server)
        retries = 0
        try:
            for _ in range(increments):
                retries += await retrying(
                    conn, level, lambda c: c.execute(f"UPDATE {table} SET n = n + 1 WHERE id = 1"))
        finally:
            await conn.close()
        return retries

    retries = await asyncio.gather(*(client() for _ in range(clients)))
    assert await admin.fetchval(f"SELECT n FROM {table}") == clients * increments
    if level == "read committed":
        assert sum(retries) == 0          # READ COMMITTED waits and re-reads; nothing to retry
    await admin.close()


async def test_autocommit_increments_are_never_lost(server):
    admin = await connect(server)
    await admin.execute("CREATE TABLE hits (id int PRIMARY KEY, n int NOT NULL)")
    await admin.execute("INSERT INTO hits VALUES (1, 0)")

    async def client():
        conn = await connect(server)
        for _ in range(40):
            await conn.execute("UPDATE hits SET n = n + 1 WHERE id = 1")
        await conn.close()

    await asyncio.gather(*(client() for _ in range(10)))
    assert await admin.fetchval("SELECT n FROM hits") == 400
    await admin.close()


@pytest.mark.parametrize("level", LEVELS)
async def test_bank_transfers_keep_the_total(server, level):
    accounts, clients, transfers = 6, 10, 20
    table = f"bank_{level.replace(' ', '_')}"
    admin = await connect(server)
    await admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int NOT NULL)")
    await admin.executemany(f"INSERT INTO {table} VALUES ($1, 1000)", [(i,) for i in range(accounts)])
    failures: dict[str, int] = {"40001": 0, "40P01": 0}

    async def client(seed: int):
        rng = random.Random(seed)
        conn = await connect(server)
        try:
            for _ in range(transfers):
                src, dst = rng.sample(range(accounts), 2)     # any order: deadlock-prone
                amount = rng.randint(1, 50)

                async def transfer(c):
                    await c.execute(f"UPDATE {table} SET balance = balance - $1 WHERE id = $2", amount, src)
                    await asyncio.sleep(0)
                    await c.execute(f"UPDATE {table} SET balance = balance + $1 WHERE id = $2", amount, dst)
                while True:
                    try:
                        async with conn.transaction(isolation=level.replace(" ", "_")):
                            await transfer(conn)
                        break
                    except asyncpg.PostgresError as e:
                        if e.sqlstate not in RETRY:
                            raise
                        failures[e.sqlstate] += 1
        finally:
            await conn.close()

    await asyncio.gather(*(client(seed) for seed in range(clients)))
    assert await admin.fetchval(f"SELECT sum(balance) FROM {table}") == accounts * 1000
    assert await admin.fetchval(f"SELECT count(*) FROM {table}") == accounts
    await admin.close()


async def test_deadlock_fails_exactly_one_side(server):
    admin = await connect(server)
    await admin.execute("CREATE TABLE dl (id int PRIMARY KEY, v int)")
    await admin.execute("INSERT INTO dl VALUES (1, 0), (2, 0)")
    a, b = await connect(server), await connect(server)
    await a.execute("BEGIN")
    await b.execute("BEGIN")
    await a.execute("UPDATE dl SET v = 1 WHERE id = 1")
    await b.execute("UPDATE dl SET v = 2 WHERE id = 2")
    waiting = asyncio.create_task(a.execute("UPDATE dl SET v = 1 WHERE id = 2"))
    while await admin.fetchval("SELECT pg_blocking_pids($1)::text", a.get_server_pid()) == "{}":
        await asyncio.sleep(0.01)
    with pytest.raises(asyncpg.exceptions.DeadlockDetectedError):
        await b.execute("UPDATE dl SET v = 2 WHERE id = 1")
    await waiting                      # the victim's locks went at once: the other side goes on
    await a.execute("COMMIT")
    await b.execute("ROLLBACK")
    assert await admin.fetch("SELECT id, v FROM dl ORDER BY id") == [(1, 1), (2, 1)]
    for c in (a, b, admin):
        await c.close()


async def test_skip_locked_hands_out_each_job_once(server):
    admin = await connect(server)
    await admin.execute("CREATE TABLE jobs (id int PRIMARY KEY, taken_by int)")
    await admin.executemany("INSERT INTO jobs VALUES ($1, NULL)", [(i,) for i in range(60)])

    async def worker(n: int) -> list[int]:
        conn = await connect(server)
        mine = []
        while True:
            async with conn.transaction():
                row = await conn.fetchrow("SELECT id FROM jobs WHERE taken_by IS NULL ORDER BY id "
                                          "LIMIT 1 FOR UPDATE SKIP LOCKED")
                if row is None:
                    break
                await asyncio.sleep(0)
                await conn.execute("UPDATE jobs SET taken_by = $1 WHERE id = $2", n, row["id"])
                mine.append(row["id"])
        await conn.close()
        return mine

    taken = await asyncio.gather(*(worker(n) for n in range(6)))
    all_taken = sorted(j for jobs in taken for j in jobs)
    assert all_taken == list(range(60))
    assert await admin.fetchval("SELECT count(*) FROM jobs WHERE taken_by IS NULL") == 0
    await admin.close()


async def test_lock_timeout_statement_timeout_and_cancel_end_a_lock_wait(server):
    admin = await connect(server)
    await admin.execute("CREATE TABLE waits (id int PRIMARY KEY, v int)")
    await admin.execute("INSERT INTO waits VALUES (1, 0)")
    holder, waiter = await connect(server), await connect(server)
    await holder.execute("BEGIN")
    await holder.execute("SELECT * FROM waits WHERE id = 1 FOR UPDATE")

    await waiter.execute("SET lock_timeout = '50ms'")
    with pytest.raises(asyncpg.exceptions.LockNotAvailableError, match="lock timeout"):
        await waiter.execute("UPDATE waits SET v = 1 WHERE id = 1")
    await waiter.execute("RESET lock_timeout")

    await waiter.execute("SET statement_timeout = '50ms'")
    with pytest.raises(asyncpg.exceptions.QueryCanceledError, match="statement timeout"):
        await waiter.execute("SELECT * FROM waits FOR SHARE")
    await waiter.execute("RESET statement_timeout")

    with pytest.raises(asyncpg.exceptions.LockNotAvailableError, match="could not obtain lock"):
        await waiter.execute("SELECT * FROM waits FOR UPDATE NOWAIT")

    await holder.execute("COMMIT")
    await waiter.execute("UPDATE waits SET v = 2 WHERE id = 1")
    assert await admin.fetchval("SELECT v FROM waits") == 2
    for c in (holder, waiter, admin):
        await c.close()


def test_cancel_request_interrupts_a_lock_wait(server):
    with psycopg.connect(server.dsn, autocommit=True) as admin, \
            psycopg.connect(server.dsn) as holder, psycopg.connect(server.dsn) as waiter:
        admin.execute("CREATE TABLE canc (id int PRIMARY KEY, v int)")
        admin.execute("INSERT INTO canc VALUES (1, 0)")
        holder.execute("UPDATE canc SET v = 1 WHERE id = 1")       # holds the row lock (open transaction)
        pid = waiter.info.backend_pid

        def cancel_when_blocked():
            while not admin.execute(f"SELECT pg_blocking_pids({pid})").fetchone()[0]:
                pass
            waiter.cancel()

        import threading
        t = threading.Thread(target=cancel_when_blocked)
        t.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            waiter.execute("UPDATE canc SET v = 2 WHERE id = 1")
        t.join()
        waiter.rollback()
        holder.commit()
        assert admin.execute("SELECT v FROM canc").fetchone()[0] == 1


def test_idle_in_transaction_timeout_ends_the_session_and_frees_its_locks(server):
    with psycopg.connect(server.dsn, autocommit=True) as admin, psycopg.connect(server.dsn) as idler:
        admin.execute("CREATE TABLE idle (id int PRIMARY KEY, v int)")
        admin.execute("INSERT INTO idle VALUES (1, 0)")
        idler.execute("SET idle_in_transaction_session_timeout = '100ms'")
        idler.execute("UPDATE idle SET v = 1 WHERE id = 1")         # psycopg opened a transaction
        admin.execute("UPDATE idle SET v = 2 WHERE id = 1")         # waits until the idler is gone
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout) as failure:
            idler.execute("SELECT 1")
        assert failure.value.sqlstate == "25P03"
        assert "idle-in-transaction timeout" in str(failure.value)
        assert admin.execute("SELECT v FROM idle").fetchone()[0] == 2


def test_startup_options_choose_the_default_isolation(server):
    options = r"-c default_transaction_isolation=repeatable\ read -c lock_timeout=1500"
    with psycopg.connect(server.dsn, options=options) as conn:
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("1500ms",)


async def test_serializable_keeps_an_invariant_that_write_skew_would_break(server):
    """At least one doctor stays on call: every transaction checks that another one is on call
    before going off call itself. Under SERIALIZABLE no interleaving may break that."""
    admin = await connect(server)
    await admin.execute("CREATE TABLE on_call (name int PRIMARY KEY, on_duty boolean NOT NULL)")
    await admin.executemany("INSERT INTO on_call VALUES ($1, true)", [(i,) for i in range(4)])

    async def doctor(seed: int) -> None:
        rng = random.Random(seed)
        conn = await connect(server)
        try:
            for _ in range(15):
                me = rng.randrange(4)

                async def shift(c):
                    if rng.random() < 0.3:
                        await c.execute("UPDATE on_call SET on_duty = true WHERE name = $1", me)
                        return
                    others = await c.fetchval("SELECT count(*) FROM on_call WHERE on_duty AND name <> $1", me)
                    await asyncio.sleep(0)
                    if others >= 1:
                        await c.execute("UPDATE on_call SET on_duty = false WHERE name = $1", me)
                await retrying(conn, "serializable", shift)
                assert await conn.fetchval("SELECT count(*) FROM on_call WHERE on_duty") >= 1
        finally:
            await conn.close()

    await asyncio.gather(*(doctor(seed) for seed in range(8)))
    assert await admin.fetchval("SELECT count(*) FROM on_call WHERE on_duty") >= 1
    await admin.close()


def test_copy_rows_join_the_transactions_own_key_lookups(server):
    with psycopg.connect(server.dsn) as conn:
        conn.execute("CREATE TABLE keyed (k int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO keyed VALUES (1, 'one')")
        assert conn.execute("SELECT v FROM keyed WHERE k = 1").fetchall() == [("one",)]
        with conn.cursor().copy("COPY keyed FROM STDIN") as copy:
            copy.write_row((2, "two"))
        assert conn.execute("SELECT v FROM keyed WHERE k = 2").fetchall() == [("two",)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO keyed VALUES (2, 'again')")
        conn.rollback()
