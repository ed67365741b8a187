"""The rewind system schema: rewind.transactions, rewind.verify_digest, SET LOCAL rewind.reason.

End to end with psycopg; one in-process check that a WHERE on lsn / committed_at narrows
what rewind.transactions reads from the log instead of filtering the whole log.
"""
from __future__ import annotations

import asyncio

import psycopg

from engine.database import Database
from engine.exec import plan as P
from engine.session import Session


def test_transactions_are_attributed_with_their_reason(server):
    dsn = server.dsn + " application_name=auditor"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE sys_acc (id int PRIMARY KEY, balance int)")
        conn.execute("INSERT INTO sys_acc VALUES (1, 10), (2, 20)")
        with conn.transaction():
            conn.execute("SET LOCAL rewind.reason = 'refund #42'")
            conn.execute("UPDATE sys_acc SET balance = balance + 5 WHERE id = 1")
            conn.execute("UPDATE sys_acc SET balance = balance - 5 WHERE id = 2")
        conn.execute("DELETE FROM sys_acc WHERE id = 2")
        lsn = conn.execute("SELECT max(_tx) FROM sys_acc FOR SYSTEM_TIME ALL").fetchone()[0]
        got = conn.execute("SELECT lsn, user_name, application_name, client_addr, reason, events, committed_at "
                           "FROM rewind.transactions WHERE lsn >= %s ORDER BY lsn", (lsn - 1,)).fetchall()
        assert [r[:6] for r in got] == [(lsn - 1, "postgres", "auditor", "127.0.0.1", "refund #42", 2),
                                        (lsn, "postgres", "auditor", "127.0.0.1", None, 1)]
        assert got[0][6] <= got[1][6] <= conn.execute("SELECT now()").fetchone()[0]
        assert conn.execute("SHOW rewind.reason").fetchone() == ("",)
        # a session-level reason is stored with every transaction while it is set
        conn.execute("SET rewind.reason = 'migration 7'")
        conn.execute("INSERT INTO sys_acc VALUES (3, 30)")
        conn.execute("RESET rewind.reason")
        conn.execute("INSERT INTO sys_acc VALUES (4, 40)")
        reasons = conn.execute("SELECT reason FROM rewind.transactions WHERE lsn > %s ORDER BY lsn", (lsn,)).fetchall()
        assert reasons == [("migration 7",), (None,)]


def test_filters_on_lsn_and_time_answer_like_the_whole_table(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE sys_many (id int)")
        for i in range(12):
            conn.execute("INSERT INTO sys_many VALUES (%s)", (i,))
        everything = conn.execute("SELECT lsn, committed_at FROM rewind.transactions ORDER BY lsn").fetchall()
        last = everything[-1][0]
        middle_time = everything[-6][1]
        for where, keep in (
                (f"lsn > {last - 3}", lambda l, t: l > last - 3),
                (f"lsn >= {last - 3} AND lsn < {last - 1}", lambda l, t: last - 3 <= l < last - 1),
                (f"{last - 2} <= lsn", lambda l, t: l >= last - 2),
                (f"lsn = {last - 4}", lambda l, t: l == last - 4),
                (f"lsn BETWEEN {last - 5} AND {last - 4}", lambda l, t: last - 5 <= l <= last - 4),
                ("lsn = 2.5", lambda l, t: False),
                ("lsn < 2.5", lambda l, t: l < 2.5),
                ("lsn > NULL", lambda l, t: False),
                ("committed_at >= %(t)s", lambda l, t: t >= middle_time),
                ("committed_at > %(t)s", lambda l, t: t > middle_time),
                ("committed_at < %(t)s", lambda l, t: t < middle_time),
                ("committed_at <= %(t)s AND lsn > 1", lambda l, t: t <= middle_time and l > 1),
                ("committed_at = %(t)s", lambda l, t: t == middle_time),
                ("committed_at > now() - interval '1 hour'", lambda l, t: True)):
            got = conn.execute(f"SELECT lsn FROM rewind.transactions WHERE {where} ORDER BY lsn", {"t": middle_time}).fetchall()
            assert [r[0] for r in got] == [l for l, t in everything if keep(l, t)], where


def test_verify_digest_rejects_a_wrong_digest(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE sys_dig (id int)")
        assert conn.execute("SELECT rewind.verify_digest(1, %s)", ("00" * 32,)).fetchone() == (False,)
        assert conn.execute("SELECT rewind.verify_digest(999999, %s)", ("00" * 32,)).fetchone() == (False,)
        assert conn.execute("SELECT rewind.verify_digest(1, 'not hex')").fetchone() == (False,)


def test_a_where_on_lsn_reads_only_that_range(tmp_path):
    async def scenario():
        db = Database.open(tmp_path / "data")
        await db.start()
        try:
            session = Session(db)
            for sql in ["CREATE TABLE t (id int)"] + [f"INSERT INTO t VALUES ({i})" for i in range(9)]:
                prepared, params = session.prepare_simple(sql)
                await session.execute(prepared, params)
                await session.end_implicit()
            prepared, _ = session.prepare_simple("SELECT lsn FROM rewind.transactions WHERE lsn > 7 AND lsn <= 9")
            scan = _virtual_scan(prepared.plan.node)
            assert scan.narrow is None           # the WHERE was taken into the producer
            session._ensure_txn().begin_statement()
            ctx = session._context(session.txn, (7, 9))
            assert [r[0] for r in scan.producer(ctx)] == [8, 9]
            unfiltered = _virtual_scan(session.prepare_simple("SELECT lsn FROM rewind.transactions")[0].plan.node)
            assert [r[0] for r in unfiltered.producer(ctx)] == list(range(1, 11))
            session.close()
        finally:
            await db.close()
    asyncio.run(scenario())


def _virtual_scan(node: P.Node) -> P.VirtualScan:
    if isinstance(node, P.VirtualScan):
        return node
    for child in P.inputs(node):
        found = _virtual_scan(child)
        if found is not None:
            return found
    return None
