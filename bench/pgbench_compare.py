"""rewinddb against PostgreSQL 15 with pgbench, and the analytics queries, in one run.

    python -m bench.pgbench_compare [--scale 10] [--time 20] [--repeat 3] [--clients 1,8]
                                    [--rows 1000000] [--analytics-repeat 5]

Starts a local PostgreSQL 15 and a rewinddb server side by side, then:

1. `pgbench -i -s SCALE` on each (wall time, and the server CPU time it cost);
2. pgbench select-only (`-b select-only`) and TPC-B (`-b tpcb-like`), with each client
   count in `--clients` (one pgbench thread per four clients, at least one), in the simple
   and the prepared protocol mode, `--time` seconds per run. Every configuration runs
   `--repeat` times, alternating which server goes first, so both see the same load; the
   median transactions per second count, and the ratio is rewinddb / PostgreSQL (above
   1.0: rewinddb is faster). Server CPU per transaction is printed too (rewinddb's process;
   PostgreSQL's postmaster and every backend): on a shared machine it shows what each
   transaction costs regardless of the other processes' load;
3. the analytics queries of `bench.analytics` over `--rows` rows (ratio PostgreSQL time /
   rewinddb time, as that benchmark reports it).

rewinddb runs without background snapshots (PostgreSQL's checkpoints run in processes of
their own; a snapshot of a million rows would compete with the measured statements for the
one event loop); both servers commit with fsync. Prints markdown tables for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import statistics

from bench import analytics
from bench.common import machine, postgres_server, rewinddb_server, today
from bench.pgbench import pgbench_init, postmaster_pid, process_cpu, tpcb

QUIET = ("--snapshot-events", "1000000000", "--snapshot-log-bytes", "100GiB")
SCRIPTS = (("select-only", "select-only"), ("TPC-B", "tpcb-like"))
MODES = ("simple", "prepared")


class Side:
    """One server under test: its port and how to read its CPU time."""

    def __init__(self, name: str, port: int, pid: int, children: bool) -> None:
        self.name, self.port, self.pid, self.children = name, port, pid, children

    def cpu(self) -> float:
        return process_cpu(self.pid, self.children)


def run(side: Side, script: str, mode: str, clients: int, seconds: int) -> tuple[float, float, int]:
    """(tps, server CPU microseconds per transaction, failed transactions) of one pgbench run."""
    before = side.cpu()
    tps, failed = tpcb(side.port, mode, clients, max(1, clients // 4), seconds, script)
    used = side.cpu() - before
    return tps, used / max(tps * seconds, 1) * 1e6, failed


def spread(values: list[float]) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--time", type=int, default=20, help="seconds per pgbench run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the analytics fact table (0: skip)")
    parser.add_argument("--analytics-repeat", type=int, default=5)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    print(f"# pgbench_compare, {today()}, {machine()}, scale {args.scale}, {args.time} s per run, "
          f"median of {args.repeat}\n")
    with postgres_server() as pg, rewinddb_server(QUIET) as rw:
        sides = [Side("PostgreSQL", pg.port, postmaster_pid(pg.data), True),
                 Side("rewinddb", rw.port, rw.proc.pid, False)]
        print("| load | PostgreSQL s | rewinddb s | rewinddb / PostgreSQL | server CPU s (PG; rewinddb) |")
        print("|---|---|---|---|---|")
        loads = {}
        for side in sides:
            before = side.cpu()
            wall, _ = pgbench_init(side.port, args.scale)
            loads[side.name] = (wall, side.cpu() - before)
        (pg_wall, pg_cpu), (rw_wall, rw_cpu) = loads["PostgreSQL"], loads["rewinddb"]
        print(f"| pgbench -i -s {args.scale} | {pg_wall:.2f} | {rw_wall:.2f} | {rw_wall / pg_wall:.2f} | "
              f"{pg_cpu:.2f}; {rw_cpu:.2f} |\n", flush=True)

        print("| test | clients | mode | PostgreSQL tps | rewinddb tps | ratio | spread (PG; rewinddb) | "
              "server CPU µs/txn (PG; rewinddb) | failed (PG; rewinddb) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for title, script in SCRIPTS:
            for n in clients:
                for mode in MODES:
                    results: dict[str, list[tuple[float, float, int]]] = {"PostgreSQL": [], "rewinddb": []}
                    for i in range(args.repeat):
                        for side in (sides if i % 2 == 0 else sides[::-1]):
                            results[side.name].append(run(side, script, mode, n, args.time))
                    pg_tps = [r[0] for r in results["PostgreSQL"]]
                    rw_tps = [r[0] for r in results["rewinddb"]]
                    pg_med, rw_med = statistics.median(pg_tps), statistics.median(rw_tps)
                    pg_us = statistics.median(r[1] for r in results["PostgreSQL"])
                    rw_us = statistics.median(r[1] for r in results["rewinddb"])
                    failed = (sum(r[2] for r in results["PostgreSQL"]), sum(r[2] for r in results["rewinddb"]))
                    print(f"| {title} | {n} | {mode} | {pg_med:,.0f} | {rw_med:,.0f} | {rw_med / pg_med:.2f} | "
                          f"{spread(pg_tps)}; {spread(rw_tps)} | {pg_us:,.0f}; {rw_us:,.0f} | "
                          f"{failed[0]}; {failed[1]} |", flush=True)

        if args.rows:
            pg_load = analytics.load(pg.dsn, args.rows)
            rw_load = analytics.load(rw.dsn, args.rows)
            result = analytics.measure(pg.dsn, rw.dsn, rw.proc.pid, args.analytics_repeat)
            print(f"\nanalytics ({args.rows:,} rows, median of {args.analytics_repeat}):\n")
            print("\n".join(analytics.report(result, args.rows, pg_load, rw_load)))


if __name__ == "__main__":
    main()
