"""verify_log and verify_digest: the full check, and the exact place of the first problem."""

from __future__ import annotations

import os
import struct

from engine.storage.log import SegmentedLog
from engine.storage.segment import crc32c
from engine.storage.verify import Check, verify_digest, verify_log
from storage_helpers import build, frames, segment_paths


async def test_a_clean_log(tmp_path):
    d = tmp_path / "log"
    last = await build(d, [3] * 20, segment_size=1024)
    log = SegmentedLog.open(d, segment_size=1024)
    head = log.head()
    await log.close()
    report = verify_log(d)
    assert report.ok and report.problem is None
    assert report.records == last == report.last_lsn == 60 and report.first_lsn == 1
    assert report.first_commit_time_us == 1_000_000 and report.last_commit_time_us == 1_000_059
    assert report.digest == head[1]
    assert report.segments == tuple(os.path.basename(p) for p in segment_paths(d))


def test_an_empty_or_missing_log(tmp_path):
    report = verify_log(tmp_path)
    assert report.ok and report.records == 0 and report.digest == bytes(32).hex()
    missing = verify_log(tmp_path / "nope")
    assert not missing.ok and "does not exist" in missing.problem


async def test_checks_from_higher_layers_are_part_of_the_verdict(tmp_path):
    await build(tmp_path, [1])
    report = verify_log(tmp_path).with_check("snapshot 1 matches replay", True)
    assert report.ok and report.checks == (Check("snapshot 1 matches replay", True),)
    assert not report.with_check("snapshot 1 matches replay", False, "table t differs").ok


async def test_a_rewritten_record_with_a_valid_crc_breaks_the_chain(tmp_path):
    await build(tmp_path, [2] * 5)
    (path,) = segment_paths(tmp_path)
    lsn, offset, end = frames(path)[4]
    data = bytearray(open(path, "rb").read())
    data[end - 1] ^= 0xFF  # change the payload, then fix the CRC as a forger would
    struct.pack_into("<I", data, offset + 4, crc32c(bytes(data[offset + 8 : end])))
    open(path, "wb").write(data)
    report = verify_log(tmp_path)
    assert (report.problem_path, report.problem_offset) == (path, offset)
    assert "chain" in report.problem and report.last_lsn == lsn - 1


async def test_verify_digest(tmp_path):
    await build(tmp_path, [2] * 30, segment_size=700)
    log = SegmentedLog.open(tmp_path, segment_size=700)
    digests = {lsn: log.chain_at(lsn).hex() for lsn in (0, 1, 17, 33, 60)}
    await log.close()
    for lsn, digest in digests.items():
        assert verify_digest(tmp_path, lsn, digest)
        assert not verify_digest(tmp_path, lsn, "11" * 32)
    assert not verify_digest(tmp_path, 17, digests[33])
    assert not verify_digest(tmp_path, 61, digests[60])
    assert not verify_digest(tmp_path, 17, "not hex")
