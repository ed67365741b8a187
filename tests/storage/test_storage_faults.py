"""The log under injected faults: ENOSPC/EIO on writes and fsyncs, fsyncgate, power loss,
and bit flips anywhere in the files.

All of these run the real SegmentedLog over FaultyFileLayer, an in-memory file system that
knows which bytes and names are durable.
"""

from __future__ import annotations

import asyncio
import errno
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.storage.files import FaultyFileLayer
from engine.storage.log import LogCorruption, LogFailure, SegmentedLog
from engine.storage.verify import verify_log
from storage_helpers import build, flip, frames, payload_for, segment_paths

DIR = "/data/log"


async def durable_log(files: FaultyFileLayer, n: int, *, segment_size: int = 1024) -> SegmentedLog:
    log = SegmentedLog.open(DIR, segment_size=segment_size, files=files)
    await log.start()
    for lsn in range(1, n + 1):
        log.append(lsn, payload_for(lsn))
        if lsn % 4 == 0:
            await log.wait_durable(lsn)
    await log.wait_durable(n)
    return log


@pytest.mark.parametrize("op", ["write", "fsync"])
@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO])
@pytest.mark.parametrize("crash", ["drop", "keep"])
async def test_a_failed_write_or_fsync_is_fatal(op, error, crash):
    files = FaultyFileLayer()
    log = await durable_log(files, 20, segment_size=1 << 16)  # no roll, no preallocation racing for the fault
    failures: list[BaseException] = []
    log.on_failure = failures.append
    files.fail(op, error=error)
    pending = [log.append(100 + i, b"pending %d" % i) for i in range(6)]
    results = await asyncio.gather(*(log.wait_durable(lsn) for lsn in pending), return_exceptions=True)
    assert all(isinstance(r, LogFailure) for r in results)
    assert len(failures) == 1 and failures[0].errno == error
    assert log.durable_lsn == 20
    with pytest.raises(LogFailure):
        log.append(200, b"refused")
    syncs = files.counts.get("fsync", 0)
    await log.close()
    assert files.counts.get("fsync", 0) == syncs, "a failed log must not fsync again (fsyncgate)"
    files.crash(crash)
    log = SegmentedLog.open(DIR, segment_size=1 << 16, files=files)
    if crash == "drop" or op == "write":
        assert log.last_lsn == 20  # exactly what was durable
    else:
        assert log.last_lsn in (20, 26)  # the page cache may still hold the failed batch
    assert [r.payload for r in log.records(1, 20)] == [payload_for(n) for n in range(1, 21)]
    await log.close()


async def test_an_fsync_that_fails_once_is_not_retried():
    files = FaultyFileLayer()
    log = await durable_log(files, 8)
    files.fail("fsync", nth=1)  # fails once; a retry would "succeed" with the data gone
    lsn = log.append(50, b"lost")
    with pytest.raises(LogFailure):
        await log.wait_durable(lsn)
    await log.close()
    files.crash("drop")
    log = SegmentedLog.open(DIR, segment_size=1024, files=files)
    assert log.last_lsn == 8
    await log.close()


async def test_enospc_when_preallocating_the_next_segment():
    files = FaultyFileLayer()
    log = await durable_log(files, 4, segment_size=600)
    files.fail("allocate", error=errno.ENOSPC, persistent=True)
    lsns = [log.append(100, b"x" * 100) for _ in range(10)]  # needs a new segment
    with pytest.raises(LogFailure):
        await log.wait_durable(lsns[-1])
    await log.close()
    files.crash("drop")
    log = SegmentedLog.open(DIR, segment_size=600, files=files)
    # the records of the failed batch that fit the old segment were sealed into it: unknown
    # outcomes (never acknowledged) that may survive, as after a crash in the middle of a commit
    assert log.last_lsn in (4, 8)
    assert [r.payload for r in log.records(5)] == [b"x" * 100] * (log.last_lsn - 4)
    await log.close()


async def test_append_durable_raises_logfailure_and_stays_failed():
    files = FaultyFileLayer()
    log = SegmentedLog.open(DIR, files=files)
    log.append_durable(1, b"one")
    files.fail("write", error=errno.EIO)
    with pytest.raises(LogFailure):
        log.append_durable(2, b"two")
    with pytest.raises(LogFailure):
        log.append_durable(3, b"three")
    assert log.durable_lsn == 1
    await log.close()


