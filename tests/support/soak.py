"""The soak workload: readers, writers, bad clients and slow clients against one server for a
fixed time, then the checks that nothing was lost and nothing leaked.

* writers: tests/support/ledger.py's transactions (orders, items, transfers that keep the total
  balance); every acknowledged commit must be present afterwards, no failed one visible, no
  transaction half applied;
* readers: the total balance (always the same, or a transfer was half applied) and the newest
  orders, over and over;
* bad clients: hostile protocol streams (tests/robust/hostile.py: random bytes, mutated valid
  streams, HTTP and TLS sent to the port, bad lengths) and garbage SQL (token soup); each
  answer must be a clean error;
* slow clients: a big result read a kilobyte at a time, a startup packet sent a byte at a time,
  a transaction held open while idle.

Any error a well-behaved client sees, and any unclean answer to a bad one, is a failure.
Afterwards the server's open file descriptors must be back to the baseline and its RSS close
to it (the new rows stay in memory: rewinddb keeps its tables there), and `rewinddb verify`
must pass on the data directory (the caller stops the server and runs it). Used by
tests/robust/test_soak.py (about 20 s) and bench/soak.py (minutes, figures in RESULTS.md).
"""
from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field

import psycopg

from tests.conftest import RunningServer
from tests.robust import hostile as H
from tests.support import wire as W
from tests.support.ledger import ACCOUNTS, INITIAL_BALANCE, Ledger, create_schema, run_writers

GRACE_SECONDS = 30.0


@dataclass
class SoakFigures:
    seconds: float = 0.0
    writers: int = 0
    readers: int = 0
    bad_clients: int = 0
    slow_clients: int = 0
    commits: dict[str, int] = field(default_factory=dict)      # ok / fail / unknown
    reads: int = 0
    bad_inputs: int = 0                                          # hostile streams and garbage statements sent
    slow_sessions: int = 0
    failures: list[str] = field(default_factory=list)
    rss_kib: tuple[int, int, int] = (0, 0, 0)                    # baseline, peak, after the grace period
    fds: tuple[int, int, int] = (0, 0, 0)

    def summary(self) -> str:
        return (f"{self.seconds:.0f} s; {self.writers} writers, {self.readers} readers, {self.bad_clients} bad "
                f"clients, {self.slow_clients} slow clients; commits ok {self.commits.get('ok', 0)}, failed on "
                f"purpose {self.commits.get('fail', 0)}, unknown {self.commits.get('unknown', 0)}; reads "
                f"{self.reads}; bad inputs {self.bad_inputs}; slow sessions {self.slow_sessions}; failures "
                f"{len(self.failures)}; RSS {self.rss_kib[0] >> 10} -> peak {self.rss_kib[1] >> 10} -> "
                f"{self.rss_kib[2] >> 10} MiB; fds {self.fds[0]} -> peak {self.fds[1]} -> {self.fds[2]}")


def process_usage(pid: int) -> tuple[int, int]:
    """(RSS in KiB, open file descriptors) of a process."""
    import os
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


class _Workers:
    def __init__(self, figures: SoakFigures) -> None:
        self.figures = figures
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def fail(self, what: str) -> None:
        with self.lock:
            self.figures.failures.append(what)

    def count(self, name: str) -> None:
        with self.lock:
            setattr(self.figures, name, getattr(self.figures, name) + 1)

    def start(self, target, n: int) -> None:
        for i in range(n):
            t = threading.Thread(target=target, args=(random.Random(f"{target.__name__}-{i}"),), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(H.STALL_SECONDS * 2)


def soak(server: RunningServer, seconds: float, *, writers: int = 4, readers: int = 2, bad_clients: int = 2,
         slow_clients: int = 2) -> SoakFigures:
    figures = SoakFigures(seconds=seconds, writers=writers, readers=readers, bad_clients=bad_clients,
                          slow_clients=slow_clients)
    create_schema(server.dsn)
    H.prepare_database(server.port)                 # the tables hostile.open_in_state uses
    pid = server.proc.pid
    with psycopg.connect(server.dsn) as warm:          # warm the plan caches the workload uses
        warm.execute("SELECT sum(balance) FROM accounts").fetchone()
    baseline = process_usage(pid)
    peak = list(baseline)
    work = _Workers(figures)
    port = server.port

    def reader(rng: random.Random) -> None:
        try:
            conn = psycopg.connect(server.dsn, autocommit=True)
        except psycopg.Error as e:
            work.fail(f"reader could not connect: {e}")
            return
        with conn:
            while not work.stop.is_set():
                try:
                    (total,) = conn.execute("SELECT sum(balance) FROM accounts").fetchone()
                    if total != ACCOUNTS * INITIAL_BALANCE:
                        work.fail(f"reader saw total balance {total}")
                    conn.execute("SELECT id, amount FROM orders ORDER BY id DESC LIMIT 20").fetchall()
                    work.count("reads")
                except psycopg.Error as e:
                    work.fail(f"reader: {type(e).__name__}: {e}")
                    return

    def bad_client(rng: random.Random) -> None:
        while not work.stop.is_set():
            try:
                how = rng.random()
                if how < 0.5:
                    state = rng.choice([s for s in H.STATES if s != "authentication"])
                    H.exchange(H.open_in_state(port, state), _hostile_bytes(rng, startup=state == "startup"))
                else:
                    sock = H.open_in_state(port, "idle")
                    sql = " ".join(rng.choice(_SOUP) for _ in range(rng.randint(1, 25)))
                    H.exchange(sock, W.query(sql) + H.TERMINATE, half_close=False)
                work.count("bad_inputs")
            except (AssertionError, OSError) as e:
                work.fail(f"bad client: {type(e).__name__}: {str(e)[:300]}")

    def slow_client(rng: random.Random) -> None:
        while not work.stop.is_set():
            try:
                how = rng.randrange(3)
                if how == 0:                          # reads a big result a kilobyte at a time
                    sock = H.open_in_state(port, "idle")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    sock.sendall(W.query("SELECT g, repeat('s', 100) FROM generate_series(1, 200000) g"))
                    for _ in range(200):
                        if work.stop.is_set() or not sock.recv(1024):
                            break
                        time.sleep(0.005)
                    sock.close()
                elif how == 1:                        # a startup packet a byte at a time
                    sock = H.connect(port)
                    for byte in H.startup_packet():
                        sock.sendall(bytes([byte]))
                        time.sleep(0.01)
                    H._read_until(sock, b"Z")
                    sock.close()
                else:                                 # a transaction held open, idle
                    with psycopg.connect(server.dsn) as conn:
                        conn.execute("SELECT count(*) FROM orders").fetchone()
                        work.stop.wait(rng.uniform(0.2, 1.0))
                work.count("slow_sessions")
            except (OSError, psycopg.Error, ConnectionError) as e:
                work.fail(f"slow client: {type(e).__name__}: {e}")

    def sample() -> None:
        while not work.stop.is_set():
            rss, fds = process_usage(pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], fds)
            work.stop.wait(0.2)

    ledger = Ledger()
    work.start(reader, readers)
    work.start(bad_client, bad_clients)
    work.start(slow_client, slow_clients)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run_writers(server.dsn, ledger, writers, seconds)
    work.join()
    sampler.join()
    figures.commits = ledger.counts()
    with psycopg.connect(server.dsn) as conn:
        try:
            ledger.check(conn)
        except AssertionError as e:
            figures.failures.append(f"ledger: {e}")
    deadline = time.monotonic() + GRACE_SECONDS
    after = process_usage(pid)
    while after[1] > baseline[1] and time.monotonic() < deadline:      # connections still closing
        time.sleep(0.2)
        after = process_usage(pid)
    figures.rss_kib = (baseline[0], peak[0], after[0])
    figures.fds = (baseline[1], peak[1], after[1])
    if after[1] > baseline[1]:
        figures.failures.append(f"file descriptors: {baseline[1]} before, {after[1]} after the grace period")
    return figures


_SOUP = ("SELECT", "FROM", "WHERE", "orders", "accounts", "id", "(", ")", ",", "1", "'x'", "NULL", "+", "*", "=",
         "AND", "NOT", "IN", "CASE", "WHEN", "END", "::", "int", "[", "]", "GROUP BY", "ORDER BY", "LIMIT",
         "UNION", "JOIN", "ON", "WITH", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", ";", "$1", "$$",
         "--", "/*", '"', "ARRAY", "generate_series(1, 1000)", "repeat('x', 100000)", "(" * 300, ")" * 300)


def _hostile_bytes(rng: random.Random, startup: bool) -> bytes:
    """A random hostile stream: garbage, a classic, or valid messages mutated."""
    how = rng.random()
    if how < 0.2:
        return rng.randbytes(rng.randint(1, 300))
    if how < 0.35:
        return rng.choice([H.HTTP_REQUEST, H.TLS_CLIENT_HELLO, b"\0\0\0\0", b"\xff\xff\xff\xff" * 2,
                           H.startup_packet()[:-2], b"Q" + (1 << 30).to_bytes(4, "big")])
    parts = [H.startup_packet()] if startup else []
    sqls = ("SELECT 1", "SELECT * FROM orders LIMIT 5", "BEGIN", "COMMIT", "SELEC", "SELECT $1::int", "")
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(6)
        if kind == 0:
            parts.append(W.query(rng.choice(sqls)))
        elif kind == 1:
            parts.append(W.parse(rng.choice(["", "s"]), rng.choice(sqls)))
        elif kind == 2:
            parts.append(W.bind("", rng.choice(["", "s"]), (rng.randbytes(rng.randint(0, 6)),)))
        elif kind == 3:
            parts.append(W.execute("", rng.choice([0, 1, -1])))
        elif kind == 4:
            parts.append(W.SYNC)
        else:
            parts.append(H.frame(b"d", rng.randbytes(rng.randint(0, 20))))
    data = bytearray(b"".join(parts))
    for _ in range(rng.randint(0, 3)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)
