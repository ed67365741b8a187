"""Reading tables in the past: a table as of one LSN, and every version in a range.

`PastReader` is the `TableReader` side of FOR SYSTEM_TIME (the transaction delegates every
read with a `ReadPoint` to it): `ctx.points[point.index]` holds the clause's resolved
(low, high) LSNs.

- AS OF (low == high == n): the rows visible right after transaction n (`TableData.rows_at`).
  Own uncommitted writes never show in the past.
- A range [low, high] (BETWEEN, FROM ... TO, ALL) yields one row per version that was
  visible in some state of the range — the versions alive at `low` and every version
  written in (low, high] — plus one row per deletion in (low, high], carrying the deleted
  row; each row ends with the system columns (plan.SYSTEM_COLUMNS): `_tx` (the LSN that
  wrote the version, or deleted the row), `_valid_from` / `_valid_to` (commit times of
  that LSN and of the next change of the row; NULL while current as of the statement's
  snapshot; equal for a deletion), `_op` ('insert', 'update', 'delete') and `_user`.

Rows are shaped to the width of the table definition the statement was bound against
(the catalog of that point): a version written before ADD COLUMN is padded with NULLs, a
newer, wider one is cut; slots are stable, so positions always agree.

Where the rows come from. The live state keeps each table's row history back to its
`history_floor` (the history window). Older points are served by `PastStates`, states
rebuilt from the log and cached:
- AS OF a point before the floor: the nearest usable snapshot at or before it (older
  snapshots are kept as checkpoints, `StorageConfig.checkpoint_spacing` apart) plus the
  records after it, up to the point. A later point close after a cached state is reached
  by replaying forward, so no such read replays more than a bounded stretch of log.
- A range needing history the live state no longer has: that one table's complete
  history, replayed from the first record (only its row events are applied).
A rebuilt state builds an index only when a search first uses it (`PastStates`).
Sessions build what a statement needs — the states and the indexes its plan searches at
them — in a worker thread before running it (`PastReader.prepare`), so a rebuild never
stalls other sessions; a read that still finds nothing cached (evicted meanwhile), or an
index not built, builds it in place.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from bisect import bisect_right
from typing import TYPE_CHECKING, Iterable

from engine import events as ev
from engine.catalog.model import TableDef
from engine.checkpoint import SnapshotContentError, load_state
from engine.errors import SqlError
from engine.exec.context import ExecContext
from engine.exec.plan import ReadPoint
from engine.rewind.points import PointPlan, from_micros
from engine.state import DatabaseState
from engine.storage.snapshot import SnapshotCorruption
from engine.txn.index import Search
from engine.txn.versions import TableData

if TYPE_CHECKING:
    from engine.database import Database

_OPS = ("insert", "update", "delete")
MAX_FORWARD = 10_000          # records a cached past state may be replayed forward to serve a read
IDLE_SECONDS = 300.0          # a rebuilt state unused this long is dropped (its memory returned)


class PastReader:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.rebuilt = PastStates(db)

    # ---------------------------------------------------------------- TableReader

    def rows(self, table: TableDef, point: ReadPoint, ctx: ExecContext) -> list[tuple]:
        low, high = ctx.points[point.index]
        if point.history:
            state, data = self._complete(table.table_id, ctx.snapshot_lsn)
            return [] if data is None else self._versions(state, data, table, low, high, ctx.snapshot_lsn)
        state, data = self._at(table.table_id, low)
        if data is None:
            return []
        rows = data.rows_at(low)
        if _needs_shaping(state, table):
            width = table.width
            return [_fit(r, width) for r in rows]
        return rows

    def items(self, table: TableDef, point: ReadPoint, ctx: ExecContext) -> list[tuple[int, tuple]]:
        if point.history:
            raise SqlError("0A000", "row identities of a history read are not available")
        low, _ = ctx.points[point.index]
        state, data = self._at(table.table_id, low)
        if data is None:
            return []
        items = data.items_at(low)
        if _needs_shaping(state, table):
            width = table.width
            return [(rid, _fit(r, width)) for rid, r in items]
        return items

    def lookup(self, table: TableDef, index_id: int, key: tuple, point: ReadPoint,
               ctx: ExecContext) -> list[tuple[int, tuple]]:
        low, high = ctx.points[point.index]
        slots = self._index_slots(index_id, high)
        if point.history:
            n = len(slots)
            return [(0, r) for r in self.rows(table, point, ctx) if tuple([r[s] for s in slots]) == key[:n]]
        state, data = self._at(table.table_id, low)
        if data is None:
            return []
        if self.rebuilt.has_index(state, data, index_id):
            found = data.lookup(index_id, key, low)
        else:
            found = [(rid, r) for rid, r in data.items_at(low) if tuple([r[s] for s in slots]) == key]
        if _needs_shaping(state, table):
            width = table.width
            return [(rid, _fit(r, width)) for rid, r in found]
        return found

    def scan(self, table: TableDef, index_id: int, search: Search, point: ReadPoint, ctx: ExecContext) -> tuple[Iterable[tuple[int, tuple]], list[tuple[int, tuple]]]:
        """An ordered index search as of the point (`TableData.scan`); a point whose state
        lacks the index offers every row as a candidate."""
        if point.history:
            return (), [(0, r) for r in self.rows(table, point, ctx)]
        low, _ = ctx.points[point.index]
        state, data = self._at(table.table_id, low)
        if data is None:
            return (), []
        if not self.rebuilt.has_index(state, data, index_id):
            exact, candidates = iter(()), data.items_at(low)
        else:
            exact, candidates = data.scan(index_id, search, low)
        if _needs_shaping(state, table):
            width = table.width
            return ((rid, _fit(r, width)) for rid, r in exact), [(rid, _fit(r, width)) for rid, r in candidates]
        return exact, candidates

    # ---------------------------------------------------------------- rebuilding ahead of a read

    async def prepare(self, plan: PointPlan, lsns: list[tuple[int, int]], search_path: tuple[str, ...],
                      snapshot_lsn: int) -> None:
        """Rebuild, in a worker thread, the past states a statement's points need and the
        live state no longer has, with the indexes its searches at those points use, so
        that running the statement finds them cached."""
        live = self.db.state
        rebuilt = self.rebuilt
        for point in plan.points:
            low, high = lsns[point.index]
            if point.history or low >= live.history_floor:
                continue
            index_ids = [index_id for at, index_id in plan.indexes if at == point.index]
            state = rebuilt.cached_at(low, high)
            if state is None:
                rebuilt.publish_at(await asyncio.to_thread(rebuilt.build_at, low, high, index_ids))
            elif _missing_indexes(state, index_ids):
                await asyncio.to_thread(rebuilt.add_indexes, state, index_ids)
        for t in plan.tables:
            if not t.point.history:
                continue
            found = t.catalog.relation(t.name, t.schema, search_path)
            data = live.tables.get(found[1]) if found is not None and found[0] == "table" else None
            if data is not None and not _complete(data) and rebuilt.cached_table(data.table_id, snapshot_lsn) is None:
                state = await asyncio.to_thread(rebuilt.build_table, data.table_id, snapshot_lsn)
                rebuilt.publish_table(data.table_id, state)

    # ---------------------------------------------------------------- internals

    def _at(self, table_id: int, lsn: int) -> tuple[DatabaseState, TableData | None]:
        """A state whose history reaches `lsn`, and the table's data in it."""
        state = self.db.state
        data = state.tables.get(table_id)
        if data is not None and not data.has_history_at(lsn):
            state = self.rebuilt.covering(lsn, lsn)
            data = state.tables.get(table_id)
        return state, data

    def _complete(self, table_id: int, upto: int) -> tuple[DatabaseState, TableData | None]:
        """A state holding the table's complete history up to `upto`, and the table's data."""
        state = self.db.state
        data = state.tables.get(table_id)
        if data is not None and not _complete(data):
            state = self.rebuilt.table_history(table_id, upto)
            data = state.tables.get(table_id)
        return state, data

    def _index_slots(self, index_id: int, lsn: int) -> tuple[int, ...]:
        state = self.db.state
        index = state.catalog_at(lsn).indexes.get(index_id) or state.catalog.indexes.get(index_id)
        if index is None:
            raise SqlError("XX000", f"index {index_id} is unknown at transaction {lsn}")
        return index.columns

    def _versions(self, state: DatabaseState, data: TableData, table: TableDef, low: int, high: int,
                  snapshot_lsn: int) -> list[tuple]:
        """Every version visible in some state of [low, high], and the deletions in (low, high]."""
        if low > high:
            return []
        lsns = data.undo_lsns
        undo = data.undo
        start = bisect_right(lsns, low)
        stop = bisect_right(lsns, high)
        # versions: [begin, end, row, op]; `open_` maps rowid -> the version still alive
        versions: list[list] = []
        open_: dict[int, list] = {}
        if low:
            alive = dict(data.items_at(low))
            # the version alive at `low` began at the row's last change at or before it
            i = start - 1
            while alive and i >= 0:
                lsn, rowid, before, after = undo[i]
                row = alive.pop(rowid, None)
                if row is not None:
                    v = [lsn, None, row, 1 if before is not None else 0]
                    versions.append(v)
                    open_[rowid] = v
                i -= 1
            if alive:
                raise SqlError("XX000", f'the history of "{table.name}" is incomplete before transaction {low}')
        for i in range(start, stop):
            lsn, rowid, before, after = undo[i]
            current = open_.pop(rowid, None)
            if current is not None:
                current[1] = lsn
            if after is not None:
                v = [lsn, None, after, 1 if before is not None else 0]
                versions.append(v)
                open_[rowid] = v
            else:
                versions.append([lsn, lsn, before, 2])
        # a version alive at `high` ended at the row's next change the snapshot sees
        limit = bisect_right(lsns, snapshot_lsn)
        i = stop
        while open_ and i < limit:
            lsn, rowid, _, _ = undo[i]
            current = open_.pop(rowid, None)
            if current is not None:
                current[1] = lsn
            i += 1
        commits: dict[int, tuple] = {}

        def commit(lsn: int) -> tuple:
            found = commits.get(lsn)
            if found is None:
                time_us, user = self._commit_info(state, lsn)
                found = commits[lsn] = (from_micros(time_us), user)
            return found

        width = table.width
        out = []
        for begin, end, row, op in versions:
            at, user = commit(begin)
            out.append(_fit(row, width) + (begin, at, None if end is None else commit(end)[0], _OPS[op], user))
        return out

    def _commit_info(self, state: DatabaseState, lsn: int) -> tuple[int, str]:
        txs = state.transactions
        if txs.covers(lsn):
            return txs.time_of(lsn), txs.user_of(lsn)
        return self.db.commit_info(lsn)


