"""Indexes end to end: DDL forms, plans that use them, and results that equal a plain scan's
under MVCC — reads at an older snapshot while another session changes keys, own writes,
rollbacks, savepoints, time travel, and after restarts (log replay and snapshot load).

Every table `t` has an identical twin `plain` without indexes, written in the same
transactions; each query's answer through `t`'s indexes must equal the same query on
`plain` (a sequential scan)."""
from __future__ import annotations

import random

import psycopg
import pytest

QUERIES = [
    "SELECT * FROM {t} WHERE k = 3",
    "SELECT * FROM {t} WHERE k IN (1, 4, 7, NULL)",
    "SELECT * FROM {t} WHERE k BETWEEN 2 AND 5",
    "SELECT * FROM {t} WHERE k > 6",
    "SELECT * FROM {t} WHERE k <= 1 AND v > 10",
    "SELECT * FROM {t} WHERE k = 2 AND s = 'b'",
    "SELECT * FROM {t} WHERE k = 2 AND s > 'a'",
    "SELECT * FROM {t} WHERE s = 'c'",
    "SELECT * FROM {t} WHERE id = 17",
    "SELECT * FROM {t} WHERE f > 2.5",
    "SELECT * FROM {t} WHERE f = 'NaN'",
    # ordered: only the sort keys are selected, so rows that tie cannot differ
    "SELECT k FROM {t} ORDER BY k LIMIT 5",
    "SELECT k FROM {t} ORDER BY k DESC LIMIT 5",
    "SELECT id FROM {t} ORDER BY id DESC LIMIT 4",
    "SELECT id FROM {t} ORDER BY id LIMIT 3 OFFSET 2",
    "SELECT k, s FROM {t} WHERE k = 4 ORDER BY k, s LIMIT 3",
    "SELECT k, s FROM {t} ORDER BY k DESC, s DESC LIMIT 7",
    "SELECT f FROM {t} ORDER BY f DESC LIMIT 6",
    "SELECT f FROM {t} WHERE f <> 'NaN' ORDER BY f LIMIT 6",
    "SELECT f FROM {t} WHERE f > 1.5 ORDER BY f LIMIT 3",
    "SELECT f FROM {t} WHERE f > 1.5 ORDER BY f DESC LIMIT 3",
]
ORDERED = ("ORDER BY",)


def _setup(conn: psycopg.Connection) -> None:
    for name in ("t", "plain"):
        conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, k int, s text, v int, f float8)")
    conn.execute("CREATE INDEX t_k ON t (k)")
    conn.execute("CREATE INDEX t_ks ON t USING btree (k, s)")
    conn.execute("CREATE INDEX t_s ON t USING hash (s)")
    conn.execute("CREATE INDEX t_f ON t (f)")


def _write(conn: psycopg.Connection, sql: str, params: tuple = ()) -> None:
    for name in ("t", "plain"):
        conn.execute(sql.format(t=name), params)


def _fill(conn: psycopg.Connection, rnd: random.Random, n: int = 60, start: int = 0) -> None:
    for i in range(start, start + n):
        k = rnd.choice([None, *range(8)])
        s = rnd.choice([None, "a", "b", "c"])
        f = rnd.choice([None, float("nan"), 1.5, 2.5, 3.0, -1.0])
        _write(conn, "INSERT INTO {t} VALUES (%s, %s, %s, %s, %s)", (i, k, s, rnd.randrange(20), f))


def _churn(conn: psycopg.Connection, rnd: random.Random, rounds: int = 15) -> None:
    """Random key changes, deletes and inserts, each applied to both tables."""
    for _ in range(rounds):
        rowid = rnd.randrange(80)
        what = rnd.random()
        if what < 0.5:
            _write(conn, "UPDATE {t} SET k = %s, s = %s, f = %s WHERE id = %s",
                   (rnd.choice([None, *range(8)]), rnd.choice([None, "a", "b", "c"]),
                    rnd.choice([None, float("nan"), 0.5, 2.75]), rowid))
        elif what < 0.8:
            _write(conn, "DELETE FROM {t} WHERE id = %s", (rowid,))
        else:
            _write(conn, "INSERT INTO {t} SELECT %s, %s, 'c', 1, 9.0 WHERE NOT EXISTS "
                   "(SELECT 1 FROM {t} WHERE id = %s)", (rowid, rnd.randrange(8), rowid))


def _answers(conn: psycopg.Connection, table: str, suffix: str = "") -> list:
    out = []
    for q in QUERIES:
        rows = conn.execute(q.format(t=table + suffix)).fetchall()
        out.append(rows if any(o in q for o in ORDERED) else sorted(rows, key=repr))
    return out


