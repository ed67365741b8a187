"""The event log: the `Log` contract and `SegmentedLog`, its local, segmented implementation.

Role: the engine appends one opaque payload per committed transaction and learns its LSN;
a single writer task makes batches durable (group commit); readers stream records back
in LSN order, resolve timestamps to LSNs and read the hash-chain digest. The bytes on
disk are described in docs/log-format.md and encoded in `segment.py`.

Data flow: `append` (event loop thread) assigns the LSN, extends the chain, frames the
record, places it in a segment and queues it -> the writer task hands the whole queue to a
worker thread, which writes it with one `pwrite` per segment touched and one `fdatasync`
-> back on the loop, `durable_lsn` advances, `on_durable` runs, and `wait_durable` callers
are released in LSN order. Reads go straight to the files and see durable records only.

Invariants:
- LSNs are dense from 1; commit times never decrease; chain(n) = SHA-256(chain(n-1) ||
  lsn || commit time || type || payload), chain(0) = 32 zero bytes.
- Nothing is reported durable before the fsync that covers it returned.
- A failed write or fsync is fatal and never retried ("fsyncgate"): every pending and
  future waiter gets `LogFailure`, `append` refuses, recovery at the next open decides
  what survived.
- On open, only the tail of the last segment may be torn (it is truncated, logged at
  INFO); any other damage raises `LogCorruption` naming the file and offset.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from typing import Protocol

from .files import FileHandle, FileLayer, OsFileLayer
from .index import SegmentIndex, index_name, read_index, scan_segment, write_index
from .segment import (
    FRAME_HEADER_SIZE,
    GENESIS_CHAIN,
    MAX_PAYLOAD,
    SEGMENT_HEADER_SIZE,
    STOP_REASONS,
    FrameReader,
    SegmentHeader,
    StoredRecord,
    classify_tail,
    decode_segment_header,
    encode_frame_header,
    encode_segment_header,
    next_chain,
    parse_segment_name,
    read_record,
    segment_name,
)

__all__ = ["Log", "LogCorruption", "LogFailure", "SegmentedLog", "StoredRecord"]

logger = logging.getLogger("rewinddb.storage")

SPARE_NAME = "next.seg.tmp"
ZERO_BLOCK = 1 << 20
MAX_TIME = (1 << 64) - 1
_LSN_OF = itemgetter(2)  # of a frame header


class LogCorruption(Exception):
    """Damage that is not a torn tail: the log refuses to open (or a read refuses to go on)."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"{path}: offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class LogFailure(Exception):
    """A write or fsync failed: fatal for the process; nothing after it is acknowledged."""


