"""Memory per row: the server's resident set size per loaded row, with and without row history.

    python -m bench.memory [--scale 10] [--rows 1000000]

Two data sets, each in a fresh server (no background snapshots, so a restart replays the
log and rebuilds everything from it):

- pgbench at `--scale` (`pgbench -i`: scale x 100,000 accounts rows of (int, int, int,
  char(84)) with a primary key, plus branches and tellers);
- a generic table of `--rows` rows (id int PRIMARY KEY, name text, score int, created
  timestamptz, note text NULL), inserted with INSERT ... SELECT from generate_series.

For each: RSS of the empty server, after loading (the load's undo history is kept: it is
within the history window), after a restart that replays the log with the default history
window (rows, indexes and the load's undo entries), and after a restart with a history
window of one transaction (rows and indexes only: replay records no history for older
transactions). Bytes per row = (RSS - empty server's RSS) / rows. RSS counts what the
Python allocator holds, freed or not; the restarts show what the state itself takes.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench.common import machine, today
from tests.conftest import RunningServer

QUIET = ("--snapshot-events", "1000000000", "--snapshot-log-bytes", "100GiB")


def rss(pid: int) -> int:
    """Resident set size of a process, bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def measure(load, rows: int) -> dict[str, int]:
    """RSS of a server: empty, after `load(dsn)`, and after restarts with the default and a
    one-transaction history window."""
    root = Path(tempfile.mkdtemp(prefix="rewinddb-memory-"))
    out: dict[str, int] = {}
    try:
        server = RunningServer(root / "data", QUIET).start()
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("SELECT 1")
        out["empty"] = rss(server.proc.pid)
        load(server.dsn)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("SELECT 1")
            out["loaded"] = rss(server.proc.pid)
            conn.execute("CREATE TABLE after_load (x int)")     # two transactions after the load: a
            conn.execute("INSERT INTO after_load VALUES (1)")   # window of one leaves the load's history out
        server.stop()
        for name, extra in (("replayed, default history window", ()),
                            ("replayed, history window 1", ("--history-window", "1"))):
            server = RunningServer(root / "data", QUIET + extra).start()
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                conn.execute("SELECT 1")
            out[name] = rss(server.proc.pid)
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    def pgbench(dsn: str) -> None:
        port = dsn.split("port=")[1].split()[0]
        subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-i", "-s", str(args.scale),
                        "postgres"], check=True, capture_output=True)

    def generic(dsn: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE generic (id int PRIMARY KEY, name text, score int, created timestamptz, "
                         "note text)")
            conn.execute(f"INSERT INTO generic SELECT g, 'name-' || g, g % 100, now(), NULL "
                         f"FROM generate_series(1, {args.rows}) g")

    print(f"# memory per row, {today()}, {machine()}\n")
    print("| data set | rows | empty server MiB | after load | replayed (default window) | replayed (window 1) | "
          "bytes/row after load | bytes/row with history | bytes/row without history |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, load, rows in ((f"pgbench -i -s {args.scale}", pgbench, args.scale * 100_000 + args.scale * 11),
                             ("generic table", generic, args.rows)):
        m = measure(load, rows)
        empty = m["empty"]
        per = {k: (v - empty) / rows for k, v in m.items()}
        mib = {k: v / (1 << 20) for k, v in m.items()}
        print(f"| {name} | {rows:,} | {mib['empty']:.0f} | {mib['loaded']:.0f} | "
              f"{mib['replayed, default history window']:.0f} | {mib['replayed, history window 1']:.0f} | "
              f"{per['loaded']:.0f} | {per['replayed, default history window']:.0f} | "
              f"{per['replayed, history window 1']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
