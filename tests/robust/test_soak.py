"""A bounded soak (about 20 s, loopback only): readers, writers, bad clients and slow clients at
once (tests/support/soak.py). Afterwards no client saw a failure, every acknowledged commit is
there, the server's file descriptors are back to the baseline, its memory close to it, and
`rewinddb verify` passes. bench/soak.py runs the same for minutes and records the figures."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, RunningServer
from tests.support.soak import soak

SOAK_SECONDS = float(os.environ.get("REWINDDB_SOAK_SECONDS", "20"))


def test_soak(tmp_path) -> None:
    server = RunningServer(tmp_path / "data").start()
    try:
        figures = soak(server, SOAK_SECONDS)
        print(figures.summary())
        assert not figures.failures, figures.failures[:10]
        assert figures.commits["ok"] > 0 and figures.reads > 0 and figures.bad_inputs > 0
        baseline, _, after = figures.rss_kib
        # the committed rows stay in memory; everything else (sessions, buffers) is given back
        assert after - baseline < 200 * 1024, figures.summary()
        assert server.stop() == 0
    finally:
        if server.proc is not None:
            server.kill()
    verify = subprocess.run([sys.executable, "-m", "server", "verify", "--data-dir", str(server.data_dir)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert verify.returncode == 0, verify.stdout + verify.stderr
