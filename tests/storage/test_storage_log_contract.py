"""The `Log` contract, run against every implementation.

`LogContract` states what any log promises through the protocol: dense LSNs, durable-only
reads, group commit releasing waiters in LSN order after `on_durable`, the hash chain, the
time index, and the failure contract. Each implementation subclasses it with a factory.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import struct

import pytest

from engine.storage.files import FaultyFileLayer, FileHandle, OsFileLayer
from engine.storage.log import Log, LogFailure, SegmentedLog
from engine.storage.memory import MemoryLog

GENESIS = bytes(32)


def expected_chain(prev: bytes, lsn: int, t: int, payload: bytes) -> bytes:
    """The chain rule from docs/log-format.md, written out independently of the code."""
    return hashlib.sha256(prev + struct.pack("<QQB", lsn, t, 1) + payload).digest()


def payload_for(lsn: int) -> bytes:
    return f"record {lsn} ".encode() * (lsn % 7 + 1)


class LogContract:
    """Subclasses provide `make()` and `break_next_flush(log)`."""

    def make(self) -> Log:
        raise NotImplementedError

    def break_next_flush(self, log: Log, error: OSError) -> None:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path):
        self.tmp = tmp_path

    async def filled(self, n: int, *, batch: int = 5) -> Log:
        log = self.make()
        await log.start()
        for lsn in range(1, n + 1):
            assert log.append(1000 + lsn // 3, payload_for(lsn)) == lsn
            if lsn % batch == 0:
                await log.wait_durable(lsn)
        await log.wait_durable(n)
        return log

    async def test_empty(self):
        log = self.make()
        assert (log.last_lsn, log.durable_lsn) == (0, 0)
        assert log.head() == (0, GENESIS.hex())
        assert log.chain_at(0) == GENESIS
        assert list(log.records()) == []
        assert log.lsn_at_time(10**15) == 0
        await log.close()

    async def test_round_trip(self):
        log = await self.filled(60)
        records = list(log.records())
        assert [r.lsn for r in records] == list(range(1, 61))
        chain = GENESIS
        for r in records:
            assert r.payload == payload_for(r.lsn)
            assert r.commit_time_us == 1000 + r.lsn // 3
            chain = expected_chain(chain, r.lsn, r.commit_time_us, r.payload)
            assert r.chain == chain
            assert log.chain_at(r.lsn) == chain
        assert log.head() == (60, chain.hex())
        await log.close()

    async def test_ranges(self):
        log = await self.filled(40)
        assert [r.lsn for r in log.records(17)] == list(range(17, 41))
        assert [r.lsn for r in log.records(5, 9)] == [5, 6, 7, 8, 9]
        assert [r.lsn for r in log.records(40, 40)] == [40]
        assert list(log.records(41)) == []
        assert list(log.records(9, 5)) == []
        await log.close()

    async def test_reads_see_durable_records_only(self):
        log = self.make()
        await log.start()
        log.append(1, b"a")
        log.append(2, b"b")
        assert log.last_lsn == 2
        assert log.durable_lsn == 0 and list(log.records()) == []
        with pytest.raises(ValueError):
            log.chain_at(2)
        await log.wait_durable(2)
        assert log.durable_lsn == 2
        assert [r.payload for r in log.records()] == [b"a", b"b"]
        await log.close()

    async def test_iterator_picks_up_records_made_durable_meanwhile(self):
        log = await self.filled(3)
        it = log.records()
        assert next(it).lsn == 1
        log.append(2000, b"late")
        await log.wait_durable(4)
        assert [r.lsn for r in it] == [2, 3, 4]
        await log.close()

    async def test_group_commit_releases_waiters_in_lsn_order_after_on_durable(self):
        log = self.make()
        events: list[tuple[str, int]] = []
        log.on_durable = lambda lsn: events.append(("durable", lsn))
        await log.start()

        async def commit(i: int) -> None:
            lsn = log.append(10 + i, b"x" * i)
            await log.wait_durable(lsn)
            assert log.durable_lsn >= lsn
            events.append(("acked", lsn))

        await asyncio.gather(*(commit(i) for i in range(50)))
        acked = [lsn for kind, lsn in events if kind == "acked"]
        assert sorted(acked) == list(range(1, 51))
        durable = [lsn for kind, lsn in events if kind == "durable"]
        assert durable == sorted(durable) and durable[-1] == 50
        assert len(durable) < 50, "appends made while a batch is in flight must share a flush"
        for i, (kind, lsn) in enumerate(events):
            if kind == "acked":
                assert any(k == "durable" and d >= lsn for k, d in events[:i])
        await log.close()

    async def test_wait_durable_for_old_and_unknown_lsns(self):
        log = await self.filled(5)
        await log.wait_durable(3)
        with pytest.raises(ValueError):
            await log.wait_durable(6)
        await log.close()

    async def test_commit_time_must_not_go_backwards(self):
        log = self.make()
        log.append_durable(100, b"a")
        log.append_durable(100, b"b")
        with pytest.raises(ValueError):
            log.append(99, b"c")
        assert log.last_lsn == 2
        await log.close()

    async def test_oversized_records_are_refused(self, monkeypatch):
        monkeypatch.setattr("engine.storage.log.MAX_PAYLOAD", 10)
        log = self.make()
        with pytest.raises(ValueError):
            log.append(1, b"x" * 11)
        assert log.append_durable(1, b"x" * 10) == 1
        await log.close()

    async def test_lsn_at_time(self):
        log = self.make()
        times = [5, 5, 7, 7, 7, 9, 20, 20, 21]
        for t in times:
            log.append_durable(t, b"p" * 50)
        assert log.lsn_at_time(4) == 0
        assert log.lsn_at_time(5) == 2
        assert log.lsn_at_time(6) == 2
        assert log.lsn_at_time(7) == 5
        assert log.lsn_at_time(19) == 6
        assert log.lsn_at_time(20) == 8
        assert log.lsn_at_time(10**18) == 9
        await log.close()

    async def test_lsn_at_time_ignores_records_not_yet_durable(self):
        log = await self.filled(4)
        log.append(5000, b"pending")
        assert log.lsn_at_time(6000) == 4
        await log.close()

    async def test_append_durable_without_a_loop_task(self):
        log = self.make()
        for lsn in range(1, 6):
            assert log.append_durable(lsn, b"offline") == lsn
            assert log.durable_lsn == lsn
        await log.close()

    async def test_append_durable_is_not_mixed_with_the_writer(self):
        log = self.make()
        await log.start()
        with pytest.raises(RuntimeError):
            log.append_durable(1, b"x")
        await log.close()

    async def test_close_flushes_and_is_idempotent(self):
        log = self.make()
        await log.start()
        log.append(1, b"a")
        log.append(2, b"b")
        await log.close()
        assert log.durable_lsn == 2
        await log.close()
        with pytest.raises(ValueError):
            log.append(3, b"c")

    async def test_failure_is_fatal_and_nothing_after_it_is_acknowledged(self):
        log = await self.filled(10)
        failures: list[BaseException] = []
        durable: list[int] = []
        log.on_failure = failures.append
        log.on_durable = durable.append
        self.break_next_flush(log, OSError(errno.EIO, "injected"))
        lsns = [log.append(5000, b"doomed %d" % i) for i in range(5)]
        results = await asyncio.gather(*(log.wait_durable(lsn) for lsn in lsns), return_exceptions=True)
        assert all(isinstance(r, LogFailure) for r in results)
        assert len(failures) == 1 and isinstance(failures[0], OSError)
        assert durable == [] and log.durable_lsn == 10
        with pytest.raises(LogFailure):
            log.append(5001, b"refused")
        with pytest.raises(LogFailure):
            await log.wait_durable(15)
        await log.wait_durable(10)  # durable before the failure stays durable
        assert [r.lsn for r in log.records()] == list(range(1, 11))
        await log.close()
        assert len(failures) == 1


class TestMemoryLog(LogContract):
    def make(self) -> Log:
        return MemoryLog()

    def break_next_flush(self, log: Log, error: OSError) -> None:
        assert isinstance(log, MemoryLog)
        log.fail_next_flush(error)


class _SyncFailingFile:
    """A real file whose next fdatasync/fsync raises the layer's armed error (once)."""

    def __init__(self, layer: OsFilesWithFailingSync, handle: FileHandle) -> None:
        self._layer, self._handle = layer, handle

    def __getattr__(self, name: str):
        return getattr(self._handle, name)

    def fdatasync(self) -> None:
        self._layer.raise_armed()
        self._handle.fdatasync()

    def fsync(self) -> None:
        self._layer.raise_armed()
        self._handle.fsync()


