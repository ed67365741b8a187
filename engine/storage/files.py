"""The file-system seam under the log and the snapshot store, and a faulty one for tests.

Role: every byte the storage layer reads or writes, and every sync, rename and directory
fsync, goes through a `FileLayer`. `OsFileLayer` maps it onto `os` one to one; it is the
default. `FaultyFileLayer` is an in-memory file system for tests that remembers which
bytes and which directory entries are durable, so it can fail the Nth operation of a kind
(ENOSPC, EIO), fail an fsync the way Linux does (the dirty data is dropped, the error is
reported once: "fsyncgate"), and simulate a power loss that drops, keeps or tears the writes
that were never synced (SQLite's crash VFS idea). The real log runs over it unchanged.

Invariants of the seam:
- `pwrite` writes all of `data` at `offset` or raises; files are never written through a
  file position, so a handle may be shared by threads.
- `pread` returns fewer bytes than asked only at the end of the file.
- Nothing is durable until `fdatasync`/`fsync` of the file; a new name (create, rename)
  is durable only after `fsync_dir` of its directory.
- `allocate` (posix_fallocate) reserves space so that ENOSPC shows up there and not in
  the middle of a later write; the bytes read as zeros.
"""

from __future__ import annotations

import copy
import errno
import functools
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

__all__ = [
    "FileHandle",
    "FileLayer",
    "OsFileLayer",
    "FaultyFileLayer",
    "SECTOR",
]

SECTOR = 512
"""Unit of atomic persistence assumed for a torn write: a sector is either written or not."""


class FileHandle(Protocol):
    """An open file. Offsets are explicit; there is no file position."""

    path: str

    def pread(self, size: int, offset: int) -> bytes: ...
    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None: ...
    def fdatasync(self) -> None: ...
    def fsync(self) -> None: ...
    def truncate(self, size: int) -> None: ...
    def allocate(self, offset: int, length: int) -> None: ...
    def size(self) -> int: ...
    def close(self) -> None: ...


class FileLayer(Protocol):
    """Files and directories, as the storage layer needs them."""

    def open(self, path: str, *, write: bool = False, create: bool = False) -> FileHandle: ...
    def exists(self, path: str) -> bool: ...
    def listdir(self, path: str) -> list[str]: ...
    def makedirs(self, path: str) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def remove(self, path: str) -> None: ...
    def fsync_dir(self, path: str) -> None: ...


# --------------------------------------------------------------------------------------
# The real thing


