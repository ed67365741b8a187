"""Storage benchmarks: group commit, replay rate, restart time, latency during a snapshot.

    python -m bench.storage [commits] [replay] [restart] [latency] [--repeat N] [--rows N]

- commits: commits per second with 1, 8 and 32 clients (asyncpg, one single-row INSERT per
  transaction, synchronous_commit on and off), against rewinddb and a local PostgreSQL 15 in the same
  run; for rewinddb also records per fsync (the group size, from /metrics).
- replay: events per second replaying a log with no snapshot, in-process (Database.open),
  for 1M single-row transactions and for 1M rows in 100-row transactions; wall and CPU time.
- restart: seconds from starting `rewinddb serve` to its ready line for a 1M-row database
  without a snapshot and with a recent one (a few hundred transactions after it), and for an
  empty one (interpreter start-up and imports alone) alternating with the latter.
- latency: point-select latency (p50/p99/max) on a 1M-row database, idle and while a
  snapshot of it is written (CHECKPOINT from another connection), with a writer committing
  meanwhile.

Every figure is repeated (`--repeat`, default 3); the median is reported with the range, since
this 2-core machine is shared. Results go to stdout as Markdown for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg

from bench.common import machine, postgres_server, today
from engine import events as ev
from engine.database import Database
from engine.events import RowCodec
from engine.session import Session
from tests.conftest import ROOT, RunningServer
from tests.support.postgres import free_port

ACCOUNTS_DDL = "CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))"


# -------------------------------------------------------------------- helpers

def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """median (min–max)"""
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def build_database(path: Path, rows: int, per_transaction: int, ddl: str = ACCOUNTS_DDL) -> int:
    """A data directory holding `rows` accounts rows in transactions of `per_transaction`
    rows, written in-process through the log and the state (as commits would), without
    snapshots; returns the LSN."""
    async def build() -> int:
        db = Database.open(path)
        await db.start()
        session = Session(db)
        prepared, params = session.prepare_simple(ddl)
        await session.execute(prepared, params)
        await session.end_implicit()
        table = next(t for t in db.state.catalog.tables.values() if t.name == "accounts")
        encode = RowCodec(table).encode
        lsn = db.state.lsn
        for first in range(1, rows + 1, per_transaction):
            events = [ev.RowInserted(table.table_id, aid, encode((aid, aid % 10, 0, " " * 84)))
                      for aid in range(first, min(rows, first + per_transaction - 1) + 1)]
            payload = ev.encode_transaction(ev.Transaction("postgres", "bench", "", None, events))
            now = max(time.time_ns() // 1000, db.state.commit_time_us)
            lsn = db.log.append(now, payload)
            db.state.apply(lsn, now, ev.decode_transaction(payload))
            if lsn % 2000 == 0:
                await db.log.wait_durable(lsn)
        await db.log.wait_durable(lsn)
        await db.close()
        return lsn
    lsn = asyncio.run(build())
    shutil.rmtree(path / "snapshots", ignore_errors=True)   # the checkpointer may have taken some
    return lsn


def url(server) -> str:
    """asyncpg wants a URL."""
    return f"postgresql://postgres@127.0.0.1:{server.port}/postgres"


def metric_sum_count(port: int, name: str) -> tuple[float, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith(f"rewinddb_{name}_sum") or line.startswith(f"rewinddb_{name}_count"):
            key, value = line.rsplit(" ", 1)
            values[key.split("{")[0].rsplit("_", 1)[1]] = float(value)
    return values.get("sum", 0.0), values.get("count", 0.0)


# -------------------------------------------------------------------- commits

async def commit_rate(dsn: str, clients: int, seconds: float, synchronous: bool) -> float:
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    for conn in conns:
        await conn.execute(f"SET synchronous_commit = {'on' if synchronous else 'off'}")
    await conns[0].execute("DROP TABLE IF EXISTS commits_bench")
    await conns[0].execute("CREATE TABLE commits_bench (id int PRIMARY KEY, client int, v text)")
    done = 0
    stop = time.perf_counter() + seconds

    async def client(n: int, conn: asyncpg.Connection) -> None:
        nonlocal done
        statement = await conn.prepare("INSERT INTO commits_bench VALUES ($1, $2, $3)")
        i = n * 10_000_000
        while time.perf_counter() < stop:
            i += 1
            await statement.fetch(i, n, "payload")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n, c) for n, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    return done / elapsed


def bench_commits(repeat: int, seconds: float) -> list[str]:
    rows = []
    results: dict[tuple[str, bool, int], list[float]] = {}
    groups: dict[tuple[bool, int], list[float]] = {}
    modes = [(synchronous, clients) for synchronous in (True, False) for clients in (1, 8, 32)]
    with postgres_server() as pg:
        for synchronous, clients in modes:
            for _ in range(repeat):
                rate = asyncio.run(commit_rate(url(pg), clients, seconds, synchronous))
                results.setdefault(("pg", synchronous, clients), []).append(rate)
    http = free_port()
    root = Path(tempfile.mkdtemp(prefix="rewinddb-bench-"))
    server = RunningServer(root / "data", ("--http-port", str(http))).start()
    try:
        for synchronous, clients in modes:
            for _ in range(repeat):
                before = metric_sum_count(http, "group_commit_size")
                rate = asyncio.run(commit_rate(url(server), clients, seconds, synchronous))
                results.setdefault(("rw", synchronous, clients), []).append(rate)
                after = metric_sum_count(http, "group_commit_size")
                groups.setdefault((synchronous, clients), []).append(
                    (after[0] - before[0]) / max(1.0, after[1] - before[1]))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    rows.append("| synchronous_commit | clients | PostgreSQL commits/s | rewinddb commits/s | ratio "
                "| rewinddb records per fsync |")
    rows.append("|---|---|---|---|---|---|")
    for synchronous, clients in modes:
        pg_rate, rw_rate = results[("pg", synchronous, clients)], results[("rw", synchronous, clients)]
        rows.append(f"| {'on' if synchronous else 'off'} | {clients} | {spread(pg_rate)} | {spread(rw_rate)} | "
                    f"{statistics.median(rw_rate) / statistics.median(pg_rate):.2f} "
                    f"| {spread(groups[(synchronous, clients)], '{:.1f}')} |")
    return rows


# -------------------------------------------------------------------- replay

def replay_rate(path: Path) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    db = Database.open(path)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    events = db.state.events_applied
    asyncio.run(db.close())
    return events / wall, events / cpu, events


def bench_replay(repeat: int, rows: int) -> list[str]:
    lines = ["| log | records | events | events/s (wall) | events/s (CPU) |", "|---|---|---|---|---|"]
    for per_transaction in (1, 100):
        root = Path(tempfile.mkdtemp(prefix="rewinddb-bench-"))
        try:
            lsn = build_database(root / "data", rows, per_transaction)
            results = [replay_rate(root / "data") for _ in range(repeat)]
            lines.append(f"| {rows:,} rows, {per_transaction} per transaction | {lsn:,} | {results[0][2]:,} | "
                         f"{spread([r[0] for r in results])} | {spread([r[1] for r in results])} |")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return lines


# -------------------------------------------------------------------- restart

def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_ready(data_dir: Path) -> tuple[float, float, str]:
    """Wall seconds and the server's CPU seconds from start to its ready line, and its
    recovery line. On this shared machine the CPU time is the steadier figure: it is about
    what the wall time is on an idle machine (start-up and recovery are one thread's work)."""
    server = RunningServer(data_dir)
    started = time.perf_counter()
    server.start(timeout=600)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server.proc.pid)
    recovered = next((line for line in server.log().splitlines()[::-1] if "recovered to LSN" in line), "")
    server.stop()
    return elapsed, cpu, recovered.split("rewinddb.recovery: ")[-1]


