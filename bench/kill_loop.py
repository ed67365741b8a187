"""The SIGKILL loop of the durability tests, long: 20 rounds by default.

    python -m bench.kill_loop [--rounds N] [--writers N]

Each round: 4 writers (psycopg) commit multi-table transactions (tests/support/ledger.py)
against the real server, which writes background snapshots and rolls small segments all
the while; after a random 0.3–1.5 s the server is killed with SIGKILL (every other round
right after a CHECKPOINT), restarted, and the ledger checked: every acknowledged commit is
there, no failed one is, no transaction is half there, unknown outcomes never change their
mind. Prints one line per round and a summary for bench/RESULTS.md; exits 1 on a violation.
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import machine, today
from tests.conftest import RunningServer
from tests.support.ledger import Ledger, create_schema, run_writers

SMALL = ("--segment-size", "256KiB", "--snapshot-log-bytes", "64KiB", "--snapshot-interval", "0")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rewinddb-kill-"))
    server = RunningServer(root / "data", SMALL).start()
    create_schema(server.dsn)
    ledger = Ledger()
    rng = random.Random(20)
    started = time.perf_counter()
    try:
        for round_ in range(args.rounds):
            delay = rng.uniform(0.3, 1.5)

            def kill() -> None:
                time.sleep(delay)
                if round_ % 2:
                    with psycopg.connect(server.dsn, autocommit=True) as conn:
                        conn.execute("CHECKPOINT")
                server.kill()
            before = ledger.counts()
            run_writers(server.dsn, ledger, writers=args.writers, seconds=60, seed=round_, during=[kill])
            restart = time.perf_counter()
            server.start()
            restart = time.perf_counter() - restart
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                ledger.check(conn)
            after = ledger.counts()
            print(f"round {round_ + 1}: killed after {delay:.2f}s; "
                  + ", ".join(f"{k} +{after[k] - before[k]}" for k in after)
                  + f"; restarted in {restart:.2f}s; ledger holds", flush=True)
    except AssertionError as violation:
        print(f"VIOLATION: {violation}")
        return 1
    finally:
        log = server.log() if server.log_path.exists() else ""
        if server.proc is not None:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)
    counts = ledger.counts()
    print(f"\n{today()}, {machine()}: {args.rounds} SIGKILL rounds in {time.perf_counter() - started:.0f} s, "
          f"{counts['ok']:,} ok / {counts['fail']:,} fail / {counts['unknown']:,} unknown transactions, "
          f"{log.count('snapshot at LSN')} background/CHECKPOINT snapshots, "
          f"{log.count('loaded snapshot')} restarts from a snapshot: nothing acknowledged lost, "
          "nothing failed visible, nothing half present.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
