"""MERGE through a real client where the golden files (tests/golden/cases/merge.sql) and the
interleavings (tests/txn/scenarios.py, merge_*) cannot reach: bound parameters over the
extended protocol, a plan prepared once and run many times, a FOR SYSTEM_TIME source that
puts a table back as it was, EXPLAIN ANALYZE, and replay of MERGE's writes after a restart."""
from __future__ import annotations

import psycopg
import pytest

UPSERT = ("MERGE INTO stock s USING (VALUES (%s, %s)) AS v(item, qty) ON s.item = v.item "
          "WHEN MATCHED AND s.qty + v.qty <= 0 THEN DELETE "
          "WHEN MATCHED THEN UPDATE SET qty = s.qty + v.qty "
          "WHEN NOT MATCHED AND v.qty > 0 THEN INSERT VALUES (v.item, v.qty)")


def test_parameters_prepared_plan_and_replay(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE stock (item text PRIMARY KEY, qty int NOT NULL CHECK (qty > 0))")
        moves = [("apple", 5), ("pear", 2), ("apple", 3), ("fig", -1), ("pear", -2), ("plum", 4)] * 3
        tags = []
        with conn.cursor() as cur:
            for move in moves:               # psycopg prepares the statement after a few runs
                cur.execute(UPSERT, move, prepare=None)
                tags.append(cur.statusmessage)
        assert tags[:6] == ["MERGE 1", "MERGE 1", "MERGE 1", "MERGE 0", "MERGE 1", "MERGE 1"]
        conn.cursor().executemany(UPSERT, [("kiwi", 1), ("kiwi", 1)])
        expected = [("apple", 24), ("kiwi", 2), ("plum", 12)]      # pear went to 0: deleted
        assert conn.execute("SELECT * FROM stock ORDER BY item").fetchall() == expected
        with pytest.raises(psycopg.errors.CardinalityViolation):
            conn.execute("MERGE INTO stock s USING (VALUES (%s), (%s)) AS v(item) ON s.item = v.item "
                         "WHEN MATCHED THEN UPDATE SET qty = s.qty + 1", ("apple", "apple"))
        with conn.transaction():
            conn.execute(UPSERT, ("apple", -24))
            assert conn.execute("SELECT count(*) FROM stock WHERE item = 'apple'").fetchone() == (0,)
            raise psycopg.Rollback()
    fresh_server.restart()
    with psycopg.connect(fresh_server.dsn) as conn:
        assert conn.execute("SELECT * FROM stock ORDER BY item").fetchall() == expected


def test_system_time_source_puts_a_table_back(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE merge_accounts (id int PRIMARY KEY, balance int NOT NULL)")
        conn.execute("INSERT INTO merge_accounts VALUES (1, 100), (2, 50), (3, 10)")
        before = conn.execute("SELECT max(_tx) FROM merge_accounts FOR SYSTEM_TIME ALL").fetchone()[0]
        conn.execute("UPDATE merge_accounts SET balance = 0 WHERE id = 1")
        conn.execute("DELETE FROM merge_accounts WHERE id = 2")
        conn.execute("INSERT INTO merge_accounts VALUES (4, 1)")
        cur = conn.execute(
            "MERGE INTO merge_accounts a USING merge_accounts FOR SYSTEM_TIME AS OF TRANSACTION %s AS old "
            "ON a.id = old.id "
            "WHEN MATCHED AND a.balance <> old.balance THEN UPDATE SET balance = old.balance "
            "WHEN NOT MATCHED THEN INSERT VALUES (old.id, old.balance)", (before,))
        assert cur.statusmessage == "MERGE 2"
        assert conn.execute("SELECT * FROM merge_accounts ORDER BY id").fetchall() == [(1, 100), (2, 50), (3, 10), (4, 1)]
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("MERGE INTO merge_accounts FOR SYSTEM_TIME AS OF TRANSACTION %s a USING merge_accounts b "
                         "ON a.id = b.id WHEN MATCHED THEN DELETE", (before,))


def test_explain_analyze_runs_the_merge_once(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE merge_target (id int PRIMARY KEY, n int)")
        conn.execute("INSERT INTO merge_target VALUES (1, 0)")
        plan = [r[0] for r in conn.execute(
            "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) MERGE INTO merge_target t "
            "USING (VALUES (1), (2)) AS v(id) ON t.id = v.id "
            "WHEN MATCHED THEN UPDATE SET n = t.n + 1 WHEN NOT MATCHED THEN INSERT VALUES (v.id, 0)")]
        assert plan[0] == "Merge on merge_target (actual rows=0 loops=1)"
        assert conn.execute("SELECT * FROM merge_target ORDER BY id").fetchall() == [(1, 1), (2, 0)]