class OsFile:
    """A file descriptor; see `FileHandle`."""

    __slots__ = ("fd", "path")

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path

    def pread(self, size: int, offset: int) -> bytes:
        return os.pread(self.fd, size, offset)

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            view = view[written:]
            offset += written

    def fdatasync(self) -> None:
        os.fdatasync(self.fd)

    def fsync(self) -> None:
        os.fsync(self.fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def allocate(self, offset: int, length: int) -> None:
        os.posix_fallocate(self.fd, offset, length)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class OsFileLayer:
    """The operating system's files; see `FileLayer`."""

    def open(self, path: str, *, write: bool = False, create: bool = False) -> OsFile:
        flags = os.O_RDWR if write else os.O_RDONLY
        if create:
            flags |= os.O_CREAT | os.O_EXCL
        return OsFile(os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o644), path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def rename(self, src: str, dst: str) -> None:
        os.rename(src, dst)

    def remove(self, path: str) -> None:
        os.remove(path)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------------------
# The test double: an in-memory file system with durability and fault injection


@dataclass(slots=True)
class _Inode:
    data: bytearray = field(default_factory=bytearray)  # what reads see (the page cache)
    durable: bytearray = field(default_factory=bytearray)  # what survives a power loss
    pending: list[tuple[str, int, bytes]] = field(default_factory=list)  # unsynced ops


@dataclass(slots=True)
class _Fault:
    op: str
    countdown: int
    error: int
    persistent: bool
    crash_mode: str | None = None  # simulate a power loss instead of a plain error
    seed: int = 0


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _serialized(method: _Method) -> _Method:
    """Run under the file system's lock: the log's writer, its preallocation thread and
    the test itself may all touch a FaultyFileLayer at once."""

    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


def _apply(image: bytearray, op: str, offset: int, data: bytes) -> None:
    """Apply one recorded operation to a file image."""
    if op == "write":
        end = offset + len(data)
        if end > len(image):
            image.extend(bytes(end - len(image)))
        image[offset:end] = data
    elif op == "truncate":
        del image[offset:]
    else:  # "extend": allocate past the end
        if offset > len(image):
            image.extend(bytes(offset - len(image)))


class FaultyFile:
    """A handle on a `FaultyFileLayer` file."""

    __slots__ = ("path", "_layer", "_lock", "_inode", "_write", "_generation")

    def __init__(self, layer: FaultyFileLayer, inode: _Inode, path: str, write: bool) -> None:
        self.path = path
        self._layer = layer
        self._lock = layer._lock
        self._inode = inode
        self._write = write
        self._generation = layer.generation

    def _check(self, op: str, *, mutating: bool = False) -> None:
        if self._generation != self._layer.generation:
            raise OSError(errno.EBADF, "handle from before a simulated crash", self.path)
        if mutating and not self._write:
            raise OSError(errno.EBADF, "file not open for writing", self.path)
        self._layer._maybe_fail(op, self.path, self._inode)

    @_serialized
    def pread(self, size: int, offset: int) -> bytes:
        self._check("read")
        return bytes(self._inode.data[offset : offset + size])

    @_serialized
    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        self._check("write", mutating=True)
        chunk = bytes(data)
        _apply(self._inode.data, "write", offset, chunk)
        self._inode.pending.append(("write", offset, chunk))

    @_serialized
    def fdatasync(self) -> None:
        self._sync("fsync")

    @_serialized
    def fsync(self) -> None:
        self._sync("fsync")

    def _sync(self, op: str) -> None:
        self._check(op)
        inode = self._inode
        for kind, offset, data in inode.pending:
            _apply(inode.durable, kind, offset, data)
        inode.pending.clear()

    @_serialized
    def truncate(self, size: int) -> None:
        self._check("truncate", mutating=True)
        _apply(self._inode.data, "truncate", size, b"")
        self._inode.pending.append(("truncate", size, b""))

    @_serialized
    def allocate(self, offset: int, length: int) -> None:
        self._check("allocate", mutating=True)
        _apply(self._inode.data, "extend", offset + length, b"")
        self._inode.pending.append(("extend", offset + length, b""))

    @_serialized
    def size(self) -> int:
        self._check("stat")
        return len(self._inode.data)

    @_serialized
    def close(self) -> None:
        self._generation = -1


class FaultyFileLayer:
    """In-memory files that can fail on cue and lose unsynced data in a simulated crash.

    `fail(op, nth=N, error=errno.ENOSPC)` makes the Nth `op` from now raise
    `OSError(error)` (and every later one too with `persistent=True`, like a full disk);
    ops are "write", "fsync" (fdatasync and fsync), "fsync_dir", "allocate", "truncate",
    "create", "rename", "read" and "stat". A failed fsync drops the file's unsynced data
    from the durable image while reads still see it, as Linux does after a writeback
    error; a later fsync then "succeeds". `crash(mode)` simulates a power loss: every file
    reverts to its durable image plus, per `mode`, none ("drop"), all ("keep": a killed
    process whose page cache survives) or a random subset of the 512-byte sectors ("tear")
    of its unsynced writes; directory entries revert to what the last `fsync_dir` made
    durable; open handles die. `crash_on(op, nth=N, mode=...)` crashes just before the Nth
    `op`. `counts` tallies operations. Directories themselves are created durable.
    """

    def __init__(self) -> None:
        self._names: dict[str, _Inode] = {}
        self._durable_names: dict[str, _Inode] = {}
        self._dirs: set[str] = {"/"}
        self._faults: list[_Fault] = []
        self.counts: dict[str, int] = {}
        self.generation = 0
        self._lock = threading.RLock()

    @_serialized
    def clone(self) -> FaultyFileLayer:
        """An independent copy of the files, names and counters (not the open handles)."""
        twin = FaultyFileLayer()
        state = copy.deepcopy({k: v for k, v in vars(self).items() if k != "_lock"})
        vars(twin).update(state)
        return twin

    # -- fault injection -------------------------------------------------------------

    @_serialized
    def fail(self, op: str, *, nth: int = 1, error: int = errno.EIO, persistent: bool = False) -> None:
        """Make the `nth` `op` from now raise OSError(`error`)."""
        if nth < 1:
            raise ValueError("nth counts from 1")
        self._faults.append(_Fault(op, nth, error, persistent))

    @_serialized
    def crash_on(self, op: str, *, nth: int = 1, mode: str = "drop", seed: int = 0) -> None:
        """Simulate a power loss (`crash(mode, seed=seed)`) just before the `nth` `op` from
        now; that operation then fails with EIO, as the dying process would see nothing."""
        if nth < 1:
            raise ValueError("nth counts from 1")
        self._faults.append(_Fault(op, nth, errno.EIO, False, mode, seed))

    def _maybe_fail(self, op: str, path: str, inode: _Inode | None) -> None:
        self.counts[op] = self.counts.get(op, 0) + 1
        for fault in self._faults:
            if fault.op != op:
                continue
            fault.countdown -= 1
            if fault.countdown > 0:
                continue
            if not fault.persistent:
                self._faults.remove(fault)
            if fault.crash_mode is not None:
                self.crash(fault.crash_mode, seed=fault.seed)
                raise OSError(errno.EIO, "simulated power loss", path)
            if op == "fsync" and inode is not None:
                inode.pending.clear()  # fsyncgate: the dirty pages are gone, the error is reported once
            raise OSError(fault.error, os.strerror(fault.error), path)

    @_serialized
    def crash(self, mode: str = "drop", *, seed: int = 0) -> None:
        """Simulate a power loss (see the class docstring for `mode`)."""
        if mode not in ("drop", "keep", "tear"):
            raise ValueError(f"unknown crash mode {mode!r}")
        rng = random.Random(seed)
        for inode in {id(i): i for i in [*self._names.values(), *self._durable_names.values()]}.values():
            image = inode.durable
            for kind, offset, data in inode.pending:
                if mode == "keep" or (mode == "tear" and kind != "write" and rng.random() < 0.5):
                    _apply(image, kind, offset, data)
                elif mode == "tear" and kind == "write":
                    start = offset - offset % SECTOR
                    while start < offset + len(data):
                        lo, hi = max(start, offset), min(start + SECTOR, offset + len(data))
                        if rng.random() < 0.5:
                            _apply(image, "write", lo, data[lo - offset : hi - offset])
                        start += SECTOR
            inode.pending.clear()
            inode.data = bytearray(image)
        self._names = dict(self._durable_names)
        self._faults.clear()
        self.generation += 1

    # -- FileLayer -------------------------------------------------------------------

    @staticmethod
    def _norm(path: str | os.PathLike[str]) -> str:
        return os.path.normpath(os.path.join("/", os.fspath(path)))

    @_serialized
    def open(self, path: str, *, write: bool = False, create: bool = False) -> FaultyFile:
        name = self._norm(path)
        if create:
            if name in self._names:
                raise FileExistsError(errno.EEXIST, "file exists", name)
            if os.path.dirname(name) not in self._dirs:
                raise FileNotFoundError(errno.ENOENT, "no such directory", name)
            self._maybe_fail("create", name, None)
            self._names[name] = _Inode()
        inode = self._names.get(name)
        if inode is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", name)
        return FaultyFile(self, inode, name, write)

    @_serialized
    def exists(self, path: str) -> bool:
        name = self._norm(path)
        return name in self._names or name in self._dirs

    @_serialized
    def listdir(self, path: str) -> list[str]:
        name = self._norm(path)
        if name not in self._dirs:
            raise FileNotFoundError(errno.ENOENT, "no such directory", name)
        children = [p for p in [*self._names, *self._dirs] if p != name and os.path.dirname(p) == name]
        return sorted(os.path.basename(p) for p in children)

    @_serialized
    def makedirs(self, path: str) -> None:
        name = self._norm(path)
        while name not in self._dirs:
            self._dirs.add(name)
            name = os.path.dirname(name)

    @_serialized
    def rename(self, src: str, dst: str) -> None:
        s, d = self._norm(src), self._norm(dst)
        self._maybe_fail("rename", s, None)
        if s not in self._names:
            raise FileNotFoundError(errno.ENOENT, "no such file", s)
        self._names[d] = self._names.pop(s)

    @_serialized
    def remove(self, path: str) -> None:
        name = self._norm(path)
        if name not in self._names:
            raise FileNotFoundError(errno.ENOENT, "no such file", name)
        del self._names[name]

    @_serialized
    def fsync_dir(self, path: str) -> None:
        name = self._norm(path)
        self._maybe_fail("fsync_dir", name, None)
        for p in [p for p in self._durable_names if os.path.dirname(p) == name]:
            del self._durable_names[p]
        for p, inode in self._names.items():
            if os.path.dirname(p) == name:
                self._durable_names[p] = inode

    # -- test conveniences -----------------------------------------------------------

    @_serialized
    def read_bytes(self, path: str) -> bytes:
        """The visible contents of `path`."""
        return bytes(self._names[self._norm(path)].data)

    @_serialized
    def write_bytes(self, path: str, data: bytes) -> None:
        """Replace the contents of `path`, durably (to plant damage in tests)."""
        inode = self._names[self._norm(path)]
        inode.data = bytearray(data)
        inode.durable = bytearray(data)
        inode.pending.clear()
