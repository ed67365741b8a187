"""Re-record the golden files from a real PostgreSQL 15: `python -m tests.golden.record [topic ...]`.

Starts a throwaway local PostgreSQL (initdb as the postgres user, C.UTF-8, UTC), runs every
case file (or the ones named) in a fresh database of its own, and writes expected/<topic>.json.
Review the diff before committing.
"""
from __future__ import annotations

import json
import sys

import psycopg

from tests.golden.runner import CASES, EXPECTED, run_case
from tests.support.postgres import LocalPostgres


def main(names: list[str]) -> int:
    cases = sorted(CASES.glob("*.sql"))
    if names:
        cases = [c for c in cases if c.stem in names]
    EXPECTED.mkdir(exist_ok=True)
    with LocalPostgres() as pg:
        for case in cases:
            db = f"golden_{case.stem}"
            with psycopg.connect(pg.dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
                admin.execute(f'CREATE DATABASE "{db}"')
            results = run_case(pg.dsn.replace("dbname=postgres", f"dbname={db}"), case)
            (EXPECTED / f"{case.stem}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
            errors = sum(1 for r in results if "error" in r)
            print(f"{case.stem}: {len(results)} statements ({errors} errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
