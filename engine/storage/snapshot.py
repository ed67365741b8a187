"""Snapshot files: the engine's state as of one LSN, compressed, checksummed, atomic.

Role: the engine produces a snapshot's content as a stream of opaque byte chunks;
`SnapshotStore` writes them to `{lsn:020d}.snap` in its directory and gives the same
chunks back, in order, when the engine loads the newest valid snapshot at startup or the
nearest one before a time-travel target. Snapshots are derived data: losing one only
means a longer replay, so a damaged one is set aside (`.corrupt`) and an older one used.
Snapshots never cause log segments to be deleted.

File layout (little-endian; docs/log-format.md):
    header   magic "RWDBSNP\\0" | u32 version | u64 lsn | u64 commit_time_us | u32 codec
             (1 = zlib) | u32 crc32c of the 32 bytes before it                 (36 bytes)
    body     zlib stream of: for each chunk, u32 length | chunk bytes
    trailer  magic "RWDBEND\\0" | u64 body length | u64 chunk count | u32 crc32c of the
             body | u32 crc32c of the 28 bytes before it                       (32 bytes)

Invariants: a `.snap` name appears only after its file was completely written and
fsynced (temp file, fsync, rename, directory fsync); `write` never blocks the event
loop for longer than it takes to hand one ~1 MiB batch to a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .files import FileHandle, FileLayer, OsFileLayer
from .segment import crc32c

__all__ = ["SnapshotCorruption", "SnapshotInfo", "SnapshotStore"]

logger = logging.getLogger("rewinddb.storage")

SNAPSHOT_MAGIC = b"RWDBSNP\x00"
TRAILER_MAGIC = b"RWDBEND\x00"
SNAPSHOT_VERSION = 1
CODEC_ZLIB = 1
ZLIB_LEVEL = 1
SUFFIX = ".snap"
HEADER = struct.Struct("<8sIQQII")
TRAILER = struct.Struct("<8sQQII")
CHUNK_LENGTH = struct.Struct("<I")
BATCH_BYTES = 1 << 20  # raw bytes handed to the writer thread at a time
SYNC_BYTES = 16 << 20  # fdatasync after this many bytes written
READ_BYTES = 1 << 20


class SnapshotCorruption(Exception):
    """A snapshot file changed or broke after it was validated."""


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    lsn: int
    commit_time_us: int
    path: Path
    size: int


def _name(lsn: int) -> str:
    return f"{lsn:020d}{SUFFIX}"


def _parse_name(name: str) -> int | None:
    stem = name[: -len(SUFFIX)]
    return int(stem) if name.endswith(SUFFIX) and len(stem) == 20 and stem.isdigit() else None


class _Writing:
    """A snapshot being written: the temp file and the running compressor and checksum."""

    def __init__(self, handle: FileHandle) -> None:
        self.handle = handle
        self.offset = HEADER.size
        self.unsynced = 0
        self.crc = 0
        self.chunks = 0
        self.compressor = zlib.compressobj(ZLIB_LEVEL)

    def put(self, data: bytes) -> None:
        if data:
            self.handle.pwrite(data, self.offset)
            self.crc = crc32c(data, self.crc)
            self.offset += len(data)
            self.unsynced += len(data)
        if self.unsynced >= SYNC_BYTES:
            self.handle.fdatasync()
            self.unsynced = 0

    def batch(self, raw: list[bytes]) -> None:
        self.put(self.compressor.compress(b"".join(raw)))


class SnapshotStore:
    """The snapshot files in one directory (created if missing; stale temp files removed)."""

    def __init__(self, directory: str | os.PathLike[str], *, files: FileLayer | None = None,
                 read_only: bool = False) -> None:
        """`read_only` (for tools that inspect a directory a server may be using): no
        directory is created, no stale temp file removed, nothing set aside."""
        self.directory = Path(directory)
        self._files = files or OsFileLayer()
        self._read_only = read_only
        if read_only:
            return
        self._files.makedirs(str(self.directory))
        for name in self._files.listdir(str(self.directory)):
            if name.endswith(SUFFIX + ".tmp"):
                self._files.remove(str(self.directory / name))

    # -- writing ----------------------------------------------------------------------------

    async def write(
        self, lsn: int, commit_time_us: int, chunks: AsyncIterable[bytes] | Iterable[bytes]
    ) -> SnapshotInfo:
        """Write the snapshot as of `lsn` from `chunks`; returns it once durable."""
        final = self.directory / _name(lsn)
        tmp = str(final) + ".tmp"
        handle = await asyncio.to_thread(self._files.open, tmp, write=True, create=True)
        state = _Writing(handle)
        try:
            raw: list[bytes] = []
            size = 0
            async for chunk in _aiter(chunks):
                raw += (CHUNK_LENGTH.pack(len(chunk)), chunk)
                state.chunks += 1
                size += len(chunk) + CHUNK_LENGTH.size
                if size >= BATCH_BYTES:
                    await asyncio.to_thread(state.batch, raw)
                    raw, size = [], 0
            size = await asyncio.to_thread(self._finish, state, raw, lsn, commit_time_us, tmp, str(final))
        except BaseException:
            handle.close()
            if self._files.exists(tmp):
                self._files.remove(tmp)
            raise
        return SnapshotInfo(lsn, commit_time_us, final, size)

    def _finish(self, state: _Writing, raw: list[bytes], lsn: int, commit_time_us: int, tmp: str, final: str) -> int:
        state.batch(raw)
        state.put(state.compressor.flush())
        body_length = state.offset - HEADER.size
        trailer = TRAILER.pack(TRAILER_MAGIC, body_length, state.chunks, state.crc, 0)[:-4]
        state.handle.pwrite(trailer + struct.pack("<I", crc32c(trailer)), state.offset)
        header = HEADER.pack(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, lsn, commit_time_us, CODEC_ZLIB, 0)[:-4]
        state.handle.pwrite(header + struct.pack("<I", crc32c(header)), 0)
        state.handle.fsync()
        state.handle.close()
        self._files.rename(tmp, final)
        self._files.fsync_dir(str(self.directory))
        return state.offset + TRAILER.size

    # -- listing and reading -----------------------------------------------------------------

    def _header(self, path: str) -> SnapshotInfo | str:
        """The snapshot's description from its header, or what is wrong with it."""
        handle = self._files.open(path)
        try:
            size = handle.size()
            data = handle.pread(HEADER.size, 0)
        finally:
            handle.close()
        if len(data) < HEADER.size:
            return "truncated header"
        magic, version, lsn, commit_time_us, codec, crc = HEADER.unpack(data)
        if magic != SNAPSHOT_MAGIC or crc != crc32c(data[:-4]):
            return "bad header"
        if version != SNAPSHOT_VERSION or codec != CODEC_ZLIB:
            return f"unsupported version {version} or codec {codec}"
        return SnapshotInfo(lsn, commit_time_us, Path(path), size)

    def _names(self) -> list[tuple[int, str]]:
        if not self._files.exists(str(self.directory)):
            return []
        found = [(lsn, name) for name in self._files.listdir(str(self.directory)) if (lsn := _parse_name(name)) is not None]
        return sorted(found, reverse=True)

    def list(self) -> list[SnapshotInfo]:
        """The snapshots whose header is readable, newest first (bodies are not checked)."""
        infos = [self._header(str(self.directory / name)) for _, name in self._names()]
        return [info for info in infos if isinstance(info, SnapshotInfo)]

    def validate(self, info: SnapshotInfo) -> str | None:
        """What is wrong with the whole file, or None."""
        handle = self._files.open(str(info.path))
        try:
            size = handle.size()
            if size < HEADER.size + TRAILER.size:
                return "file too short"
            data = handle.pread(TRAILER.size, size - TRAILER.size)
            magic, body_length, _chunks, body_crc, crc = TRAILER.unpack(data)
            if magic != TRAILER_MAGIC or crc != crc32c(data[:-4]):
                return "bad trailer"
            if HEADER.size + body_length + TRAILER.size != size:
                return "length in trailer does not match the file"
            crc = 0
            offset = HEADER.size
            while offset < HEADER.size + body_length:
                piece = handle.pread(min(READ_BYTES, HEADER.size + body_length - offset), offset)
                crc = crc32c(piece, crc)
                offset += len(piece)
            return None if crc == body_crc else "body checksum mismatch"
        finally:
            handle.close()

    def read(self, info: SnapshotInfo) -> Iterator[bytes]:
        """The chunks of a snapshot (validate it first); raises SnapshotCorruption if the
        file changed since."""
        handle = self._files.open(str(info.path))
        try:
            size = handle.size()
            _magic, body_length, count, _crc, _tcrc = TRAILER.unpack(handle.pread(TRAILER.size, size - TRAILER.size))
            decompressor = zlib.decompressobj()
            rest = b""
            seen = 0
            offset, end = HEADER.size, HEADER.size + body_length
            while offset < end:
                piece = handle.pread(min(READ_BYTES, end - offset), offset)
                if not piece:
                    break
                offset += len(piece)
                chunks, rest = _split(rest + decompressor.decompress(piece))
                seen += len(chunks)
                yield from chunks
            chunks, rest = _split(rest + decompressor.flush())
            seen += len(chunks)
            yield from chunks
            if rest or seen != count or not decompressor.eof:
                raise SnapshotCorruption(f"{info.path}: expected {count} whole chunks, read {seen}")
        except zlib.error as exc:
            raise SnapshotCorruption(f"{info.path}: {exc}") from exc
        finally:
            handle.close()

    def _open_first(self, accept: Callable[[SnapshotInfo], bool]) -> tuple[SnapshotInfo, Iterator[bytes]] | None:
        for _, name in self._names():
            path = str(self.directory / name)
            info = self._header(path)
            if isinstance(info, SnapshotInfo):
                if not accept(info):
                    continue
                problem = self.validate(info)
                if problem is None:
                    return info, self.read(info)
            else:
                problem = info
            self._set_aside(path, problem)
        return None

    def set_aside(self, info: SnapshotInfo, problem: str) -> None:
        """Move a snapshot whose content the engine cannot use aside (to `.corrupt`)."""
        self._set_aside(str(info.path), problem)

    def _set_aside(self, path: str, problem: str) -> None:
        if self._read_only:
            logger.warning("snapshot %s is damaged (%s)", path, problem)
            return
        logger.warning("snapshot %s is damaged (%s); moving it aside to %s.corrupt", path, problem, path)
        self._files.rename(path, path + ".corrupt")

    def open_newest_valid(self, max_lsn: int) -> tuple[SnapshotInfo, Iterator[bytes]] | None:
        """The newest intact snapshot with lsn <= `max_lsn` (the log's last LSN) and its
        chunks; damaged ones on the way are moved aside, newer-than-the-log ones skipped."""

        def accept(info: SnapshotInfo) -> bool:
            if info.lsn > max_lsn:
                logger.warning("snapshot %s is ahead of the log (LSN %d > %d); skipping it", info.path, info.lsn, max_lsn)
                return False
            return True

        return self._open_first(accept)

    def open_at_or_before(self, lsn: int) -> tuple[SnapshotInfo, Iterator[bytes]] | None:
        """The newest intact snapshot with lsn <= `lsn` (for time travel) and its chunks."""
        return self._open_first(lambda info: info.lsn <= lsn)

    def prune(self, keep: int = 2, spacing: int = 0) -> list[Path]:
        """Delete all but the `keep` newest snapshots, except that with `spacing` > 0 older
        ones stay as checkpoints for time travel, each at least `spacing` LSNs before the
        next one kept (so rebuilding any past state replays a bounded stretch of log);
        returns the deleted paths."""
        if keep < 1:
            raise ValueError("keep at least one snapshot")
        names = self._names()          # newest first
        doomed = []
        if names[keep:]:
            kept_lsn = names[keep - 1][0]
            for lsn, name in names[keep:]:
                if spacing > 0 and kept_lsn - lsn >= spacing:
                    kept_lsn = lsn
                else:
                    doomed.append(name)
        removed = [self.directory / name for name in doomed]
        for path in removed:
            self._files.remove(str(path))
        return removed


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """The complete length-prefixed chunks at the start of `data`, and the rest."""
    chunks, at, head = [], 0, CHUNK_LENGTH.size
    while len(data) - at >= head:
        (length,) = CHUNK_LENGTH.unpack_from(data, at)
        if len(data) - at - head < length:
            break
        chunks.append(data[at + head : at + head + length])
        at += head + length
    return chunks, data[at:]


async def _aiter(chunks: AsyncIterable[bytes] | Iterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk
