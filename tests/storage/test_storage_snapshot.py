"""SnapshotStore: write, list, read back, fall back past damage, prune, survive power loss."""

from __future__ import annotations

import asyncio
import logging
import os
import random

import pytest

from engine.storage.files import FaultyFileLayer
from engine.storage.snapshot import SnapshotStore


def chunks_for(lsn: int, n: int = 50) -> list[bytes]:
    rng = random.Random(lsn)
    return [rng.randbytes(rng.randint(0, 3000)) + bytes(rng.randint(0, 5000)) for _ in range(n)]


async def agen(chunks: list[bytes]):
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


async def test_write_list_and_read_back(tmp_path):
    store = SnapshotStore(tmp_path / "snapshots")
    p1 = await store.write(10, 1_000, chunks_for(10))  # a plain iterator
    p2 = await store.write(25, 2_000, agen(chunks_for(25)))  # an async one
    await store.write(30, 3_000, [])
    assert p1.path.name == "00000000000000000010.snap" and p2.path.exists()
    infos = store.list()
    assert [(i.lsn, i.commit_time_us) for i in infos] == [(30, 3_000), (25, 2_000), (10, 1_000)]
    assert infos[1] == p2 and infos[1].size == os.path.getsize(p2.path)
    assert infos[1].size < sum(map(len, chunks_for(25))) / 2  # compressed
    info, chunks = store.open_newest_valid(max_lsn=100)
    assert info.lsn == 30 and list(chunks) == []
    info, chunks = store.open_at_or_before(29)
    assert info.lsn == 25 and list(chunks) == chunks_for(25)
    assert store.open_at_or_before(9) is None
    assert not [n for n in os.listdir(tmp_path / "snapshots") if n.endswith(".tmp")]


async def test_chunks_bigger_than_a_batch(tmp_path):
    store = SnapshotStore(tmp_path)
    big = [os.urandom(3 << 20), b"", b"tail"]
    await store.write(1, 1, big)
    _, chunks = store.open_newest_valid(1)
    assert list(chunks) == big


async def test_a_damaged_snapshot_is_set_aside_and_an_older_one_used(tmp_path, caplog):
    store = SnapshotStore(tmp_path)
    for lsn in (10, 20, 30):
        await store.write(lsn, lsn, chunks_for(lsn))
    newest = tmp_path / "00000000000000000030.snap"
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0x01
    newest.write_bytes(data)
    header_damaged = tmp_path / "00000000000000000020.snap"
    data = bytearray(header_damaged.read_bytes())
    data[12] ^= 0x01
    header_damaged.write_bytes(data)
    caplog.set_level(logging.WARNING, logger="rewinddb.storage")
    info, chunks = store.open_newest_valid(max_lsn=30)
    assert info.lsn == 10 and list(chunks) == chunks_for(10)
    assert sorted(os.listdir(tmp_path)) == [
        "00000000000000000010.snap",
        "00000000000000000020.snap.corrupt",
        "00000000000000000030.snap.corrupt",
    ]
    assert sum("damaged" in r.message for r in caplog.records) == 2


async def test_a_truncated_snapshot_is_rejected(tmp_path):
    store = SnapshotStore(tmp_path)
    await store.write(5, 5, chunks_for(5))
    await store.write(6, 6, chunks_for(6))
    path = tmp_path / "00000000000000000006.snap"
    path.write_bytes(path.read_bytes()[:-10])
    info, _ = store.open_newest_valid(10)
    assert info.lsn == 5


async def test_a_snapshot_ahead_of_the_log_is_skipped_not_deleted(tmp_path):
    store = SnapshotStore(tmp_path)
    await store.write(10, 1, [b"a"])
    await store.write(50, 2, [b"b"])
    info, chunks = store.open_newest_valid(max_lsn=40)
    assert info.lsn == 10 and list(chunks) == [b"a"]
    assert [i.lsn for i in store.list()] == [50, 10]


async def test_prune_keeps_the_newest(tmp_path):
    store = SnapshotStore(tmp_path)
    for lsn in (1, 2, 3, 4):
        await store.write(lsn, lsn, [b"x"])
    removed = store.prune(keep=2)
    assert sorted(p.name for p in removed) == ["00000000000000000001.snap", "00000000000000000002.snap"]
    assert [i.lsn for i in store.list()] == [4, 3]
    assert store.prune() == []
    with pytest.raises(ValueError):
        store.prune(keep=0)


async def test_a_failed_write_leaves_no_snapshot(tmp_path):
    store = SnapshotStore(tmp_path)

    async def broken():
        yield b"some state"
        raise RuntimeError("the engine gave up")

    with pytest.raises(RuntimeError):
        await store.write(7, 7, broken())
    assert os.listdir(tmp_path) == []


async def test_power_loss_before_the_directory_fsync_loses_only_the_new_snapshot():
    files = FaultyFileLayer()
    store = SnapshotStore("/data/snapshots", files=files)
    await store.write(1, 1, chunks_for(1))
    files.crash_on("fsync_dir", mode="keep")
    with pytest.raises(OSError):
        await store.write(2, 2, chunks_for(2))
    store = SnapshotStore("/data/snapshots", files=files)
    info, chunks = store.open_newest_valid(10)
    assert info.lsn == 1 and list(chunks) == chunks_for(1)


async def test_leftover_temp_files_are_removed():
    files = FaultyFileLayer()
    files.makedirs("/s")
    files.open("/s/00000000000000000009.snap.tmp", write=True, create=True).close()
    SnapshotStore("/s", files=files)
    assert files.listdir("/s") == []
