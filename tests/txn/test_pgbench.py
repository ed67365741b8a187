"""pgbench's TPC-B-like transactions with 8 and 32 clients: no failed transaction, and every
balance still adds up (each table's sum equals the sum of the deltas pgbench logged).

The pgbench tables are created and filled with INSERTs (scale 1: 1 branch, 10 tellers,
100,000 accounts) until rewinddb takes COPY, which `pgbench -i` needs.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import psycopg
import pytest

INIT = [
    "CREATE TABLE pgbench_branches (bid int NOT NULL PRIMARY KEY, bbalance int, filler char(88))",
    "CREATE TABLE pgbench_tellers (tid int NOT NULL PRIMARY KEY, bid int, tbalance int, filler char(84))",
    "CREATE TABLE pgbench_accounts (aid int NOT NULL PRIMARY KEY, bid int, abalance int, filler char(84))",
    "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
    "INSERT INTO pgbench_branches VALUES (1, 0, '')",
    "INSERT INTO pgbench_tellers SELECT i, 1, 0, '' FROM generate_series(1, 10) i",
    "INSERT INTO pgbench_accounts SELECT i, 1, 0, '' FROM generate_series(1, 100000) i",
]


@pytest.fixture(scope="module")
def pgbench_server(server):
    assert shutil.which("pgbench"), "pgbench is part of the test toolchain (postgresql-client)"
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for sql in INIT:
            conn.execute(sql)
    return server


def run_pgbench(server, clients: int, transactions: int, mode: str) -> str:
    result = subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-n",
         "-c", str(clients), "-j", "2", "-t", str(transactions), "-M", mode, "postgres"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("clients,transactions,mode", [(8, 40, "simple"), (32, 10, "prepared")])
def test_tpcb_keeps_the_books_balanced(pgbench_server, clients, transactions, mode):
    out = run_pgbench(pgbench_server, clients, transactions, mode)
    total = clients * transactions
    assert f"number of transactions actually processed: {total}/{total}" in out
    assert re.search(r"number of failed transactions: 0 \(0\.000%\)", out), out
    with psycopg.connect(pgbench_server.dsn) as conn:
        sums = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),"
            " (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history)").fetchone()
    assert len(set(sums)) == 1, sums
