"""A commit becomes visible, and its row locks are released, only once its log record is durable.

The database runs in-process on real files whose fdatasync can be held back (`GatedFiles`, a
file layer over the operating system's: writes go to disk, only the sync waits). While a
commit's fsync is held: the committer has no acknowledgement, other sessions read the old
row (readers are not blocked by the writer either), and a second writer of the same row
waits for the lock. Once the sync completes, both commits go through in order and everyone
sees the result.
"""
from __future__ import annotations

import asyncio
import threading

from engine.database import Database
from engine.session import Session
from engine.storage.files import OsFile, OsFileLayer


class _GatedFile(OsFile):
    def __init__(self, fd: int, path: str, layer: GatedFiles) -> None:
        super().__init__(fd, path)
        self.layer = layer

    def fdatasync(self) -> None:
        self.layer.wait()
        super().fdatasync()

    def fsync(self) -> None:
        self.layer.wait()
        super().fsync()


class GatedFiles(OsFileLayer):
    """The OS's files, with every file sync waiting while the gate is closed."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.held = 0                       # syncs waiting at the closed gate

    def open(self, path: str, *, write: bool = False, create: bool = False) -> OsFile:
        f = super().open(path, write=write, create=create)
        return _GatedFile(f.fd, f.path, self)

    def wait(self) -> None:
        if not self._open.is_set():
            self.held += 1
            self._open.wait()

    def close_gate(self) -> None:
        self._open.clear()

    def open_gate(self) -> None:
        self._open.set()


async def run(session: Session, sql: str) -> list:
    prepared, params = session.prepare_simple(sql)
    cursor = await session.execute(prepared, params)
    rows = [r for batch in cursor.batches for r in batch] if cursor.batches is not None else []
    await session.end_implicit()
    return rows


async def test_commit_is_invisible_and_keeps_its_locks_until_durable(tmp_path):
    files = GatedFiles()
    db = Database.open(tmp_path / "data", files=files)
    await db.start()
    try:
        writer, other, reader = Session(db), Session(db), Session(db)
        await run(writer, "CREATE TABLE t (id int PRIMARY KEY, v int)")
        await run(writer, "INSERT INTO t VALUES (1, 0)")

        files.close_gate()
        first = asyncio.create_task(run(writer, "UPDATE t SET v = 1 WHERE id = 1"))
        while files.held == 0:
            await asyncio.sleep(0.001)
        assert not first.done()                                  # no acknowledgement before the fsync
        assert await run(reader, "SELECT v FROM t") == [(0,)]    # nor visibility
        assert db.visible_lsn < db.state.lsn
        second = asyncio.create_task(run(other, "UPDATE t SET v = v + 10 WHERE id = 1"))
        while other.txn is None or not db.locks.blockers(other.txn.txn_id):
            await asyncio.sleep(0.001)                           # the row lock outlives the commit until durable
        assert not second.done()
        assert await run(reader, "SELECT v FROM t") == [(0,)]

        files.open_gate()
        await first
        await second
        assert await run(reader, "SELECT v FROM t") == [(11,)]
        assert db.visible_lsn == db.state.lsn
    finally:
        files.open_gate()
        await db.close()
