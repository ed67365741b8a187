"""pgbench against rewinddb and a local PostgreSQL 15 in the same run: `pgbench -i` (COPY of
scale x 100,000 rows, then a primary key), then the TPC-B-like run in each protocol mode.

    python -m bench.pgbench [--scale 10] [--repeat 3] [--clients 8] [--threads 2] [--time 30]

For the load it reports, per server and run, pgbench's own phase timings (wall clock) and the
CPU time the server spent (rewinddb: the server process; PostgreSQL: the postmaster and every
backend and auxiliary process, children reaped or alive). On a shared machine wall time
depends on what else runs; CPU time much less, so both are printed and the ratio of each is
given. For the runs it reports transactions per second and failed transactions per mode.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

from bench.common import machine, postgres_server, rewinddb_server, today

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu(pid: int, with_children: bool) -> float:
    """Seconds of CPU used by a process (and, with_children, its reaped and live children)."""
    fields = _stat(pid)
    total = int(fields[11]) + int(fields[12])
    if with_children:
        total += int(fields[13]) + int(fields[14])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    child = _stat(int(entry.name))
                except OSError:
                    continue
                if int(child[1]) == pid:
                    total += int(child[11]) + int(child[12])
    return total / _TICKS


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def pgbench_init(port: int, scale: int) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-i", "-s", str(scale),
                          "postgres"], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, out.stderr.strip().splitlines()[-1]


def tpcb(port: int, mode: str, clients: int, threads: int, seconds: int,
         script: str = "tpcb-like") -> tuple[float, int]:
    """(transactions per second, failed transactions) of one pgbench run of a builtin script
    (`tpcb-like`, `select-only`, ...)."""
    out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-n", "-M", mode,
                          "-b", script, "-c", str(clients), "-j", str(threads), "-T", str(seconds), "postgres"],
                         capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))
    return tps, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--time", type=int, default=30)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"postgres": [], "rewinddb": []}
    with postgres_server() as pg, rewinddb_server(("--http-port", "0")) as rw:
        pg_pid = postmaster_pid(pg.data)
        for _ in range(args.repeat):
            for name, port, pid, children in (("postgres", pg.port, pg_pid, True),
                                              ("rewinddb", rw.port, rw.proc.pid, False)):
                cpu = process_cpu(pid, children)
                wall, phases = pgbench_init(port, args.scale)
                used = process_cpu(pid, children) - cpu
                results[name].append((wall, used))
                phases = re.sub(r"^done in [\d.]+ s ", "", phases)
                print(f"{name:9} wall {wall:6.2f} s  server cpu {used:6.2f} s  {phases}")
        pg_wall = statistics.median(w for w, _ in results["postgres"])
        pg_cpu = statistics.median(c for _, c in results["postgres"])
        rw_wall = statistics.median(w for w, _ in results["rewinddb"])
        rw_cpu = statistics.median(c for _, c in results["rewinddb"])
        print(f"{today()}, {machine()}, pgbench -i -s {args.scale}, median of {args.repeat}: "
              f"wall {rw_wall:.2f} s vs {pg_wall:.2f} s ({rw_wall / pg_wall:.1f}x), "
              f"server cpu {rw_cpu:.2f} s vs {pg_cpu:.2f} s ({rw_cpu / pg_cpu:.1f}x)")
        for mode in ("simple", "extended", "prepared"):
            pg_tps, pg_failed = tpcb(pg.port, mode, args.clients, args.threads, args.time)
            rw_tps, rw_failed = tpcb(rw.port, mode, args.clients, args.threads, args.time)
            print(f"-M {mode:8} -c {args.clients} -j {args.threads} -T {args.time}: rewinddb {rw_tps:8.1f} tps "
                  f"({rw_failed} failed), postgres {pg_tps:8.1f} tps ({pg_failed} failed), ratio {rw_tps / pg_tps:.2f}")


if __name__ == "__main__":
    main()
