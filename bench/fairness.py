"""Fairness: point-select latency seen by one client while another runs a 1M-row aggregate.

`python -m bench.fairness [--rows N] [--queries N]` loads a table of N rows (default
1,000,000) and a 1,000-row keyed table into rewinddb and into a local PostgreSQL 15, then,
on each, measures primary-key point selects from one connection: first alone, then while a
second connection runs `SELECT g, count(*), sum(v) FROM big GROUP BY g` over and over. It
prints p50/p99/max latencies and how long one aggregate took. rewinddb serves every session
from one event loop, so this shows how well a long query yields (server/connection.py
yields between result batches; blocking operators tick between input batches).
"""
from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

import psycopg

from bench.common import machine, postgres_server, rewinddb_server, today


def load(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int, g int, v int)")
        for start in range(1, rows + 1, 100_000):
            end = min(start + 99_999, rows)
            conn.execute(f"INSERT INTO big SELECT i, i % 100, i % 1000 FROM generate_series({start}, {end}) i")
        conn.execute("CREATE TABLE pt (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO pt SELECT i, i * 7 FROM generate_series(1, 1000) i")
        conn.execute("ANALYZE")


def point_selects(dsn: str, n: int) -> list[float]:
    """Latencies (seconds) of n point selects, extended protocol, prepared."""
    rng = random.Random(1)
    out = []
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as conn:
        for _ in range(n):
            key = rng.randint(1, 1000)
            t = time.perf_counter()
            conn.execute("SELECT v FROM pt WHERE id = %s", (key,)).fetchone()
            out.append(time.perf_counter() - t)
    return out


class AggregateLoop(threading.Thread):
    """Runs the 1M-row aggregate back to back until stopped; records each one's duration."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop = threading.Event()
        self.running = threading.Event()
        self.durations: list[float] = []

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                self.running.set()
                t = time.perf_counter()
                conn.execute("SELECT g, count(*), sum(v) FROM big GROUP BY g").fetchall()
                self.durations.append(time.perf_counter() - t)


def measure(dsn: str, queries: int) -> dict[str, float]:
    point_selects(dsn, 200)                         # warm up plans and caches
    alone = point_selects(dsn, queries)
    loop = AggregateLoop(dsn)
    loop.start()
    loop.running.wait()
    time.sleep(0.2)
    busy = point_selects(dsn, queries)
    loop.stop.set()
    loop.join()
    return {
        "alone_p50": _pct(alone, 50), "alone_p99": _pct(alone, 99),
        "busy_p50": _pct(busy, 50), "busy_p99": _pct(busy, 99), "busy_max": max(busy) * 1000,
        "aggregate": statistics.median(loop.durations) * 1000, "aggregates": len(loop.durations),
    }


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * p // 100)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    results = {}
    with rewinddb_server() as server:
        load(server.dsn, args.rows)
        results["rewinddb"] = measure(server.dsn, args.queries)
    with postgres_server() as pg:
        load(pg.dsn, args.rows)
        results["PostgreSQL"] = measure(pg.dsn, args.queries)
    print(f"{today()} — {machine()}; {args.rows:,} rows, {args.queries} point selects per phase (ms)")
    print("| server | alone p50 | alone p99 | during aggregate p50 | p99 | max | one aggregate |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['alone_p50']:.2f} | {r['alone_p99']:.2f} | {r['busy_p50']:.2f} | "
              f"{r['busy_p99']:.2f} | {r['busy_max']:.1f} | {r['aggregate']:.0f} ({r['aggregates']} runs) |")


if __name__ == "__main__":
    main()
