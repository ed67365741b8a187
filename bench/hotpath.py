"""The per-statement Python work of the server, without sockets: microseconds per statement.

    python -m bench.hotpath [--statement select|update|tpcb] [--mode prepared|simple]
                            [--count 20000] [--repeat 5] [--rows 100000] [--profile]

Runs the real server code (`server.connection.Connection` on a real `Database` in a
temporary data directory) in this process, with an in-memory transport in place of the
socket: each round feeds the bytes pgbench sends for one statement (`-M prepared`: Bind,
Describe, Execute, Sync of a statement parsed once; `-M simple`: one Query) to
`data_received` and waits for the ReadyForQuery of the reply. Without the kernel and the
client in the way the figure is steady on a shared machine, so it shows what a change to the
hot path (decoding, session, executor, encoding, commit) saves. `--profile` prints the
functions with the most own time (cProfile; its overhead inflates the total). `--opcodes`
counts instead the Python bytecodes and function calls one round executes (sys.settrace):
not time, but a figure that other processes on the machine cannot move (with `--profile`,
per function).

Statements are pgbench's: `select` is select-only's SELECT abalance ... WHERE aid = $1,
`update` its UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2 (each
committed with synchronous_commit off, so the figure is the Python work, not fsync),
`tpcb` the five statements of one TPC-B transaction (BEGIN ... END).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import pstats
import random
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, today
from engine.database import Database
from server.app import Server, storage_config
from server.config import load
from server.connection import Connection

READY = b"Z\x00\x00\x00\x05"

TPCB = ("BEGIN", "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
        "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
        "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
        "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
        "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
        "END")
STATEMENTS = {"select": (TPCB[2],), "update": (TPCB[1],), "tpcb": TPCB}


def message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def query(sql: str) -> bytes:
    return message(b"Q", sql.encode() + b"\0")


def parse(name: str, sql: str) -> bytes:
    return message(b"P", name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0))


def bind(name: str, params: list[str]) -> bytes:
    body = b"\0" + name.encode() + b"\0" + struct.pack("!HH", 0, len(params))
    for p in params:
        body += struct.pack("!I", len(p)) + p.encode()
    return message(b"B", body + struct.pack("!H", 0))


DESCRIBE_PORTAL = message(b"D", b"P\0")
EXECUTE = message(b"E", b"\0" + struct.pack("!I", 0))
SYNC = message(b"S", b"")


class MemoryTransport(asyncio.Transport):
    """A socket that keeps what is written and signals each ReadyForQuery."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)
        if bytes(data[-6:-1]) == READY:
            self.ready.set()

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 5432) if name == "peername" else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


class Client:
    """One in-process connection: send bytes, wait for the ReadyForQuery."""

    def __init__(self, server: Server) -> None:
        self.transport = MemoryTransport()
        self.conn = Connection(server)
        self.conn.connection_made(self.transport)

    async def round(self, data: bytes) -> None:
        self.transport.ready.clear()
        self.conn.data_received(data)
        await self.transport.ready.wait()

    async def start(self) -> None:
        body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
        await self.round(struct.pack("!I", len(body) + 4) + body)


def requests(statements: tuple[str, ...], mode: str, rows: int, count: int) -> list[bytes]:
    """The bytes of `count` rounds of `statements` with pgbench's random parameters."""
    rng = random.Random(1)
    out = []
    for _ in range(count):
        aid, tid, bid, delta = rng.randint(1, rows), rng.randint(1, 10), 1, rng.randint(-5000, 5000)
        values = {TPCB[1]: [delta, aid], TPCB[2]: [aid], TPCB[3]: [delta, tid], TPCB[4]: [delta, bid],
                  TPCB[5]: [tid, bid, aid, delta]}
        parts = []
        for i, sql in enumerate(statements):
            params = [str(v) for v in values.get(sql, [])]
            if mode == "simple":
                text = sql
                for n in range(len(params), 0, -1):
                    text = text.replace(f"${n}", params[n - 1])
                parts.append(query(text))
            else:
                parts.append(bind(f"P0_{i}", params) + DESCRIBE_PORTAL + EXECUTE + SYNC)
        out.append(parts)
    return out


