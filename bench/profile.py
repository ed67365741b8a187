"""Where a rewinddb server spends its time under pgbench: py-spy samples, top costs.

    python -m bench.profile [--script select-only] [--mode simple] [--clients 1] [--scale 1]
                            [--seconds 20] [--source DIR] [--flamegraph FILE]

Starts a rewinddb server (from `--source`, a checkout of any revision, to compare before and
after a change; this tree by default), loads `pgbench -i -s SCALE`, runs the pgbench builtin
script (or, with `--script init`, `pgbench -i` itself) while py-spy samples the server
process (`--nonblocking`, 250 samples a second, idle time left out), and prints two
markdown tables for bench/RESULTS.md: the functions where the samples were (self time) and
the functions the samples were under (inclusive time), as shares of the busy samples, with
the transactions per second pgbench saw while sampled (or the time the load took).
`--flamegraph` also writes the samples as an SVG flame graph; `--gil` keeps only the samples
that hold the GIL (the Python work, without system calls that release it, such as fsync).
"""
from __future__ import annotations

import argparse
import collections
import re
import signal
import subprocess
import tempfile
from pathlib import Path

from bench.common import machine, today
from bench.pgbench import pgbench_init, tpcb
from tests.conftest import RunningServer

QUIET = ("--snapshot-events", "1000000000", "--snapshot-log-bytes", "100GiB")
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def start_server(source: Path, data_dir: Path) -> RunningServer:
    """The server of the tree `source` (its modules first on the path, run from there)."""
    return RunningServer(data_dir, QUIET, env={"PYTHONPATH": str(source)}, prefix=("env", "-C", str(source))).start()


def sample(pid: int, seconds: int, raw: Path, flamegraph: Path | None, gil: bool) -> subprocess.Popen:
    """py-spy recording the process for `seconds` (raw collapsed stacks into `raw`)."""
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
               "--nonblocking", "--function", *(["--gil"] if gil else [])]
    if flamegraph is not None:
        subprocess.Popen([*command, "--format", "flamegraph", "--output", str(flamegraph)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.Popen([*command, "--format", "raw", "--output", str(raw)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def frame_name(frame: str) -> str:
    m = FRAME.match(frame)
    return f"{m['function']} ({m['file']})" if m else frame


def top_costs(raw: Path, count: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(busy samples, [(function, self samples)], [(function, inclusive samples)]), largest first."""
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        samples = int(n)
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for name in set(frames):
            under[name] += samples
    return total, own.most_common(count), under.most_common(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default="select-only")
    parser.add_argument("--mode", default="simple")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--flamegraph", type=Path)
    parser.add_argument("--gil", action="store_true",
                        help="only samples that hold the GIL: Python work, not waits in system calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(args.source.resolve(), Path(tmp) / "data")
        proc, port = server.proc, server.port
        try:
            raw = Path(tmp) / "profile.txt"
            if args.script == "init":
                spy = sample(proc.pid, 600, raw, args.flamegraph, args.gil)
                seconds, _ = pgbench_init(port, args.scale)
                spy.send_signal(signal.SIGINT)        # py-spy writes what it sampled and exits
                measured = f"pgbench -i took {seconds:.2f} s"
            else:
                pgbench_init(port, args.scale)
                tpcb(port, args.mode, args.clients, max(1, args.clients // 4), 3, args.script)   # warm the caches
                spy = sample(proc.pid, args.seconds, raw, args.flamegraph, args.gil)
                tps, _ = tpcb(port, args.mode, args.clients, max(1, args.clients // 4), args.seconds, args.script)
                measured = f"{tps:,.0f} tps while sampled"
            spy.wait()
            total, own, under = top_costs(raw, args.top)
        finally:
            server.stop()
    print(f"# profile, {today()}, {machine()}: {args.script}, {args.mode}, {args.clients} client(s), "
          f"scale {args.scale}, {args.seconds} s, source {args.source}{', GIL held' if args.gil else ''}\n")
    print(f"{measured}; {total:,} busy samples\n")
    print("| self | function |\n|---|---|")
    for name, n in own:
        print(f"| {n / total:.1%} | `{name}` |")
    print("\n| inclusive | function |\n|---|---|")
    for name, n in under:
        print(f"| {n / total:.1%} | `{name}` |")


if __name__ == "__main__":
    main()
