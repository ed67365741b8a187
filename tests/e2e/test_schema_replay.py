"""Schema changes are events in the log: after a restart (a full replay) every table, column,
constraint, foreign key, sequence position, view, schema and comment is as it was, and the
rows rewritten by DDL (ALTER COLUMN TYPE, ADD COLUMN with a default or a generation
expression, TRUNCATE, CREATE TABLE AS) read back the same. Checked against the real server with psycopg."""
from __future__ import annotations

import psycopg
import pytest

SETUP = [
    "CREATE SCHEMA app",
    "CREATE TABLE app.dept (id int PRIMARY KEY, name text NOT NULL UNIQUE, budget numeric(10,2) CHECK (budget >= 0))",
    "CREATE TABLE emp (id serial PRIMARY KEY, name text NOT NULL, dept_id int REFERENCES app.dept ON DELETE CASCADE,"
    " salary int CONSTRAINT positive CHECK (salary > 0), tags text[], meta jsonb)",
    "INSERT INTO app.dept VALUES (1, 'eng', 100), (2, 'ops', 50)",
    "INSERT INTO emp (name, dept_id, salary, tags, meta) VALUES ('ann', 1, 10, '{a,b}', '{\"k\": 1}'),"
    " ('bob', 2, 20, NULL, NULL), ('cy', 1, 30, '{}', '[1, 2]')",
    "ALTER TABLE emp ADD COLUMN level int NOT NULL DEFAULT 3",
    "ALTER TABLE emp ALTER COLUMN salary TYPE bigint USING salary * 1000",
    "ALTER TABLE emp RENAME COLUMN name TO full_name",
    "ALTER TABLE emp ALTER COLUMN level SET DEFAULT 5",
    "ALTER TABLE emp DROP COLUMN tags",
    "CREATE SEQUENCE counter START 100 INCREMENT 10",
    "SELECT nextval('counter'), nextval('counter')",
    "CREATE VIEW app.payroll (who, pay) AS SELECT e.full_name, e.salary FROM emp e WHERE e.level >= 3",
    "COMMENT ON TABLE emp IS 'employees'",
    "COMMENT ON COLUMN emp.full_name IS 'the name'",
    "CREATE TABLE snapshot AS SELECT id, full_name FROM emp WHERE dept_id = 1",
    "CREATE TABLE scratch (x int)",
    "INSERT INTO scratch VALUES (1), (2)",
    "TRUNCATE scratch",
    "INSERT INTO scratch VALUES (3)",
    "DELETE FROM app.dept WHERE id = 2",
    "INSERT INTO emp (full_name, dept_id, salary) VALUES ('di', 1, 40000) ON CONFLICT DO NOTHING",
    "INSERT INTO emp (id, full_name, dept_id, salary) VALUES (1, 'ann2', 1, 11000)"
    " ON CONFLICT (id) DO UPDATE SET full_name = excluded.full_name",
    "CREATE TABLE area (w int, h int, size int GENERATED ALWAYS AS (w * h) STORED)",
    "INSERT INTO area (w, h) VALUES (2, 3)",
    "ALTER TABLE area ADD COLUMN label text GENERATED ALWAYS AS ('w' || w) STORED",
]

CHECKS = [
    "SELECT id, full_name, dept_id, salary, meta, level FROM emp ORDER BY id",
    "SELECT * FROM app.dept ORDER BY id",
    "SELECT * FROM app.payroll ORDER BY who",
    "SELECT * FROM snapshot ORDER BY id",
    "SELECT * FROM scratch",
    "SELECT last_value, is_called FROM counter",
    "SELECT obj_description('emp'::regclass, 'pg_class'), col_description('emp'::regclass, 2)",
    "SELECT conname, contype FROM pg_constraint WHERE conrelid = 'emp'::regclass ORDER BY conname",
    "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
    " WHERE attrelid = 'emp'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    "SELECT * FROM area",
]


def _run(dsn: str, statements: list[str]) -> list:
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in statements:
            cur = conn.execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
    return out


def test_schema_and_rows_survive_a_restart(fresh_server):
    _run(fresh_server.dsn, SETUP)
    before = _run(fresh_server.dsn, CHECKS)
    assert before[0][0][1] == "ann2" and before[0][0][3] == 10000      # renamed column, converted type
    assert before[4] == [(3,)]                                         # TRUNCATE, then an insert
    fresh_server.restart()
    after = _run(fresh_server.dsn, CHECKS)
    assert after == before
    # the sequence continues where it was, defaults and constraints still hold after replay
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT nextval('counter')").fetchone() == (120,)
        assert conn.execute("INSERT INTO emp (full_name, dept_id, salary) VALUES ('eve', 1, 5) RETURNING level").fetchone() == (5,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO emp (full_name, dept_id, salary) VALUES ('x', 2, 5)")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO emp (full_name, salary) VALUES ('x', -5)")
        with pytest.raises(psycopg.errors.DependentObjectsStillExist):
            conn.execute("DROP TABLE emp")
        # generated columns are still computed from the row
        assert conn.execute("UPDATE area SET w = 5 RETURNING size, label").fetchone() == (15, "w5")
        conn.execute("DROP SCHEMA app CASCADE")
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone() == (0,)
    fresh_server.restart()
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM emp").fetchone() == (4,)   # bob went with dept 2 (CASCADE)
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM app.dept")
