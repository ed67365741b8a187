"""LISTEN rewind_changes: one JSON notification per committed row change, in commit order,
exactly once; a consumer that reconnects resumes from its last LSN through rewind.changes
without missing or repeating anything (the protocol docs/time-travel.md describes)."""
from __future__ import annotations

import json
import threading

import psycopg


def connect(server):
    return psycopg.connect(server.dsn, autocommit=True)


def feed(conn, count: int) -> list[dict]:
    return [json.loads(n.payload) for n in conn.notifies(timeout=10, stop_after=count)]


def test_one_notification_per_row_change_in_commit_order(server):
    with connect(server) as listener, connect(server) as writer:
        writer.execute("CREATE TABLE feed_a (id int PRIMARY KEY, v text)")
        listener.execute("LISTEN rewind_changes")
        writer.execute("INSERT INTO feed_a VALUES (1, 'x'), (2, 'y')")
        with writer.transaction():
            writer.execute("UPDATE feed_a SET v = 'x2' WHERE id = 1")
            writer.execute("DELETE FROM feed_a WHERE id = 2")
        with writer.transaction():
            writer.execute("INSERT INTO feed_a VALUES (3, 'rolled back')")
            writer.execute("ROLLBACK")
        writer.execute("UPDATE feed_a SET id = 10 WHERE id = 1")     # a key change: delete + insert
        got = feed(listener, 6)
        first = got[0]["lsn"]
        assert [(c["lsn"] - first, c["table"], c["op"], c["key"], c["after"]) for c in got] == [
            (0, "public.feed_a", "insert", {"id": 1}, {"id": 1, "v": "x"}),
            (0, "public.feed_a", "insert", {"id": 2}, {"id": 2, "v": "y"}),
            (1, "public.feed_a", "update", {"id": 1}, {"id": 1, "v": "x2"}),
            (1, "public.feed_a", "delete", {"id": 2}, None),
            (2, "public.feed_a", "delete", {"id": 1}, None),
            (2, "public.feed_a", "insert", {"id": 10}, {"id": 10, "v": "x2"})]
        writer.execute("SELECT 1")
        assert list(listener.notifies(timeout=0.3)) == []


def test_large_rows_are_abbreviated_within_the_payload_limit(server):
    with connect(server) as listener, connect(server) as writer:
        writer.execute("CREATE TABLE feed_big (id int PRIMARY KEY, body text, tail text)")
        listener.execute("LISTEN rewind_changes")
        writer.execute("INSERT INTO feed_big VALUES (1, %s, 'end')", ("x" * 20000,))
        (n,) = listener.notifies(timeout=10, stop_after=1)
        assert len(n.payload.encode()) < 8000
        change = json.loads(n.payload)
        assert change["abbreviated"] is True and change["key"] == {"id": 1}
        assert change["after"]["tail"] == "end" and len(change["after"]["body"]) < 20000
        full = writer.execute("SELECT after FROM rewind.changes WHERE lsn = %s", (change["lsn"],)).fetchone()[0]
        assert full["body"] == "x" * 20000


def test_concurrent_writers_are_seen_exactly_once_in_lsn_order(server):
    with connect(server) as listener, connect(server) as setup:
        setup.execute("CREATE TABLE feed_c (id int PRIMARY KEY, writer int)")
        listener.execute("LISTEN rewind_changes")
        writers, per_writer = 4, 25

        def write(w: int) -> None:
            with connect(server) as conn:
                for i in range(per_writer):
                    conn.execute("INSERT INTO feed_c VALUES (%s, %s)", (w * 1000 + i, w))

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = feed(listener, writers * per_writer)
        lsns = [c["lsn"] for c in got]
        assert lsns == sorted(lsns) and len(set(lsns)) == len(lsns)
        assert sorted(c["key"]["id"] for c in got) == sorted(w * 1000 + i for w in range(writers) for i in range(per_writer))
        logged = setup.execute("SELECT lsn, key FROM rewind.changes WHERE table_name = 'public.feed_c' ORDER BY lsn").fetchall()
        assert [(c["lsn"], c["key"]) for c in got] == [tuple(r) for r in logged]


def test_a_consumer_resumes_from_its_last_lsn_without_gaps_or_duplicates(server):
    with connect(server) as writer:
        writer.execute("CREATE TABLE feed_r (id int PRIMARY KEY)")
        seen: list[tuple[int, int]] = []              # (lsn, id) in the order the consumer applied them
        last_lsn = 0
        with connect(server) as consumer:
            consumer.execute("LISTEN rewind_changes")
            for i in range(5):
                writer.execute("INSERT INTO feed_r VALUES (%s)", (i,))
            for c in feed(consumer, 5):
                seen.append((c["lsn"], c["key"]["id"]))
                last_lsn = c["lsn"]
        # the consumer is gone; work goes on
        for i in range(5, 10):
            writer.execute("INSERT INTO feed_r VALUES (%s)", (i,))
        with connect(server) as consumer:
            consumer.execute("LISTEN rewind_changes")        # listen first, then catch up: nothing falls between
            writer.execute("INSERT INTO feed_r VALUES (10)")
            caught_up = consumer.execute("SELECT lsn, key FROM rewind.changes WHERE lsn > %s "
                                         "AND table_name = 'public.feed_r' ORDER BY lsn", (last_lsn,)).fetchall()
            for lsn, key in caught_up:
                seen.append((lsn, key["id"]))
                last_lsn = lsn
            writer.execute("INSERT INTO feed_r VALUES (11)")
            for c in feed(consumer, 2):                       # 10 (already caught up) and 11
                if c["lsn"] > last_lsn:
                    seen.append((c["lsn"], c["key"]["id"]))
                    last_lsn = c["lsn"]
        assert [i for _, i in seen] == list(range(12))
        assert [lsn for lsn, _ in seen] == sorted({lsn for lsn, _ in seen})
