"""One client transaction: its snapshot, its private writes and events, its locks.

Reads see the committed state at the statement's snapshot LSN (READ COMMITTED takes a new
one per statement; REPEATABLE READ and SERIALIZABLE keep the first) with the transaction's
own writes on top. Writes go into `writes` (table id -> rowid -> row, None for deleted) and
into `events`, the ordered list that becomes the log record at COMMIT. Nothing here touches
the shared state: `Database.commit` turns `events` into a record and `apply` makes it real.

Schema changes made inside the transaction are applied to a private copy of the catalog
(`catalog`), through the same `apply_event` the log replay uses. The session's temporary
tables (`temp.TempSpace`) are overlaid on the catalog it reads and their rows stand beside the
shared tables' (`_data`); their events are taken out of `events` at COMMIT (`Session._commit`).

The write set is held in memory until COMMIT; `written` (exec/memory.py's `WriteBudget`)
counts it against the server's `transaction_memory_limit`, row by row as rows are written
(a batch at a time for bulk inserts), so a transaction that writes too much fails with 53200
instead of growing the server without bound.

Locks (`locks.LockManager`) are taken through `lock`, so that a savepoint can give back the
ones taken after it: rolling back to a savepoint truncates the undo list of own writes,
`events` and the lock log, and restores the catalog.

Isolation: `begin_statement` picks the statement's snapshot. Writers lock each row they
change and then ask `changed_since_snapshot`: a row changed by a transaction that committed
after the snapshot makes READ COMMITTED re-check the newest version and REPEATABLE READ or
SERIALIZABLE fail with 40001. A SERIALIZABLE transaction also reports its reads and writes
to the database's `serializable.SerializableTracker` (`ssi`), which fails one transaction of
every dangerous structure.
"""
from __future__ import annotations

import datetime as dt
import itertools
from itertools import repeat
from typing import TYPE_CHECKING, Any, Iterator

from engine import events as ev
from engine.catalog.changes import apply_event
from engine.catalog.model import TEMP_ID_BASE, Catalog, IndexDef, TableDef
from engine.errors import SqlError
from engine.events import RowCodec
from engine.exec.context import ExecContext
from engine.exec.memory import WriteBudget
from engine.exec.plan import ReadPoint
from engine.txn.locks import EXCLUSIVE, NO_KEY_UPDATE, SHARE
from engine.txn.serializable import KeyRead, SerialTxn
from engine.txn.index import Search, exact
from engine.txn.temp import TempSpace
from engine.txn.versions import TableData

if TYPE_CHECKING:
    from engine.database import Database

READ_UNCOMMITTED = "read uncommitted"     # behaves as READ COMMITTED, as in PostgreSQL
READ_COMMITTED = "read committed"
REPEATABLE_READ = "repeatable read"
SERIALIZABLE = "serializable"

_MISSING = object()
_txn_ids = itertools.count(1)


class Savepoint:
    __slots__ = ("name", "n_events", "n_undo", "n_locks", "catalog", "written")

    def __init__(self, name: str, n_events: int, n_undo: int, n_locks: int, catalog: Catalog | None,
                 written: int) -> None:
        self.name = name
        self.n_events = n_events
        self.n_undo = n_undo
        self.n_locks = n_locks
        self.catalog = catalog
        self.written = written


