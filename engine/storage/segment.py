"""The segment file format: header, record frames, the hash chain, and scanning.

Role: everything that knows how log bytes are laid out lives here, and only here; the log
(`log.py`) and the verifier (`verify.py`) both read segments through `FrameReader` and
`classify_tail`. docs/log-format.md is the specification; change it first.

Layout of a segment file `{base_lsn:020d}.seg` (all integers little-endian):

    header  magic "RWDBLOG\\0" | u32 version | u64 base_lsn | 32-byte chain before base_lsn
            | u32 crc32c of the 52 bytes before it                               (56 bytes)
    frames  u32 payload length | u32 crc32c of bytes 8.. of the frame | u64 lsn
            | u64 commit_time_us | u8 type | u32 batch_pos | 32-byte chain | payload
    tail    zeros (preallocated space) in the active segment; nothing in a sealed one

Invariants: LSNs are dense (previous + 1) across frames and segments; commit times never
decrease; chain(n) = SHA-256(chain(n-1) || u64 lsn || u64 commit_time_us || u8 type ||
payload), chain(0) = 32 zero bytes; `lsn - batch_pos` is the first LSN of the write batch
the frame was written in (a batch is written only after the previous one was fsynced),
which is what lets recovery tell a torn last batch from damage to durable data.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import crc32c as _crc32c

from .files import FileHandle

crc32c = _crc32c.crc32c

SEGMENT_MAGIC = b"RWDBLOG\x00"
FORMAT_VERSION = 1
SEGMENT_HEADER = struct.Struct("<8sIQ32sI")
SEGMENT_HEADER_SIZE = SEGMENT_HEADER.size  # 56
SEGMENT_SUFFIX = ".seg"

FRAME_HEADER = struct.Struct("<IIQQBI32s")
FRAME_HEADER_SIZE = FRAME_HEADER.size  # 61
FRAME_PREFIX = struct.Struct("<II")  # payload length, crc32c
FRAME_BODY = struct.Struct("<QQBI32s")  # the CRC-covered part of the frame header
CHAIN_FIELDS = struct.Struct("<QQB")
TYPE_TRANSACTION = 1
MAX_PAYLOAD = 1 << 30

GENESIS_CHAIN = bytes(32)

READ_CHUNK = 1 << 20
FIRST_READ = 8 << 10  # twice the sparse index's interval: a point read's frame is in the first read
_ZEROS = bytes(READ_CHUNK)


def segment_name(base_lsn: int) -> str:
    return f"{base_lsn:020d}{SEGMENT_SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    """The base LSN of a segment file name, or None if `name` is not one."""
    stem, dot, suffix = name.partition(".")
    if dot and "." + suffix == SEGMENT_SUFFIX and len(stem) == 20 and stem.isdigit():
        return int(stem)
    return None


def next_chain(prev: bytes, lsn: int, commit_time_us: int, payload: bytes) -> bytes:
    """The chain value after a record; independent of how the record is framed or batched."""
    return hashlib.sha256(prev + CHAIN_FIELDS.pack(lsn, commit_time_us, TYPE_TRANSACTION) + payload).digest()


def encode_frame_header(lsn: int, commit_time_us: int, batch_pos: int, chain: bytes, payload: bytes) -> bytes:
    """The 61 bytes that precede `payload` in its frame."""
    body = FRAME_BODY.pack(lsn, commit_time_us, TYPE_TRANSACTION, batch_pos, chain)
    return FRAME_PREFIX.pack(len(payload), crc32c(payload, crc32c(body))) + body


def encode_segment_header(base_lsn: int, prev_chain: bytes) -> bytes:
    head = SEGMENT_HEADER.pack(SEGMENT_MAGIC, FORMAT_VERSION, base_lsn, prev_chain, 0)[:-4]
    return head + struct.pack("<I", crc32c(head))


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    base_lsn: int
    prev_chain: bytes


def decode_segment_header(data: bytes) -> SegmentHeader | str:
    """The header, or a description of what is wrong with it."""
    if len(data) < SEGMENT_HEADER_SIZE:
        return f"segment header is truncated ({len(data)} of {SEGMENT_HEADER_SIZE} bytes)"
    magic, version, base, prev_chain, crc = SEGMENT_HEADER.unpack_from(data)
    if magic != SEGMENT_MAGIC:
        return f"bad segment magic {magic!r}"
    if crc != crc32c(data[: SEGMENT_HEADER_SIZE - 4]):
        return "segment header checksum mismatch"
    if version != FORMAT_VERSION:
        return f"unsupported segment format version {version}"
    return SegmentHeader(base, prev_chain)


class StoredRecord(NamedTuple):
    """One record as the log hands it out.

    A NamedTuple rather than a frozen dataclass: one is built per record on the replay
    path, where a frozen dataclass's __init__ costs three times as much (~0.55 µs)."""

    lsn: int
    commit_time_us: int  # UTC microseconds since the Unix epoch
    payload: bytes
    chain: bytes  # the 32-byte chain value after this record


