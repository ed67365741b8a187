"""pgbench's TPC-B-like transactions with 8 and 32 clients: no failed transaction, and every
balance still adds up (each table's sum equals the sum of the deltas pgbench logged).

The tables are made by `pgbench -i` (scale 1: 1 branch, 10 tellers, 100,000 accounts, loaded
with COPY), exactly as against PostgreSQL.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import psycopg
import pytest


def pgbench(server, *args: str) -> str:
    result = subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", *args,
                             "postgres"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def pgbench_server(server):
    assert shutil.which("pgbench"), "pgbench is part of the test toolchain (postgresql-client)"
    pgbench(server, "-i", "-s", "1")
    return server


@pytest.mark.parametrize("clients,transactions,mode", [(8, 40, "simple"), (32, 10, "prepared")])
def test_tpcb_keeps_the_books_balanced(pgbench_server, clients, transactions, mode):
    out = pgbench(pgbench_server, "-n", "-c", str(clients), "-j", "2", "-t", str(transactions), "-M", mode)
    total = clients * transactions
    assert f"number of transactions actually processed: {total}/{total}" in out
    assert re.search(r"number of failed transactions: 0 \(0\.000%\)", out), out
    with psycopg.connect(pgbench_server.dsn) as conn:
        sums = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),"
            " (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history)").fetchone()
    assert len(set(sums)) == 1, sums
