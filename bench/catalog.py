"""Catalog queries as tools send them: `python -m bench.catalog [rounds]`.

A tool that browses a schema sends the same catalog queries again and again, often from a new
connection each time (psql starts a new session per invocation). This benchmark runs psql 15
itself, `psql -c '\\d t' -c '\\dt' -c '\\d' -c '\\dn'` on a new connection, against rewinddb
and a local PostgreSQL 15 in the same run, alternating between the two servers, and reports
the median time of one invocation and the ratio. The schema: 20 tables of 8 columns with a
primary key, a unique column, a check and an index each.

Then, on one connection to each server, the first read of a few catalogs right after a DDL
statement (a new catalog, so nothing derived from the previous one is reused): the median
time of the query, per catalog.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

import psycopg

from bench.common import machine, postgres_server, rewinddb_server, today

COMMANDS = ["\\d t7", "\\dt", "\\d", "\\dn"]
AFTER_DDL = {"information_schema.columns": "SELECT count(*) FROM information_schema.columns",
             "pg_attribute": "SELECT count(*) FROM pg_attribute",
             "pg_class": "SELECT count(*) FROM pg_class",
             "pg_type": "SELECT count(*) FROM pg_type"}


def setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(20):
            conn.execute(f"CREATE TABLE t{i} (id serial PRIMARY KEY, name varchar(40) NOT NULL, email text UNIQUE, "
                         f"qty int CHECK (qty >= 0), price numeric(10,2) DEFAULT 0, at timestamptz DEFAULT now(), "
                         f"note text, flag boolean)")
            conn.execute(f"CREATE INDEX t{i}_qty_idx ON t{i} (qty)")


def invocation(port: int) -> float:
    args = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres"]
    for command in COMMANDS:
        args += ["-c", command]
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def after_ddl(dsn: str, rounds: int) -> dict[str, float]:
    """Median seconds of each AFTER_DDL query run right after a CREATE TABLE."""
    out = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, query in AFTER_DDL.items():
            times = []
            for i in range(rounds):
                conn.execute(f"CREATE TABLE ddl_{name.replace('.', '_')}_{i} (id int)")
                started = time.perf_counter()
                conn.execute(query).fetchall()
                times.append(time.perf_counter() - started)
            out[name] = statistics.median(times)
    return out


def main(rounds: int) -> int:
    with postgres_server() as pg, rewinddb_server() as rw:
        setup(pg.dsn)
        setup(rw.dsn)
        invocation(pg.port), invocation(rw.port)          # warm up both
        pg_times, rw_times = [], []
        for _ in range(rounds):
            pg_times.append(invocation(pg.port))
            rw_times.append(invocation(rw.port))
        pg_ddl, rw_ddl = after_ddl(pg.dsn, rounds), after_ddl(rw.dsn, rounds)
    pg_median, rw_median = statistics.median(pg_times), statistics.median(rw_times)
    print(f"{today()} {machine()}")
    print(f"psql {' '.join(COMMANDS)} on a new connection, {rounds} rounds")
    print(f"PostgreSQL median {pg_median * 1000:.0f} ms (range {min(pg_times) * 1000:.0f}-{max(pg_times) * 1000:.0f})")
    print(f"rewinddb   median {rw_median * 1000:.0f} ms (range {min(rw_times) * 1000:.0f}-{max(rw_times) * 1000:.0f})")
    print(f"time ratio rewinddb / PostgreSQL: {rw_median / pg_median:.2f}")
    for name in AFTER_DDL:
        print(f"{name} right after DDL: PostgreSQL {pg_ddl[name] * 1000:.2f} ms, rewinddb {rw_ddl[name] * 1000:.2f} ms "
              f"({rw_ddl[name] / pg_ddl[name]:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