class FrameBatch(NamedTuple):
    """The good frames found in one buffer read from a segment: `buffer[0]` is at file
    offset `base`; frame k starts at `buffer[starts[k]]` and `headers[k]` is its unpacked
    header (`FRAME_HEADER`'s fields: payload length, CRC, LSN, commit time, type, batch
    position, chain)."""

    buffer: bytes
    base: int
    starts: list[int]
    headers: list[tuple[int, int, int, int, int, int, bytes]]


class FrameReader:
    """Reads consecutive frames of one segment file from `start` up to `limit`.

    `batches()` yields a `FrameBatch` per buffer read, holding the good frames in it:
    frames whose length is plausible, whose CRC matches and whose type is known. It stops
    at the first frame that is not (or at `limit`); then `pos` is where it stopped and
    `stop` says why: None (reached `limit`), "short" (the frame runs past `limit`),
    "length" (implausible length), "crc" or "type". Whether LSNs and times make sense is
    the caller's business. Iterating yields a `StoredRecord` per frame and `headers()` just
    the unpacked frame header (for scans that need no payload), with `pos` at that frame's
    offset while the consumer holds it. Reads `FIRST_READ` bytes, then four times more each
    time up to `READ_CHUNK`: cheap point lookups, fast streaming.
    """

    __slots__ = ("handle", "pos", "limit", "stop")

    def __init__(self, handle: FileHandle, start: int, limit: int) -> None:
        self.handle = handle
        self.pos = start
        self.limit = limit
        self.stop: str | None = None

    def __iter__(self) -> Iterator[StoredRecord]:
        make, record, hsize = tuple.__new__, StoredRecord, FRAME_HEADER_SIZE
        for buf, base, starts, headers in self.batches():
            for i, fields in zip(starts, headers):
                self.pos = base + i
                yield make(record, (fields[2], fields[3], buf[i + hsize : i + hsize + fields[0]], fields[6]))

    def headers(self) -> Iterator[tuple[int, int, int, int, int, int, bytes]]:
        for _buf, base, starts, headers in self.batches():
            for i, fields in zip(starts, headers):
                self.pos = base + i
                yield fields

    def batches(self) -> Iterator[FrameBatch]:
        handle, limit = self.handle, self.limit
        unpack, hsize, crc = FRAME_HEADER.unpack_from, FRAME_HEADER_SIZE, crc32c
        base = self.pos  # file offset of buf[0]
        buf = b""
        i = 0
        chunk = FIRST_READ
        while True:
            view = memoryview(buf)
            last = min(len(buf), limit - base)  # frames must end by here
            starts: list[int] = []
            headers: list[tuple[int, int, int, int, int, int, bytes]] = []
            add_start, add_header = starts.append, headers.append
            stop = need = None  # why frames stop here; or how many bytes from i the next frame needs
            while True:
                if i + hsize > last:
                    if i + hsize > limit - base:
                        stop = "short" if i < limit - base else None
                    else:
                        need = hsize
                    break
                fields = unpack(buf, i)
                end = i + hsize + fields[0]
                if end > last:
                    if fields[0] > MAX_PAYLOAD:
                        stop = "length"
                    elif end > limit - base:
                        stop = "short"
                    else:
                        need = end - i
                    break
                if crc(view[i + 8 : end]) != fields[1]:
                    stop = "crc"
                    break
                if fields[4] != TYPE_TRANSACTION:
                    stop = "type"
                    break
                add_start(i)
                add_header(fields)
                i = end
            if starts:
                yield FrameBatch(buf, base, starts, headers)
            self.pos = base + i
            if need is None:
                self.stop = stop
                return
            size = len(buf)
            buf = buf[i:] + handle.pread(max(chunk, need - (size - i)), base + size)
            base, i = base + i, 0
            chunk = min(chunk * 4, READ_CHUNK)
            if len(buf) < need:
                self.stop = "short"
                return


