"""The engine over the real log on FaultyFileLayer: recovery from snapshots, fallbacks,
synchronous_commit = off, and failed writes and fsyncs (fatal, nothing acknowledged after).

Everything runs in-process: a real `Database` (log, snapshots, checkpointer, recovery)
driven through real `Session`s with SQL, the files in memory so that power losses and I/O
errors can be injected at exact points.
"""
from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from engine import recovery
from engine.checkpoint import StateCapture, describe_difference
from engine.database import Database, StorageConfig
from engine.errors import SqlError
from engine.session import Session
from engine.storage.files import FaultyFileLayer

CONFIG = StorageConfig(segment_size=4096)


def open_db(tmp_path, files: FaultyFileLayer, config: StorageConfig = CONFIG) -> Database:
    return Database.open(tmp_path / "data", config, files=files)


async def run(session: Session, *statements: str) -> list:
    """Run statements as one simple Query message would (an implicit transaction)."""
    results = []
    for sql in statements:
        prepared, params = session.prepare_simple(sql)
        cursor = await session.execute(prepared, params)
        if cursor.batches is not None:
            results.extend(row for batch in cursor.batches for row in batch)
    await session.end_implicit()
    return results


async def started(tmp_path, files: FaultyFileLayer, config: StorageConfig = CONFIG) -> tuple[Database, Session]:
    db = open_db(tmp_path, files, config)
    await db.start()
    return db, Session(db)


async def fill(session: Session, first: int, count: int) -> None:
    """`count` transactions, each one row in a and one in b (never one without the other)."""
    for key in range(first, first + count):
        await run(session, f"INSERT INTO a VALUES ({key}, 'a{key}')", f"INSERT INTO b VALUES ({key}, {key * 2})")


async def schema(session: Session) -> None:
    await run(session, "CREATE TABLE a (id int PRIMARY KEY, v text)")
    await run(session, "CREATE TABLE b (id int PRIMARY KEY, n int)")