# -- power loss at every kind of step -----------------------------------------------------------


async def run_until_power_loss(files: FaultyFileLayer, rng: random.Random, op: str, mode: str) -> tuple[list[bytes], int]:
    """Commit random batches until a power loss at a random `op`; returns (appended
    payloads, highest acknowledged LSN)."""
    log = SegmentedLog.open(DIR, segment_size=700, files=files)
    files.crash_on(op, nth=rng.randint(1, {"fsync": 150, "write": 100}.get(op, 6)), mode=mode, seed=rng.randrange(1000))
    await log.start()
    appended: list[bytes] = []
    acked = 0
    try:
        while len(appended) < 400:
            lsns = []
            for _ in range(rng.randint(1, 6)):
                payload = rng.randbytes(rng.randint(0, 150))
                lsns.append(log.append(len(appended), payload))
                appended.append(payload)
            await log.wait_durable(lsns[-1])
            acked = lsns[-1]
    except LogFailure:
        pass
    await log.close()
    return appended, acked


@pytest.mark.parametrize("mode", ["drop", "tear", "keep"])
@pytest.mark.parametrize("op", ["fsync", "write", "fsync_dir", "rename", "allocate"])
async def test_power_loss_keeps_a_prefix_with_every_acknowledged_record(mode, op):
    for seed in range(12):
        rng = random.Random(f"{mode}{op}{seed}")
        files = FaultyFileLayer()
        appended, acked = await run_until_power_loss(files, rng, op, mode)
        log = SegmentedLog.open(DIR, segment_size=700, files=files)
        assert acked <= log.last_lsn <= len(appended), (mode, op, seed)
        assert [r.payload for r in log.records()] == appended[: log.last_lsn]
        log.append_durable(10**6, b"life goes on")
        await log.close()
        report = verify_log(DIR, files=files)
        assert report.ok, report.problem
        assert report.last_lsn == log.last_lsn


# -- bit flips ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_log() -> FaultyFileLayer:
    files = FaultyFileLayer()
    asyncio.run(build(DIR, [2, 1, 3, 2, 2, 1, 3, 2], segment_size=400, files=files))
    return files


def test_every_flipped_byte_is_caught_by_verify(small_log):
    paths = segment_paths(DIR, small_log)
    assert len(paths) >= 3
    assert verify_log(DIR, files=small_log).ok
    checked = 0
    for path in paths:
        pristine = small_log.read_bytes(path)
        data_end = frames(path, small_log)[-1][2]
        for offset in range(min(len(pristine), data_end + 64)):
            small_log.write_bytes(path, pristine[:offset] + bytes([pristine[offset] ^ 0x20]) + pristine[offset + 1 :])
            report = verify_log(DIR, files=small_log)
            assert report.problem is not None and report.problem_path == path, (path, offset)
            checked += 1
        small_log.write_bytes(path, pristine)
    assert checked > 1000


def test_open_never_returns_altered_records(small_log):
    """Whatever byte is damaged, open refuses, or reads refuse, or (damage confined to the
    last batch) the log is a prefix of what was written."""
    paths = segment_paths(DIR, small_log)
    original = [r.payload for r in SegmentedLog.open(DIR, segment_size=400, files=small_log.clone()).records()]
    for path in paths:
        for offset in range(0, frames(path, small_log)[-1][2], 3):
            files = small_log.clone()
            flip(files, path, offset, 0x04)
            try:
                log = SegmentedLog.open(DIR, segment_size=400, files=files)
                payloads = [r.payload for r in log.records()]
            except LogCorruption:
                continue
            assert payloads == original[: len(payloads)], (path, offset)
            if len(payloads) < len(original):
                assert path == paths[-1] and len(payloads) >= len(original) - 2  # the last batch only


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_bit_anywhere_in_any_segment_is_reported(small_log, data):
    paths = segment_paths(DIR, small_log)
    path = data.draw(st.sampled_from(paths))
    pristine = small_log.read_bytes(path)
    offset = data.draw(st.integers(0, len(pristine) - 1))
    bit = data.draw(st.integers(0, 7))
    files = small_log.clone()
    files.write_bytes(path, pristine[:offset] + bytes([pristine[offset] ^ (1 << bit)]) + pristine[offset + 1 :])
    report = verify_log(DIR, files=files)
    assert report.problem is not None
    assert report.problem_path == path
    assert report.problem_offset is not None and report.problem_offset <= offset
