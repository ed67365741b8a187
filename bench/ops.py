"""Operations overhead: what the metrics cost per statement, and SQL over HTTP against the wire.

    python -m bench.ops

1. `Metrics.statement_done` (called once per statement by every front end), in process:
   nanoseconds per call, against an empty call.
2. One rewinddb server: N primary-key point selects over the wire protocol (psycopg, simple
   protocol, one connection) and N over `POST /v1/sql` (http.client, one keep-alive
   connection), same run; the ratio is HTTP / wire throughput.
Each measurement is repeated; the median and the spread are printed.
"""
from __future__ import annotations

import http.client
import json
import statistics
import time
import timeit

import psycopg

from bench.common import machine, rewinddb_server, today
from server.metrics import Metrics
from tests.ops.http_client import free_port

SELECTS = 2000
REPEATS = 5


def metrics_cost() -> list[float]:
    metrics = Metrics(-1)
    n = 200_000
    out = []
    for _ in range(REPEATS):
        empty = timeit.timeit(lambda: None, number=n)
        call = timeit.timeit(lambda: metrics.statement_done("SELECT 1", "SELECT 1", 0.0001, "postgres"), number=n)
        out.append((call - empty) / n * 1e9)
    return out


def wire_rate(dsn: str) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        for i in range(SELECTS):
            conn.execute(f"SELECT v FROM kv WHERE k = {i % 100}").fetchone()
        return SELECTS / (time.perf_counter() - started)


def http_rate(port: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(SELECTS):
        conn.request("POST", "/v1/sql", body=json.dumps({"sql": f"SELECT v FROM kv WHERE k = {i % 100}"}))
        conn.getresponse().read()
    conn.close()
    return SELECTS / (time.perf_counter() - started)


def main() -> None:
    cost = metrics_cost()
    port = free_port()
    with rewinddb_server(("--http-port", str(port))) as server:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)")
            for k in range(100):
                conn.execute("INSERT INTO kv VALUES (%s, %s)", (k, f"value {k}"))
        wire, web = [], []
        for _ in range(REPEATS):
            wire.append(wire_rate(server.dsn))
            web.append(http_rate(port))
    ratios = [h / w for h, w in zip(web, wire)]
    print(f"{today()} {machine()}")
    print(f"statement_done: median {statistics.median(cost):.0f} ns (runs {', '.join(f'{c:.0f}' for c in cost)})")
    print(f"wire point selects/s: median {statistics.median(wire):.0f} (min {min(wire):.0f}, max {max(wire):.0f})")
    print(f"HTTP point selects/s: median {statistics.median(web):.0f} (min {min(web):.0f}, max {max(web):.0f})")
    print(f"HTTP / wire: median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