async def eventually(condition, what: str, limit: float = 60.0) -> None:
    """Wait until `condition()` holds (background work on a loaded machine takes what it
    takes; the limit only turns a hang into a failure)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


async def contents(session: Session) -> tuple[list, list]:
    return (await run(session, "SELECT id, v FROM a ORDER BY id"), await run(session, "SELECT id, n FROM b ORDER BY id"))


def full_replay(tmp_path, files: FaultyFileLayer) -> Database:
    """The same directory opened with every snapshot hidden: the log alone."""
    twin = files.clone()
    for name in twin.listdir(str(tmp_path / "data" / "snapshots")):
        twin.remove(str(tmp_path / "data" / "snapshots" / name))
    return Database.open(tmp_path / "twin", CONFIG, files=_Relocated(twin, tmp_path / "data", tmp_path / "twin"))


class _Relocated:
    """A FileLayer view of `files` with directory `real` seen at `alias` (a second data
    directory with its own LOCK, over the same in-memory files)."""

    def __init__(self, files: FaultyFileLayer, real, alias) -> None:
        self._files, self._real, self._alias = files, str(real), str(alias)

    def _map(self, path: str) -> str:
        path = str(path)
        return self._real + path[len(self._alias):] if path.startswith(self._alias) else path

    def __getattr__(self, name):
        method = getattr(self._files, name)
        return lambda path, *args, **kwargs: method(self._map(path), *(self._map(a) if isinstance(a, str) else a for a in args), **kwargs)


async def test_restart_from_a_snapshot_and_the_tail_equals_a_full_replay(tmp_path):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 30)
    info = await db.checkpoint()
    assert info is not None and info.lsn == db.state.lsn
    await fill(session, 31, 20)
    await run(session, "UPDATE a SET v = 'changed' WHERE id < 10", "DELETE FROM b WHERE id > 40")
    expected = await contents(session)
    await db.close()

    db, session = await started(tmp_path, files)
    assert db.checkpointer.last_lsn == info.lsn
    assert await contents(session) == expected
    replayed = full_replay(tmp_path, files)
    assert describe_difference(db.state, replayed.state) is None
    await replayed.close()
    await db.close()


async def test_checkpoint_is_a_no_op_when_nothing_changed(tmp_path):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    assert await db.checkpoint() is None          # an empty database
    await schema(session)
    assert await db.checkpoint() is not None
    assert await db.checkpoint() is None
    assert await run(session, "CHECKPOINT") == []
    await db.close()


async def test_a_damaged_snapshot_is_set_aside_and_the_previous_one_used(tmp_path, caplog):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 10)
    older = await db.checkpoint()
    await fill(session, 11, 10)
    newer = await db.checkpoint()
    await fill(session, 21, 5)
    expected = await contents(session)
    await db.close()
    data = bytearray(files.read_bytes(str(newer.path)))
    data[len(data) // 2] ^= 0x10
    files.write_bytes(str(newer.path), bytes(data))

    with caplog.at_level(logging.WARNING, logger="rewinddb.storage"):
        db, session = await started(tmp_path, files)
    assert db.checkpointer.last_lsn == older.lsn
    assert files.exists(str(newer.path) + ".corrupt") and not files.exists(str(newer.path))
    assert "damaged" in caplog.text and newer.path.name in caplog.text
    assert await contents(session) == expected
    await db.close()


@pytest.mark.parametrize("problem", ["wrong chain", "garbage content"])
async def test_a_snapshot_that_does_not_fit_the_log_is_set_aside(tmp_path, caplog, problem):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 10)
    good = await db.checkpoint()
    await fill(session, 11, 3)
    if problem == "wrong chain":
        capture = StateCapture(db.state, db.checkpointer.pins)
        capture.set_chain(bytes(32))
        bad = await db.snapshots.write(capture.lsn, capture.commit_time_us, capture.chunks())
    else:
        bad = await db.snapshots.write(db.state.lsn, db.state.commit_time_us, [b"not a snapshot"])
    expected = await contents(session)
    await db.close()

    with caplog.at_level(logging.WARNING, logger="rewinddb.storage"):
        db, session = await started(tmp_path, files)
    assert db.checkpointer.last_lsn == good.lsn
    assert files.exists(str(bad.path) + ".corrupt")
    assert ("does not match the log" if problem == "wrong chain" else "no readable header") in caplog.text
    assert await contents(session) == expected
    await db.close()


async def test_without_any_usable_snapshot_the_log_alone_suffices(tmp_path):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 10)
    info = await db.checkpoint()
    expected = await contents(session)
    await db.close()
    files.write_bytes(str(info.path), b"RWDBSNP\0" + bytes(100))
    db, session = await started(tmp_path, files)
    assert db.checkpointer.last_lsn == 0
    assert await contents(session) == expected
    await db.close()


async def test_snapshots_are_taken_in_the_background_and_pruned(tmp_path):
    files = FaultyFileLayer()
    config = StorageConfig(segment_size=4096, snapshot_log_bytes=1, snapshot_events=10**9,
                           snapshot_interval=0.0, snapshots_kept=2)
    db, session = await started(tmp_path, files, config)
    await schema(session)
    for round_ in range(4):
        await fill(session, round_ * 10 + 1, 10)
        assert db.checkpointer.due()
        await eventually(lambda: db.checkpointer.last_lsn == db.state.lsn, "a background snapshot")
    assert db.checkpointer.taken >= 4
    names = files.listdir(str(tmp_path / "data" / "snapshots"))
    assert len(names) == 2 and all(n.endswith(".snap") for n in names)
    assert max(int(n[:20]) for n in names) == db.state.lsn
    segments = [n for n in files.listdir(str(tmp_path / "data" / "log")) if n.endswith(".seg")]
    assert int(min(segments)[:20]) == 1, "snapshots never delete log segments"
    await db.close()


async def test_the_triggers_and_the_rate_limit(tmp_path):
    files = FaultyFileLayer()
    config = StorageConfig(segment_size=4096, snapshot_log_bytes=10**9, snapshot_events=40, snapshot_interval=3600)
    db, session = await started(tmp_path, files, config)
    await schema(session)
    await fill(session, 1, 10)              # 20 events
    assert not db.checkpointer.due()
    await fill(session, 11, 10)             # 40 events
    assert db.checkpointer.due()
    await db.checkpoint()
    await fill(session, 21, 30)
    assert not db.checkpointer.due(), "at most one snapshot per snapshot_interval"
    await db.close()


async def test_history_is_pruned_to_the_window_but_not_past_pins_or_open_transactions(tmp_path):
    files = FaultyFileLayer()
    config = StorageConfig(segment_size=4096, history_window=5)
    db, session = await started(tmp_path, files, config)
    await schema(session)
    await fill(session, 1, 20)
    reader = Session(db)
    await run(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ")
    seen = await run(reader, "SELECT count(*) FROM a")
    held = db.state.lsn
    await fill(session, 21, 20)
    db.checkpointer.pins[held - 3] += 1
    db.checkpointer.prune_history()
    assert db.state.history_floor == held - 3
    db.checkpointer.pins.clear()
    db.checkpointer.prune_history()
    assert db.state.history_floor == held
    assert await run(reader, "SELECT count(*) FROM a") == seen, "the open transaction still reads its snapshot"
    await run(reader, "COMMIT")
    db.checkpointer.prune_history()
    assert db.state.history_floor == db.state.lsn - 5
    assert all(lsn > db.state.lsn - 5 for data in db.state.tables.values() for lsn in data.undo_lsns)
    await db.close()


async def test_replay_keeps_row_history_only_for_the_window(tmp_path):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 30)
    await db.close()
    db = open_db(tmp_path, files, StorageConfig(segment_size=4096, history_window=7))
    assert db.state.history_floor == db.state.lsn - 7
    undo = [lsn for data in db.state.tables.values() for lsn in data.undo_lsns]
    assert undo and min(undo) == db.state.lsn - 7
    await db.close()


async def test_long_recoveries_report_progress(tmp_path, caplog, monkeypatch):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 40)
    await db.close()
    monkeypatch.setattr(recovery, "REPORT_EVERY", 0.0)
    progress = recovery.RecoveryProgress()
    with caplog.at_level(logging.INFO, logger="rewinddb.recovery"):
        db = Database.open(tmp_path / "data", CONFIG, files=files, progress=progress)
    assert progress.done and progress.replayed_lsn == progress.target_lsn == db.state.lsn
    assert progress.events == db.state.events_applied and progress.fraction == 1.0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("recovery: replayed")]
    assert lines and "events/s" in lines[0] and "%" in lines[0] and "left" in lines[0]
    await db.close()


# -- synchronous_commit and failures --------------------------------------------------------


async def test_synchronous_commit_off_acknowledges_before_the_fsync(tmp_path):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await fill(session, 1, 5)
    durable = db.log.durable_lsn
    await run(session, "SET synchronous_commit = off")
    await fill(session, 6, 3)
    assert db.state.lsn == durable + 3 and db.log.durable_lsn == durable, "acknowledged, not yet fsynced"
    assert len(await run(Session(db), "SELECT id FROM a")) == 8, "visible once acknowledged"
    files.crash("drop")                     # power loss before the writer got to run
    await db.close()
    db, session = await started(tmp_path, files)
    a, b = await contents(session)
    assert [r[0] for r in a] == [r[0] for r in b] == [1, 2, 3, 4, 5]
    await run(session, "SET synchronous_commit = off")
    await fill(session, 6, 3)
    # the writer flushes on its own, without waiting committers
    await eventually(lambda: db.log.durable_lsn == db.state.lsn, "the log flushed by itself")
    await db.close()


async def test_synchronous_commit_is_a_server_setting_sessions_can_change(tmp_path):
    files = FaultyFileLayer()
    db = open_db(tmp_path, files)
    db.settings["synchronous_commit"] = "off"
    await db.start()
    session = Session(db)
    assert await run(session, "SHOW synchronous_commit") == [("off",)]
    await run(session, "SET synchronous_commit = on")
    await schema(session)
    assert db.log.durable_lsn == db.state.lsn
    for spelling, shown in (("true", "on"), ("0", "off"), ("local", "local"), ("remote_apply", "remote_apply")):
        await run(session, f"SET synchronous_commit = {spelling}")
        assert await run(session, "SHOW synchronous_commit") == [(shown,)]
    with pytest.raises(SqlError) as bad:
        await run(session, "SET synchronous_commit = sometimes")
    assert bad.value.sqlstate == "22023"
    await run(session, "SET synchronous_commit = local")
    await fill(session, 1, 1)
    assert db.log.durable_lsn == db.state.lsn, "local waits for the fsync like on"
    await run(session, "RESET synchronous_commit")
    assert await run(session, "SHOW synchronous_commit") == [("off",)], "RESET goes back to the server's setting"
    await db.close()


@pytest.mark.parametrize("fault", ["fsync EIO", "write EIO", "write ENOSPC", "fsync once"])
async def test_a_failed_write_or_fsync_fails_every_pending_commit_and_is_fatal(tmp_path, fault):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    fatal: list[BaseException] = []
    db.on_fatal = fatal.append
    await schema(session)
    await fill(session, 1, 5)
    before = await contents(session)
    op, code = fault.split()
    files.fail(op, error=errno.ENOSPC if code == "ENOSPC" else errno.EIO, persistent=code != "once")
    sessions = [Session(db) for _ in range(6)]
    results = await asyncio.gather(*(fill(s, 100 + 10 * k, 1) for k, s in enumerate(sessions)),
                                   return_exceptions=True)
    assert all(isinstance(r, SqlError) and r.sqlstate == "58030" for r in results), results
    assert len(fatal) == 1
    assert db.visible_lsn == db.log.durable_lsn, "nothing past the failure became visible"
    assert await contents(Session(db)) == before
    with pytest.raises(SqlError) as refused:          # nothing is acknowledged after a failure
        await fill(session, 200, 1)
    assert refused.value.sqlstate == "58030"
    await db.close()
    files.crash("drop")
    db, session = await started(tmp_path, files)
    assert await contents(session) == before
    await db.close()


async def test_enospc_when_the_log_needs_a_new_segment_is_fatal(tmp_path):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    fatal: list[BaseException] = []
    db.on_fatal = fatal.append
    await schema(session)
    files.fail("allocate", error=errno.ENOSPC, persistent=True)
    with pytest.raises(SqlError) as failed:
        await fill(session, 1, 200)           # 4 KiB segments: a new one is needed soon
    assert failed.value.sqlstate == "58030" and fatal
    acknowledged = len((await contents(Session(db)))[0])
    await db.close()
    files.crash("keep")
    db, session = await started(tmp_path, files)
    a, b = await contents(session)
    assert len(a) == len(b) >= acknowledged
    await db.close()


async def test_a_failed_snapshot_write_is_not_fatal(tmp_path, caplog):
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    fatal: list[BaseException] = []
    db.on_fatal = fatal.append
    await schema(session)
    await fill(session, 1, 5)
    files.fail("create", error=errno.ENOSPC)
    with pytest.raises(OSError):
        await db.checkpoint()
    assert not fatal and db.checkpointer.failures == 1 and not db.checkpointer.pins
    await fill(session, 6, 2)
    assert await db.checkpoint() is not None
    await db.close()


@pytest.mark.parametrize("payload", ["undecodable", "unappliable"])
async def test_a_record_the_state_cannot_take_refuses_to_open_naming_it(tmp_path, payload):
    from engine import events as ev
    from engine.recovery import RecoveryError
    from engine.storage.log import SegmentedLog
    files = FaultyFileLayer()
    db, session = await started(tmp_path, files)
    await schema(session)
    await db.close()
    log = SegmentedLog.open(str(tmp_path / "data" / "log"), segment_size=CONFIG.segment_size, files=files)
    bad = (b"\x93not msgpack of a transaction" if payload == "undecodable" else
           ev.encode_transaction(ev.Transaction("u", "", "", None, [ev.RowDeleted(999, 1)])))
    log.append_durable(2**60, bad)
    await log.close()
    with pytest.raises(RecoveryError, match=r"record 3 cannot be applied .*rewinddb log --from 3"):
        open_db(tmp_path, files)
