"""SegmentedLog on disk: segments, indexes, recovery of torn tails, refusal of corruption."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

from engine.storage.files import OsFileLayer
from engine.storage.index import read_index
from engine.storage.log import LogCorruption, SegmentedLog
from engine.storage.segment import SEGMENT_HEADER_SIZE, decode_segment_header, segment_name
from engine.storage.verify import verify_log
from storage_helpers import build, flip, frames, payload_for, segment_paths

OS = OsFileLayer()


def assert_records(log: SegmentedLog, last: int) -> None:
    records = list(log.records())
    assert [r.lsn for r in records] == list(range(1, last + 1))
    assert all(r.payload == payload_for(r.lsn) for r in records)


async def test_segments_roll_and_are_named_by_first_lsn(tmp_path):
    d = tmp_path / "log"
    last = await build(d, [3] * 40, segment_size=1024)
    paths = segment_paths(d)
    assert len(paths) > 5
    expected_base = 1
    for path in paths:
        found = frames(path)
        assert os.path.basename(path) == segment_name(expected_base)
        assert found[0][0] == expected_base
        handle = OS.open(path)
        header = decode_segment_header(handle.pread(SEGMENT_HEADER_SIZE, 0))
        handle.close()
        assert not isinstance(header, str) and header.base_lsn == expected_base
        expected_base = found[-1][0] + 1
    for path in paths[:-1]:  # sealed: cut to their records, at most segment_size
        assert os.path.getsize(path) == frames(path)[-1][2] <= 1024
    assert os.path.getsize(paths[-1]) == 1024  # active: preallocated
    log = SegmentedLog.open(d, segment_size=1024)
    assert log.last_lsn == last == 120
    assert_records(log, last)
    assert verify_log(d).ok
    await log.close()


async def test_a_record_larger_than_a_segment_gets_a_segment_of_its_own(tmp_path):
    d = tmp_path / "log"
    log = SegmentedLog.open(d, segment_size=512)
    log.append_durable(1, b"small")
    log.append_durable(2, b"B" * 2000)
    log.append_durable(3, b"small again")
    await log.close()
    assert len(segment_paths(d)) == 3
    log = SegmentedLog.open(d, segment_size=512)
    assert [len(r.payload) for r in log.records()] == [5, 2000, 11]
    await log.close()


async def test_reopen_continues_lsns_chain_and_time_order(tmp_path):
    d = tmp_path / "log"
    await build(d, [4, 4], segment_size=600)
    log = SegmentedLog.open(d, segment_size=600)
    head = log.head()
    assert head[0] == 8 and log.chain_at(8).hex() == head[1]
    with pytest.raises(ValueError):
        log.append(0, b"earlier than the last record")
    assert log.append_durable(2_000_000, b"nine") == 9
    await log.close()
    log = SegmentedLog.open(d, segment_size=600)
    assert [r.lsn for r in log.records(8)] == [8, 9]
    assert verify_log(d).ok and verify_log(d).last_lsn == 9
    await log.close()


async def test_indexes_are_rebuilt_when_missing_or_damaged(tmp_path, caplog):
    d = tmp_path / "log"
    last = await build(d, [2] * 100, segment_size=2048)
    log = SegmentedLog.open(d, segment_size=2048)
    answers = [log.lsn_at_time(1_000_000 + k) for k in range(0, last + 2, 7)]
    chains = [log.chain_at(k) for k in range(0, last + 1, 11)]
    await log.close()
    idx = sorted(p for p in os.listdir(d) if p.endswith(".idx"))
    assert len(idx) == len(segment_paths(d)) - 1  # every sealed segment has one
    os.remove(d / idx[0])
    flip(OS, str(d / idx[1]), 30)
    with open(d / idx[2], "r+b") as f:
        f.truncate(10)
    caplog.set_level(logging.INFO, logger="rewinddb.storage")
    log = SegmentedLog.open(d, segment_size=2048)
    assert sum("rebuilding" in r.message for r in caplog.records) == 3
    assert [log.lsn_at_time(1_000_000 + k) for k in range(0, last + 2, 7)] == answers
    assert [log.chain_at(k) for k in range(0, last + 1, 11)] == chains
    assert_records(log, last)
    await log.close()
    for name in idx[:3]:
        assert read_index(OS, str(d / name)) is not None


async def test_a_stale_index_is_not_trusted(tmp_path):
    d = tmp_path / "log"
    await build(d, [2] * 30, segment_size=1024)
    paths = segment_paths(d)
    other = tmp_path / "other"
    await build(other, [3] * 20, segment_size=1024)
    shutil.copy(other / "00000000000000000001.idx", d / "00000000000000000001.idx")
    log = SegmentedLog.open(d, segment_size=1024)
    assert_records(log, 60)
    await log.close()
    assert frames(paths[0])[-1][0] == read_index(OS, str(d / "00000000000000000001.idx")).last_lsn


async def test_lsn_at_time_uses_the_index_across_segments(tmp_path):
    d = tmp_path / "log"
    log = SegmentedLog.open(d, segment_size=4096)
    for lsn in range(1, 2001):
        log.append(10 * (lsn // 4), b"t" * 20)
    log.append_durable(10 * 500, b"t" * 20)
    await log.close()
    log = SegmentedLog.open(d, segment_size=4096)
    assert log.lsn_at_time(0) == 3
    assert log.lsn_at_time(9) == 3
    assert log.lsn_at_time(10) == 7
    assert log.lsn_at_time(4995) == 1999
    assert log.lsn_at_time(5000) == 2001
    for t in range(0, 5001, 130):
        assert log.lsn_at_time(t) == max(r.lsn for r in log.records() if r.commit_time_us <= t)
    await log.close()


async def test_precreated_segment_is_used_and_cleaned_up(tmp_path):
    d = tmp_path / "log"
    log = SegmentedLog.open(d, segment_size=2000)
    await log.start()
    saw_spare = False
    for lsn in range(1, 60):
        await log.wait_durable(log.append(lsn, b"s" * 60))
        await log.wait_durable(log.last_lsn)
        for _ in range(3):
            await __import__("asyncio").sleep(0)
        saw_spare |= "next.seg.tmp" in os.listdir(d)
    await log.close()
    assert saw_spare
    assert "next.seg.tmp" not in os.listdir(d)
    assert len(segment_paths(d)) > 1
    assert verify_log(d).ok


# -- torn tails --------------------------------------------------------------------------


async def test_a_torn_last_batch_is_truncated_at_every_byte_offset(tmp_path, caplog):
    src = tmp_path / "src"
    await build(src, [1] * 10 + [3], segment_size=4096)  # the last batch holds LSNs 11-13
    (path,) = segment_paths(src)
    found = frames(path)
    first_torn, end = found[10][1], found[12][2]
    pristine = open(path, "rb").read()
    caplog.set_level(logging.INFO, logger="rewinddb.storage")
    for cut in range(first_torn, end):
        survivors = sum(1 for _, _, e in found if e <= cut)
        for how in ("truncate", "zero"):
            d = tmp_path / f"{how}{cut}"
            shutil.copytree(src, d)
            seg = d / os.path.basename(path)
            with open(seg, "r+b") as f:
                if how == "truncate":
                    f.truncate(cut)
                else:
                    f.seek(cut)
                    f.write(bytes(end - cut))
            log = SegmentedLog.open(d, segment_size=4096)
            assert log.last_lsn == survivors, (how, cut)
            assert_records(log, survivors)
            assert log.append_durable(5_000_000, b"after recovery") == survivors + 1
            await log.close()
            log = SegmentedLog.open(d, segment_size=4096)
            assert [r.lsn for r in log.records()] == list(range(1, survivors + 2))
            await log.close()
            assert verify_log(d).ok
            shutil.rmtree(d)
    assert any("torn tail" in r.message and r.levelno == logging.INFO for r in caplog.records)
    assert open(path, "rb").read() == pristine


async def test_verify_reports_a_torn_tail_that_open_would_truncate(tmp_path):
    d = tmp_path / "log"
    await build(d, [2, 2, 3])
    (path,) = segment_paths(d)
    lsn, offset, end = frames(path)[-1]
    with open(path, "r+b") as f:
        f.seek(end - 3)
        f.write(b"\0\0\0")
    report = verify_log(d)
    assert not report.ok and (report.problem_path, report.problem_offset) == (path, offset)
    assert "truncates" in report.problem and report.last_lsn == lsn - 1 == 6


# -- corruption ----------------------------------------------------------------------------


async def test_a_flipped_bit_in_the_middle_of_the_last_segment_refuses_to_open(tmp_path):
    d = tmp_path / "log"
    await build(d, [3] * 10)
    (path,) = segment_paths(d)
    lsn, offset, end = frames(path)[14]
    flip(OS, path, offset + 70, 0x10)
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d)
    err = caught.value
    assert (err.path, err.offset) == (path, offset)
    assert path in str(err) and str(offset) in str(err) and "checksum" in str(err)
    report = verify_log(d)
    assert (report.problem_path, report.problem_offset) == (path, offset)
    assert report.last_lsn == 14


async def test_damage_inside_the_last_batch_with_a_later_batch_is_corruption(tmp_path):
    d = tmp_path / "log"
    await build(d, [5, 5])
    (path,) = segment_paths(d)
    _, offset, _ = frames(path)[2]  # inside the first batch; the second batch proves it was durable
    flip(OS, path, offset + 1)  # the length field
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d)
    assert caught.value.offset == offset
    assert "record 6" in caught.value.reason


async def test_a_flipped_bit_in_a_sealed_segment(tmp_path):
    d = tmp_path / "log"
    await build(d, [2] * 40, segment_size=1024)
    first = segment_paths(d)[0]
    lsn, offset, _ = frames(first)[3]
    later = frames(first)[-1][0] + 1
    flip(OS, first, offset + 40)
    # open trusts the sealed segment's checksummed index; reading through the damage fails
    log = SegmentedLog.open(d, segment_size=1024)
    with pytest.raises(LogCorruption) as caught:
        list(log.records())
    assert (caught.value.path, caught.value.offset) == (first, offset)
    assert [r.lsn for r in log.records(later, later + 2)] == [later, later + 1, later + 2]
    await log.close()
    report = verify_log(d)
    assert (report.problem_path, report.problem_offset) == (first, offset)
    # without the index, open scans the segment and refuses
    os.remove(d / "00000000000000000001.idx")
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d, segment_size=1024)
    assert (caught.value.path, caught.value.offset) == (first, offset)


async def test_segment_level_damage_refuses_to_open(tmp_path):
    d = tmp_path / "log"
    await build(d, [2] * 30, segment_size=1024)
    paths = segment_paths(d)
    os.remove(paths[2])
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d, segment_size=1024)
    assert caught.value.path == paths[3] and "gap" in caught.value.reason
    assert verify_log(d).problem_path == paths[3]

    d2 = tmp_path / "log2"
    await build(d2, [2] * 30, segment_size=1024)
    paths = segment_paths(d2)
    flip(OS, paths[1], 12)  # base LSN in the header
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d2, segment_size=1024)
    assert (caught.value.path, caught.value.offset) == (paths[1], 0)


async def test_garbage_after_a_sealed_segment_is_corruption(tmp_path):
    d = tmp_path / "log"
    await build(d, [2] * 30, segment_size=1024)
    first = segment_paths(d)[0]
    size = os.path.getsize(first)
    with open(first, "ab") as f:
        f.write(b"\0" * 100)
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d, segment_size=1024)
    assert (caught.value.path, caught.value.offset) == (first, size)
    report = verify_log(d)
    assert (report.problem_path, report.problem_offset) == (first, size)


async def test_a_later_batch_ending_in_zero_bytes_still_proves_corruption(tmp_path):
    d = tmp_path / "log"
    log = SegmentedLog.open(d, segment_size=4096)
    for lsn in (1, 2):
        log.append(lsn, payload_for(lsn))
    log.append_durable(3, payload_for(3))
    log.append_durable(4, b"x" + bytes(300))  # its own batch; its bytes end in zeros
    await log.close()
    (path,) = segment_paths(d)
    _, offset, _ = frames(path)[1]
    flip(OS, path, offset + 64)
    with pytest.raises(LogCorruption) as caught:
        SegmentedLog.open(d, segment_size=4096)
    assert caught.value.offset == offset and "record 4" in caught.value.reason
