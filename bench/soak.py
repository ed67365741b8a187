"""The soak test, long: readers, writers, bad clients and slow clients for minutes.

    python -m bench.soak [--seconds 120] [--writers 4] [--readers 2] [--bad 2] [--slow 2]

Runs tests/support/soak.py's workload against a fresh server on loopback (the same workload
tests/robust/test_soak.py runs for about 20 s), then stops the server and runs
`rewinddb verify` on its data directory. Prints the figures for bench/RESULTS.md (duration,
operations, bad inputs tried, failures) and exits 1 if anything failed: a client error, a lost
acknowledged commit, a file descriptor still open after the grace period, or a failed verify.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import machine, today
from tests.conftest import ROOT, RunningServer
from tests.support.soak import soak


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--bad", type=int, default=2)
    parser.add_argument("--slow", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rewinddb-soak-"))
    server = RunningServer(root / "data").start()
    try:
        figures = soak(server, args.seconds, writers=args.writers, readers=args.readers, bad_clients=args.bad,
                       slow_clients=args.slow)
        server.stop()
        verify = subprocess.run([sys.executable, "-m", "server", "verify", "--data-dir", str(server.data_dir)],
                                capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if verify.returncode != 0:
            figures.failures.append(f"rewinddb verify: {verify.stdout[-500:]}{verify.stderr[-500:]}")
        print(f"{today()}, {machine()}")
        print(figures.summary() + f"; rewinddb verify {'passed' if verify.returncode == 0 else 'FAILED'}")
        for failure in figures.failures[:20]:
            print("  failure:", failure)
        return 1 if figures.failures else 0
    finally:
        if server.proc is not None:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