async def count_opcodes(client: Client, rounds: list[list[bytes]], top: int) -> str:
    """Python bytecodes and calls per round, as sys.settrace sees them on this thread, and
    the `top` functions by bytecodes."""
    counts = {"opcode": 0, "call": 0}
    by_function: collections.Counter[str] = collections.Counter()

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event in counts:
            counts[event] += 1
            if event == "opcode":
                code = frame.f_code
                by_function[f"{code.co_qualname} ({Path(code.co_filename).name}:{code.co_firstlineno})"] += 1
        return trace
    sys.settrace(trace)
    try:
        for parts in rounds:
            for data in parts:
                await client.round(data)
    finally:
        sys.settrace(None)
    n = len(rounds)
    lines = [f"{count / n:8.1f}  {name}" for name, count in by_function.most_common(top)]
    return "\n".join(lines + [f"{counts['opcode'] / n:,.0f} bytecodes and {counts['call'] / n:,.1f} calls per round"])


async def run(args: argparse.Namespace) -> list[float] | str:
    with tempfile.TemporaryDirectory() as tmp:
        config = load({"data_dir": tmp, "synchronous_commit": "off"})
        server = Server(config)
        db = Database.open(Path(tmp) / "data", storage_config(config))
        db.bootstrap_role = server.auth.bootstrap_role()
        db.settings["synchronous_commit"] = "off"
        await db.start()
        server.db = db
        try:
            client = Client(server)
            await client.start()
            setup = ["CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
                     "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
                     "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
                     "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, "
                     "filler char(22))",
                     f"INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, {args.rows}) g",
                     "INSERT INTO pgbench_tellers SELECT g, 1, 0, '' FROM generate_series(1, 10) g",
                     "INSERT INTO pgbench_branches VALUES (1, 0, '')"]
            for sql in setup:
                await client.round(query(sql))
            statements = STATEMENTS[args.statement]
            if args.mode == "prepared":
                await client.round(b"".join(parse(f"P0_{i}", sql) for i, sql in enumerate(statements)) + SYNC)
            rounds = requests(statements, args.mode, args.rows, args.count)
            gc.freeze()                         # as Server.run does with the recovered state
            gc.set_threshold(50_000, 20, 100)
            for parts in rounds[:1000]:                  # warm the caches
                for data in parts:
                    await client.round(data)
            if args.opcodes:
                return await count_opcodes(client, rounds, args.top if args.profile else 0)
            timings = []
            profiler = cProfile.Profile() if args.profile else None
            for _ in range(args.repeat):
                if profiler is not None:
                    profiler.enable()
                started = time.process_time()
                for parts in rounds:
                    for data in parts:
                        await client.round(data)
                timings.append((time.process_time() - started) / args.count * 1e6)
                if profiler is not None:
                    profiler.disable()
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
            return timings
        finally:
            await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statement", choices=sorted(STATEMENTS), default="select")
    parser.add_argument("--mode", choices=("prepared", "simple"), default="prepared")
    parser.add_argument("--count", type=int, default=20000, help="rounds per measurement")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--opcodes", action="store_true", help="count bytecodes and calls per round")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    timings = asyncio.run(run(args))
    if isinstance(timings, str):
        *functions, total = timings.split("\n")
        print("\n".join(functions))
        print(f"{today()}: {args.statement}, {args.mode}: {total} ({args.count} rounds)")
        return
    print(f"{today()}, {machine()}: {args.statement}, {args.mode}, CPU µs per round: "
          f"median {statistics.median(timings):.1f}, min {min(timings):.1f} (max {max(timings):.1f}, "
          f"{args.repeat} x {args.count})")


if __name__ == "__main__":
    main()