class PastStates:
    """States rebuilt from the log for reads older than the live state's history, cached
    (one of each kind: a state at a point, a table's complete history), and dropped after
    IDLE_SECONDS without use.

    A rebuilt state has no indexes at first (a full scan, the common first read, needs
    none; building a 1M-row primary key is a quarter of a rebuild): each is built on the
    first search that uses it — with the state, in the worker thread, when the statement's
    plan says so (`PointPlan.indexes`), else in place — and kept up to date by the forward
    replays after it. A history state (a table's complete history) is only ever scanned.

    `build_*` touch nothing shared (they may run in a worker thread) and `publish_*` puts
    their result in the cache. Only the event loop thread replays a cached state forward;
    an index may be added to a cached state from a worker thread (`add_indexes`): the two
    hold `_lock`, so an index is never built over rows a replay is changing, nor twice."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._at: DatabaseState | None = None
        self._table: tuple[int, DatabaseState] | None = None
        self._used = time.monotonic()
        self._lock = threading.Lock()

    def expire(self) -> None:
        """Drop the rebuilt states when none was used for IDLE_SECONDS (the checkpointer's
        background loop calls this every second), so their memory does not stay taken."""
        if (self._at is not None or self._table is not None) and time.monotonic() - self._used > IDLE_SECONDS:
            self._at = self._table = None

    # -- a state at a point (all tables): the nearest checkpoint + replay

    def covering(self, low: int, high: int) -> DatabaseState:
        state = self.cached_at(low, high)
        if state is None:
            state = self.build_at(low, high)
            self.publish_at(state)
        elif state.lsn < high:
            with self._lock:
                self._replay(state, high)
        return state

    def cached_at(self, low: int, high: int) -> DatabaseState | None:
        """The cached state that covers [low, high], possibly after a short forward replay."""
        state = self._at
        if state is not None and state.history_floor <= low and high - state.lsn <= MAX_FORWARD:
            self._used = time.monotonic()
            return state
        return None

    def build_at(self, low: int, high: int, index_ids: Iterable[int] = ()) -> DatabaseState:
        """The state at `high` whose history reaches back to `low`, with the indexes
        `index_ids` (those of them its catalog has)."""
        with _collector_paused():
            state = self._checkpoint_at_or_before(low)
            self._replay(state, high)
            _build_indexes(state, index_ids)
        return state

    def publish_at(self, state: DatabaseState) -> None:
        self._at = state
        self._used = time.monotonic()

    # -- one table's complete history: replayed from the first record

    def table_history(self, table_id: int, upto: int) -> DatabaseState:
        state = self.cached_table(table_id, upto)
        if state is None:
            state = self.build_table(table_id, upto)
            self.publish_table(table_id, state)
        elif state.lsn < upto:
            with self._lock:
                self._replay(state, upto, table_id)
        return state

    def cached_table(self, table_id: int, upto: int) -> DatabaseState | None:
        cached = self._table
        if cached is not None and cached[0] == table_id and upto - cached[1].lsn <= MAX_FORWARD:
            self._used = time.monotonic()
            return cached[1]
        return None

    def build_table(self, table_id: int, upto: int) -> DatabaseState:
        state = DatabaseState(indexed=False)
        with _collector_paused():
            self._replay(state, upto, table_id)
        return state

    def publish_table(self, table_id: int, state: DatabaseState) -> None:
        self._table = (table_id, state)
        self._used = time.monotonic()

    # -- indexes of a rebuilt state, built on first need

    def has_index(self, state: DatabaseState, data: TableData, index_id: int) -> bool:
        """Whether `data` (a table of `state`) can be searched through the index: when it
        holds it, or — a rebuilt state whose catalog has the index — once it is built, now
        (a reader that finds another building it waits for it)."""
        if index_id in data.indexes:
            return True
        if state.indexed:
            return False                # the live state: no such index (any more)
        index = state.catalog.indexes.get(index_id)
        if index is None or index.table_id != data.table_id:
            return False
        self.add_indexes(state, (index_id,))
        return True

    def add_indexes(self, state: DatabaseState, index_ids: Iterable[int]) -> None:
        """Build the indexes among `index_ids` that a cached state lacks (may run in a
        worker thread)."""
        with self._lock, _collector_paused():
            _build_indexes(state, index_ids)

    # -- internals

    def _checkpoint_at_or_before(self, lsn: int) -> DatabaseState:
        """The state of the newest usable snapshot at or before `lsn` (an empty state if
        none), without indexes yet."""
        db = self.db
        while lsn > 0:
            opened = db.snapshots.open_at_or_before(lsn)
            if opened is None:
                break
            info, chunks = opened
            try:
                state, chain = load_state(chunks)
            except (SnapshotCorruption, SnapshotContentError, OSError):
                lsn = info.lsn - 1          # damaged, or deleted while being read: an older one will do
                continue
            if state.lsn == info.lsn and db.log.chain_at(info.lsn) == chain:
                return state
            lsn = info.lsn - 1
        return DatabaseState(indexed=False)

    def _replay(self, state: DatabaseState, upto: int, table_id: int | None = None) -> None:
        """Apply the records after the state's LSN up to `upto`; with `table_id`, only that
        table's row events (schema events always: the catalog needs them)."""
        decode = ev.decode_transaction

        def records():
            for record in self.db.log.records(state.lsn + 1, upto):
                txn = decode(record.payload)
                if table_id is not None:
                    txn = ev.Transaction(txn.user, txn.application_name, txn.client_addr, txn.reason,
                                         [e for e in txn.events if not isinstance(e, ev.ROW_EVENTS) or e.table_id == table_id])
                yield record.lsn, record.commit_time_us, txn
        state.apply_all(records())


