"""Analytics benchmark: a 1M-row fact table in rewinddb and in PostgreSQL 15, same run.

    python -m bench.analytics [--rows N] [--repeat N] [--record]

Loads `facts` (id, grp, val, name, dim_id) and a 100-row dimension table `dim` into both
servers with multi-row INSERTs in large transactions, then times four read queries:

- filtered scan: a count with a WHERE over the whole table,
- group by: ~100 groups with count and sum,
- join: the fact table joined to the dimension table (aggregated, so no transfer dominates),
- order by ... limit 10 on a text column.

Each query runs `--repeat` times per server (after one warm-up run), alternating between the
servers so both see the same machine load; the median counts. The ratio is PostgreSQL's time
/ rewinddb's time (1.0: as fast as PostgreSQL; the performance issue's target is 0.5). The
rewinddb server's CPU time per query is reported too: on a shared machine it shows what the
query costs without other processes' load. For a like-for-like figure that the machine's load
does not move, each query also runs on PostgreSQL without parallel workers
(max_parallel_workers_per_gather = 0, one process like rewinddb) while its backend's CPU time
is taken: the CPU ratio is that PostgreSQL CPU time / rewinddb's server CPU time. `--record`
appends the table to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import psycopg

from bench.common import RESULTS, machine, postgres_server, rewinddb_server, today

QUERIES = {
    "filtered scan (count, WHERE)": "SELECT count(*) FROM facts WHERE val < 100 AND grp <> 7",
    "group by (~100 groups, count/sum)": "SELECT grp, count(*), sum(val) FROM facts GROUP BY grp",
    "join (1M x 100-row dimension)": "SELECT d.label, count(*), sum(f.val) FROM facts f JOIN dim d ON f.dim_id = d.id "
                                     "GROUP BY d.label",
    "order by text limit 10": "SELECT id, name FROM facts ORDER BY name LIMIT 10",
}
BATCH_ROWS = 1000          # rows per INSERT statement
STATEMENTS_PER_COMMIT = 50  # so 50,000 rows per transaction


def load(dsn: str, rows: int, seed: int = 7) -> float:
    """Create and fill the tables; returns the seconds it took."""
    rnd = random.Random(seed)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE dim (id int PRIMARY KEY, label text)")
        conn.execute("INSERT INTO dim VALUES " + ", ".join(f"({i}, 'label-{i % 37:02d}')" for i in range(100)))
        conn.execute("CREATE TABLE facts (id int PRIMARY KEY, grp int, val int, name text, dim_id int)")
        conn.autocommit = False
        for start in range(0, rows, BATCH_ROWS):
            values = ", ".join(
                f"({i}, {rnd.randrange(100)}, {rnd.randrange(1000)}, 'n{rnd.randrange(10**9):09d}', {rnd.randrange(100)})"
                for i in range(start, min(start + BATCH_ROWS, rows)))
            conn.execute("INSERT INTO facts VALUES " + values)
            if (start // BATCH_ROWS + 1) % STATEMENTS_PER_COMMIT == 0:
                conn.commit()
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (Linux schedstat, nanosecond resolution)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def measure(pg_dsn: str, rw_dsn: str, rw_pid: int, repeat: int) -> dict[str, dict]:
    """Per query: both servers' timings, taken alternately so both see the same machine load,
    and rewinddb's server CPU time (which other processes' load does not inflate)."""
    out = {}
    with psycopg.connect(pg_dsn, autocommit=True) as pg, psycopg.connect(rw_dsn, autocommit=True) as rw:
        for name, sql in QUERIES.items():
            pg_rows = pg.execute(sql).fetchall()                # warm-up (plan caches, buffers)
            rw_rows = rw.execute(sql).fetchall()
            pg_times, rw_times, rw_cpu = [], [], []
            for _ in range(repeat):
                started = time.perf_counter()
                pg.execute(sql).fetchall()
                pg_times.append(time.perf_counter() - started)
                cpu = cpu_seconds(rw_pid)
                started = time.perf_counter()
                rw.execute(sql).fetchall()
                rw_times.append(time.perf_counter() - started)
                rw_cpu.append(cpu_seconds(rw_pid) - cpu)
            out[name] = {"pg": statistics.median(pg_times), "rw": statistics.median(rw_times),
                         "rw_cpu": statistics.median(rw_cpu), "rw_all": rw_times, "pg_all": pg_times,
                         "pg_cpu": _serial_cpu(pg, sql, repeat),
                         "same": sorted(map(str, pg_rows)) == sorted(map(str, rw_rows))}
    return out


def _serial_cpu(pg: psycopg.Connection, sql: str, repeat: int) -> float:
    """Median CPU seconds of PostgreSQL's backend running `sql` without parallel workers."""
    backend = pg.execute("SELECT pg_backend_pid()").fetchone()[0]
    pg.execute("SET max_parallel_workers_per_gather = 0")
    try:
        pg.execute(sql).fetchall()
        times = []
        for _ in range(repeat):
            cpu = cpu_seconds(backend)
            pg.execute(sql).fetchall()
            times.append(cpu_seconds(backend) - cpu)
        return statistics.median(times)
    finally:
        pg.execute("RESET max_parallel_workers_per_gather")


def report(result: dict[str, dict], rows: int, pg_load: float, rw_load: float) -> list[str]:
    """`measure`'s result (and the load times) as a markdown table."""
    lines = ["| query | PostgreSQL ms | rewinddb ms | ratio (PG time / rewinddb time) | spread (PG; rewinddb) | "
             "PostgreSQL CPU ms, 1 process | rewinddb server CPU ms | CPU ratio |", "|---|---|---|---|---|---|---|---|"]
    for name in QUERIES:
        r = result[name]
        spread = (f"{min(r['pg_all']) * 1000:.0f}-{max(r['pg_all']) * 1000:.0f}; "
                  f"{min(r['rw_all']) * 1000:.0f}-{max(r['rw_all']) * 1000:.0f}")
        lines.append(f"| {name}{'' if r['same'] else ' (RESULTS DIFFER)'} | {r['pg'] * 1000:.1f} | {r['rw'] * 1000:.1f} | "
                     f"{r['pg'] / r['rw']:.2f} | {spread} | {r['pg_cpu'] * 1000:.1f} | {r['rw_cpu'] * 1000:.1f} | "
                     f"{r['pg_cpu'] / r['rw_cpu']:.2f} |")
    lines.append(f"| load ({rows:,} rows, multi-row INSERTs) | {pg_load * 1000:.0f} | {rw_load * 1000:.0f} | "
                 f"{pg_load / rw_load:.2f} | | | | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    # no background snapshot while measuring: it is a separate cost (PostgreSQL's checkpoints
    # run in other processes), and in Python it would compete with the queries for the GIL
    quiet = ("--snapshot-events", "1000000000", "--snapshot-log-bytes", "100GiB")
    with postgres_server() as pg, rewinddb_server(quiet) as rw:
        with psycopg.connect(pg.dsn) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
        pg_load = load(pg.dsn, args.rows)
        rw_load = load(rw.dsn, args.rows)
        result = measure(pg.dsn, rw.dsn, rw.proc.pid, args.repeat)
    lines = report(result, args.rows, pg_load, rw_load)
    header = (f"analytics benchmark, {today()}, {machine()}, PostgreSQL {pg_version}, {args.rows:,} rows, "
              f"median of {args.repeat}")
    print("# " + header)
    print("\n".join(lines))
    if args.record:
        with RESULTS.open("a") as f:
            f.write(f"\n## {today()} — analytics (`python -m bench.analytics`)\n\n{header}.\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
