"""Scripted interleavings of concurrent sessions, run step by step against a real server.

A `Scenario` names sessions and their steps (one SQL statement each), and permutations: orders
in which to issue the steps. Its SQL may say `{level}`; the scenario then runs once per
isolation level in `levels`. `run_permutation` issues the steps one at a time, each on its
session's own connection, and after each one waits until every statement in flight has either
finished or is blocked on a lock (asked of the server with `pg_blocking_pids`, as PostgreSQL's
isolation tester does). What the clients see is recorded as events, in order:

    {"step": "u2", "waiting": true}                     the statement is blocked
    {"step": "u2", "tag": "UPDATE 1", "rows": [...]}    it finished (rows for queries)
    {"step": "u2", "error": "40001", "message": "..."}  it failed

A blocked statement's result appears after the step that unblocked it. Statements still in
flight at the end are reported as {"step": ..., "unfinished": true}.

The same runner records PostgreSQL 15's behaviour (`record.py`, with `stable_for` > 0 so that
PostgreSQL's delayed deadlock check has time to act) and checks rewinddb against it
(`test_interleavings.py`, where a blocked state only changes when a step is issued).
"""
from __future__ import annotations

import asyncio
import decimal
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

EXPECTED = Path(__file__).resolve().parent / "expected"
LEVELS = ("read committed", "repeatable read", "serializable")


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: tuple[str, ...]
    teardown: tuple[str, ...]
    sessions: dict[str, dict[str, str]]            # session -> {step name: SQL}, in order
    permutations: tuple[tuple[str, ...], ...]
    session_setup: dict[str, tuple[str, ...]] = field(default_factory=dict)
    levels: tuple[str, ...] = LEVELS

    def runs(self) -> list[tuple[str, tuple[str, ...]]]:
        """(level, permutation) pairs; level "" for scenarios that do not depend on it."""
        uses_level = any("{level}" in sql for steps in self.sessions.values() for sql in steps.values())
        levels = self.levels if uses_level else ("",)
        return [(level, perm) for level in levels for perm in self.permutations]


def run_key(level: str, permutation: tuple[str, ...]) -> str:
    return f"{level + ': ' if level else ''}{' '.join(permutation)}"


def _value(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    return str(v)


async def _execute(conn: psycopg.AsyncConnection, sql: str) -> dict:
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
            out: dict = {"tag": cur.statusmessage}
            if cur.description is not None:
                out["rows"] = [[_value(v) for v in row] for row in await cur.fetchall()]
            return out
    except psycopg.Error as e:
        return {"error": e.sqlstate, "message": e.diag.message_primary}


async def _blocked(admin: psycopg.AsyncConnection, pid: int) -> bool:
    cur = await admin.execute(f"SELECT pg_blocking_pids({pid})")
    row = await cur.fetchone()
    return bool(row[0])


async def _settle(admin, pending: dict[str, asyncio.Task], pids: dict[str, int], session_of: dict[str, str],
                  stable_for: float) -> set[str]:
    """Wait until every statement in flight is done or blocked (for `stable_for` seconds)."""
    loop = asyncio.get_running_loop()
    blocked_since: dict[str, float] = {}
    while True:
        running = [step for step, task in pending.items() if not task.done()]
        if not running:
            break
        now = loop.time()
        for step in running:
            if await _blocked(admin, pids[session_of[step]]):
                blocked_since.setdefault(step, now)
            else:
                blocked_since.pop(step, None)
        if any(pending[step].done() for step in running):
            continue        # something finished meanwhile: what was seen blocked may have moved on
        if all(step in blocked_since and now - blocked_since[step] >= stable_for for step in running):
            break
        await asyncio.wait([pending[step] for step in running], timeout=0.005)
    return {step for step, task in pending.items() if task.done()}


async def run_permutation(dsn: str, scenario: Scenario, level: str, permutation: tuple[str, ...],
                          stable_for: float = 0.0) -> list[dict]:
    session_of = {step: s for s, steps in scenario.sessions.items() for step in steps}
    sql_of = {step: sql.replace("{level}", level) for steps in scenario.sessions.values()
              for step, sql in steps.items()}
    admin = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    conns: dict[str, psycopg.AsyncConnection] = {}
    pending: dict[str, asyncio.Task] = {}
    events: list[dict] = []
    try:
        for sql in scenario.teardown:
            await _execute(admin, sql)
        for sql in scenario.setup:
            result = await _execute(admin, sql)
            assert "error" not in result, f"setup failed: {sql}: {result}"
        pids: dict[str, int] = {}
        for s in scenario.sessions:
            conns[s] = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            cur = await conns[s].execute("SELECT pg_backend_pid()")
            pids[s] = (await cur.fetchone())[0]
            for sql in scenario.session_setup.get(s, ()):
                await _execute(conns[s], sql)
        for step in permutation:
            session = session_of[step]
            busy = [other for other in pending if session_of[other] == session]
            assert not busy, f"step {step}: session {session} is still running {busy}"
            pending[step] = asyncio.create_task(_execute(conns[session], sql_of[step]))
            finished = await _settle(admin, pending, pids, session_of, stable_for)
            if step not in finished:
                events.append({"step": step, "waiting": True})
            for name in sorted(finished, key=lambda n: (n != step, n)):
                events.append({"step": name, **pending.pop(name).result()})
        for name in sorted(pending):
            events.append({"step": name, "unfinished": True})
    finally:
        for conn in conns.values():
            await conn.close()
        for task in pending.values():
            task.cancel()
        for sql in scenario.teardown:
            await _execute(admin, sql)
        await admin.close()
    return events


def differences(expected: list[dict], actual: list[dict]) -> list[str]:
    """What rewinddb did differently: the events compared without error messages."""
    def shape(e: dict) -> dict:
        return {k: v for k, v in e.items() if k != "message"}
    out = []
    for i in range(max(len(expected), len(actual))):
        exp = shape(expected[i]) if i < len(expected) else None
        act = shape(actual[i]) if i < len(actual) else None
        if exp != act:
            out.append(f"event {i + 1}: expected {exp}, got {act}")
    return out