class Log(Protocol):
    """An append-only sequence of opaque records with dense LSNs, made durable in groups.

    A record is durable only once `wait_durable` returned for it (or `append_durable`
    returned); readers see durable records only. After a `LogFailure` nothing more is
    ever acknowledged.
    """

    on_durable: Callable[[int], None] | None
    """Called by the writer with the new durable LSN after each flush, before waiters are
    released; if it raises, the log fails."""
    on_failure: Callable[[BaseException], None] | None
    """Called once with the error when a write or fsync fails."""
    on_flushed: Callable[[int, float], None] | None
    """Called by the writer after each group commit's write + fsync with (records, seconds)."""

    @property
    def last_lsn(self) -> int:
        """The highest appended LSN (0 when empty)."""
        ...

    @property
    def durable_lsn(self) -> int:
        """The highest LSN known to be on stable storage."""
        ...

    @property
    def record_bytes(self) -> int:
        """Bytes of framed records appended so far (frame headers included, segment
        headers and preallocated space not): how much log there is."""
        ...

    def head(self) -> tuple[int, str]:
        """(durable LSN, hex chain value after it); (0, hex of 32 zero bytes) when empty."""
        ...

    def chain_at(self, lsn: int) -> bytes:
        """The chain value after durable record `lsn` (the genesis value for 0)."""
        ...

    def records(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[StoredRecord]:
        """Durable records from `from_lsn` through `to_lsn` in LSN order; includes records
        that become durable while the iterator is suspended."""
        ...

    def lsn_at_time(self, commit_time_us: int) -> int:
        """The last durable LSN whose commit time is <= `commit_time_us` (0 if none)."""
        ...

    def append(self, commit_time_us: int, payload: bytes) -> int:
        """Queue a record and return its LSN, without blocking; commit times never decrease."""
        ...

    async def wait_durable(self, lsn: int) -> None:
        """Return once `lsn` is durable; raise `LogFailure` if the log failed first. Needs
        `start()` (or a later `close()`) for queued records to be written."""
        ...

    async def start(self) -> None:
        """Start the writer task on the running loop."""
        ...

    async def close(self) -> None:
        """Make everything queued durable, stop the writer, release resources; idempotent."""
        ...

    def close_unstarted(self) -> None:
        """`close` for a log whose writer was never started, without an event loop."""
        ...

    def append_durable(self, commit_time_us: int, payload: bytes) -> int:
        """Append and make durable before returning, in the calling thread (for tools with
        no event loop); not to be mixed with `start()`."""
        ...


class GroupCommitLog:
    """The durability half every `Log` shares: LSN and chain bookkeeping, the writer task,
    waiters released in LSN order, and the failure state.

    A subclass stores records: `append` calls `_check_append` and `_appended`; the writer
    takes the queue with `_take`, persists it with `_persist` (awaited) or
    `_persist_here` (blocking), and the batch becomes durable in `_advance`.
    """

    def __init__(self) -> None:
        self.on_durable: Callable[[int], None] | None = None
        self.on_failure: Callable[[BaseException], None] | None = None
        self.on_flushed: Callable[[int, float], None] | None = None   # (records, seconds) per group commit
        self._last_lsn = 0
        self._last_time = 0
        self._last_chain = GENESIS_CHAIN
        self._record_bytes = 0
        self._durable_lsn = 0
        self._durable_chain = GENESIS_CHAIN
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._tiebreak = itertools.count()
        self._failure: BaseException | None = None
        self._closed = False
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    # -- what a subclass provides ----------------------------------------------------------

    def append(self, commit_time_us: int, payload: bytes) -> int:
        """Queue one record; returns its LSN. Durable only after `wait_durable(lsn)`."""
        raise NotImplementedError

    def _has_queue(self) -> bool:
        raise NotImplementedError

    def _take(self) -> object:
        """Detach the queued records as one batch."""
        raise NotImplementedError

    async def _persist(self, batch: object) -> None:
        """Make `batch` durable without blocking the loop; raise on any I/O error."""
        raise NotImplementedError

    def _persist_here(self, batch: object) -> None:
        """Make `batch` durable in the calling thread; raise on any I/O error."""
        raise NotImplementedError

    def _persisted(self, batch: object) -> None:
        """Publish a durable batch to readers (before `durable_lsn` moves)."""

    def _release(self) -> None:
        """Free resources at close."""

    # -- appending -------------------------------------------------------------------------

    @property
    def last_lsn(self) -> int:
        return self._last_lsn

    @property
    def durable_lsn(self) -> int:
        return self._durable_lsn

    @property
    def record_bytes(self) -> int:
        return self._record_bytes

    def head(self) -> tuple[int, str]:
        """(last durable LSN, hex chain digest after it)."""
        return self._durable_lsn, self._durable_chain.hex()

    def _check_append(self, commit_time_us: int, payload: bytes) -> None:
        if self._failure is not None:
            raise LogFailure(f"the log has failed: {self._failure}") from self._failure
        if self._closed:
            raise ValueError("the log is closed")
        if commit_time_us < self._last_time:
            raise ValueError(f"commit time {commit_time_us} is before the previous record's ({self._last_time})")
        if commit_time_us > MAX_TIME:
            raise ValueError(f"commit time {commit_time_us} does not fit in 64 bits")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"a record of {len(payload)} bytes is larger than the limit ({MAX_PAYLOAD})")

    def _appended(self, lsn: int, commit_time_us: int, chain: bytes, size: int) -> None:
        self._record_bytes += size
        self._last_lsn = lsn
        self._last_time = commit_time_us
        self._last_chain = chain
        if self._wake is not None:
            self._wake.set()

    def append_durable(self, commit_time_us: int, payload: bytes) -> int:
        """Append and make durable in the calling thread (tools without an event loop)."""
        if self._writer is not None:
            raise RuntimeError("append_durable cannot be mixed with a started writer")
        lsn = self.append(commit_time_us, payload)
        self._flush_here()
        return lsn

    def _flush_here(self) -> None:
        last = (self._last_lsn, self._last_chain)
        batch = self._take()
        try:
            self._persist_here(batch)
        except BaseException as exc:
            self._fail(exc)
            raise LogFailure(f"log write failed: {exc}") from exc
        self._advance(batch, last)

    def _advance(self, batch: object, last: tuple[int, bytes]) -> None:
        self._persisted(batch)
        self._durable_lsn, self._durable_chain = last
        if self.on_durable is not None:
            try:
                self.on_durable(last[0])
            except BaseException as exc:
                logger.exception("on_durable failed; treating it as a log failure")
                self._fail(exc)
                return
        waiters = self._waiters
        while waiters and waiters[0][0] <= last[0]:
            future = heapq.heappop(waiters)[2]
            if not future.done():
                future.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._failure is not None:
            return
        self._failure = exc
        logger.error("the log failed and accepts no more appends: %r", exc)
        for _, _, future in self._waiters:
            if not future.done():
                failure = LogFailure(f"log write failed: {exc}")
                failure.__cause__ = exc
                future.set_exception(failure)
        self._waiters.clear()
        if self.on_failure is not None:
            try:
                self.on_failure(exc)
            except Exception:
                logger.exception("on_failure raised")

    async def wait_durable(self, lsn: int) -> None:
        """Return once `lsn` is durable; raise LogFailure if the log failed first."""
        if lsn <= self._durable_lsn:
            return
        if self._failure is not None:
            raise LogFailure(f"the log has failed: {self._failure}") from self._failure
        if lsn > self._last_lsn:
            raise ValueError(f"LSN {lsn} was never appended (last is {self._last_lsn})")
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (lsn, next(self._tiebreak), future))
        await future

    # -- the writer task -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the writer task on the running loop."""
        if self._writer is not None or self._closed:
            raise RuntimeError("the log writer was already started")
        self._wake = asyncio.Event()
        self._writer = asyncio.create_task(self._run(), name="rewinddb-log-writer")
        if self._has_queue():
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        try:
            while self._failure is None:
                if self._has_queue():
                    last = (self._last_lsn, self._last_chain)
                    batch = self._take()
                    started = time.perf_counter()
                    await self._persist(batch)
                    if self.on_flushed is not None:
                        self.on_flushed(last[0] - self._durable_lsn, time.perf_counter() - started)
                    self._advance(batch, last)
                elif self._closing:
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        except BaseException as exc:
            self._fail(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def close(self) -> None:
        """Make everything queued durable, stop the writer, release files. Idempotent."""
        if self._writer is None:
            self.close_unstarted()
            return
        if self._closed:
            return
        self._closed = True
        assert self._wake is not None
        self._closing = True
        self._wake.set()
        await asyncio.shield(self._writer)
        self._release()

    def close_unstarted(self) -> None:
        """`close` for a log whose writer was never started, without an event loop."""
        if self._writer is not None:
            raise RuntimeError("the writer was started: use close()")
        if self._closed:
            return
        self._closed = True
        if self._has_queue() and self._failure is None:
            try:
                self._flush_here()
            except LogFailure:
                pass  # already reported through _fail
        self._release()


@dataclass(slots=True, eq=False)
class _Segment:
    """A segment as the log tracks it.

    Readers stop at `durable_end`. `index` has entries for queued records too; its
    `last_*` fields are final once the segment is sealed (or was scanned at open); for the
    segment being appended to, the log's own `_last_*`, `_end` and `_last_offset` are
    current. `handle` is the writer's, open while the segment is the active one.
    """

    path: str
    index: SegmentIndex
    prev_chain: bytes  # the chain value before its first record
    durable_end: int
    handle: FileHandle | None = None


@dataclass(slots=True, eq=False)
class _Chunk:
    """Queued frames that go to one segment, at `start`."""

    segment: _Segment
    start: int
    data: bytearray


class SegmentedLog(GroupCommitLog):
    """The local log: segment files in one directory (see the module docstring)."""

    def __init__(self, directory: str, files: FileLayer, segment_size: int) -> None:
        """Use `SegmentedLog.open`."""
        super().__init__()
        self._dir = directory
        self._files = files
        self._segment_size = segment_size
        self._segments: list[_Segment] = []
        self._bases: list[int] = []
        self._first_times: list[int] = []  # of the segments that hold a record
        self._end = SEGMENT_HEADER_SIZE  # where the next frame goes in the last segment
        self._last_offset = 0  # where the last appended frame is
        self._queue: list[_Chunk] = []
        self._queued = 0  # records in the queue = batch position of the next append
        self._executor: ThreadPoolExecutor | None = None
        self._active: _Segment | None = None  # the segment the writer has open (writer-owned)
        self._spare_maker: ThreadPoolExecutor | None = None
        self._spare: Future[FileHandle] | None = None  # the next segment's file, being prepared

    # -- opening and recovery ---------------------------------------------------------

    @classmethod
    def open(
        cls, directory: str | os.PathLike[str], *, segment_size: int = 64 << 20, files: FileLayer | None = None
    ) -> SegmentedLog:
        """Open (creating if needed) the log in `directory`, validating and recovering it.

        Sealed segments are accepted on their checksummed index once the index agrees with
        the file (size, last record, LSN and chain continuity); otherwise they are scanned
        and the index is rebuilt. The last segment is always scanned.
        """
        if segment_size < SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE:
            raise ValueError("segment_size is too small")
        log = cls(os.fspath(directory), files or OsFileLayer(), segment_size)
        log._recover()
        return log

    def _path(self, name: str) -> str:
        return os.path.join(self._dir, name)

    def _recover(self) -> None:
        files = self._files
        files.makedirs(self._dir)
        names = files.listdir(self._dir)
        for name in names:
            if name.endswith(".tmp"):
                files.remove(self._path(name))
        bases = sorted(b for b in map(parse_segment_name, names) if b is not None)
        if not bases:
            segment = self._new_segment(1, GENESIS_CHAIN)
            self._create_segment(segment)
            segment.durable_end = SEGMENT_HEADER_SIZE
            self._active = segment
            return
        prev: SegmentIndex | None = None
        for k, base in enumerate(bases):
            path = self._path(segment_name(base))
            last = k == len(bases) - 1
            handle = files.open(path, write=last)
            try:
                header = decode_segment_header(handle.pread(SEGMENT_HEADER_SIZE, 0))
                if isinstance(header, str):
                    raise LogCorruption(path, 0, header)
                if header.base_lsn != base:
                    raise LogCorruption(path, 0, f"header says base LSN {header.base_lsn}, file name says {base}")
                if prev is not None and base != prev.last_lsn + 1:
                    raise LogCorruption(path, 0, f"LSN gap: previous segment ends at {prev.last_lsn}, this one starts at {base}")
                expected_chain = prev.last_chain if prev is not None else GENESIS_CHAIN
                if (prev is not None or base == 1) and header.prev_chain != expected_chain:
                    raise LogCorruption(path, 0, "segment header does not continue the previous segment's hash chain")
                prev_time = prev.last_time if prev is not None else 0
                if last:
                    index = self._recover_last(handle, path, header, prev_time)
                else:
                    index = self._load_sealed(handle, path, header, prev_time)
                    handle.close()
            except BaseException:
                handle.close()
                raise
            self._add_segment(_Segment(path, index, header.prev_chain, index.data_end, handle if last else None))
            prev = index
        assert prev is not None
        self._active = self._segments[-1]
        self._last_lsn = self._durable_lsn = prev.last_lsn
        self._last_chain = self._durable_chain = prev.last_chain
        self._last_time = prev.last_time
        self._end, self._last_offset = prev.data_end, prev.last_offset
        self._record_bytes = sum(segment.index.data_end - SEGMENT_HEADER_SIZE for segment in self._segments)

    def _load_sealed(self, handle: FileHandle, path: str, header: SegmentHeader, prev_time: int) -> SegmentIndex:
        size = handle.size()
        index = read_index(self._files, self._path(index_name(header.base_lsn)))
        if (
            index is not None
            and index.base_lsn == header.base_lsn
            and index.data_end == size
            and not index.empty
            and index.first_time >= prev_time
        ):
            record = read_record(handle, index.last_offset, size)
            if (
                record is not None
                and record.lsn == index.last_lsn
                and record.chain == index.last_chain
                and record.commit_time_us == index.last_time
                and index.last_offset + FRAME_HEADER_SIZE + len(record.payload) == size
            ):
                return index
        logger.info("%s: index missing or stale, rebuilding it from the segment", path)
        index, reader, problem = scan_segment(handle, header, size, prev_time)
        if problem is not None:
            raise LogCorruption(path, *problem)
        if reader.stop is not None:
            raise LogCorruption(path, reader.pos, STOP_REASONS[reader.stop])
        if index.empty:
            raise LogCorruption(path, SEGMENT_HEADER_SIZE, "a segment other than the last holds no record")
        try:
            write_index(self._files, self._path(index_name(header.base_lsn)), index)
        except OSError as exc:
            logger.warning("%s: could not write the rebuilt index: %s", path, exc)
        return index

    def _recover_last(self, handle: FileHandle, path: str, header: SegmentHeader, prev_time: int) -> SegmentIndex:
        size = handle.size()
        index, reader, problem = scan_segment(handle, header, size, prev_time)
        if problem is not None:
            raise LogCorruption(path, *problem)
        if reader.stop == "type":
            raise LogCorruption(path, reader.pos, STOP_REASONS["type"])
        zero_from = size
        if reader.pos < size:
            why = STOP_REASONS.get(reader.stop or "short", "")
            damage = classify_tail(handle, reader.pos, size, index.last_lsn + 1, why)
            if damage is not None:
                if not damage.torn:
                    raise LogCorruption(path, damage.offset, damage.reason)
                logger.info("%s: offset %d: %s; truncating it", path, damage.offset, damage.reason)
                handle.truncate(damage.offset)
                zero_from = damage.offset
        if zero_from < self._segment_size:
            self._preallocate(handle, zero_from)
        return index

    def _new_segment(self, base_lsn: int, prev_chain: bytes) -> _Segment:
        index = SegmentIndex(base_lsn, base_lsn - 1, SEGMENT_HEADER_SIZE, last_time=self._last_time, last_chain=prev_chain)
        segment = _Segment(self._path(segment_name(base_lsn)), index, prev_chain, 0)
        self._add_segment(segment)
        self._end = SEGMENT_HEADER_SIZE
        return segment

    def _add_segment(self, segment: _Segment) -> None:
        self._segments.append(segment)
        self._bases.append(segment.index.base_lsn)
        if not segment.index.empty:
            self._first_times.append(segment.index.first_time)

    # -- file work (writer thread, or the caller's thread for append_durable) ----------

    def _preallocate(self, handle: FileHandle, start: int) -> None:
        """Reserve the segment's space (ENOSPC shows up here) and write zeros over it from
        `start`: overwriting written blocks makes each later fdatasync a data-only flush,
        where filling unwritten extents would also commit metadata (PostgreSQL's
        wal_init_zero); measured about twice as fast."""
        size = self._segment_size
        handle.allocate(0, size)
        zeros = bytes(min(ZERO_BLOCK, size))
        for offset in range(start, size, ZERO_BLOCK):
            handle.pwrite(zeros[: min(ZERO_BLOCK, size - offset)], offset)
        handle.fdatasync()

    def _make_spare(self) -> FileHandle:
        tmp = self._path(SPARE_NAME)
        if self._files.exists(tmp):
            self._files.remove(tmp)
        handle = self._files.open(tmp, write=True, create=True)
        try:
            self._preallocate(handle, 0)
        except BaseException:
            handle.close()
            raise
        return handle

    def _create_segment(self, segment: _Segment) -> None:
        """Make `segment`'s file exist durably: a preallocated temp file (prepared in the
        background if possible), header, fsync, rename, directory fsync."""
        spare, self._spare = self._spare, None
        handle = spare.result() if spare is not None else self._make_spare()
        handle.pwrite(encode_segment_header(segment.index.base_lsn, segment.prev_chain), 0)
        handle.fsync()
        self._files.rename(self._path(SPARE_NAME), segment.path)
        self._files.fsync_dir(self._dir)
        handle.path = segment.path
        segment.handle = handle

    def _seal(self, segment: _Segment) -> None:
        """Cut the active segment to its records and make that durable; write its index."""
        handle = segment.handle
        assert handle is not None
        handle.fdatasync()
        handle.truncate(segment.index.data_end)
        handle.fsync()
        handle.close()
        segment.handle = None
        try:
            write_index(self._files, self._path(index_name(segment.index.base_lsn)), segment.index)
        except OSError as exc:
            logger.warning("%s: could not write its index (it will be rebuilt): %s", segment.path, exc)

    def _write(self, chunks: list[_Chunk]) -> None:
        """Write one batch, rolling segments as planned, then fdatasync once."""
        for chunk in chunks:
            segment = chunk.segment
            if segment.handle is None:
                assert self._active is not None
                self._seal(self._active)
                self._create_segment(segment)
                self._active = segment
            assert segment.handle is not None
            segment.handle.pwrite(chunk.data, chunk.start)
        assert self._active is not None and self._active.handle is not None
        self._active.handle.fdatasync()

    # -- appending (event loop thread) ---------------------------------------------------

    def append(self, commit_time_us: int, payload: bytes) -> int:
        """Queue one record; returns its LSN. Durable only after `wait_durable(lsn)`."""
        self._check_append(commit_time_us, payload)
        if type(payload) is not bytes:
            payload = bytes(payload)
        lsn = self._last_lsn + 1
        chain = next_chain(self._last_chain, lsn, commit_time_us, payload)
        header = encode_frame_header(lsn, commit_time_us, self._queued, chain, payload)
        segment = self._segments[-1]
        start = self._end
        end = start + FRAME_HEADER_SIZE + len(payload)
        if end > self._segment_size and start > SEGMENT_HEADER_SIZE:
            segment.index.finish(self._last_lsn, self._last_time, self._last_offset, start, self._last_chain)
            segment = self._new_segment(lsn, self._last_chain)
            start, end = SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + len(payload)
        if start == SEGMENT_HEADER_SIZE:
            self._first_times.append(commit_time_us)
        segment.index.add(lsn, commit_time_us, start)
        queue = self._queue
        if queue and queue[-1].segment is segment:
            data = queue[-1].data
            data += header
            data += payload
        else:
            queue.append(_Chunk(segment, start, bytearray(header + payload)))
        self._queued += 1
        self._end = end
        self._last_offset = start
        self._appended(lsn, commit_time_us, chain, FRAME_HEADER_SIZE + len(payload))
        return lsn

    def _has_queue(self) -> bool:
        return bool(self._queue)

    def _take(self) -> list[_Chunk]:
        chunks, self._queue, self._queued = self._queue, [], 0
        return chunks

    async def _persist(self, batch: object) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="rewinddb-log")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._write, batch)

    def _persist_here(self, batch: object) -> None:
        self._write(batch)  # type: ignore[arg-type]

    def _persisted(self, batch: object) -> None:
        for chunk in batch:  # type: ignore[attr-defined]
            chunk.segment.durable_end = chunk.start + len(chunk.data)
        if self._spare is None and self._end * 2 > self._segment_size:
            if self._spare_maker is None:
                self._spare_maker = ThreadPoolExecutor(1, thread_name_prefix="rewinddb-log-prealloc")
            self._spare = self._spare_maker.submit(self._make_spare)

    def _release(self) -> None:
        for pool in (self._executor, self._spare_maker):
            if pool is not None:
                pool.shutdown(wait=True)
        if self._active is not None and self._active.handle is not None:
            self._active.handle.close()
            self._active.handle = None
        if self._spare is not None and self._spare.exception() is None:
            self._spare.result().close()
            try:
                self._files.remove(self._path(SPARE_NAME))
            except OSError:
                pass  # removed at the next open
        self._spare = None

    # -- reading ---------------------------------------------------------------------------

    def chain_at(self, lsn: int) -> bytes:
        """The chain value after record `lsn` (0 <= lsn <= durable_lsn)."""
        if lsn == self._durable_lsn:
            return self._durable_chain
        first = self._bases[0]
        if lsn == first - 1:
            return self._segments[0].prev_chain
        if not first <= lsn <= self._durable_lsn:
            raise ValueError(f"LSN {lsn} is not a durable record of this log")
        for record in self.records(lsn, lsn):
            return record.chain
        raise AssertionError("unreachable: records() yields every durable LSN")

    def records(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[StoredRecord]:
        """Durable records from `from_lsn` to `to_lsn` (inclusive), in LSN order: see
        `record_batches`, which this yields one record at a time."""
        make, record = tuple.__new__, StoredRecord
        for headers, payloads in self.record_batches(from_lsn, to_lsn):
            for fields, payload in zip(headers, payloads):
                yield make(record, (fields[2], fields[3], payload, fields[6]))

    def record_batches(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[tuple[list[tuple], list[bytes]]]:
        """Durable records from `from_lsn` to `to_lsn` (inclusive), in LSN order, a read
        buffer at a time (replay takes them so): the records' frame headers (`FRAME_HEADER`'s
        fields: the LSN is [2], the commit time [3], the chain value [6]) and payloads.

        Checks each record's CRC and LSN; raises LogCorruption on damage. Records that
        become durable while the iterator is suspended are included.
        """
        hsize = FRAME_HEADER_SIZE
        lsn = max(from_lsn, self._bases[0])
        while True:
            limit = self._durable_lsn if to_lsn is None else min(to_lsn, self._durable_lsn)
            if lsn > limit:
                return
            segment = self._segments[bisect_right(self._bases, lsn) - 1]
            expected, offset = segment.index.seek_lsn(lsn)
            before = lsn
            handle = self._files.open(segment.path)
            try:
                reader = FrameReader(handle, offset, segment.durable_end)
                for buf, base, starts, headers in reader.batches():
                    lsns = list(map(_LSN_OF, headers))
                    if lsns != list(range(expected, expected + len(lsns))):
                        k = next(k for k, found in enumerate(lsns) if found != expected + k)
                        raise LogCorruption(segment.path, base + starts[k], f"expected LSN {expected + k}, found {lsns[k]}")
                    expected += len(lsns)
                    if expected <= lsn:
                        continue
                    limit = self._durable_lsn if to_lsn is None else min(to_lsn, self._durable_lsn)
                    first, stop = lsn - lsns[0], min(len(lsns), limit - lsns[0] + 1)   # the index's entry is at or before `lsn`
                    if first < stop:
                        yield headers[first:stop], [buf[i + hsize : i + hsize + fields[0]]
                                                    for i, fields in zip(starts[first:stop], headers[first:stop])]
                        lsn = lsns[0] + stop
                    if stop < len(lsns):
                        return
                if reader.stop is not None:
                    raise LogCorruption(segment.path, reader.pos, STOP_REASONS[reader.stop])
            finally:
                handle.close()
            if lsn == before:
                raise LogCorruption(segment.path, reader.pos, f"record {lsn} is missing")

    def lsn_at_time(self, commit_time_us: int) -> int:
        """The last durable LSN with commit time <= `commit_time_us` (0 if none)."""
        durable = self._durable_lsn
        i = min(bisect_right(self._first_times, commit_time_us), bisect_right(self._bases, durable)) - 1
        if i < 0 or durable < self._bases[0]:
            return 0
        segment = self._segments[i]
        index = segment.index
        k = min(bisect_right(index.times, commit_time_us), bisect_right(index.lsns, durable)) - 1
        found = index.lsns[k] - 1
        handle = self._files.open(segment.path)
        try:
            reader = FrameReader(handle, index.offsets[k], segment.durable_end)
            for record in reader:
                if record.commit_time_us > commit_time_us or record.lsn > durable:
                    break
                found = record.lsn
            else:
                if reader.stop is not None:
                    raise LogCorruption(segment.path, reader.pos, STOP_REASONS[reader.stop])
        finally:
            handle.close()
        return found