class Transaction:
    def __init__(self, db: Database, isolation: str = READ_COMMITTED, read_only: bool = False) -> None:
        self.db = db
        self.txn_id = next(_txn_ids)
        self.isolation = isolation                 # the behaviour: read committed, repeatable read, serializable
        self.isolation_name = isolation            # what SHOW transaction_isolation says
        self.set_isolation(isolation)
        self.read_only = read_only
        self.snapshot_taken = False                # a statement ran (isolation can no longer change)
        self.snapshot_lsn: int | None = None       # fixed for RR/SERIALIZABLE after the first statement
        self.statement_lsn = db.visible_lsn
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self.writes: dict[int, dict[int, tuple | None]] = {}
        self.events: list[ev.Event] = []
        self.catalog: Catalog | None = None        # private catalog after own DDL
        self.savepoints: list[Savepoint] = []
        self._undo: list[tuple[int, int, Any]] = []
        self._codecs: dict[tuple[int, int], RowCodec] = {}
        self._local_rowids: dict[int, int] = {}    # tables created in this transaction
        self._unique_indexes: dict[int, tuple[Catalog, list[IndexDef]]] = {}
        self._own_keys: dict[int, tuple[int, tuple[int, ...], dict[tuple, set[int]]]] = {}
        # unique index id -> (table id, slots, key -> own rowids): built on first lookup, kept up to date
        self._lock_log: list[tuple[Any, int]] = []  # (lock name, mode held before), while savepoints exist
        self.ssi: SerialTxn | None = None          # SERIALIZABLE bookkeeping, from the first statement
        self.deferrable = False
        self.interrupted: SqlError | None = None   # cancel or statement_timeout of the running statement
        self.reason: str | None = None
        self.notifications: list[tuple[str, str]] = []
        self.written = WriteBudget(db.transaction_memory_limit)   # the write set's estimated bytes
        self.temp: TempSpace | None = None         # the session's temporary tables, once it made one
        self.temp_on_commit: dict[int, str] = {}   # ON COMMIT DELETE ROWS / DROP of tables made here
        db.transactions[self.txn_id] = self

    # ---------------------------------------------------------------- snapshots

    def set_isolation(self, name: str) -> None:
        self.isolation_name = name
        self.isolation = READ_COMMITTED if name == READ_UNCOMMITTED else name

    def begin_statement(self) -> None:
        self.snapshot_taken = True
        if self.isolation == READ_COMMITTED or self.snapshot_lsn is None:
            self.statement_lsn = self.db.visible_lsn
            if self.isolation != READ_COMMITTED:
                self.snapshot_lsn = self.statement_lsn
                if self.isolation == SERIALIZABLE:
                    self.ssi = self.db.serializable.begin(self.txn_id, self.snapshot_lsn, self.read_only)
        else:
            self.statement_lsn = self.snapshot_lsn

    @property
    def current_catalog(self) -> Catalog:
        """The catalog the next statement sees: own DDL, else the snapshot's."""
        if self.catalog is not None:
            return self.catalog
        lsn = self.snapshot_lsn if self.snapshot_lsn is not None else self.db.visible_lsn
        if self.temp is not None:
            return self.temp.overlay(self.db.state.catalog_at(lsn))
        return self.db.state.catalog_at(lsn)

    @property
    def has_writes(self) -> bool:
        return bool(self.events)

    # ---------------------------------------------------------------- reads (TableReader)

    def _data(self, table: TableDef) -> TableData | None:
        data = self.db.state.tables.get(table.table_id)
        if data is None and self.temp is not None:
            return self.temp.tables.get(table.table_id)
        return data

    def rows(self, table: TableDef, read_point: ReadPoint | None, ctx: ExecContext) -> list[tuple]:
        if read_point is not None:
            return self.db.past.rows(table, read_point, ctx)
        own = self.writes.get(table.table_id)
        if self.ssi is not None:
            self.db.serializable.read_table(self.ssi, table.table_id)
        data = self._data(table)
        if data is None:
            return self._widen(table, [r for r in (own or {}).values() if r is not None])
        return self._widen(table, data.rows_at(ctx.snapshot_lsn, own))

    def items(self, table: TableDef, read_point: ReadPoint | None, ctx: ExecContext) -> list[tuple[int, tuple]]:
        if read_point is not None:
            return self.db.past.items(table, read_point, ctx)
        own = self.writes.get(table.table_id)
        if self.ssi is not None:
            self.db.serializable.read_table(self.ssi, table.table_id)
        data = self._data(table)
        if data is None:
            items = [(rid, r) for rid, r in (own or {}).items() if r is not None]
        else:
            items = data.items_at(ctx.snapshot_lsn, own)
        if self._needs_widen(table):
            widen = self._widener(table)
            items = [(rid, widen(r)) for rid, r in items]
        return items

    def lookup(self, table: TableDef, index_id: int, key: tuple, read_point: ReadPoint | None,
               ctx: ExecContext) -> list[tuple[int, tuple]]:
        """The visible rows whose key on index `index_id` equals `key` (no NULL in it)."""
        if read_point is not None:
            return self.db.past.lookup(table, index_id, key, read_point, ctx)
        lsn = ctx.snapshot_lsn
        own = self.writes.get(table.table_id)
        data = self._data(table)
        index = data.indexes.get(index_id) if data is not None else None
        if index is None:
            slots = self.current_catalog.indexes[index_id].columns
            return [(rid, r) for rid, r in self.items(table, read_point, ctx) if tuple([r[s] for s in slots]) == key]
        if self.ssi is not None:
            if index.unique:
                self.db.serializable.read_key(self.ssi, table.table_id, index_id, key)
            else:
                self.db.serializable.read_table(self.ssi, table.table_id)
        found = data.lookup(index_id, key, lsn, own)
        if own:
            found.extend(self._own_with_key(table.table_id, index_id, index.slots, key))
        if self._needs_widen(table):
            widen = self._widener(table)
            found = [(rid, widen(r)) for rid, r in found]
        return found

    def scan(self, table: TableDef, index_id: int, search: Search, read_point: ReadPoint | None,
             ctx: ExecContext) -> tuple[Iterator[tuple[int, tuple]], list[tuple[int, tuple]]]:
        """An index search (`TableData.scan`), own writes among the candidates. The rows
        come lazily: the caller consumes them before it yields to the event loop."""
        if read_point is not None:
            return self.db.past.scan(table, index_id, search, read_point, ctx)
        own = self.writes.get(table.table_id)
        data = self._data(table)
        if self.ssi is not None:
            self.db.serializable.read_table(self.ssi, table.table_id)
        if data is None or index_id not in data.indexes:
            return iter(()), self.items(table, read_point, ctx)
        exact, candidates = data.scan(index_id, search, ctx.snapshot_lsn, own)
        if own:
            candidates.extend((rid, r) for rid, r in own.items() if r is not None)
        if self._needs_widen(table):
            width = table.width
            exact = ((rid, r + (None,) * (width - len(r))) for rid, r in exact)
            candidates = [(rid, r + (None,) * (width - len(r))) for rid, r in candidates]
        return exact, candidates

    def _needs_widen(self, table: TableDef) -> bool:
        """Whether rows may be narrower than the table: only after this transaction's own DDL."""
        return self.catalog is not None

    def _widener(self, table: TableDef):
        """Pads a row written before this transaction added columns: with the added column's
        fill value (ADD COLUMN ... DEFAULT), as applying ColumnAdded will at commit."""
        width = table.width
        fills: dict[int, Any] = {}
        for event in self.events:
            if type(event) is ev.ColumnAdded and event.table_id == table.table_id and event.fill is not None:
                fills[event.column.slot] = ev.value_from_storage(event.column.type, event.fill)

        def widen(r: tuple) -> tuple:
            return r if len(r) >= width else r + tuple(fills.get(s) for s in range(len(r), width))
        return widen

    def _widen(self, table: TableDef, rows: list[tuple]) -> list[tuple]:
        if not self._needs_widen(table):
            return rows
        widen = self._widener(table)
        return [widen(r) for r in rows]

    # ---------------------------------------------------------------- writes

    def check_writable(self, what: str = "statement", table: TableDef | None = None) -> None:
        """25006 in a read-only transaction, unless the write is to `table`, a temporary table
        (PostgreSQL lets read-only transactions write those)."""
        if self.read_only and (table is None or table.table_id < TEMP_ID_BASE):
            from engine.errors import read_only_transaction
            raise read_only_transaction(what)

    def _codec(self, table: TableDef) -> RowCodec:
        """The row encoder for this shape of the table: the state's own when the transaction
        sees the committed shape (the common case: no compiling per transaction)."""
        state = self.db.state
        if state.catalog.tables.get(table.table_id) is table:
            return state.codec(table.table_id)
        key = (table.table_id, id(table))
        codec = self._codecs.get(key)
        if codec is None:
            codec = self._codecs[key] = RowCodec(table)
        return codec

    def _own(self, table_id: int) -> dict[int, tuple | None]:
        own = self.writes.get(table_id)
        if own is None:
            own = self.writes[table_id] = {}
        return own

    def _remember(self, table_id: int, rowid: int, new: tuple | None) -> None:
        """Before own write `new` to a row: note what to restore on a savepoint rollback."""
        own = self.writes.get(table_id)
        previous = own.get(rowid, _MISSING) if own is not None else _MISSING
        self._undo.append((table_id, rowid, previous))
        if self._own_keys:
            self._track_own_keys(table_id, rowid, None if previous is _MISSING else previous, new)

    def allocate_rowid(self, table: TableDef, count: int = 1) -> int:
        """A fresh rowid (the first of `count` consecutive ones)."""
        data = self._data(table)
        if data is None:
            n = self._local_rowids.get(table.table_id, 1)
            self._local_rowids[table.table_id] = n + count
            return n
        rowid = data.next_rowid
        data.next_rowid = rowid + count
        return rowid

    def latest(self, table: TableDef, rowid: int) -> tuple | None:
        """The newest version of a row: own write, else the newest committed one."""
        own = self.writes.get(table.table_id)
        if own is not None and rowid in own:
            row = own[rowid]
        else:
            data = self._data(table)
            row = data.rows.get(rowid) if data is not None else None
        if row is not None and len(row) < table.width:
            row = self._widener(table)(row)
        return row

    def owns(self, table: TableDef, rowid: int) -> bool:
        own = self.writes.get(table.table_id)
        return own is not None and rowid in own

    def changed_since_snapshot(self, table: TableDef, rowid: int) -> bool:
        """Whether a transaction that committed after this statement's snapshot changed the row."""
        data = self._data(table)
        return data is not None and data.changed_after(rowid, self.statement_lsn)

    # ---------------------------------------------------------------- locks

    def interrupt(self, error: SqlError) -> None:
        """Fail the running statement's lock wait, now or when it starts one."""
        self.interrupted = error
        self.db.locks.interrupt(self.txn_id, error)

    async def lock(self, name: Any, mode: int = EXCLUSIVE, *, nowait: bool = False,
                   timeout: float | None = None, what: str = "lock") -> None:
        """Take a lock until the end of the transaction (or a rollback to an earlier savepoint)."""
        if self.interrupted is not None:
            raise self.interrupted
        locks = self.db.locks
        before = locks.mode_held(self.txn_id, name) if self.savepoints else 0
        await locks.acquire(self.txn_id, name, mode, nowait=nowait, timeout=timeout, what=what)
        if self.savepoints and before < mode:
            self._lock_log.append((name, before))

    async def lock_row(self, table: TableDef, rowid: int, *, mode: int = EXCLUSIVE, nowait: bool = False,
                       skip_locked: bool = False, timeout: float | None = None) -> bool:
        """Lock a committed row; False only with skip_locked when someone else holds it."""
        name = ("row", table.table_id, rowid)
        if not self.savepoints and self.interrupted is None and self.db.locks.try_acquire(self.txn_id, name, mode):
            return True
        if skip_locked:
            before = self.db.locks.mode_held(self.txn_id, name) if self.savepoints else 0
            if not self.db.locks.try_acquire(self.txn_id, name, mode):
                return False
            if self.savepoints and before < mode:
                self._lock_log.append((name, before))
            return True
        await self.lock(name, mode, nowait=nowait, timeout=timeout,
                        what=f'lock on row in relation "{table.name}"')
        return True

    async def wait_for_writer(self, table: TableDef, rowid: int, timeout: float | None) -> bool:
        """If another transaction is changing the row, wait until it ends; True if it waited."""
        name = ("row", table.table_id, rowid)
        locks = self.db.locks
        writers = [t for t, mode in locks.holders(name).items()
                   if t != self.txn_id and mode >= NO_KEY_UPDATE
                   and (other := self.db.transactions.get(t)) is not None and other.owns(table, rowid)]
        if not writers:
            return False
        before = locks.mode_held(self.txn_id, name)
        await locks.acquire(self.txn_id, name, SHARE, timeout=timeout)
        locks.restore(self.txn_id, name, before)
        return True

    # ---------------------------------------------------------------- writes

    async def check_unique(self, table: TableDef, row: tuple, rowid: int, old: tuple | None,
                           timeout: float | None = None) -> None:
        """Raise 23505 if `row` would duplicate a unique key of another visible or committed row.

        Two inserters of one key serialize on a key lock; a row that holds the key but is being
        changed by another transaction is waited for, then looked at again (as PostgreSQL does)."""
        if self.ssi is not None:
            self._ssi_write(table, old, row)
        for index in self.unique_indexes(table):
            key = tuple([row[s] for s in index.columns])
            if None in key:
                continue
            if old is not None and tuple([old[s] for s in index.columns]) == key:
                continue
            await self.lock(("key", index.index_id, key), EXCLUSIVE, timeout=timeout)
            while True:
                others = [rid for rid, _ in self._rows_with_key(table, index, key) if rid != rowid]
                if not others:
                    break
                if self.owns(table, others[0]) or not await self.wait_for_writer(table, others[0], timeout):
                    if self.ssi is not None:       # reading the other row may show a serialization failure
                        self.db.serializable.read_key(self.ssi, table.table_id, index.index_id, key)
                    raise _unique_violation(table, index, key)

    async def check_unique_many(self, table: TableDef, rows: list[tuple], timeout: float | None = None) -> None:
        """check_unique for many new rows at once (COPY FROM): each unique key is checked
        against the batch itself, this transaction's writes and the committed rows, in one
        pass each instead of one lookup per row."""
        own = self.writes.get(table.table_id) or {}
        data = self._data(table)
        locks = self.db.locks
        for index in self.current_catalog.indexes_of(table.table_id):
            if not index.unique:
                continue
            slots = index.columns
            keys: set[tuple] = set()
            for row in rows:
                key = tuple([row[s] for s in slots])
                if None in key:
                    continue
                if key in keys:
                    raise _unique_violation(table, index, key)
                keys.add(key)
            for key in keys:
                name = ("key", index.index_id, key)
                if self.savepoints or not locks.try_acquire(self.txn_id, name, EXCLUSIVE):
                    await self.lock(name, EXCLUSIVE, timeout=timeout)
            for row in own.values():
                if row is not None and (key := tuple([row[s] for s in slots])) in keys:
                    raise _unique_violation(table, index, key)
            if data is not None and index.index_id in data.indexes:
                built = data.indexes[index.index_id]
                for key in keys:
                    for rowid in built.rowids(built.normalize(key)):
                        if rowid not in own:
                            raise _unique_violation(table, index, key)
            elif data is not None:
                for rowid, row in data.items_at(self.db.state.lsn, own):
                    if (key := tuple([row[s] for s in slots])) in keys:
                        raise _unique_violation(table, index, key)

    def _rows_with_key(self, table: TableDef, index: IndexDef, key: tuple) -> list[tuple[int, tuple]]:
        own = self.writes.get(table.table_id)
        data = self._data(table)
        if data is None:
            return [(rid, r) for rid, r in (own or {}).items()
                    if r is not None and tuple([r[s] for s in index.columns]) == key]
        if index.index_id in data.indexes:
            found = data.lookup(index.index_id, key, self.db.state.lsn, own)
            if own:
                found.extend(self._own_with_key(table.table_id, index.index_id, index.columns, key))
            return found
        rows = data.items_at(self.db.state.lsn, own)
        return [(rid, r) for rid, r in rows if tuple([r[s] for s in index.columns]) == key]

    def _own_with_key(self, table_id: int, index_id: int, slots: tuple[int, ...], key: tuple) -> list[tuple[int, tuple]]:
        """This transaction's own live rows whose unique key `index_id` equals `key`."""
        own = self.writes[table_id]
        entry = self._own_keys.get(index_id)
        if entry is None:
            keys: dict[tuple, set[int]] = {}
            for rid, row in own.items():
                if row is not None:
                    keys.setdefault(exact(tuple([row[s] for s in slots])), set()).add(rid)
            entry = self._own_keys[index_id] = (table_id, slots, keys)
        return [(rid, own[rid]) for rid in entry[2].get(exact(key), ())]

    def _track_own_keys(self, table_id: int, rowid: int, old: tuple | None, new: tuple | None) -> None:
        for tid, slots, keys in self._own_keys.values():
            if tid != table_id:
                continue
            if old is not None:
                rowids = keys.get(exact(tuple([old[s] for s in slots])))
                if rowids is not None:
                    rowids.discard(rowid)
            if new is not None:
                keys.setdefault(exact(tuple([new[s] for s in slots])), set()).add(rowid)

    def unique_indexes(self, table: TableDef) -> list[IndexDef]:
        """The table's unique indexes in the catalog this transaction sees (cached per catalog)."""
        catalog = self.current_catalog
        cached = self._unique_indexes.get(table.table_id)
        if cached is None or cached[0] is not catalog:
            cached = self._unique_indexes[table.table_id] = (
                catalog, [i for i in catalog.indexes_of(table.table_id) if i.unique])
        return cached[1]

    def key_changed(self, table: TableDef, old: tuple, new: tuple) -> bool:
        """Whether an update changes a unique key (it then locks FOR UPDATE, else FOR NO KEY UPDATE)."""
        for index in self.unique_indexes(table):
            if any(old[s] != new[s] for s in index.columns):
                return True
        return False

    def _ssi_write(self, table: TableDef, old: tuple | None, new: tuple | None) -> None:
        keys: list[KeyRead] = []
        for index in self.unique_indexes(table):
            for row in (old, new):
                if row is not None:
                    keys.append((index.index_id, tuple([row[s] for s in index.columns])))
        self.db.serializable.wrote(self.ssi, table.table_id, keys)

    def _committed_row(self, table: TableDef, rowid: int) -> tuple | None:
        data = self._data(table)
        return data.rows.get(rowid) if data is not None else None

    def insert(self, table: TableDef, rowid: int, row: tuple) -> None:
        if self.ssi is not None:
            self._ssi_write(table, None, row)
        self.written.charge_row(table, row)
        self._remember(table.table_id, rowid, row)
        self._own(table.table_id)[rowid] = row
        self.events.append(ev.RowInserted(table.table_id, rowid, self._codec(table).encode(row)))

    def insert_many(self, table: TableDef, rows: list[tuple]) -> None:
        """Insert new rows in bulk (COPY FROM): fresh rowids, one RowInserted event each."""
        if not rows:
            return
        table_id = table.table_id
        self.written.charge_rows(table, rows)
        if self.ssi is not None:
            for row in rows:
                self._ssi_write(table, None, row)
        first = self.allocate_rowid(table, len(rows))
        rowids = range(first, first + len(rows))
        self._own(table_id).update(zip(rowids, rows))
        if self.savepoints:            # only a rollback to a savepoint reads undo entries
            self._undo.extend(zip(repeat(table_id), rowids, repeat(_MISSING)))
        for tid, slots, keys in self._own_keys.values():
            if tid == table_id:
                for rowid, row in zip(rowids, rows):
                    keys.setdefault(tuple([row[s] for s in slots]), set()).add(rowid)
        codec = self._codec(table)
        values = map(codec.encode, rows) if codec.converts else rows
        self.events.extend(map(ev.RowInserted, repeat(table_id), rowids, values))

    def update(self, table: TableDef, rowid: int, row: tuple) -> None:
        if self.ssi is not None:
            self._ssi_write(table, self._committed_row(table, rowid), row)
        self.written.charge_row(table, row)
        self._remember(table.table_id, rowid, row)
        self._own(table.table_id)[rowid] = row
        self.events.append(ev.RowUpdated(table.table_id, rowid, self._codec(table).encode(row)))

    def delete(self, table: TableDef, rowid: int) -> None:
        if self.ssi is not None:
            self._ssi_write(table, self._committed_row(table, rowid), None)
        self.written.charge_deleted()
        self._remember(table.table_id, rowid, None)
        self._own(table.table_id)[rowid] = None
        self.events.append(ev.RowDeleted(table.table_id, rowid))

    def truncate(self, table: TableDef, ctx: ExecContext) -> None:
        """TRUNCATE: every row this transaction sees is gone; one TableTruncated event stands for
        them all in the log (applying it empties the table)."""
        own = self._own(table.table_id)
        items = self.items(table, None, ctx)
        self.written.charge_deleted(len(items))
        for rowid, _ in items:
            if self.ssi is not None:
                self._ssi_write(table, self._committed_row(table, rowid), None)
            self._remember(table.table_id, rowid, None)
            own[rowid] = None
        self.events.append(ev.TableTruncated(table.table_id))

    def advance_sequence(self, seq_id: int, value: int) -> None:
        self.events.append(ev.SequenceAdvanced(seq_id, value))

    def add_event(self, event: ev.Event) -> None:
        """A schema or other non-row event: applied to the private catalog at once."""
        catalog = apply_event(self.current_catalog, event)
        if catalog is not self.current_catalog or self.catalog is not None:
            self.catalog = catalog
        self.events.append(event)

    # ---------------------------------------------------------------- savepoints

    def savepoint(self, name: str) -> None:
        self.savepoints.append(Savepoint(name, len(self.events), len(self._undo), len(self._lock_log), self.catalog,
                                         self.written.used))

    def _find_savepoint(self, name: str) -> int:
        for i in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[i].name == name:
                return i
        raise SqlError("3B001", f'savepoint "{name}" does not exist')

    def rollback_to(self, name: str) -> None:
        """Undo everything since the savepoint (which stays, as in PostgreSQL), locks included."""
        i = self._find_savepoint(name)
        sp = self.savepoints[i]
        del self.savepoints[i + 1:]
        while len(self._undo) > sp.n_undo:
            table_id, rowid, previous = self._undo.pop()
            own = self.writes[table_id]
            if previous is _MISSING:
                own.pop(rowid, None)
            else:
                own[rowid] = previous
        del self.events[sp.n_events:]
        self._own_keys.clear()
        while len(self._lock_log) > sp.n_locks:
            lock_name, mode = self._lock_log.pop()
            self.db.locks.restore(self.txn_id, lock_name, mode)
        self.catalog = sp.catalog
        self.written.used = sp.written

    def release(self, name: str) -> None:
        i = self._find_savepoint(name)
        del self.savepoints[i:]
        if not self.savepoints:
            self._lock_log.clear()


def _unique_violation(table: TableDef, index: IndexDef, key: tuple) -> SqlError:
    names = ", ".join(table.column_by_slot(s).name for s in index.columns)
    values = ", ".join("null" if v is None else str(v) for v in key)
    name = index.constraint or index.name
    return SqlError("23505", f'duplicate key value violates unique constraint "{name}"',
                    detail=f"Key ({names})=({values}) already exists.", table=table.name, constraint=name)