class OsFilesWithFailingSync(OsFileLayer):
    """The operating system's files, except that a sync can be made to fail: the disk's
    answer to an fsync is the one thing a test cannot provoke on real files."""

    def __init__(self) -> None:
        self.armed: OSError | None = None

    def open(self, path: str, *, write: bool = False, create: bool = False) -> FileHandle:
        return _SyncFailingFile(self, super().open(path, write=write, create=create))

    def raise_armed(self) -> None:
        error, self.armed = self.armed, None
        if error is not None:
            raise error


class TestSegmentedLogOnDisk(LogContract):
    def make(self) -> Log:
        self.files = OsFilesWithFailingSync()
        return SegmentedLog.open(self.tmp / "log", segment_size=1024, files=self.files)

    def break_next_flush(self, log: Log, error: OSError) -> None:
        self.files.armed = error


class TestSegmentedLogOnFaultyFiles(LogContract):
    def make(self) -> Log:
        self.files = FaultyFileLayer()
        return SegmentedLog.open("/data/log", segment_size=1024, files=self.files)

    def break_next_flush(self, log: Log, error: OSError) -> None:
        self.files.fail("fsync", error=error.errno)


async def test_every_implementation_computes_the_same_digest(tmp_path):
    logs: list[Log] = [MemoryLog(), SegmentedLog.open(tmp_path / "a", segment_size=1 << 20), SegmentedLog.open(tmp_path / "b", segment_size=300)]
    for log in logs:
        await log.start()
        for lsn in range(1, 30):
            log.append(lsn * 10, payload_for(lsn))
            if lsn % 4 == 0:
                await log.wait_durable(lsn)  # different batching must not change the chain
        await log.close()
    assert len({log.head() for log in logs}) == 1
