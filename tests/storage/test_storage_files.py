"""The FileLayer contract (OS and in-memory) and the durability model of FaultyFileLayer."""

from __future__ import annotations

import errno
import os

import pytest

from engine.storage.files import SECTOR, FaultyFileLayer, FileLayer, OsFileLayer


class FileLayerContract:
    """Subclasses provide `files` and `root`."""

    files: FileLayer
    root: str

    def p(self, name: str) -> str:
        return os.path.join(self.root, name)

    def test_create_write_read(self):
        f = self.files.open(self.p("a"), write=True, create=True)
        f.pwrite(b"hello", 0)
        f.pwrite(memoryview(b"world"), 10)
        assert f.size() == 15
        assert f.pread(100, 0) == b"hello\0\0\0\0\0world"
        assert f.pread(3, 12) == b"rld"
        assert f.pread(10, 15) == b""
        f.fdatasync()
        f.fsync()
        f.close()
        f.close()
        assert self.files.open(self.p("a")).pread(5, 0) == b"hello"

    def test_create_is_exclusive_and_open_needs_a_file(self):
        self.files.open(self.p("a"), write=True, create=True).close()
        with pytest.raises(FileExistsError):
            self.files.open(self.p("a"), write=True, create=True)
        with pytest.raises(FileNotFoundError):
            self.files.open(self.p("missing"))

    def test_truncate_and_allocate(self):
        f = self.files.open(self.p("a"), write=True, create=True)
        f.pwrite(b"x" * 100, 0)
        f.truncate(10)
        assert f.size() == 10
        f.allocate(0, 4096)
        assert f.size() == 4096
        assert f.pread(4096, 0) == b"x" * 10 + bytes(4086)
        f.allocate(0, 100)  # never shrinks
        assert f.size() == 4096
        f.close()

    def test_directory_operations(self):
        self.files.makedirs(self.p("d/e"))
        self.files.makedirs(self.p("d/e"))
        self.files.open(self.p("d/x"), write=True, create=True).close()
        assert sorted(self.files.listdir(self.p("d"))) == ["e", "x"]
        self.files.rename(self.p("d/x"), self.p("d/y"))
        assert self.files.exists(self.p("d/y")) and not self.files.exists(self.p("d/x"))
        self.files.fsync_dir(self.p("d"))
        self.files.remove(self.p("d/y"))
        assert self.files.listdir(self.p("d")) == ["e"]
        with pytest.raises(FileNotFoundError):
            self.files.remove(self.p("d/y"))


class TestOsFileLayer(FileLayerContract):
    @pytest.fixture(autouse=True)
    def _setup(self, tmp_path):
        self.files = OsFileLayer()
        self.root = str(tmp_path)


class TestFaultyFileLayer(FileLayerContract):
    @pytest.fixture(autouse=True)
    def _setup(self):
        self.files = FaultyFileLayer()
        self.root = "/r"
        self.files.makedirs(self.root)


def synced_file(files: FaultyFileLayer, path: str, data: bytes) -> None:
    f = files.open(path, write=True, create=True)
    f.pwrite(data, 0)
    f.fsync()
    f.close()
    files.fsync_dir(os.path.dirname(path))


def test_power_loss_drops_unsynced_writes_and_names():
    files = FaultyFileLayer()
    files.makedirs("/d")
    synced_file(files, "/d/a", b"durable")
    f = files.open("/d/a", write=True)
    f.pwrite(b"DURABLE, not", 0)
    files.open("/d/b", write=True, create=True).close()  # name never fsynced
    files.rename("/d/a", "/d/c")  # nor this
    files.crash("drop")
    assert files.listdir("/d") == ["a"]
    assert files.read_bytes("/d/a") == b"durable"
    with pytest.raises(OSError) as caught:
        f.pread(1, 0)
    assert caught.value.errno == errno.EBADF


def test_power_loss_can_keep_or_tear_unsynced_writes():
    for mode, check in [("keep", lambda d: d == b"\1" * 4096), ("tear", lambda d: b"\1" * SECTOR in d and bytes(SECTOR) in d)]:
        files = FaultyFileLayer()
        files.makedirs("/d")
        synced_file(files, "/d/a", bytes(4096))
        f = files.open("/d/a", write=True)
        f.pwrite(b"\1" * 4096, 0)
        files.crash(mode, seed=1)
        data = files.read_bytes("/d/a")
        assert len(data) == 4096 and check(data), mode
        assert all(data[i : i + SECTOR] in (b"\1" * SECTOR, bytes(SECTOR)) for i in range(0, 4096, SECTOR))


def test_the_nth_operation_fails_and_a_failed_fsync_loses_the_data():
    files = FaultyFileLayer()
    files.makedirs("/d")
    synced_file(files, "/d/a", b"old")
    f = files.open("/d/a", write=True)
    files.fail("write", nth=2, error=errno.ENOSPC)
    f.pwrite(b"1", 0)
    with pytest.raises(OSError) as caught:
        f.pwrite(b"2", 1)
    assert caught.value.errno == errno.ENOSPC
    f.pwrite(b"3", 2)  # only the 2nd failed
    files.fail("fsync", error=errno.EIO)
    with pytest.raises(OSError):
        f.fdatasync()
    f.fdatasync()  # "succeeds", as on Linux after a writeback error ...
    assert f.pread(3, 0) == b"1l3"
    files.crash("keep")
    assert files.read_bytes("/d/a") == b"old"  # ... but the data is gone


def test_persistent_faults_and_crash_on():
    files = FaultyFileLayer()
    files.makedirs("/d")
    f = files.open("/d/a", write=True, create=True)
    files.fail("allocate", error=errno.ENOSPC, persistent=True)
    for _ in range(3):
        with pytest.raises(OSError):
            f.allocate(0, 100)
    g = files.open("/d/b", write=True, create=True)
    g.pwrite(b"x", 0)
    files.crash_on("fsync", nth=1, mode="keep")
    with pytest.raises(OSError):
        g.fsync()
    assert files.generation == 1 and files.listdir("/d") == []
    assert files.counts["fsync"] == 1
