"""First benchmark: single-row inserts (each its own commit) and point selects through psycopg.

    python -m bench.crud [--rows N] [--selects N]

Runs the same workload against rewinddb and a local PostgreSQL 15 in the same run and prints
operations per second and the ratio rewinddb / PostgreSQL (higher is better for rewinddb).
"""
from __future__ import annotations

import argparse
import random
import time

import psycopg

from bench.common import machine, postgres_server, rewinddb_server, today


def workload(dsn: str, rows: int, selects: int) -> dict[str, float]:
    out = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_kv (id int PRIMARY KEY, name text, score int)")
        start = time.perf_counter()
        for i in range(rows):
            conn.execute("INSERT INTO bench_kv VALUES (%s, %s, %s)", (i, f"name-{i}", i % 100))
        out["insert (autocommit)"] = rows / (time.perf_counter() - start)
        ids = [random.randrange(rows) for _ in range(selects)]
        start = time.perf_counter()
        for i in ids:
            conn.execute("SELECT name, score FROM bench_kv WHERE id = %s", (i,)).fetchone()
        out["point select (extended)"] = selects / (time.perf_counter() - start)
        cur = psycopg.ClientCursor(conn)
        start = time.perf_counter()
        for i in ids:
            cur.execute("SELECT name, score FROM bench_kv WHERE id = %s", (i,))
            cur.fetchone()
        out["point select (simple)"] = selects / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--selects", type=int, default=10000)
    args = parser.parse_args()
    with postgres_server() as pg:
        pg_result = workload(pg.dsn, args.rows, args.selects)
    with rewinddb_server() as rw:
        rw_result = workload(rw.dsn, args.rows, args.selects)
    print(f"# crud benchmark, {today()}, {machine()}")
    print(f"| operation | PostgreSQL ops/s | rewinddb ops/s | ratio |")
    print(f"|---|---|---|---|")
    for op in pg_result:
        print(f"| {op} | {pg_result[op]:,.0f} | {rw_result[op]:,.0f} | {rw_result[op] / pg_result[op]:.2f} |")


if __name__ == "__main__":
    main()
