"""An open database: one data directory, its log, the state derived from it, and commits.

Opening (`Database.open`) takes the directory's lock (two servers can never share a data
directory), opens the log (which truncates a torn tail and refuses damage elsewhere) and
recovers the state (`recovery.recover`: the newest usable snapshot, then the records after
it). `start` starts the log writer and the background checkpointer
(`checkpoint.Checkpointer`: snapshots when enough log has grown, history pruning).

COMMIT (`commit`) turns a transaction's events into one log record: the record gets the
next LSN, is applied to the state at once (so LSN order and apply order are the same), and
the committer waits until the log has fsynced it. Readers use `visible_lsn`, which only
moves past a record once it is durable, so nobody ever reads data that could still be lost;
the row versions a pending commit added are invisible to them by MVCC. A transaction's
locks are released only after its commit is durable (or it rolled back), so a writer that
waited for a row lock always finds the newest version durable. A SERIALIZABLE transaction
is checked for dangerous structures (`txn.serializable`) before its record is appended. A
failed write or fsync is fatal: pending commits fail, `on_fatal` is called, and the process
must exit.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine import events as ev
from engine.catalog.model import Catalog, RoleDef
from engine.catalog.system import set_bootstrap_role
from engine.checkpoint import Checkpointer
from engine.errors import SqlError
from engine.exec.plan import ReadPoint
from engine.recovery import RecoveryProgress, recover
from engine.rewind import points
from engine.rewind.feed import Outbox
from engine.rewind.history import PastReader
from engine.state import DatabaseState
from engine.storage.files import FileLayer
from engine.storage.log import LogFailure, SegmentedLog
from engine.storage.snapshot import SnapshotInfo, SnapshotStore
from engine.txn.locks import LockManager
from engine.txn.serializable import SerializableTracker

log = logging.getLogger("rewinddb.engine")

SERVER_VERSION = "15.18"
SERVER_VERSION_NUM = "150018"


class DataDirectoryLocked(Exception):
    """Another process holds this data directory."""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    """How a database keeps its log, snapshots and in-memory history."""
    segment_size: int = 64 << 20          # log segment files are rolled at this size
    snapshot_log_bytes: int = 64 << 20    # snapshot when the log grew by max(this, last snapshot's size) ...
    snapshot_events: int = 1_000_000      # ... or by this many events ...
    snapshot_interval: float = 60.0       # ... but at most once per this many seconds
    snapshots_kept: int = 2               # older snapshots are deleted (never log segments)
    history_window: int = 100_000         # transactions whose row history stays in memory
    checkpoint_spacing: int = 100_000     # older snapshots kept this many LSNs apart, for time travel (0: none)


class Database:
    def __init__(self, data_dir: Path, lock_fd: int, storage: SegmentedLog, snapshots: SnapshotStore,
                 state: DatabaseState, config: StorageConfig) -> None:
        self.data_dir = data_dir
        self._lock_fd = lock_fd
        self.log = storage
        self.snapshots = snapshots
        self.state = state
        self.storage_config = config
        self.locks = LockManager()
        self.serializable = SerializableTracker()
        self.transactions: dict[int, object] = {}      # txn_id -> open Transaction
        self.visible_lsn = state.lsn
        self.on_fatal: Callable[[BaseException], None] | None = None
        self.durable_listeners: set[Callable[[int], None]] = set()   # called with each new durable LSN
        self.failed: BaseException | None = None
        self.listeners: dict[str, set] = {}
        self.commits = 0
        self.parses = 0                             # statements parsed (plan cache misses)
        self.plans = 0                              # queries and writes planned
        self._pid_counter = 0
        self.sessions: dict[int, object] = {}
        self.shared_plans: dict = {}     # query plans sessions share (see Session._cached)
        self.settings: dict[str, str] = {}
        self.bootstrap_role = RoleDef("postgres", superuser=True, login=True, createdb=True, createrole=True)
        # password -> stored SCRAM verifier; the server installs it (engine never imports protocol)
        self.password_verifier: Callable[[str], str] | None = None
        self.query_memory_limit = 0         # bytes a statement's operators may hold (0: no limit; the server sets it)
        self.transaction_memory_limit = 0   # bytes a transaction's own writes may hold until COMMIT (0: no limit)
        self.advisory_locks: dict[object, tuple[int, int]] = {}   # key -> (backend pid, times taken)
        self._sequence_positions: dict[int, tuple[int, bool]] = {}
        self.past = PastReader(self)
        self._old_commits: dict[int, tuple[int, str]] = {}
        self.outbox = Outbox(self)
        self.checkpointer: Checkpointer
        self._background: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    def open(cls, data_dir: str | os.PathLike, config: StorageConfig = StorageConfig(), *,
             files: FileLayer | None = None, progress: RecoveryProgress | None = None) -> Database:
        """Lock, open and recover the data directory (blocking: run it in a thread to keep
        an event loop serving). Raises DataDirectoryLocked, LogCorruption (naming file and
        offset) or RecoveryError when the directory cannot be opened."""
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock_directory(path)
        try:
            storage = SegmentedLog.open(path / "log", segment_size=config.segment_size, files=files)
            try:
                snapshots = SnapshotStore(path / "snapshots", files=files)
                recovered = recover(storage, snapshots, history_window=config.history_window, progress=progress)
            except BaseException:
                storage.close_unstarted()
                raise
        except BaseException:
            os.close(lock_fd)
            raise
        db = cls(path, lock_fd, storage, snapshots, recovered.state, config)
        db.checkpointer = Checkpointer(db, recovered)
        return db

    async def start(self) -> None:
        self.log.on_durable = self._durable
        self.log.on_failure = self._failure
        await self.log.start()
        self._background = asyncio.create_task(self.checkpointer.run(), name="rewinddb-checkpointer")

    async def close(self) -> None:
        try:
            if self._background is not None:
                self._background.cancel()
                try:
                    await self._background
                except asyncio.CancelledError:
                    pass
                self._background = None
            await self.log.close()
        finally:
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    async def checkpoint(self) -> SnapshotInfo | None:
        """Snapshot the state as of now (CHECKPOINT, `rewinddb snapshot`); None if the
        newest snapshot is already as of the current LSN."""
        return await self.checkpointer.take()

    def oldest_read_lsn(self) -> int:
        """The oldest LSN an open transaction may still read at (the state's LSN if none)."""
        oldest = self.state.lsn
        for session in self.sessions.values():
            txn = getattr(session, "txn", None)
            if txn is not None:
                for lsn in (txn.statement_lsn, txn.snapshot_lsn):
                    if lsn is not None and lsn < oldest:
                        oldest = lsn
        return oldest

    def _durable(self, lsn: int) -> None:
        if lsn > self.visible_lsn:
            self.visible_lsn = lsn
        self.outbox.durable(lsn)
        for listener in list(self.durable_listeners):
            listener(lsn)

    def _failure(self, exc: BaseException) -> None:
        self.failed = exc
        log.critical("the log failed: %s; no further commits will be acknowledged", exc)
        if self.on_fatal is not None:
            self.on_fatal(exc)

    @property
    def bootstrap_role(self) -> RoleDef:
        """The superuser that exists before any CREATE ROLE (PostgreSQL's initdb user): not an
        event; a role of the same name in the catalog (ALTER ROLE on it) takes its place. The
        system catalogs list it too (with OID 10)."""
        return self._bootstrap_role

    @bootstrap_role.setter
    def bootstrap_role(self, role: RoleDef) -> None:
        self._bootstrap_role = role
        set_bootstrap_role(role)

    def roles(self, catalog: Catalog | None = None) -> dict[str, RoleDef]:
        """Every role as of `catalog` (default: the newest): the catalog's and the bootstrap superuser."""
        roles = (catalog or self.state.catalog).roles
        if self.bootstrap_role.name in roles:
            return roles
        return {self.bootstrap_role.name: self.bootstrap_role, **roles}

    def role(self, name: str, catalog: Catalog | None = None) -> RoleDef | None:
        found = (catalog or self.state.catalog).roles.get(name)
        if found is None and name == self.bootstrap_role.name:
            return self.bootstrap_role
        return found

    def next_backend_pid(self) -> int:
        self._pid_counter += 1
        return 10000 + self._pid_counter

    # ---------------------------------------------------------------- commits

    async def commit(self, txn, user: str, application_name: str, client_addr: str,
                     synchronous: bool = True) -> int | None:
        """Make a transaction's events durable and visible; returns its LSN (None if it wrote nothing)."""
        ssi = txn.ssi
        try:
            if ssi is not None:
                self.serializable.precommit(ssi)
            if not txn.events:
                if ssi is not None:
                    self.serializable.commit(ssi, self.state.lsn if ssi.wrote else ssi.snapshot_lsn)
                return None
            if self.failed is not None:
                raise SqlError("58030", "the log has failed; the server is shutting down")
            record = ev.Transaction(user, application_name, client_addr, txn.reason, txn.events)
            payload = ev.encode_transaction(record)
            now_us = max(time.time_ns() // 1000, self.state.commit_time_us)
            try:
                lsn = self.log.append(now_us, payload)
            except LogFailure as e:
                raise SqlError("58030", f"could not write to the log: {e}") from None
            self.state.apply(lsn, now_us, record)
            self.outbox.committed(lsn, record, txn.sender_pid)
            if ssi is not None:
                self.serializable.commit(ssi, lsn)
            self.commits += 1
            if synchronous:
                try:
                    await self.log.wait_durable(lsn)
                except LogFailure as e:
                    raise SqlError("58030", f"could not fsync the log: {e}") from None
            elif lsn > self.visible_lsn:
                self.visible_lsn = lsn
            return lsn
        finally:
            self._end(txn)

    def rollback(self, txn) -> None:
        self._end(txn)

    def _end(self, txn) -> None:
        """A transaction is over: its locks go, and SSI forgets what no one can conflict with."""
        self.locks.release_all(txn.txn_id)
        self.transactions.pop(txn.txn_id, None)
        ssi = txn.ssi
        if ssi is not None:
            if not ssi.committed:
                self.serializable.abort(ssi)
            self.serializable.prune(self.visible_lsn)

    def next_sequence_value(self, seq, txn) -> int:
        """nextval: hand out the next value at once (not transactional, as in PostgreSQL);
        the transaction records how far the sequence went, so it survives if it commits."""
        last, is_called = self.sequence_position(seq)
        value = last + seq.increment if is_called else last
        if (seq.increment > 0 and value > seq.max_value) or (seq.increment < 0 and value < seq.min_value):
            if not seq.cycle:
                raise SqlError("2200H", f'nextval: reached {"maximum" if seq.increment > 0 else "minimum"} value of sequence "{seq.name}" ({seq.max_value if seq.increment > 0 else seq.min_value})')
            value = seq.min_value if seq.increment > 0 else seq.max_value
        self._sequence_positions[seq.seq_id] = (value, True)
        txn.advance_sequence(seq.seq_id, value)
        return value

    def set_sequence_value(self, seq, value: int, is_called: bool, txn) -> None:
        """setval / ALTER SEQUENCE RESTART / TRUNCATE RESTART IDENTITY: put the sequence at
        `value` at once (not transactional either); the transaction records it."""
        self._sequence_positions[seq.seq_id] = (value, is_called)
        txn.events.append(ev.SequenceAdvanced(seq.seq_id, value, is_called, reset=True))

    def forget_sequences(self, seq_ids) -> None:
        """Sequences that are gone without an event (a session's temporary ones, at its end)."""
        for seq_id in seq_ids:
            self._sequence_positions.pop(seq_id, None)

    def sequence_position(self, seq) -> tuple[int, bool]:
        """(last value, whether nextval has handed it out) of a sequence, as pg_sequences shows it."""
        return self._sequence_positions.get(seq.seq_id) or self.state.sequences.get(seq.seq_id, (seq.start, False))

    # ---------------------------------------------------------------- reads

    def commit_info(self, lsn: int) -> tuple[int, str]:
        """(commit time in microseconds, user) of transaction `lsn`: from the state's index,
        or for LSNs before it (the state came from a snapshot) from the log, remembered."""
        txs = self.state.transactions
        if txs.covers(lsn):
            return txs.time_of(lsn), txs.user_of(lsn)
        found = self._old_commits.get(lsn)
        if found is None:
            for record in self.log.records(lsn, lsn):
                found = (record.commit_time_us, ev.decode_transaction(record.payload).user)
            if found is None:
                raise SqlError("XX000", f"transaction {lsn} is not in the log")
            if len(self._old_commits) >= 100_000:
                self._old_commits.clear()
            self._old_commits[lsn] = found
        return found

    def stop_listening(self, channel: str, session) -> None:
        """`session` no longer listens on `channel`; a channel nobody listens on is forgotten
        (so commits skip the notification outbox entirely when nobody listens at all)."""
        listening = self.listeners.get(channel)
        if listening is not None:
            listening.discard(session)
            if not listening:
                del self.listeners[channel]

    def lsn_at_time(self, commit_time_us: int) -> int:
        """The last LSN committed at or before `commit_time_us` (0 before the first)."""
        txs = self.state.transactions
        lsn = txs.lsn_at_time(commit_time_us)
        if lsn < txs.first_lsn and txs.first_lsn > 1:
            return self.log.lsn_at_time(commit_time_us)
        return lsn

    def resolve_read_point(self, point: ReadPoint, values: tuple, snapshot_lsn: int,
                           timezone: dt.tzinfo) -> tuple[int, int]:
        """The (low, high) LSNs a FOR SYSTEM_TIME clause reads, its bounds evaluated to `values`."""
        return points.resolve(point, values, snapshot_lsn, self.lsn_at_time, timezone)


def _lock_directory(path: Path) -> int:
    fd = os.open(path / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirectoryLocked(
            f"data directory {path} is in use by another rewinddb process (LOCK is held)") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
