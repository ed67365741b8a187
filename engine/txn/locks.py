"""Row, key and table locks held by transactions: modes, fair queues, deadlock detection.

A lock is named by a hashable tuple: ("row", table_id, rowid), ("key", index_id, key) for a
unique key being inserted, ("ddl",) for schema changes. There are four modes, PostgreSQL's
row-lock strengths, ordered so that each conflicts with everything the weaker ones do:

    KEY_SHARE < SHARE < NO_KEY_UPDATE < UPDATE (= EXCLUSIVE)

KEY_SHARE conflicts only with UPDATE; SHARE with NO_KEY_UPDATE and UPDATE; NO_KEY_UPDATE with
SHARE and stronger; UPDATE with every mode. A transaction holds at most one mode per lock
(the strongest it asked for).

Waiting is first come, first served: a request that conflicts with a holder, or with a request
already queued, joins the lock's queue; releasing grants queued requests in order for as long
as they are compatible. (A holder asking for a stronger mode only waits for the holders.)
Before a transaction starts waiting, the wait-for graph (edges to conflicting holders and to
conflicting requests queued ahead) is searched; if it leads back to the requester, the
requester fails with 40P01 at once, so exactly one transaction of a cycle fails and the others
go on. A wait ends when the lock is granted, after the caller's timeout (55P03), or when
`interrupt` delivers an error to it (a cancel request, statement_timeout).

Locks are released all at once when their transaction ends (`release_all`), or one by one
back to an earlier mode when a savepoint is rolled back (`restore`).
"""
from __future__ import annotations

import asyncio
from typing import Hashable

from engine.errors import SqlError

KEY_SHARE = 1
SHARE = 2
NO_KEY_UPDATE = 3
UPDATE = 4
EXCLUSIVE = UPDATE

MODE_NAMES = {KEY_SHARE: "KEY SHARE", SHARE: "SHARE", NO_KEY_UPDATE: "NO KEY UPDATE", UPDATE: "UPDATE"}

# _CONFLICTS[a] is the bit set of modes that conflict with mode a
_CONFLICTS = {
    KEY_SHARE: 1 << UPDATE,
    SHARE: (1 << NO_KEY_UPDATE) | (1 << UPDATE),
    NO_KEY_UPDATE: (1 << SHARE) | (1 << NO_KEY_UPDATE) | (1 << UPDATE),
    UPDATE: (1 << KEY_SHARE) | (1 << SHARE) | (1 << NO_KEY_UPDATE) | (1 << UPDATE),
}

LockName = Hashable


def conflicts(a: int, b: int) -> bool:
    return bool(_CONFLICTS[a] & (1 << b))


class _Request:
    __slots__ = ("txn_id", "mode", "future")

    def __init__(self, txn_id: int, mode: int, future: asyncio.Future) -> None:
        self.txn_id = txn_id
        self.mode = mode
        self.future = future


class _Lock:
    __slots__ = ("holders", "queue")

    def __init__(self) -> None:
        self.holders: dict[int, int] = {}        # txn_id -> mode
        self.queue: list[_Request] = []


