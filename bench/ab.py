"""Two rewinddb builds against each other under pgbench, runs alternating, to measure a change.

    python -m bench.ab --old REV [--new DIR] [--scale 10] [--time 10] [--repeat 3]
                       [--runs select-only:prepared:1,select-only:simple:1,...] [--init 0]

`--old` is a git revision of this repository (exported to a temporary directory with `git
archive`) or a directory holding a checkout; `--new` is a directory (this tree by default).
Both servers run at once, each loaded with `pgbench -i -s SCALE`; then every configuration
(script:mode:clients) runs `--repeat` times on each, alternating which build goes first, so
both see the same load of a shared machine. `--init N` also times N more `pgbench -i` loads on
each, alternating. Prints, per configuration, the median transactions per second with the
range of the runs, and the server CPU microseconds per transaction (the steadier measure on a
noisy machine), as a markdown table for bench/RESULTS.md; new/old above 1.0 means faster.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from bench.common import machine, today
from bench.pgbench import pgbench_init, process_cpu, tpcb
from bench.profile import start_server
from tests.conftest import RunningServer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = ("select-only:prepared:1,select-only:simple:1,select-only:prepared:8,select-only:simple:8,"
                "tpcb-like:prepared:1,tpcb-like:prepared:8")


@contextlib.contextmanager
def source_tree(spec: str, tmp: Path) -> Iterator[Path]:
    """A directory holding the build `spec`: a directory as it is, or a git revision exported."""
    if Path(spec).is_dir():
        yield Path(spec).resolve()
        return
    target = tmp / "old-source"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", spec], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    yield target


def measure(server: RunningServer, script: str, mode: str, clients: int, seconds: int) -> tuple[float, float]:
    """(tps, server CPU microseconds per transaction) of one pgbench run."""
    before = process_cpu(server.proc.pid, False)
    tps, failed = tpcb(server.port, mode, clients, max(1, clients // 4), seconds, script)
    if failed:
        raise RuntimeError(f"{failed} failed transactions ({script}, {mode}, {clients} clients)")
    used = process_cpu(server.proc.pid, False) - before
    return tps, used / max(tps * seconds, 1) * 1e6


def load(server: RunningServer, scale: int) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) of one `pgbench -i -s SCALE`."""
    before = process_cpu(server.proc.pid, False)
    wall, _ = pgbench_init(server.port, scale)
    return wall, process_cpu(server.proc.pid, False) - before


def summary(values: list[float], digits: int = 0) -> str:
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="git revision or directory of the baseline build")
    parser.add_argument("--new", default=str(ROOT), help="directory of the build under test")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--time", type=int, default=10, help="seconds per pgbench run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="comma-separated script:mode:clients")
    parser.add_argument("--init", type=int, default=0, help="extra timed pgbench -i loads per build")
    args = parser.parse_args()
    runs = [(s, m, int(c)) for s, m, c in (r.split(":") for r in args.runs.split(",") if r)]
    with tempfile.TemporaryDirectory() as tmp, source_tree(args.old, Path(tmp)) as old_source:
        builds = {"old": start_server(old_source, Path(tmp) / "old-data"),
                  "new": start_server(Path(args.new).resolve(), Path(tmp) / "new-data")}
        try:
            loads: dict[str, list[tuple[float, float]]] = {name: [] for name in builds}
            for i in range(1 + args.init):
                for name in (("old", "new") if i % 2 == 0 else ("new", "old")):
                    loads[name].append(load(builds[name], args.scale))
            results: dict[tuple, dict[str, list[tuple[float, float]]]] = {}
            for script, mode, clients in runs:
                tpcb(builds["old"].port, mode, clients, max(1, clients // 4), 2, script)   # warm the caches
                tpcb(builds["new"].port, mode, clients, max(1, clients // 4), 2, script)
                got = results[(script, mode, clients)] = {name: [] for name in builds}
                for i in range(args.repeat):
                    for name in (("old", "new") if i % 2 == 0 else ("new", "old")):
                        got[name].append(measure(builds[name], script, mode, clients, args.time))
        finally:
            for server in builds.values():
                server.stop()
    print(f"# A/B, {today()}, {machine()}: old {args.old}, new {args.new}, scale {args.scale}, "
          f"{args.time} s per run, {args.repeat} alternating runs each\n")
    if args.init:
        print("| pgbench -i | old wall s | new wall s | old server CPU s | new server CPU s | CPU new/old |")
        print("|---|---|---|---|---|---|")
        old_cpu = [c for _, c in loads["old"][1:]]
        new_cpu = [c for _, c in loads["new"][1:]]
        print(f"| -s {args.scale}, {args.init} loads | {summary([w for w, _ in loads['old'][1:]], 2)} | "
              f"{summary([w for w, _ in loads['new'][1:]], 2)} | {summary(old_cpu, 2)} | {summary(new_cpu, 2)} | "
              f"{statistics.median(new_cpu) / statistics.median(old_cpu):.2f} |\n")
    print("| script | mode | clients | old tps | new tps | tps new/old | old CPU µs/txn | new CPU µs/txn | CPU new/old |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (script, mode, clients), got in results.items():
        old_tps = [t for t, _ in got["old"]]
        new_tps = [t for t, _ in got["new"]]
        old_cpu = [c for _, c in got["old"]]
        new_cpu = [c for _, c in got["new"]]
        print(f"| {script} | {mode} | {clients} | {summary(old_tps)} | {summary(new_tps)} | "
              f"{statistics.median(new_tps) / statistics.median(old_tps):.2f} | {summary(old_cpu)} | "
              f"{summary(new_cpu)} | {statistics.median(new_cpu) / statistics.median(old_cpu):.2f} |")


if __name__ == "__main__":
    main()