def add_tail(data_dir: Path, transactions: int) -> None:
    server = RunningServer(data_dir).start(timeout=600)

    async def writes() -> None:
        conn = await asyncpg.connect(url(server))
        for i in range(transactions):
            await conn.execute("UPDATE accounts SET abalance = abalance + 1 WHERE aid = $1", i + 1)
        await conn.close()
    asyncio.run(writes())
    server.stop()


def bench_restart(repeat: int, rows: int) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="rewinddb-bench-"))
    lines = ["| database | seconds to ready (wall) | server CPU seconds to ready | recovery (first run) |",
             "|---|---|---|---|"]

    def line(what: str, runs: list[tuple[float, float, str]]) -> str:
        return (f"| {what} | {spread([r[0] for r in runs], '{:.2f}')} | {spread([r[1] for r in runs], '{:.2f}')} "
                f"| {runs[0][2]} |")
    try:
        data = root / "data"
        build_database(data, rows, 100)
        lines.append(line(f"{rows:,} rows, no snapshot", [time_to_ready(data) for _ in range(repeat)]))
        made = subprocess.run([sys.executable, "-m", "server", "snapshot", "--data-dir", str(data)],
                              capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert made.returncode == 0, made.stderr
        add_tail(data, 500)
        with_snapshot, empty = [], []
        for n in range(repeat):      # alternating, so both see the same machine load
            with_snapshot.append(time_to_ready(data))
            empty.append(time_to_ready(root / f"empty{n}"))
        lines.append(line(f"{rows:,} rows, snapshot + 500 transactions", with_snapshot))
        lines.append(line("empty (start-up alone, measured between the runs above)", empty))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return lines


# -------------------------------------------------------------------- latency during a snapshot

async def point_selects(dsn: str, rows: int, until: asyncio.Event | float) -> list[float]:
    conn = await asyncpg.connect(dsn)
    statement = await conn.prepare("SELECT abalance FROM accounts WHERE aid = $1")
    rng = random.Random(7)
    latencies = []
    while not (until.is_set() if isinstance(until, asyncio.Event) else time.perf_counter() > until):
        started = time.perf_counter()
        await statement.fetchval(rng.randint(1, rows))
        latencies.append(time.perf_counter() - started)
    await conn.close()
    return latencies


async def writer(dsn: str, rows: int, until: asyncio.Event) -> int:
    conn = await asyncpg.connect(dsn)
    statement = await conn.prepare("UPDATE accounts SET abalance = abalance + 1 WHERE aid = $1")
    done = 0
    while not until.is_set():
        await statement.fetch(random.randint(1, rows))
        done += 1
    await conn.close()
    return done


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"{pick(0.5):.2f} / {pick(0.99):.2f} / {ordered[-1] * 1000:.1f}"


async def during_snapshot(dsn: str, rows: int) -> tuple[list[float], float, int]:
    done = asyncio.Event()
    selects = asyncio.create_task(point_selects(dsn, rows, done))
    writes = asyncio.create_task(writer(dsn, rows, done))
    await asyncio.sleep(0.5)
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    await conn.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    done.set()
    await conn.close()
    return await selects, seconds, await writes


def bench_latency(repeat: int, rows: int) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="rewinddb-bench-"))
    lines = ["| run | point selects | p50 / p99 / max latency (ms) | snapshot seconds | writer commits meanwhile |",
             "|---|---|---|---|---|"]
    try:
        build_database(root / "data", rows, 100)
        server = RunningServer(root / "data").start(timeout=600)
        try:
            for run in range(repeat):
                idle = asyncio.run(point_selects(url(server), rows, time.perf_counter() + 5))
                lines.append(f"| {run + 1}: no snapshot (5 s) | {len(idle):,} | {percentiles(idle)} | | |")
                busy, seconds, commits = asyncio.run(during_snapshot(url(server), rows))
                lines.append(f"| {run + 1}: during a snapshot | {len(busy):,} | {percentiles(busy)} | {seconds:.1f} | {commits:,} |")
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("parts", nargs="*", default=["commits", "replay", "restart", "latency"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="per commit-rate measurement")
    args = parser.parse_args()
    print(f"# storage benchmarks, {today()}, {machine()}, load average {os.getloadavg()[0]:.1f} at start\n")
    for part in args.parts:
        started = time.perf_counter()
        lines = {"commits": lambda: bench_commits(args.repeat, args.seconds),
                 "replay": lambda: bench_replay(args.repeat, args.rows),
                 "restart": lambda: bench_restart(args.repeat, args.rows),
                 "latency": lambda: bench_latency(args.repeat, args.rows)}[part]()
        print(f"## {part} ({time.perf_counter() - started:.0f} s, load average now {os.getloadavg()[0]:.1f})\n")
        print("\n".join(lines) + "\n", flush=True)


if __name__ == "__main__":
    main()