class LockManager:
    """The lock table. A lock held by one transaction with nobody waiting is just an entry in
    `_owners` (txn_id << 3 | mode): a transaction updating a million rows holds a million locks,
    so the common case must be small. A lock with several holders or a queue is a `_Lock` in
    `_locks`. A name is in at most one of the two."""

    def __init__(self) -> None:
        self._owners: dict[LockName, int] = {}
        self._locks: dict[LockName, _Lock] = {}
        self._held: dict[int, set[LockName]] = {}
        self._waiting: dict[int, tuple[LockName, _Request]] = {}

    # ---------------------------------------------------------------- taking locks

    def try_acquire(self, txn_id: int, name: LockName, mode: int = EXCLUSIVE) -> bool:
        """Take the lock if that needs no waiting; never waits."""
        lock = self._locks.get(name)
        if lock is None:
            packed = self._owners.get(name)
            if packed is None:
                self._owners[name] = txn_id << 3 | mode
                self._note_held(txn_id, name)
                return True
            if packed >> 3 == txn_id:
                if packed & 7 < mode:
                    self._owners[name] = txn_id << 3 | mode
                return True
            if _CONFLICTS[mode] & (1 << (packed & 7)):
                return False
            lock = self._contended(name)
        current = lock.holders.get(txn_id, 0)
        if current >= mode:
            return True
        if self._blocked_by(lock, txn_id, mode, upgrade=current > 0, before=None):
            return False
        self._grant(lock, name, txn_id, mode)
        return True

    async def acquire(self, txn_id: int, name: LockName, mode: int = EXCLUSIVE, *,
                      nowait: bool = False, timeout: float | None = None,
                      what: str = "lock") -> None:
        """Take the lock, waiting for the conflicting holders (and earlier requests) to finish.

        `nowait` fails at once with 55P03 ("could not obtain <what>"); a wait longer than
        `timeout` seconds fails with 55P03 (lock_timeout); a deadlock fails it with 40P01."""
        if self.try_acquire(txn_id, name, mode):
            return
        if nowait:
            raise SqlError("55P03", f"could not obtain {what}")
        loop = asyncio.get_running_loop()
        lock = self._contended(name)
        request = _Request(txn_id, mode, loop.create_future())
        lock.queue.append(request)
        self._waiting[txn_id] = (name, request)
        try:
            self._check_deadlock(txn_id)
            if timeout is None:
                await request.future
            else:
                await asyncio.wait((request.future,), timeout=timeout)
                if not request.future.done():
                    raise SqlError("55P03", "canceling statement due to lock timeout")
                request.future.result()
        finally:
            del self._waiting[txn_id]
            if request in lock.queue:
                lock.queue.remove(request)
                self._wake(lock, name)

    def interrupt(self, txn_id: int, error: BaseException) -> bool:
        """Fail the lock wait of `txn_id`, if it is waiting; True if it was."""
        waiting = self._waiting.get(txn_id)
        if waiting is None or waiting[1].future.done():
            return False
        waiting[1].future.set_exception(error)
        return True

    # ---------------------------------------------------------------- releasing

    def release_all(self, txn_id: int) -> None:
        names = self._held.pop(txn_id, None)
        if not names:
            return
        owners = self._owners
        for name in names:
            packed = owners.get(name)
            if packed is not None:
                if packed >> 3 == txn_id:
                    del owners[name]
                continue
            lock = self._locks.get(name)
            if lock is not None and lock.holders.pop(txn_id, None) is not None:
                self._wake(lock, name)

    def restore(self, txn_id: int, name: LockName, mode: int) -> None:
        """Put a held lock back to an earlier `mode` (0: not held), as a savepoint rollback does."""
        packed = self._owners.get(name)
        if packed is not None:
            if packed >> 3 != txn_id:
                return
            if mode:
                self._owners[name] = txn_id << 3 | mode
            else:
                del self._owners[name]
                self._held.get(txn_id, set()).discard(name)
            return
        lock = self._locks.get(name)
        if lock is None or txn_id not in lock.holders:
            return
        if mode:
            lock.holders[txn_id] = mode
        else:
            del lock.holders[txn_id]
            self._held.get(txn_id, set()).discard(name)
        self._wake(lock, name)

    # ---------------------------------------------------------------- inspection

    def mode_held(self, txn_id: int, name: LockName) -> int:
        packed = self._owners.get(name)
        if packed is not None:
            return packed & 7 if packed >> 3 == txn_id else 0
        lock = self._locks.get(name)
        return lock.holders.get(txn_id, 0) if lock is not None else 0

    def holders(self, name: LockName) -> dict[int, int]:
        packed = self._owners.get(name)
        if packed is not None:
            return {packed >> 3: packed & 7}
        lock = self._locks.get(name)
        return dict(lock.holders) if lock is not None else {}

    def held_by(self, txn_id: int) -> set[LockName]:
        return self._held.get(txn_id, set())

    def blockers(self, txn_id: int) -> list[int]:
        """The transactions `txn_id` is waiting for (pg_blocking_pids)."""
        waiting = self._waiting.get(txn_id)
        if waiting is None:
            return []
        name, request = waiting
        lock = self._locks.get(name)
        return self._blocked_by(lock, txn_id, request.mode, upgrade=txn_id in lock.holders,
                                before=request) if lock is not None else []

    # ---------------------------------------------------------------- internals

    def _note_held(self, txn_id: int, name: LockName) -> None:
        held = self._held.get(txn_id)
        if held is None:
            self._held[txn_id] = {name}
        else:
            held.add(name)

    def _contended(self, name: LockName) -> _Lock:
        """The full `_Lock` for `name`, made from its single owner (or empty) if needed."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = _Lock()
            packed = self._owners.pop(name, None)
            if packed is not None:
                lock.holders[packed >> 3] = packed & 7
        return lock

    def _blocked_by(self, lock: _Lock, txn_id: int, mode: int, *, upgrade: bool,
                    before: _Request | None) -> list[int]:
        """Who stands in the way of `txn_id` taking `mode`: conflicting holders and, unless it
        already holds the lock, conflicting requests queued ahead of it (`before`, or all)."""
        mask = _CONFLICTS[mode]
        out = [h for h, m in lock.holders.items() if h != txn_id and mask & (1 << m)]
        if not upgrade:
            for r in lock.queue:
                if r is before:
                    break
                if r.txn_id != txn_id and mask & (1 << r.mode) and not r.future.done():
                    out.append(r.txn_id)
        return out

    def _grant(self, lock: _Lock, name: LockName, txn_id: int, mode: int) -> None:
        if lock.holders.get(txn_id, 0) < mode:
            lock.holders[txn_id] = mode
        self._note_held(txn_id, name)

    def _wake(self, lock: _Lock, name: LockName) -> None:
        """Grant queued requests in order while they are compatible; shrink a lock nobody waits for."""
        for request in list(lock.queue):
            if request.future.done():
                lock.queue.remove(request)
                continue
            if self._blocked_by(lock, request.txn_id, request.mode,
                                upgrade=request.txn_id in lock.holders, before=request):
                continue
            lock.queue.remove(request)
            self._grant(lock, name, request.txn_id, request.mode)
            request.future.set_result(None)
        if not lock.queue and len(lock.holders) <= 1 and self._locks.get(name) is lock:
            del self._locks[name]
            for holder, mode in lock.holders.items():
                self._owners[name] = holder << 3 | mode

    def _check_deadlock(self, txn_id: int) -> None:
        seen: set[int] = set()
        frontier = self.blockers(txn_id)
        while frontier:
            t = frontier.pop()
            if t == txn_id:
                raise SqlError("40P01", "deadlock detected",
                               detail="Process waits for a lock held by a transaction that waits for this one.",
                               hint="See server log for query details.")
            if t not in seen:
                seen.add(t)
                frontier.extend(self.blockers(t))