def read_record(handle: FileHandle, offset: int, limit: int) -> StoredRecord | None:
    """The valid record framed at `offset`, or None."""
    for record in FrameReader(handle, offset, limit):
        return record
    return None


@dataclass(frozen=True, slots=True)
class TailDamage:
    """What lies after the last good frame of a last segment.

    `torn` is True when the damage can only have been written by the last, possibly
    unsynced, batch (so it was never acknowledged); False means records that were
    durable are damaged.
    """

    offset: int
    torn: bool
    reason: str


def _nonzero_end(handle: FileHandle, start: int, size: int) -> int:
    """One past the last non-zero byte in [start, size), or `start` if all are zero."""
    end = start
    offset = start
    while offset < size:
        chunk = handle.pread(min(READ_CHUNK, size - offset), offset)
        if not chunk:
            break
        if chunk != _ZEROS[: len(chunk)]:  # a memcmp; rstrip only where there is data
            end = offset + len(chunk.rstrip(b"\x00"))
        offset += len(chunk)
    return end


def classify_tail(handle: FileHandle, offset: int, size: int, expected_lsn: int, why: str) -> TailDamage | None:
    """Decide what the bytes from `offset` (where good frames stopped) to `size` are.

    All zeros: a clean end (None). Otherwise, if some checksum-valid frame further on
    belongs to a batch that started after `expected_lsn`, then the record at `offset` had
    been fsynced before that batch was written, so this is corruption. Anything else is
    the remains of the last batch, whose fsync may never have completed: a torn tail.
    """
    end = _nonzero_end(handle, offset, size)
    if end == offset:
        return None
    # Trailing zeros of a frame may lie beyond `end`: keep a header's worth of them.
    region = handle.pread(min(size, end + FRAME_HEADER_SIZE) - offset, offset)
    unpack, hsize = FRAME_HEADER.unpack_from, FRAME_HEADER_SIZE
    max_lsn = expected_lsn + len(region) // hsize + 1
    marker = bytes([TYPE_TRANSACTION])
    # A candidate frame has the record type at its byte 24 (never the frame at `offset`).
    probe = region.find(marker, 25, end - offset)
    while probe != -1 and probe - 24 + hsize <= len(region):
        at = probe - 24
        length, stored_crc, lsn, _t, _kind, batch_pos, _chain = unpack(region, at)
        frame_end = at + hsize + length
        if expected_lsn < lsn <= max_lsn and lsn - batch_pos > expected_lsn and offset + frame_end <= size:
            body = region[at + 8 : frame_end] if frame_end <= len(region) else handle.pread(frame_end - at - 8, offset + at + 8)
            if crc32c(body) == stored_crc:
                return TailDamage(
                    offset,
                    False,
                    f"record {expected_lsn} is unreadable ({why}) but record {lsn} at offset "
                    f"{offset + at}, written after it was made durable, is intact",
                )
        probe = region.find(marker, probe + 1, end - offset)
    return TailDamage(offset, True, f"torn tail: {end - offset} bytes after the last complete record ({why})")


STOP_REASONS = {
    "short": "incomplete record",
    "length": "implausible record length",
    "crc": "checksum mismatch",
    "type": "unknown record type",
}
