"""`rewinddb backup`: copy a data directory's log, safely, while the server keeps running.

The log is the database (DESIGN.md): a backup is a copy of `log/`. Sealed segments never
change, so they are copied as they are; the active segment is still being appended to, so a
plain `cp` may catch a record half-written next to later bytes, which recovery rightly calls
corruption. `backup` instead copies each segment only up to its last complete record (frames
walked with `FrameReader`, CRCs and LSN continuity checked), so the copy is always a clean
prefix of the history: every transaction acknowledged before the backup started, and
possibly some that committed while it ran.

Each file is written to a temp name, fsynced and renamed, and the directories are fsynced;
snapshots and index files are derived data and are not copied (the restored server rebuilds
indexes and replays the log). Progress is logged every few seconds for large logs. Restore
is starting a server (or `rewinddb shell`) on the copy: see docs/operations.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from engine.storage.files import OsFileLayer
from engine.storage.segment import (SEGMENT_HEADER_SIZE, STOP_REASONS, FrameReader, decode_segment_header,
                                    parse_segment_name, segment_name)
from server import config as cfg

log = logging.getLogger("rewinddb.backup")

COPY_CHUNK = 4 << 20
PROGRESS_SECONDS = 5.0


class BackupError(Exception):
    """The source log is damaged or the destination is not usable."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data_dir = cfg.SETTINGS_BY_NAME["data_dir"]
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"data directory to back up ({data_dir.env}; default {data_dir.default})")
    parser.add_argument("destination", help="new directory to create; it becomes a data directory")


def backup(data_dir: str, destination: str) -> tuple[int, int]:
    """Copy data_dir's log into destination/log; returns (records, bytes) copied."""
    source = os.path.join(data_dir, "log")
    target = os.path.join(destination, "log")
    if os.path.exists(destination) and os.listdir(destination):
        raise BackupError(f"{destination} exists and is not empty")
    try:
        bases = sorted(b for b in map(parse_segment_name, os.listdir(source)) if b is not None)
    except OSError as e:
        raise BackupError(f"cannot read {source}: {e.strerror}") from None
    if not bases:
        raise BackupError(f"{source} holds no log segment")
    os.makedirs(target)
    files = OsFileLayer()
    records = copied = 0
    expected = bases[0]
    next_report = time.monotonic() + PROGRESS_SECONDS
    for k, base in enumerate(bases):
        name = os.path.basename(_segment_path(source, base))
        handle = files.open(_segment_path(source, base))
        try:
            size = handle.size()
            header = decode_segment_header(handle.pread(SEGMENT_HEADER_SIZE, 0))
            if isinstance(header, str) or header.base_lsn != expected:
                raise BackupError(f"{name}: {header if isinstance(header, str) else 'does not continue the log'}; "
                                  "run `rewinddb verify`")
            reader = FrameReader(handle, SEGMENT_HEADER_SIZE, size)
            for fields in reader.headers():
                if fields[2] != expected:
                    break
                expected += 1
            end = reader.pos
            last = k == len(bases) - 1
            if not last and (end != size or reader.stop is not None):
                raise BackupError(f"{name}: offset {end}: {STOP_REASONS.get(reader.stop or '', 'unexpected bytes')}; "
                                  "run `rewinddb verify`")
            _copy(handle, end, os.path.join(target, name))
        finally:
            handle.close()
        records = expected - bases[0]
        copied += end
        if time.monotonic() > next_report:
            log.info("backup: %d records, %d MiB copied", records, copied >> 20)
            next_report = time.monotonic() + PROGRESS_SECONDS
    files.fsync_dir(target)
    files.fsync_dir(destination)
    return records, copied


def _segment_path(directory: str, base: int) -> str:
    return os.path.join(directory, segment_name(base))


def _copy(handle, length: int, path: str) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        offset = 0
        while offset < length:
            data = handle.pread(min(COPY_CHUNK, length - offset), offset)
            if not data:
                raise BackupError(f"{handle.path}: shorter than expected")
            os.write(fd, data)
            offset += len(data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def main(args: argparse.Namespace) -> int:
    from server import logs
    logs.setup()
    try:
        data_dir = args.data_dir or cfg.load({}, os.environ).data_dir
        records, size = backup(data_dir, args.destination)
    except (BackupError, cfg.ConfigError) as e:
        sys.stderr.write(f"rewinddb backup: {e}\n")
        return 1
    log.info("backup of %s complete: %d records (%d bytes) in %s", data_dir, records, size, args.destination)
    return 0
