"""Offline verification of a log directory: every byte, every checksum, the whole chain.

Role: `rewinddb verify` and `rewind.verify_digest(...)` call these. Unlike
`SegmentedLog.open`, which trusts checksummed indexes of sealed segments and recomputes no
hashes, `verify_log` reads every segment, checks each header, CRC, LSN, commit time and
recomputes the SHA-256 chain, and reports the first problem with its exact file and byte
offset. It never modifies anything (a torn tail is reported, not truncated).

Data flow: segment files (through a `FileLayer`) -> `VerifyReport`. The engine adds its
own findings (snapshot against replay) to the report's `checks` with `with_check`.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
from dataclasses import dataclass

from collections.abc import Iterator

from .files import FileLayer, OsFileLayer
from .index import SegmentIndex, scan_segment
from .log import LogCorruption
from .segment import (
    GENESIS_CHAIN,
    SEGMENT_HEADER_SIZE,
    STOP_REASONS,
    FrameReader,
    StoredRecord,
    classify_tail,
    decode_segment_header,
    parse_segment_name,
)

__all__ = ["Check", "VerifyReport", "read_records", "verify_digest", "verify_log"]


@dataclass(frozen=True, slots=True)
class Check:
    """One named finding added by a higher layer (e.g. "snapshot 42 matches replay")."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `verify_log` found. Counts and digest cover the intact prefix of the log."""

    directory: str
    segments: tuple[str, ...]
    records: int
    first_lsn: int  # 0 when there is no record
    last_lsn: int
    first_commit_time_us: int | None
    last_commit_time_us: int | None
    digest: str  # hex chain value after `last_lsn`
    problem: str | None = None
    problem_path: str | None = None
    problem_offset: int | None = None
    checks: tuple[Check, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None and all(check.ok for check in self.checks)

    def with_check(self, name: str, ok: bool, detail: str = "") -> VerifyReport:
        return dataclasses.replace(self, checks=(*self.checks, Check(name, ok, detail)))


@dataclass(frozen=True, slots=True)
class _Walked:
    report: VerifyReport
    segments: tuple[tuple[str, SegmentIndex], ...]  # (path, index of its intact records)
    start_chain: bytes  # chain before the first record


def _walk(directory: str, files: FileLayer) -> _Walked:
    names = files.listdir(directory) if files.exists(directory) else []
    bases = sorted(b for b in map(parse_segment_name, names) if b is not None)
    paths = tuple(os.path.join(directory, f"{b:020d}.seg") for b in bases)
    walked: list[tuple[str, SegmentIndex]] = []
    start_chain = GENESIS_CHAIN

    def report(problem: str | None = None, path: str | None = None, offset: int | None = None) -> _Walked:
        held = [index for _, index in walked if not index.empty]
        return _Walked(
            VerifyReport(
                directory,
                tuple(os.path.basename(p) for p in paths),
                sum(index.last_lsn - index.base_lsn + 1 for index in held),
                held[0].base_lsn if held else 0,
                held[-1].last_lsn if held else 0,
                held[0].first_time if held else None,
                held[-1].last_time if held else None,
                (walked[-1][1].last_chain if walked else start_chain).hex(),
                problem,
                path,
                offset,
            ),
            tuple(walked),
            start_chain,
        )

    if not names and not files.exists(directory):
        return report(f"{directory} does not exist", directory, None)
    prev: SegmentIndex | None = None
    for k, (base, path) in enumerate(zip(bases, paths)):
        handle = files.open(path)
        try:
            size = handle.size()
            header = decode_segment_header(handle.pread(SEGMENT_HEADER_SIZE, 0))
            if isinstance(header, str):
                return report(header, path, 0)
            if header.base_lsn != base:
                return report(f"header says base LSN {header.base_lsn}, file name says {base}", path, 0)
            if prev is None:
                start_chain = header.prev_chain
                if base == 1 and header.prev_chain != GENESIS_CHAIN:
                    return report("the first segment does not start from the genesis chain value", path, 0)
            else:
                if base != prev.last_lsn + 1:
                    return report(f"LSN gap: previous segment ends at {prev.last_lsn}, this one starts at {base}", path, 0)
                if header.prev_chain != prev.last_chain:
                    return report("segment header does not continue the previous segment's hash chain", path, 0)
            index, reader, problem = scan_segment(
                handle, header, size, prev.last_time if prev else 0, check_chain=True
            )
            walked.append((path, index))
            if problem is not None:
                return report(problem[1], path, problem[0])
            if reader.stop == "type":
                return report(STOP_REASONS["type"], path, reader.pos)
            if reader.pos < size:
                if k < len(bases) - 1:
                    why = STOP_REASONS.get(reader.stop or "short", "")
                    return report(f"{why}: bytes after the last record of a sealed segment", path, reader.pos)
                damage = classify_tail(handle, reader.pos, size, index.last_lsn + 1, STOP_REASONS.get(reader.stop or "short", ""))
                if damage is not None:
                    verdict = "open() truncates it" if damage.torn else "open() refuses the log"
                    return report(f"{damage.reason}; {verdict}", path, damage.offset)
            prev = index
        finally:
            handle.close()
    return report()


def verify_log(directory: str | os.PathLike[str], *, files: FileLayer | None = None) -> VerifyReport:
    """Check every segment in `directory` completely; see `VerifyReport`."""
    return _walk(os.fspath(directory), files or OsFileLayer()).report


def verify_digest(
    directory: str | os.PathLike[str], lsn: int, digest_hex: str, *, files: FileLayer | None = None
) -> bool:
    """True if the log's history through `lsn` is intact and its chain value after `lsn`
    is `digest_hex` (recomputed from the first segment, not read from the record)."""
    files = files or OsFileLayer()
    walked = _walk(os.fspath(directory), files)
    try:
        expected = bytes.fromhex(digest_hex)
    except ValueError:
        return False
    first = walked.segments[0][1].base_lsn if walked.segments else 1
    if lsn == first - 1:
        return hmac.compare_digest(walked.start_chain, expected)
    for path, index in walked.segments:
        if not index.empty and index.base_lsn <= lsn <= index.last_lsn:
            _, offset = index.seek_lsn(lsn)
            handle = files.open(path)
            try:
                for record in FrameReader(handle, offset, index.data_end):
                    if record.lsn == lsn:
                        return hmac.compare_digest(record.chain, expected)
            finally:
                handle.close()
    return False


def read_records(
    directory: str | os.PathLike[str], from_lsn: int = 1, *, files: FileLayer | None = None
) -> Iterator[StoredRecord]:
    """The records of a log directory from `from_lsn` on, read without opening the log (so
    nothing is truncated or rewritten, and a running server is not disturbed).

    Checks CRCs and LSN continuity (not the chain: that is `verify_log`'s); a torn tail of
    the last segment ends the iteration; any other damage raises LogCorruption."""
    files = files or OsFileLayer()
    directory = os.fspath(directory)
    names = files.listdir(directory) if files.exists(directory) else []
    bases = sorted(b for b in map(parse_segment_name, names) if b is not None)
    expected = None
    for k, base in enumerate(bases):
        if k + 1 < len(bases) and bases[k + 1] <= from_lsn:
            continue
        path = os.path.join(directory, f"{base:020d}.seg")
        handle = files.open(path)
        try:
            size = handle.size()
            header = decode_segment_header(handle.pread(SEGMENT_HEADER_SIZE, 0))
            if isinstance(header, str):
                raise LogCorruption(path, 0, header)
            if expected is not None and base != expected:
                raise LogCorruption(path, 0, f"LSN gap: expected {expected}, the segment starts at {base}")
            expected = base
            reader = FrameReader(handle, SEGMENT_HEADER_SIZE, size)
            for record in reader:
                if record.lsn != expected:
                    raise LogCorruption(path, reader.pos, f"expected LSN {expected}, found {record.lsn}")
                expected += 1
                if record.lsn >= from_lsn:
                    yield record
            if reader.pos < size:
                why = STOP_REASONS.get(reader.stop or "short", "")
                if k < len(bases) - 1:
                    raise LogCorruption(path, reader.pos, f"{why}: bytes after the last record of a sealed segment")
                damage = classify_tail(handle, reader.pos, size, expected, why)
                if damage is not None and not damage.torn:
                    raise LogCorruption(path, damage.offset, damage.reason)
        finally:
            handle.close()
