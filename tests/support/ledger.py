"""A Jepsen-style ledger workload for crash tests: every transaction ends ok, fail or unknown.

Writers (threads, each with its own psycopg connection) commit multi-table transactions
against a real server: an order row, two item rows referring to it, and a transfer between
two accounts (two UPDATEs that keep the total balance constant). Some transactions fail on
purpose (a duplicate key, so the server rolls them back). Each outcome goes into the ledger:

- ok:      COMMIT returned: it must survive any crash;
- fail:    an error before COMMIT was sent (the server rolled back, or the connection broke
           before COMMIT): it must never appear;
- unknown: the connection broke while COMMIT was in flight (or COMMIT reported an I/O
           failure): it may go either way, but once a restart showed which, every later
           restart must agree.

With synchronous_commit = off an ok may be lost too, but only at the end: what survives of
each writer's commits is a prefix.

`check(conn)` reads the tables and raises AssertionError on any violation: a lost ok, a
visible fail, a half-present transaction (an order without both items, items without their
order) or a changed total balance. Used by tests/e2e/test_durability.py (a few rounds) and
bench/kill_loop.py (20 rounds, recorded in bench/RESULTS.md).
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import psycopg

ACCOUNTS = 20
INITIAL_BALANCE = 1000

SCHEMA = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, writer int NOT NULL, amount int NOT NULL)",
    "CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint NOT NULL, k int NOT NULL)",
    "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)",
    "INSERT INTO accounts VALUES " + ", ".join(f"({i}, {INITIAL_BALANCE})" for i in range(ACCOUNTS)),
)


@dataclass
class Ledger:
    outcomes: dict[int, str] = field(default_factory=dict)       # order id -> ok | fail | unknown
    settled: dict[int, bool] = field(default_factory=dict)       # unknown order id -> seen present?
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_round: int = 0

    def record(self, order_id: int, outcome: str) -> None:
        with self.lock:
            self.outcomes[order_id] = outcome

    def counts(self) -> dict[str, int]:
        with self.lock:
            out = {"ok": 0, "fail": 0, "unknown": 0}
            for outcome in self.outcomes.values():
                out[outcome] += 1
            return out

    def check(self, conn: psycopg.Connection, *, synchronous: bool = True) -> None:
        """Compare the database with the ledger (see the module docstring). With
        `synchronous` False (synchronous_commit = off) acknowledged commits may be lost too,
        but only the last ones: each writer's surviving commits are a prefix of its commits."""
        orders = {row[0] for row in conn.execute("SELECT id FROM orders")}
        items: dict[int, int] = {}
        for (order_id,) in conn.execute("SELECT order_id FROM items"):
            items[order_id] = items.get(order_id, 0) + 1
        total = sum(row[0] for row in conn.execute("SELECT balance FROM accounts"))
        assert total == ACCOUNTS * INITIAL_BALANCE, f"total balance {total}: a transfer is half there"
        half = sorted(o for o in orders if items.get(o) != 2) + sorted(o for o in items if o not in orders)
        assert not half, f"transactions half present: {half[:10]}"
        with self.lock:
            lost = sorted(o for o, outcome in self.outcomes.items() if outcome == "ok" and o not in orders)
            if synchronous:
                assert not lost, f"acknowledged commits lost: {lost[:10]} ({len(lost)} in all)"
            else:
                for order_id in lost:
                    later = [o for o in orders if order_id < o < order_id // 1_000_000 * 1_000_000 + 1_000_000]
                    assert not later, f"commit {order_id} was lost but {later[0]}, after it, survived"
            ghosts = sorted(o for o, outcome in self.outcomes.items() if outcome == "fail" and o in orders)
            assert not ghosts, f"failed transactions visible: {ghosts[:10]}"
            unknown_orders = {o for o in orders if o not in self.outcomes}
            assert not unknown_orders, f"orders nobody wrote: {sorted(unknown_orders)[:10]}"
            for order_id, outcome in self.outcomes.items():
                if outcome == "unknown":
                    present = order_id in orders
                    if self.settled.setdefault(order_id, present) != present:
                        raise AssertionError(f"transaction {order_id} changed its mind across restarts")


def create_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in SCHEMA:
            conn.execute(sql)


def _transaction(conn: psycopg.Connection, rng: random.Random, order_id: int, writer: int, ledger: Ledger) -> None:
    amount = rng.randint(1, 50)
    a, b = sorted(rng.sample(range(ACCOUNTS), 2))
    stage = "statements"
    try:
        conn.execute("INSERT INTO orders VALUES (%s, %s, %s)", (order_id, writer, amount))
        conn.execute("INSERT INTO items VALUES (%s, %s, 1), (%s, %s, 2)",
                     (order_id * 2, order_id, order_id * 2 + 1, order_id))
        conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, a))
        conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, b))
        if rng.random() < 0.1:
            conn.execute("INSERT INTO orders VALUES (%s, %s, 0)", (order_id, writer))  # duplicate key
        stage = "commit"
        conn.commit()
    except psycopg.Error as exc:
        # an I/O failure (58xxx) or a broken connection during COMMIT leaves the outcome open
        refused = exc.sqlstate is not None and not exc.sqlstate.startswith("58")
        ledger.record(order_id, "fail" if stage == "statements" or refused else "unknown")
        if not conn.closed and not conn.broken:
            try:
                conn.rollback()
            except psycopg.Error:
                pass
        raise
    ledger.record(order_id, "ok")


def run_writers(dsn: str, ledger: Ledger, writers: int, seconds: float, *, seed: int = 0,
                during: list | None = None) -> None:
    """`writers` threads commit transactions for about `seconds` (or until the server dies);
    `during`, if given, is a list of callables run from the main thread meanwhile (e.g. a kill)."""
    base = (ledger.next_round + 1) * 10_000_000
    ledger.next_round += 1
    stop = threading.Event()

    def writer(n: int) -> None:
        rng = random.Random(f"{seed}-{base}-{n}")
        order_id = base + n * 1_000_000
        try:
            conn = psycopg.connect(dsn, connect_timeout=5)
        except psycopg.Error:
            return
        with conn:
            while not stop.is_set():
                order_id += 1
                try:
                    _transaction(conn, rng, order_id, n, ledger)
                except psycopg.Error:
                    if conn.closed or conn.broken:
                        return

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(writers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    for action in during or ():
        action()
    while time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join(30)
