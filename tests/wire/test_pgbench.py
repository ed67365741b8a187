"""pgbench as PostgreSQL users run it: `pgbench -i` (DROP, CREATE ... WITH (fillfactor), BEGIN,
TRUNCATE, COPY ... WITH (FREEZE ON) with its final `\\.`, COMMIT, VACUUM ANALYZE, ALTER TABLE
ADD PRIMARY KEY), then the TPC-B-like run in the simple, extended and prepared protocols
without a failed transaction. Scaled down to keep the suite fast; bench/ has the full size."""
from __future__ import annotations

import re
import subprocess

import psycopg
import pytest


def pgbench(server, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", *args, "postgres"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.fixture(scope="module")
def initialized(server):
    out = pgbench(server, "-i", "-s", "1")
    assert "creating primary keys..." in out.stderr and "done in" in out.stderr
    return server


def test_pgbench_init_loads_the_tables(initialized):
    with psycopg.connect(initialized.dsn) as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM pgbench_branches), (SELECT count(*) FROM pgbench_tellers),"
                              " (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_history)").fetchone()
        assert counts == (1, 10, 100000, 0)
        assert conn.execute("SELECT filler FROM pgbench_accounts WHERE aid = 99999").fetchone() == (" " * 84,)
    again = pgbench(initialized, "-i", "-s", "1")        # a second init drops and reloads
    assert "done in" in again.stderr
    first = pgbench(initialized, "-c", "1", "-t", "5")     # without -n: VACUUM and TRUNCATE history first
    assert "starting vacuum...end." in first.stdout + first.stderr


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_tpcb_without_failed_transactions(initialized, mode):
    out = pgbench(initialized, "-n", "-M", mode, "-c", "8", "-j", "2", "-T", "3").stdout
    assert re.search(r"number of failed transactions: 0 \(0\.000%\)", out), out
    processed = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    assert processed > 0
    with psycopg.connect(initialized.dsn) as conn:
        sums = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),"
            " (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history)").fetchone()
    assert len(set(sums)) == 1, sums
