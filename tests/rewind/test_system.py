"""The rewind system schema: rewind.transactions, rewind.verify_digest, SET LOCAL rewind.reason.

End to end with psycopg; one in-process check that a WHERE on lsn / committed_at narrows
what rewind.transactions reads from the log instead of filtering the whole log.
"""
from __future__ import annotations

import asyncio

import psycopg
import pytest

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


def test_changes_show_every_row_event_with_before_and_after(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE sys_ch (id int PRIMARY KEY, name text, score numeric)")
        conn.execute("INSERT INTO sys_ch VALUES (1, 'ann', 1.50), (2, 'bob', NULL)")
        first = conn.execute("SELECT max(_tx) FROM sys_ch FOR SYSTEM_TIME ALL").fetchone()[0]
        conn.execute("UPDATE sys_ch SET score = 2 WHERE id = 1")
        conn.execute("UPDATE sys_ch SET id = 20 WHERE id = 2")
        conn.execute("DELETE FROM sys_ch WHERE id = 1")
        got = conn.execute("SELECT lsn - %s, user_name, table_name, op, key, before, after FROM rewind.changes "
                           "WHERE lsn >= %s ORDER BY lsn", (first, first)).fetchall()
        assert got == [
            (0, "postgres", "public.sys_ch", "insert", {"id": 1}, None, {"id": 1, "name": "ann", "score": 1.50}),
            (0, "postgres", "public.sys_ch", "insert", {"id": 2}, None, {"id": 2, "name": "bob", "score": None}),
            (1, "postgres", "public.sys_ch", "update", {"id": 1}, {"id": 1, "name": "ann", "score": 1.50},
             {"id": 1, "name": "ann", "score": 2}),
            (2, "postgres", "public.sys_ch", "update", {"id": 20}, {"id": 2, "name": "bob", "score": None},
             {"id": 20, "name": "bob", "score": None}),
            (3, "postgres", "public.sys_ch", "delete", {"id": 1}, {"id": 1, "name": "ann", "score": 2}, None)]


def test_diff_between_two_points(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE sys_diff (sku text PRIMARY KEY, qty int)")
        conn.execute("INSERT INTO sys_diff VALUES ('a', 1), ('b', 2), ('c', 3)")
        start = conn.execute("SELECT max(_tx) FROM sys_diff FOR SYSTEM_TIME ALL").fetchone()[0]
        (start_time,) = conn.execute("SELECT clock_timestamp()").fetchone()
        conn.execute("UPDATE sys_diff SET qty = 20 WHERE sku = 'b'")
        conn.execute("DELETE FROM sys_diff WHERE sku = 'c'")
        conn.execute("INSERT INTO sys_diff VALUES ('d', 4)")
        conn.execute("UPDATE sys_diff SET qty = 1 WHERE sku = 'a'")      # changed and changed back
        conn.execute("DELETE FROM sys_diff WHERE sku = 'd'")
        conn.execute("INSERT INTO sys_diff VALUES ('d', 5)")                 # a new row with the same key
        expected = [("added", {"sku": "d"}, None, {"sku": "d", "qty": 5}),
                    ("changed", {"sku": "b"}, {"sku": "b", "qty": 2}, {"sku": "b", "qty": 20}),
                    ("removed", {"sku": "c"}, {"sku": "c", "qty": 3}, None)]
        q = "SELECT change, key, before, after FROM rewind.diff('sys_diff', %s, %s) ORDER BY change"
        assert conn.execute(q, (start, conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0])).fetchall() == expected
        assert conn.execute(q, (f"tx:{start}", start_time)).fetchall() == []
        assert conn.execute(q.replace("%s, %s", "%s, now()"), (start_time,)).fetchall() == expected
        backwards = conn.execute("SELECT change, key FROM rewind.diff('public.sys_diff', now(), %s) ORDER BY change",
                                 (start,)).fetchall()
        assert backwards == [("added", {"sku": "c"}), ("changed", {"sku": "b"}), ("removed", {"sku": "d"})]
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM rewind.diff('no_such_table', 1, 2)")


def test_log_digest_verifies_and_detects_tampering(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE sys_tamper (id int PRIMARY KEY, note text)")
        for i in range(20):
            conn.execute("INSERT INTO sys_tamper VALUES (%s, %s)", (i, f"payment number {i:04d}"))
        lsn, digest = conn.execute("SELECT lsn, digest FROM rewind.log_digest()").fetchone()
        assert lsn == conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0]
        assert len(digest) == 64
        assert conn.execute("SELECT rewind.verify_digest(%s, %s)", (lsn, digest)).fetchone() == (True,)
        assert conn.execute("SELECT rewind.verify_digest(%s, %s)", (lsn - 1, digest)).fetchone() == (False,)
        conn.execute("INSERT INTO sys_tamper VALUES (100, 'later')")
        # an old digest stays valid as the log grows
        assert conn.execute("SELECT rewind.verify_digest(%s, %s)", (lsn, digest)).fetchone() == (True,)
        # rewrite history on disk: one character of an old record
        segment = sorted((fresh_server.data_dir / "log").glob("*.seg"))[0]
        data = bytearray(segment.read_bytes())
        at = data.find(b"payment number 0007")
        assert at > 0
        data[at + len("payment number 000")] = ord("9")
        segment.write_bytes(bytes(data))
        assert conn.execute("SELECT rewind.verify_digest(%s, %s)", (lsn, digest)).fetchone() == (False,)
