"""The lock manager on its own: PostgreSQL's row-lock conflict table, first-come-first-served
queues, upgrades, savepoint restores, interrupts, and deadlocks found when a wait begins."""
from __future__ import annotations

import asyncio
import itertools

import pytest

from engine.errors import SqlError
from engine.txn.locks import KEY_SHARE, NO_KEY_UPDATE, SHARE, UPDATE, LockManager, conflicts

ROW = ("row", 1, 1)

# PostgreSQL's table "Conflicting Row-Level Locks" (explicit-locking.html)
CONFLICTS = {
    (KEY_SHARE, UPDATE), (SHARE, NO_KEY_UPDATE), (SHARE, UPDATE), (NO_KEY_UPDATE, SHARE),
    (NO_KEY_UPDATE, NO_KEY_UPDATE), (NO_KEY_UPDATE, UPDATE), (UPDATE, KEY_SHARE), (UPDATE, SHARE),
    (UPDATE, NO_KEY_UPDATE), (UPDATE, UPDATE),
}
MODES = (KEY_SHARE, SHARE, NO_KEY_UPDATE, UPDATE)


@pytest.mark.parametrize("held,asked", list(itertools.product(MODES, MODES)))
def test_conflict_table_is_postgresqls(held, asked):
    locks = LockManager()
    assert conflicts(asked, held) == ((asked, held) in CONFLICTS)
    assert locks.try_acquire(1, ROW, held)
    assert locks.try_acquire(2, ROW, asked) == ((asked, held) not in CONFLICTS)


async def test_waiters_are_served_in_order_and_shares_do_not_starve_a_writer():
    locks = LockManager()
    assert locks.try_acquire(1, ROW, SHARE)
    writer = asyncio.create_task(locks.acquire(2, ROW, UPDATE))
    await asyncio.sleep(0)
    assert locks.blockers(2) == [1]
    assert not locks.try_acquire(3, ROW, SHARE)      # compatible with the holder, but queued behind the writer
    reader = asyncio.create_task(locks.acquire(3, ROW, SHARE))
    await asyncio.sleep(0)
    assert locks.blockers(3) == [2]
    locks.release_all(1)
    await writer
    assert not reader.done()
    locks.release_all(2)
    await reader
    assert locks.holders(ROW) == {3: SHARE}
    locks.release_all(3)
    assert locks.holders(ROW) == {}


async def test_upgrade_waits_for_other_holders_only():
    locks = LockManager()
    assert locks.try_acquire(1, ROW, KEY_SHARE) and locks.try_acquire(2, ROW, KEY_SHARE)
    upgrade = asyncio.create_task(locks.acquire(1, ROW, UPDATE))
    await asyncio.sleep(0)
    assert locks.blockers(1) == [2]
    locks.release_all(2)
    await upgrade
    assert locks.mode_held(1, ROW) == UPDATE


async def test_restore_gives_back_a_lock_taken_after_a_savepoint():
    locks = LockManager()
    assert locks.try_acquire(1, ROW, KEY_SHARE)
    assert locks.try_acquire(1, ROW, UPDATE)
    waiter = asyncio.create_task(locks.acquire(2, ROW, SHARE))
    await asyncio.sleep(0)
    locks.restore(1, ROW, KEY_SHARE)                 # back to the mode held at the savepoint
    await waiter
    assert locks.holders(ROW) == {1: KEY_SHARE, 2: SHARE}
    locks.restore(2, ROW, 0)
    assert locks.holders(ROW) == {1: KEY_SHARE}
    assert ROW not in locks.held_by(2)


async def test_deadlock_fails_the_transaction_that_closes_the_cycle():
    locks = LockManager()
    a, b, c = ("row", 1, "a"), ("row", 1, "b"), ("row", 1, "c")
    for txn, name in ((1, a), (2, b), (3, c)):
        assert locks.try_acquire(txn, name)
    one = asyncio.create_task(locks.acquire(1, b))
    two = asyncio.create_task(locks.acquire(2, c))
    await asyncio.sleep(0)
    with pytest.raises(SqlError) as failure:
        await locks.acquire(3, a)
    assert failure.value.sqlstate == "40P01"
    locks.release_all(3)
    await two
    locks.release_all(2)
    await one


async def test_nowait_timeout_and_interrupt():
    locks = LockManager()
    assert locks.try_acquire(1, ROW)
    with pytest.raises(SqlError) as nowait:
        await locks.acquire(2, ROW, nowait=True, what='lock on row in relation "t"')
    assert (nowait.value.sqlstate, nowait.value.message) == ("55P03", 'could not obtain lock on row in relation "t"')
    with pytest.raises(SqlError) as timeout:
        await locks.acquire(2, ROW, timeout=0.01)
    assert timeout.value.sqlstate == "55P03"
    waiter = asyncio.create_task(locks.acquire(2, ROW))
    await asyncio.sleep(0)
    assert locks.interrupt(2, SqlError("57014", "canceling statement due to user request"))
    with pytest.raises(SqlError) as cancelled:
        await waiter
    assert cancelled.value.sqlstate == "57014"
    assert locks.blockers(2) == [] and locks.holders(ROW) == {1: UPDATE}


def test_many_uncontended_locks_stay_small():
    locks = LockManager()
    for rowid in range(10_000):
        assert locks.try_acquire(7, ("row", 1, rowid), NO_KEY_UPDATE)
    assert not locks._locks and len(locks._owners) == 10_000
    locks.release_all(7)
    assert not locks._owners and not locks.held_by(7)
