"""EXPLAIN output checked against our own expected file (PostgreSQL's costs cannot match).

`plans.sql` runs statement by statement on a fresh server; for every EXPLAIN the expected
file `plans.out` holds the statement and the plan lines it printed (or its SQLSTATE). Run
with REWINDDB_REGENERATE=1 to rewrite plans.out, then review the diff: it is the record of
which plans the optimizer chooses.
"""
from __future__ import annotations

import os
from pathlib import Path

import psycopg

from engine.sql.parser import split_statements
from tests.conftest import RunningServer

HERE = Path(__file__).resolve().parent
CASES = HERE / "plans.sql"
EXPECTED = HERE / "plans.out"


def _run(dsn: str) -> str:
    out: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for text, _ in split_statements(CASES.read_text()):
            sql = text.strip()
            explain = sql.upper().startswith("EXPLAIN")
            params = None
            if "$1" in sql:
                params = ([2, 3],) if "ANY ($1)" in sql else (3,)
            try:
                cur = conn.execute(sql.replace("$1", "%s") if params else sql, params)
                rows = cur.fetchall() if explain else []
            except psycopg.Error as e:
                if not explain:
                    raise
                out.append(f"{sql}\n---\nERROR {e.sqlstate}\n")
                continue
            if explain:
                out.append(f"{sql}\n---\n" + "".join(r[0] + "\n" for r in rows))
    return "\n".join(out)


def test_plans(tmp_path):
    server = RunningServer(tmp_path / "data").start()
    try:
        actual = _run(server.dsn)
    finally:
        server.kill()
    if os.environ.get("REWINDDB_REGENERATE"):
        EXPECTED.write_text(actual)
    assert actual == EXPECTED.read_text()
