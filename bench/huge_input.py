"""How a huge statement and a huge write set treat everyone else.

    python -m bench.huge_input [--rows 66000] [--write-rows 100000] [--repeat 5]

1. One client sends a single `INSERT ... VALUES` of `--rows` rows (about 30 bytes of SQL a
   row: 66,000 rows is 2 MB) while a watchdog client runs `SELECT 1` every 10 ms on its own
   connection: the INSERT's wall time, how many watchdog queries were answered meanwhile and
   the longest a watchdog query waited (the event loop's worst stall). PostgreSQL runs the
   same INSERT for scale.
2. The cost of the write budget (`transaction_memory_limit`): `INSERT ... SELECT` of
   `--write-rows` rows inside a transaction, on a server with the budget off (0) and one with
   the default, interleaved `--repeat` times; the server's CPU time per run.

Figures go to stdout; record them in bench/RESULTS.md with the machine's load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import psycopg

from bench.common import machine, postgres_server, rewinddb_server, today


def huge_insert(dsn: str, rows: int) -> tuple[float, int, float]:
    """(INSERT wall seconds, watchdog answers during it, longest watchdog wait in seconds)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS huge")
        conn.execute("CREATE TABLE huge (a int, b text, c float8)")
    sql = "INSERT INTO huge VALUES " + ", ".join(f"({i}, 'row {i}', {i}.5)" for i in range(rows))
    waits: list[float] = []
    stop = threading.Event()

    def watchdog() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set():
                started = time.perf_counter()
                conn.execute("SELECT 1")
                waits.append(time.perf_counter() - started)
                stop.wait(0.01)

    thread = threading.Thread(target=watchdog)
    thread.start()
    time.sleep(0.5)
    answered = len(waits)
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(sql)
        wall = time.perf_counter() - started
    during = waits[answered:]
    stop.set()
    thread.join()
    return wall, len(during), max(during, default=wall)


def server_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_budget_cost(write_rows: int, repeat: int) -> dict[str, list[float]]:
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    with rewinddb_server(("--transaction-memory-limit", "0")) as off, rewinddb_server() as on:
        sides = {"off": off, "on": on}
        for server in sides.values():
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE w (a int, b text, c float8, d int)")
        for _ in range(repeat):
            for name, server in sides.items():
                with psycopg.connect(server.dsn) as conn:
                    before = server_cpu(server.proc.pid)
                    conn.execute(f"INSERT INTO w SELECT g, 'row ' || g, g * 0.5, g FROM generate_series(1, {write_rows}) g")
                    cpu[name].append(server_cpu(server.proc.pid) - before)
                    conn.rollback()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=66_000)
    parser.add_argument("--write-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{today()}, {machine()}, load average {os.getloadavg()[0]:.1f}")
    with rewinddb_server() as server:
        wall, answered, longest = huge_insert(server.dsn, args.rows)
    print(f"rewinddb: INSERT of {args.rows} rows {wall:.1f} s; watchdog answered {answered} queries meanwhile, "
          f"longest wait {longest:.2f} s")
    with postgres_server() as pg:
        wall, answered, longest = huge_insert(pg.dsn, args.rows)
    print(f"PostgreSQL: INSERT of {args.rows} rows {wall:.1f} s; watchdog answered {answered}, longest wait {longest:.2f} s")
    cpu = write_budget_cost(args.write_rows, args.repeat)
    for name, values in cpu.items():
        print(f"write budget {name}: server CPU per INSERT of {args.write_rows} rows, median "
              f"{statistics.median(values):.3f} s ({', '.join(f'{v:.3f}' for v in values)})")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
