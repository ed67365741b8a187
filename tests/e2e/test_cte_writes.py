"""Data-modifying WITH queries through a real client: with bound parameters (extended
protocol), atomic with their statement, undone by ROLLBACK, replayed after a restart, and
refused (0A000) where PostgreSQL's single snapshot would answer differently."""
from __future__ import annotations

import psycopg
import pytest


def test_parameters_atomicity_and_replay(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id int PRIMARY KEY, state text)")
        conn.execute("CREATE TABLE archive (id int PRIMARY KEY, state text)")
        conn.execute("INSERT INTO jobs SELECT i, 'done' FROM generate_series(1, 10) i")
        moved = conn.execute("WITH moved AS (DELETE FROM jobs WHERE id > %s RETURNING id, state) "
                             "INSERT INTO archive SELECT * FROM moved RETURNING id", (7,)).fetchall()
        assert sorted(moved) == [(8,), (9,), (10,)]
        # the insert fails on a duplicate key: the WITH query's insert is undone with it
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("WITH a AS (INSERT INTO jobs VALUES (%s, 'new') RETURNING id) "
                         "INSERT INTO archive SELECT id - 92 FROM a", (100,))
        assert conn.execute("SELECT count(*) FROM jobs WHERE id = 100").fetchone() == (0,)
        with conn.transaction():
            conn.execute("WITH d AS (DELETE FROM jobs RETURNING id) SELECT count(*) FROM d")
            assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
            raise psycopg.Rollback()
    assert_rows(fresh_server.dsn, jobs=7, archive=3)
    fresh_server.restart()
    assert_rows(fresh_server.dsn, jobs=7, archive=3)


def assert_rows(dsn: str, **counts: int) -> None:
    with psycopg.connect(dsn) as conn:
        for table, count in counts.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (count,)


def test_reads_postgresql_would_see_unchanged_are_refused(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        for sql in ("WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM t",
                    "WITH d AS (DELETE FROM t RETURNING id) UPDATE t SET id = 0",
                    "WITH a AS (DELETE FROM t WHERE id = 1 RETURNING id), b AS (DELETE FROM t RETURNING id) SELECT 1"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_explain_analyze_runs_the_writes_once(fresh_server):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("INSERT INTO t VALUES (1), (2), (3)")
        plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) "
                                           "WITH d AS (DELETE FROM t WHERE id > 1 RETURNING id) SELECT count(*) FROM d")]
        assert plan == ["Aggregate (actual rows=1 loops=1)",
                        "  CTE d",
                        "    ->  Delete on t (actual rows=2 loops=1)",
                        "          ->  Seq Scan on t (actual rows=2 loops=1)",
                        "                Filter: (id > 1)",
                        "                Rows Removed by Filter: 1",
                        "  ->  CTE Scan on d (actual rows=2 loops=1)"]
        assert conn.execute("SELECT id FROM t").fetchall() == [(1,)]
