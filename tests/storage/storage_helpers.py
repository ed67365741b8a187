"""Helpers shared by the storage tests: building logs and locating frames in segment files."""

from __future__ import annotations

import os

from engine.storage.files import FileLayer, OsFileLayer
from engine.storage.log import SegmentedLog
from engine.storage.segment import SEGMENT_HEADER_SIZE, FrameReader, decode_segment_header, parse_segment_name


def payload_for(lsn: int) -> bytes:
    return f"<{lsn}>".encode() * (lsn % 5 + 3)


def segment_paths(directory: str, files: FileLayer | None = None) -> list[str]:
    files = files or OsFileLayer()
    names = sorted(n for n in files.listdir(os.fspath(directory)) if parse_segment_name(n) is not None)
    return [os.path.join(os.fspath(directory), n) for n in names]


def frames(path: str, files: FileLayer | None = None) -> list[tuple[int, int, int]]:
    """(lsn, offset, end) of every good frame in a segment file."""
    files = files or OsFileLayer()
    handle = files.open(path)
    try:
        header = decode_segment_header(handle.pread(SEGMENT_HEADER_SIZE, 0))
        assert not isinstance(header, str)
        reader = FrameReader(handle, SEGMENT_HEADER_SIZE, handle.size())
        found = []
        for record in reader:
            found.append((record.lsn, reader.pos, reader.pos + 61 + len(record.payload)))
        return found
    finally:
        handle.close()


async def build(
    directory: str, batches: list[int], *, segment_size: int = 64 << 20, files: FileLayer | None = None
) -> int:
    """Write a log whose write batches have the given sizes; returns the last LSN."""
    log = SegmentedLog.open(directory, segment_size=segment_size, files=files)
    lsn = 0
    for size in batches:
        for _ in range(size - 1):
            lsn = log.append(1_000_000 + lsn, payload_for(lsn + 1))
        lsn = log.append_durable(1_000_000 + lsn, payload_for(lsn + 1))
    await log.close()
    return lsn


def flip(files: FileLayer, path: str, offset: int, mask: int = 0x01) -> None:
    handle = files.open(path, write=True)
    try:
        byte = handle.pread(1, offset)
        handle.pwrite(bytes([byte[0] ^ mask]), offset)
        handle.fsync()
    finally:
        handle.close()