def _check(conn: psycopg.Connection, suffix: str = "") -> None:
    indexed = _answers(conn, "t", suffix)
    plain = _answers(conn, "plain", suffix)
    for q, a, b in zip(QUERIES, indexed, plain):
        assert repr(a) == repr(b), q


def test_index_plans(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        _setup(conn)
        _fill(conn, random.Random(1))

        def plan(q: str) -> str:
            return "\n".join(r[0] for r in conn.execute("EXPLAIN " + q.format(t="t")))
        assert "Index Scan using t_k on t" in plan("SELECT * FROM {t} WHERE k = 3")
        assert "Index Cond: (k = ANY (ARRAY[1, 4]))" in plan("SELECT * FROM {t} WHERE k IN (1, 4)")
        assert "Index Cond: ((k >= 2) AND (k <= 5))" in plan("SELECT * FROM {t} WHERE k BETWEEN 2 AND 5")
        assert "Index Scan using t_ks on t" in plan("SELECT * FROM {t} WHERE k = 2 AND s = 'b'")
        assert "Index Scan using t_s on t" in plan("SELECT * FROM {t} WHERE s = 'c'")
        assert "Index Scan using t_pkey on t" in plan("SELECT * FROM {t} WHERE id = 17")
        assert "Index Scan Backward using t_pkey on t" in plan("SELECT id FROM {t} ORDER BY id DESC LIMIT 4")
        assert "Sort" not in plan("SELECT id FROM {t} ORDER BY id DESC LIMIT 4")
        assert "Index Scan using t_ks on t" in plan("SELECT id, k, s FROM {t} WHERE k = 4 ORDER BY k, s LIMIT 3")
        assert "Index Scan Backward using t_ks on t" in plan("SELECT k, s FROM {t} ORDER BY k DESC, s DESC LIMIT 7")
        assert "Seq Scan" in plan("SELECT * FROM {t} WHERE k + 0 = 3")
        assert "Seq Scan" in plan("SELECT * FROM {t} WHERE s > 'a'")      # a hash index has no order
        _check(conn)


def test_index_ddl(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE u (a int, b text)")
        conn.execute("INSERT INTO u VALUES (1, 'x'), (2, 'x'), (NULL, 'y'), (NULL, 'y')")
        conn.execute("CREATE UNIQUE INDEX u_a ON u (a)")          # NULLs are distinct
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX u_b ON u (b)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO u VALUES (2, 'z')")
        conn.execute("CREATE INDEX IF NOT EXISTS u_a ON u (b)")    # exists: a notice, nothing else
        conn.execute("CREATE INDEX u_ab ON u USING hash (a, b)")
        assert conn.execute("SELECT b FROM u WHERE a = 2 AND b = 'x'").fetchall() == [("x",)]
        conn.execute("DROP INDEX u_ab")
        conn.execute("DROP INDEX IF EXISTS u_ab")
        conn.execute("DROP INDEX u_a")
        conn.execute("INSERT INTO u VALUES (2, 'z')")             # no longer unique
        assert conn.execute("SELECT count(*) FROM u WHERE a = 2").fetchone() == (2,)
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("CREATE INDEX u_gin ON u USING gin (b)")


def test_old_snapshot_reads_through_index(fresh_server):
    """A REPEATABLE READ transaction keeps seeing its snapshot through the indexes while
    another session moves rows between keys, deletes and inserts."""
    rnd = random.Random(2)
    with psycopg.connect(fresh_server.dsn, autocommit=True) as writer, \
            psycopg.connect(fresh_server.dsn, autocommit=True) as reader:
        _setup(writer)
        _fill(writer, rnd)
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        before = _answers(reader, "plain")
        _check(reader)
        for _ in range(3):
            writer.execute("BEGIN")
            _churn(writer, rnd)
            writer.execute("COMMIT")
            _check(reader)
            assert repr(_answers(reader, "plain")) == repr(before)
        reader.execute("COMMIT")
        _check(reader)
        assert repr(_answers(reader, "plain")) != repr(before)


def test_own_writes_rollback_and_savepoints(fresh_server):
    rnd = random.Random(3)
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        _setup(conn)
        _fill(conn, rnd)
        committed = _answers(conn, "plain")
        conn.execute("BEGIN")
        _churn(conn, rnd)
        _fill(conn, rnd, 10, 100)
        _check(conn)                                  # own writes seen through the indexes
        conn.execute("SAVEPOINT s1")
        at_savepoint = _answers(conn, "plain")
        _churn(conn, rnd)
        _check(conn)
        conn.execute("ROLLBACK TO SAVEPOINT s1")
        _check(conn)
        assert repr(_answers(conn, "plain")) == repr(at_savepoint)
        conn.execute("ROLLBACK")
        _check(conn)
        assert repr(_answers(conn, "plain")) == repr(committed)


def test_indexes_after_restart_and_snapshot(fresh_server):
    rnd = random.Random(4)
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        _setup(conn)
        _fill(conn, rnd)
        _churn(conn, rnd)
    fresh_server.restart()                            # replayed from the log
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        _check(conn)
        conn.execute("CHECKPOINT")
        _churn(conn, rnd)
        conn.execute("CREATE INDEX t_v ON t (v)")
    fresh_server.restart()                            # a snapshot, then the log after it
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        assert "Index Scan using t_v on t" in "\n".join(
            r[0] for r in conn.execute("EXPLAIN SELECT * FROM t WHERE v = 3"))
        _check(conn)
        assert repr(sorted(conn.execute("SELECT * FROM t WHERE v = 3").fetchall(), key=repr)) == \
            repr(sorted(conn.execute("SELECT * FROM plain WHERE v = 3").fetchall(), key=repr))


def test_time_travel_through_index(fresh_server):
    rnd = random.Random(5)
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        _setup(conn)
        _fill(conn, rnd)
        lsn = conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0]
        before = _answers(conn, "plain")
        _churn(conn, rnd)
        _check(conn, f" FOR SYSTEM_TIME AS OF TRANSACTION {lsn}")
        assert repr(_answers(conn, "plain", f" FOR SYSTEM_TIME AS OF TRANSACTION {lsn}")) == repr(before)


JOIN_QUERIES = [
    "SELECT f.id, d.label FROM {d1} d JOIN {f} f ON f.d1 = d.id WHERE d.label <> 'x'",
    "SELECT f.id, d.label FROM {f} f JOIN {d1} d ON f.d1 = d.id WHERE f.id < 12",
    "SELECT f.id, d.label FROM {f} f LEFT JOIN {d1} d ON f.d1 = d.id WHERE f.id < 8",
    "SELECT f.id, a.label, b.label FROM {d2} b JOIN {f} f ON f.d2 = b.id JOIN {d1} a ON a.id = f.d1 "
    "WHERE b.label = 'b3' AND a.id > 5",
    "SELECT a.label, count(*), sum(f.v) FROM {f} f, {d1} a, {d2} b WHERE f.d1 = a.id AND f.d2 = b.id "
    "AND b.id < 4 GROUP BY a.label",
    "SELECT f.id FROM {f} f WHERE EXISTS (SELECT 1 FROM {d1} d WHERE d.id = f.d1 AND d.label = 'a7')",
    "SELECT x.id, y.id FROM {f} x JOIN {f} y ON x.v = y.id WHERE x.id BETWEEN 100 AND 110",
]


def test_join_order_and_index_nested_loops(fresh_server):
    """Joins reordered and turned into index lookups by estimates give the answers of plain
    hash joins over twin tables without indexes."""
    rnd = random.Random(6)
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        for suffix, key in (("", " PRIMARY KEY"), ("_plain", "")):
            conn.execute(f"CREATE TABLE f{suffix} (id int{key}, d1 int, d2 int, v int)")
            conn.execute(f"CREATE TABLE d1{suffix} (id int{key}, label text)")
            conn.execute(f"CREATE TABLE d2{suffix} (id int{key}, label text)")
        facts = [(i, rnd.choice([None, *range(60)]), rnd.randrange(25), rnd.randrange(2500)) for i in range(2000)]
        for suffix in ("", "_plain"):
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO f{suffix} VALUES (%s, %s, %s, %s)", facts)
                cur.executemany(f"INSERT INTO d1{suffix} VALUES (%s, %s)", [(i, f"a{i % 9}") for i in range(50)])
                cur.executemany(f"INSERT INTO d2{suffix} VALUES (%s, %s)", [(i, f"b{i % 4}") for i in range(20)])

        def plan(q: str) -> str:
            return "\n".join(r[0] for r in conn.execute("EXPLAIN " + q.format(f="f", d1="d1", d2="d2")))
        nested = plan(JOIN_QUERIES[1])
        assert "Nested Loop" in nested and "Index Scan using d1_pkey on d1 d" in nested, nested
        assert "Index Cond: (d.id = f.d1)" in nested
        assert "Nested Loop Left Join" in plan(JOIN_QUERIES[2])
        hashed = plan(JOIN_QUERIES[0])
        assert "Hash Join" in hashed and hashed.index("Seq Scan on f") < hashed.index("Seq Scan on d1"), hashed
        for q in JOIN_QUERIES:
            indexed = conn.execute(q.format(f="f", d1="d1", d2="d2")).fetchall()
            plain = conn.execute(q.format(f="f_plain", d1="d1_plain", d2="d2_plain")).fetchall()
            assert sorted(indexed, key=repr) == sorted(plain, key=repr), q