_pauses = 0
_resume_collector = False
_pauses_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while a state is rebuilt: millions of new row
    tuples, none of them garbage, would otherwise be scanned again and again (recovery
    does the same). Rebuilds in several threads share one pause."""
    global _pauses, _resume_collector
    with _pauses_lock:
        if _pauses == 0:
            _resume_collector = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _resume_collector:
                gc.enable()


def _missing_indexes(state: DatabaseState, index_ids: Iterable[int]) -> list[int]:
    """Those of `index_ids` that the state's catalog has and the state has not built."""
    indexes = state.catalog.indexes
    out = []
    for index_id in index_ids:
        index = indexes.get(index_id)
        data = state.tables.get(index.table_id) if index is not None else None
        if data is not None and index_id not in data.indexes:
            out.append(index_id)
    return out


def _build_indexes(state: DatabaseState, index_ids: Iterable[int]) -> None:
    """Build those of `index_ids` the state's catalog has over the state's newest rows
    (`TableData.add_index`); row events applied after keep them up to date."""
    for index_id in _missing_indexes(state, index_ids):
        index = state.catalog.indexes[index_id]
        state.tables[index.table_id].add_index(index)


def _complete(data: TableData) -> bool:
    """Whether a table's in-memory history goes back to its creation."""
    return data.history_floor == data.created_lsn


def _fit(row: tuple, width: int) -> tuple:
    n = len(row)
    if n == width:
        return row
    if n > width:
        return row[:width]
    return row + (None,) * (width - n)


def _needs_shaping(state: DatabaseState, table: TableDef) -> bool:
    """Whether rows read at a past point may be wider or narrower than `table` (the
    definition of that point): only when the table's width changed since."""
    codec = state.codecs.get(table.table_id)
    return codec is not None and codec.width != table.width
