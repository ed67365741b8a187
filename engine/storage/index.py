"""Sparse per-segment indexes: LSN -> file offset and commit time -> LSN.

Role: lets the log seek to an LSN and resolve a timestamp to an LSN by binary search
instead of scanning, and lets `SegmentedLog.open` accept a sealed segment without reading
it. The log builds a `SegmentIndex` in memory while it appends (or while it scans a
segment) and writes it next to a segment when it seals it, as `{base_lsn:020d}.idx`.

Invariants: one entry for the first record of a segment and then for the first record at
or beyond every `INDEX_INTERVAL` bytes; entries are increasing in LSN, offset and (not
strictly) commit time, so one list serves both lookups. Index files are derived data:
written as a synced temp file and renamed, and rebuilt from the segment whenever missing,
unreadable or inconsistent with the segment file.

File layout (little-endian): magic "RWDBIDX\\0" | u32 version | u64 base_lsn | u64 last_lsn
| u64 data_end | u64 last_offset | u64 first_time | u64 last_time | 32-byte last chain
| u32 entry count n | n x u64 lsn | n x u64 commit time | n x u64 offset | u32 crc32c of
everything before it.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from operator import itemgetter

from .files import FileHandle, FileLayer
from .segment import FRAME_HEADER_SIZE, SEGMENT_HEADER_SIZE, FrameReader, SegmentHeader, crc32c, next_chain

INDEX_INTERVAL = 4096
INDEX_MAGIC = b"RWDBIDX\x00"
INDEX_VERSION = 1
INDEX_SUFFIX = ".idx"
_HEAD = struct.Struct("<8sIQQQQQQ32sI")
_LSN_OF, _TIME_OF = itemgetter(2), itemgetter(3)  # of a frame header


def _column() -> array[int]:
    return array("Q")


@dataclass(slots=True)
class SegmentIndex:
    """What the log knows about one segment without reading it.

    The entries grow with `add`; the `last_*` fields and `data_end` describe the segment
    as of the last `finish` (the end of a scan, or the log sealing the segment). `last_lsn`
    is `base_lsn - 1` while the segment holds no record; `data_end` is the offset just
    after its last record; `last_offset` that record's offset.
    """

    base_lsn: int
    last_lsn: int
    data_end: int
    last_offset: int = 0
    first_time: int = 0
    last_time: int = 0
    last_chain: bytes = bytes(32)
    lsns: array[int] = field(default_factory=_column)
    times: array[int] = field(default_factory=_column)
    offsets: array[int] = field(default_factory=_column)

    def add(self, lsn: int, commit_time_us: int, offset: int) -> None:
        """Account for the record `lsn` framed at `offset`: an entry if one is due."""
        offsets = self.offsets
        if not offsets or offset >= offsets[-1] + INDEX_INTERVAL:
            if not offsets:
                self.first_time = commit_time_us
            self.lsns.append(lsn)
            self.times.append(commit_time_us)
            offsets.append(offset)

    def finish(self, last_lsn: int, last_time: int, last_offset: int, data_end: int, last_chain: bytes) -> None:
        """Record where the segment's records end."""
        self.last_lsn = last_lsn
        self.last_time = last_time
        self.last_offset = last_offset
        self.data_end = data_end
        self.last_chain = last_chain

    @property
    def empty(self) -> bool:
        return self.last_lsn < self.base_lsn

    def seek_lsn(self, lsn: int) -> tuple[int, int]:
        """(lsn, offset) of the last indexed record at or before `lsn` (in this segment)."""
        i = bisect_right(self.lsns, lsn) - 1
        return self.lsns[i], self.offsets[i]

    def seek_time(self, commit_time_us: int) -> int:
        """Offset of the last indexed record with commit time <= t (the first entry if none)."""
        i = max(bisect_right(self.times, commit_time_us) - 1, 0)
        return self.offsets[i]

    # -- the file ---------------------------------------------------------------------

    def encode(self) -> bytes:
        columns = [self.lsns, self.times, self.offsets]
        if sys.byteorder != "little":
            columns = [array("Q", c) for c in columns]
            for c in columns:
                c.byteswap()
        body = _HEAD.pack(
            INDEX_MAGIC, INDEX_VERSION, self.base_lsn, self.last_lsn, self.data_end, self.last_offset,
            self.first_time, self.last_time, self.last_chain, len(self.lsns),
        ) + b"".join(c.tobytes() for c in columns)
        return body + struct.pack("<I", crc32c(body))

    @classmethod
    def decode(cls, data: bytes) -> SegmentIndex | None:
        """The index in `data`, or None if it is not a complete, intact index file."""
        if len(data) < _HEAD.size + 4 or crc32c(memoryview(data)[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
            return None
        magic, version, base, last, data_end, last_offset, first_time, last_time, chain, n = _HEAD.unpack_from(data)
        if magic != INDEX_MAGIC or version != INDEX_VERSION or len(data) != _HEAD.size + 24 * n + 4:
            return None
        columns = []
        for k in range(3):
            column = _column()
            column.frombytes(data[_HEAD.size + 8 * n * k : _HEAD.size + 8 * n * (k + 1)])
            if sys.byteorder != "little":
                column.byteswap()
            columns.append(column)
        return cls(base, last, data_end, last_offset, first_time, last_time, chain, *columns)


def index_name(base_lsn: int) -> str:
    return f"{base_lsn:020d}{INDEX_SUFFIX}"


def write_index(files: FileLayer, path: str, index: SegmentIndex) -> None:
    """Write `index` to `path` atomically: temp file, fdatasync, rename. The directory is
    not fsynced here; the log's next directory fsync (creating the next segment) covers it,
    and an index lost anyway is rebuilt."""
    tmp = path + ".tmp"
    if files.exists(tmp):
        files.remove(tmp)
    handle = files.open(tmp, write=True, create=True)
    try:
        handle.pwrite(index.encode(), 0)
        handle.fdatasync()
    finally:
        handle.close()
    files.rename(tmp, path)


def read_index(files: FileLayer, path: str) -> SegmentIndex | None:
    """The index stored at `path`, or None if it is missing or invalid."""
    if not files.exists(path):
        return None
    handle = files.open(path)
    try:
        data = handle.pread(handle.size(), 0)
    finally:
        handle.close()
    return SegmentIndex.decode(data)


def scan_segment(
    handle: FileHandle, header: SegmentHeader, limit: int, prev_time: int, *, check_chain: bool = False
) -> tuple[SegmentIndex, FrameReader, tuple[int, str] | None]:
    """Read a segment's frames from its header to `limit`, building its index.

    Returns the index of the good prefix, the reader (whose `pos`/`stop` tell where and
    why frames stopped) and, if a checksum-valid frame broke an invariant, its (offset,
    reason): an LSN that is not previous + 1, a commit time before `prev_time` or the
    previous record's, or (with `check_chain`) a chain value that does not recompute.
    """
    base = header.base_lsn
    index = SegmentIndex(base, base - 1, SEGMENT_HEADER_SIZE, last_time=prev_time, last_chain=header.prev_chain)
    reader = FrameReader(handle, SEGMENT_HEADER_SIZE, limit)
    expected, problem = base, None
    last_offset = last_length = 0
    last_chain = header.prev_chain
    if check_chain:
        chain = header.prev_chain
        for record in reader:
            lsn, t = record.lsn, record.commit_time_us
            problem = _out_of_order(reader.pos, lsn, t, expected, prev_time)
            if problem is None:
                chain = next_chain(chain, lsn, t, record.payload)
                if chain != record.chain:
                    problem = (reader.pos, f"hash chain mismatch at LSN {lsn}")
            if problem is not None:
                break
            index.add(lsn, t, reader.pos)
            last_offset, last_length, last_chain = reader.pos, len(record.payload), record.chain
            expected, prev_time = lsn + 1, t
    else:  # the same checks a read buffer at a time: this is most of the time SegmentedLog.open takes
        entry_due = SEGMENT_HEADER_SIZE
        for _buf, offset, starts, headers in reader.batches():
            lsns, times = list(map(_LSN_OF, headers)), list(map(_TIME_OF, headers))
            good = len(headers)
            if lsns != list(range(expected, expected + good)) or times[0] < prev_time or times != sorted(times):
                good = next(k for k in range(good) if lsns[k] != expected + k
                            or times[k] < (times[k - 1] if k else prev_time))
                reader.pos = offset + starts[good]
                problem = _out_of_order(reader.pos, lsns[good], times[good], expected + good,
                                        times[good - 1] if good else prev_time)
            k = bisect_left(starts, entry_due - offset, 0, good)
            while k < good:
                index.add(lsns[k], times[k], offset + starts[k])
                entry_due = offset + starts[k] + INDEX_INTERVAL
                k = bisect_left(starts, entry_due - offset, k + 1, good)
            if good:
                last_offset, last_length, last_chain = offset + starts[good - 1], headers[good - 1][0], headers[good - 1][6]
                expected, prev_time = lsns[good - 1] + 1, times[good - 1]
            if problem is not None:
                break
    if expected > base:
        index.finish(expected - 1, prev_time, last_offset, last_offset + FRAME_HEADER_SIZE + last_length, last_chain)
    return index, reader, problem


def _out_of_order(offset: int, lsn: int, t: int, expected: int, prev_time: int) -> tuple[int, str] | None:
    if lsn != expected:
        return offset, f"expected LSN {expected}, found {lsn}"
    if t < prev_time:
        return offset, f"commit time of LSN {lsn} goes backwards ({t} < {prev_time})"
    return None
