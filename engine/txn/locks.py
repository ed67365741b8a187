"""Row, key and table locks held by transactions, with waiting and deadlock detection.

A lock is named by a hashable tuple: ("row", table_id, rowid), ("key", index_id, key) for a
unique key being inserted, or ("table", table_id). Modes are SHARE and EXCLUSIVE; any number
of SHARE holders, or one EXCLUSIVE holder. A transaction that meets a conflicting holder
waits (asyncio) until the holders release, unless it asked for NOWAIT (55P03) or SKIP
LOCKED. Before waiting, the wait-for graph is followed from the holders; if it leads back to
the waiter, the waiter fails with 40P01 (deadlock_detected), as PostgreSQL fails one side.
Locks are released all at once when their transaction ends.
"""
from __future__ import annotations

import asyncio
from typing import Hashable

from engine.errors import SqlError

SHARE = 1
EXCLUSIVE = 2

LockName = Hashable


class _Lock:
    __slots__ = ("holders", "waiters")

    def __init__(self) -> None:
        self.holders: dict[int, int] = {}    # txn_id -> mode
        self.waiters: list[asyncio.Future] = []


class LockManager:
    def __init__(self) -> None:
        self._locks: dict[LockName, _Lock] = {}
        self._held: dict[int, set[LockName]] = {}
        self._waiting_for: dict[int, LockName] = {}

    def _conflicts(self, lock: _Lock, txn_id: int, mode: int) -> list[int]:
        return [h for h, m in lock.holders.items()
                if h != txn_id and (mode == EXCLUSIVE or m == EXCLUSIVE)]

    def try_acquire(self, txn_id: int, name: LockName, mode: int = EXCLUSIVE) -> bool:
        """Take the lock if nobody conflicting holds it; never waits."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = _Lock()
        elif self._conflicts(lock, txn_id, mode):
            return False
        if lock.holders.get(txn_id, 0) < mode:
            lock.holders[txn_id] = mode
            self._held.setdefault(txn_id, set()).add(name)
        return True

    def holders(self, name: LockName) -> list[int]:
        lock = self._locks.get(name)
        return list(lock.holders) if lock else []

    async def acquire(self, txn_id: int, name: LockName, mode: int = EXCLUSIVE, *,
                      nowait: bool = False, timeout: float | None = None) -> None:
        """Take the lock, waiting for conflicting holders to finish."""
        while not self.try_acquire(txn_id, name, mode):
            if nowait:
                raise SqlError("55P03", "could not obtain lock on row in relation" if name[0] == "row"
                               else "could not obtain lock")
            self._check_deadlock(txn_id, name)
            lock = self._locks[name]
            waiter = asyncio.get_running_loop().create_future()
            lock.waiters.append(waiter)
            self._waiting_for[txn_id] = name
            try:
                if timeout:
                    await asyncio.wait_for(asyncio.shield(waiter), timeout)
                else:
                    await waiter
            except asyncio.TimeoutError:
                raise SqlError("55P03", "canceling statement due to lock timeout") from None
            finally:
                self._waiting_for.pop(txn_id, None)
                if waiter in lock.waiters:
                    lock.waiters.remove(waiter)

    def _check_deadlock(self, txn_id: int, name: LockName) -> None:
        seen: set[int] = set()
        frontier = [h for h in self.holders(name) if h != txn_id]
        while frontier:
            t = frontier.pop()
            if t == txn_id:
                raise SqlError("40P01", "deadlock detected",
                               detail="Process waits for a lock held by a transaction that waits for this one.")
            if t in seen:
                continue
            seen.add(t)
            waiting = self._waiting_for.get(t)
            if waiting is not None:
                frontier.extend(h for h in self.holders(waiting) if h != t)

    def release_all(self, txn_id: int) -> None:
        names = self._held.pop(txn_id, None)
        if not names:
            return
        for name in names:
            lock = self._locks.get(name)
            if lock is None:
                continue
            lock.holders.pop(txn_id, None)
            if not lock.holders:
                waiters = lock.waiters
                del self._locks[name]
                for w in waiters:
                    if not w.done():
                        w.set_result(None)
            else:
                for w in lock.waiters:
                    if not w.done():
                        w.set_result(None)

    def held_by(self, txn_id: int) -> set[LockName]:
        return self._held.get(txn_id, set())
