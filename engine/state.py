"""The database state derived from the log, and `apply`, the only way it changes.

`DatabaseState.apply(lsn, commit_time_us, transaction)` folds one committed transaction
into the state: it checks that lsn is the previous one plus one, advances the catalog
(keeping every catalog version, so a read at a past LSN sees the schema of that moment),
and applies row events to the tables' versioned rows. It is deterministic and used both for
live commits and for replay at startup; an event that cannot be applied is a bug or a
damaged log and raises `ApplyError`, never a half-applied state visible to a reader.

For time travel the state also keeps, per LSN, the commit time and the committing user
(`TransactionIndex`: two compact arrays), so `FOR SYSTEM_TIME AS OF <timestamp>` finds its
LSN by binary search and history rows know when and by whom each version was written.

The catalog's history is also kept as the schema events that made it (`schema_changes`,
small), so a snapshot can carry it and a restarted server knows the schema at every LSN,
including those before its snapshot. Row history (the undo entries of `TableData`) is kept
from `history_floor` on: replay does not record it for LSNs older than the history window,
and `set_history_floor` drops it as the window moves on.

Indexes are kept up to date by `apply` once built. A state being rebuilt (recovery, a
snapshot being loaded, a past state for time travel) starts without them (`indexed=False`):
nothing reads it until it is complete, and building each index once over the final rows
(`build_indexes`) costs less than maintaining it through every event of the replay.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable
from operator import attrgetter

from engine import events as ev
from engine.catalog.changes import apply_event
from engine.catalog.model import Catalog
from engine.events import RowCodec, value_from_storage
from engine.txn.index import Search
from engine.txn.versions import TableData

_RowInserted, _RowUpdated, _RowDeleted = ev.RowInserted, ev.RowUpdated, ev.RowDeleted
_rowid_of, _values_of = attrgetter("rowid"), attrgetter("values")


def _one_table_inserts(events: list[ev.Event], table_id: int) -> bool:
    """Whether every event is a RowInserted into `table_id`."""
    return set(map(type, events)) == {_RowInserted} and set(map(attrgetter("table_id"), events)) == {table_id}
_NOT_SCHEMA = (ev.SequenceAdvanced, ev.TableTruncated, ev.Notified)


class ApplyError(Exception):
    """A record that does not fit the state: the log and the state disagree."""


class TransactionIndex:
    """Commit time (microseconds since the epoch, UTC) and user of every LSN from `first_lsn` on.

    Commit times never decrease, so a time maps to an LSN by binary search. Users are
    interned: `user_ids[i]` indexes `user_names`. `first_lsn` is above 1 only when the
    state was loaded from a snapshot that did not carry the earlier entries; callers then
    ask the log (which has a time index of its own) about earlier LSNs."""

    __slots__ = ("first_lsn", "times", "user_ids", "user_names", "_user_numbers")

    def __init__(self, first_lsn: int = 1) -> None:
        self.first_lsn = first_lsn
        self.times = array("q")
        self.user_ids = array("I")
        self.user_names: list[str] = []
        self._user_numbers: dict[str, int] = {}

    def add(self, commit_time_us: int, user: str) -> None:
        number = self._user_numbers.get(user)
        if number is None:
            number = self._user_numbers[user] = len(self.user_names)
            self.user_names.append(user)
        self.times.append(commit_time_us)
        self.user_ids.append(number)

    def covers(self, lsn: int) -> bool:
        return self.first_lsn <= lsn < self.first_lsn + len(self.times)

    def time_of(self, lsn: int) -> int:
        """The commit time of a covered LSN (see `covers`)."""
        return self.times[lsn - self.first_lsn]

    def user_of(self, lsn: int) -> str:
        """The user of a covered LSN (see `covers`)."""
        return self.user_names[self.user_ids[lsn - self.first_lsn]]

    def lsn_at_time(self, commit_time_us: int) -> int:
        """The last LSN committed at or before `commit_time_us` (first_lsn - 1 if none is known)."""
        return self.first_lsn - 1 + bisect_right(self.times, commit_time_us)


class DatabaseState:
    def __init__(self, *, indexed: bool = True) -> None:
        self.lsn = 0
        self.commit_time_us = 0
        self.catalog = Catalog()
        self._catalog_lsns: list[int] = [0]
        self._catalogs: list[Catalog] = [self.catalog]
        self.schema_changes: list[tuple[int, list[ev.Event]]] = []   # (lsn, its schema events)
        self.tables: dict[int, TableData] = {}
        self.codecs: dict[int, RowCodec] = {}
        self.sequences: dict[int, tuple[int, bool]] = {}   # seq_id -> (last value, is_called)
        self.transactions = TransactionIndex()
        self.history_floor = 0      # no undo entries are kept before this LSN
        self.events_applied = 0     # row and schema events applied by this process
        self.indexed = indexed      # False: the tables hold no indexes until `build_indexes`

    def catalog_at(self, lsn: int) -> Catalog:
        """The catalog as it was right after transaction `lsn`."""
        if lsn >= self.lsn:
            return self.catalog
        return self._catalogs[bisect_right(self._catalog_lsns, lsn) - 1]

    def catalogs_newest_first(self, lsn: int):
        """The catalogs in force at or before `lsn`, newest first."""
        for i in range(bisect_right(self._catalog_lsns, lsn) - 1, -1, -1):
            yield self._catalogs[i]

    def table_rows(self, table_id: int) -> int:
        """Rows in the table's newest state (the planner's estimate)."""
        data = self.tables.get(table_id)
        return len(data.rows) if data is not None else 0

    def index_distinct(self, table_id: int, index_id: int) -> int:
        """Distinct keys in the index's newest state (the planner's estimate)."""
        data = self.tables.get(table_id)
        index = data.indexes.get(index_id) if data is not None else None
        return index.distinct_keys() if index is not None else 0

    def index_share(self, table_id: int, index_id: int, search: Search) -> float | None:
        """The share of an ordered index's distinct keys a search visits (the planner's
        estimate for a range with constant bounds)."""
        data = self.tables.get(table_id)
        index = data.indexes.get(index_id) if data is not None else None
        if index is None or not index.ordered:
            return None
        try:
            return index.share(search)
        except TypeError:          # a bound the keys do not compare with
            return None

    def codec(self, table_id: int) -> RowCodec:
        return self.codecs[table_id]

    def apply(self, lsn: int, commit_time_us: int, txn: ev.Transaction) -> None:
        """Fold one committed transaction into the state (see the module docstring)."""
        self.apply_all(((lsn, commit_time_us, txn),))

    def apply_all(self, records: Iterable[tuple[int, int, ev.Transaction]]) -> None:
        """`apply` each (lsn, commit time, transaction) in turn: replay hands over many
        records in one call, which saves the per-call setup on the hot path."""
        tables, codecs, add_transaction = self.tables, self.codecs, self.transactions.add
        applied = self.events_applied
        try:
            for lsn, commit_time_us, txn in records:
                if lsn != self.lsn + 1:
                    raise ApplyError(f"record {lsn} does not follow {self.lsn}")
                events = txn.events
                if len(events) == 1 and type(event := events[0]) is _RowInserted:    # the commonest record
                    tables[event.table_id].insert(lsn, event.rowid, codecs[event.table_id].decode(event.values))
                else:
                    self._apply_events(lsn, events)
                self.lsn = lsn
                self.commit_time_us = commit_time_us
                add_transaction(commit_time_us, txn.user)
                applied += len(events)
        finally:
            self.events_applied = applied

    def _apply_events(self, lsn: int, events: list[ev.Event]) -> None:
        """The events of transaction `lsn`, in order."""
        tables, codecs = self.tables, self.codecs
        catalog = self.catalog
        schema_events: list[ev.Event] | None = None
        n = len(events)
        i = 0
        while i < n:
            event = events[i]
            i += 1
            t = type(event)
            if t is _RowInserted:
                table_id = event.table_id
                end = i
                if n - i > 1000 and _one_table_inserts(events[i - 1:], table_id):
                    end = n                # the rest is one bulk load (COPY): checked at C speed
                while end < n and type(events[end]) is _RowInserted and events[end].table_id == table_id:
                    end += 1
                if end == i:
                    tables[table_id].insert(lsn, event.rowid, codecs[table_id].decode(event.values))
                else:              # a run of inserts into one table (COPY, multi-row INSERT)
                    self._insert_run(lsn, events[i - 1:end])
                    i = end
            elif t is _RowUpdated:
                tables[event.table_id].update(lsn, event.rowid, codecs[event.table_id].decode(event.values))
            elif t is _RowDeleted:
                tables[event.table_id].delete(lsn, event.rowid)
            elif t in _NOT_SCHEMA:
                if t is ev.SequenceAdvanced:
                    self._advance_sequence(catalog, event)
                elif t is ev.TableTruncated:
                    tables[event.table_id].truncate(lsn)
            else:
                catalog = apply_event(catalog, event)
                self._apply_schema_data(lsn, catalog, event)
                if schema_events is None:
                    schema_events = []
                schema_events.append(event)
        if schema_events is not None:
            self.schema_changes.append((lsn, schema_events))
        if catalog is not self.catalog:
            self.catalog = catalog
            self._catalog_lsns.append(lsn)
            self._catalogs.append(catalog)

    def build_indexes(self) -> None:
        """Build every index of the newest catalog over the newest rows (a state made with
        `indexed=False`, now complete); `apply` keeps them up to date from here on."""
        if self.indexed:
            return
        for index in self.catalog.indexes.values():
            self.tables[index.table_id].add_index(index)
        self.indexed = True

    def restore_catalog_history(self, changes: list[tuple[int, list[ev.Event]]]) -> None:
        """Rebuild every catalog version from the schema events that made them (a snapshot
        carries them); leaves `catalog` at the last one. Row data is the caller's."""
        catalog = Catalog()
        lsns, catalogs = [0], [catalog]
        for lsn, events in changes:
            for event in events:
                catalog = apply_event(catalog, event)
            lsns.append(lsn)
            catalogs.append(catalog)
        self.catalog, self._catalog_lsns, self._catalogs = catalog, lsns, catalogs
        self.schema_changes = list(changes)

    def set_history_floor(self, lsn: int) -> None:
        """Keep no row history at or before `lsn` from now on (tables created later too);
        history already recorded after the previous floor is dropped up to `lsn`."""
        if lsn <= self.history_floor:
            return
        self.history_floor = lsn
        for data in self.tables.values():
            data.prune_history(lsn)

    def _insert_run(self, lsn: int, run: list[ev.RowInserted]) -> None:
        """RowInserted events for one table in a row, applied in bulk."""
        table_id = run[0].table_id
        codec = self.codecs[table_id]
        rows = list(map(tuple, map(_values_of, run))) if not codec.converts else None
        if rows is None or set(map(len, rows)) != {codec.width}:
            rows = list(map(codec.decode, map(_values_of, run)))
        self.tables[table_id].insert_many(lsn, list(map(_rowid_of, run)), rows)

    def _advance_sequence(self, catalog, event: ev.SequenceAdvanced) -> None:
        current = self.sequences.get(event.seq_id)
        sequence = catalog.sequences[event.seq_id]
        ascending = sequence.increment > 0
        if (event.reset or current is None or not current[1] or sequence.cycle
                or (event.value > current[0] if ascending else event.value < current[0])):
            self.sequences[event.seq_id] = (event.value, event.is_called)

    def _apply_schema_data(self, lsn: int, catalog: Catalog, event: ev.Event) -> None:
        """The row-storage side of a schema event (the catalog side is apply_event's)."""
        if isinstance(event, ev.TableCreated):
            tid = event.table.table_id
            data = self.tables[tid] = TableData(tid, lsn)
            data.history_floor = max(lsn, self.history_floor)
            self.codecs[tid] = RowCodec(event.table)
        elif isinstance(event, (ev.ColumnAdded, ev.ColumnAltered, ev.TableAltered, ev.ColumnDropped,
                                ev.ColumnRenamed, ev.TableRenamed)):
            tid = event.table_id if not isinstance(event, ev.TableAltered) else event.table.table_id
            table = catalog.tables[tid]
            data = self.tables[tid]
            if isinstance(event, ev.ColumnAdded):
                fill = value_from_storage(event.column.type, event.fill)
                data.reshape(lsn, table.width, event.column.slot, fill)
            elif isinstance(event, ev.ColumnAltered):
                data.reshape(lsn, table.width)
            self.codecs[tid] = RowCodec(table)
        elif isinstance(event, ev.IndexCreated):
            if self.indexed:
                self.tables[event.index.table_id].add_index(event.index)
        elif isinstance(event, ev.IndexDropped):
            for data in self.tables.values():
                data.indexes.pop(event.index_id, None)
        elif isinstance(event, ev.SequenceCreated):
            s = event.sequence
            self.sequences.setdefault(s.seq_id, (s.start, False))
        elif isinstance(event, ev.SequenceAltered):
            pass
        elif isinstance(event, (ev.TableDropped, ev.SequenceDropped, ev.ViewCreated, ev.ViewDropped,
                                ev.SchemaCreated, ev.SchemaDropped, ev.RoleCreated, ev.RoleAltered,
                                ev.RoleDropped)):
            pass   # rows of a dropped table stay readable at earlier LSNs
        else:
            raise ApplyError(f"unknown event {type(event).__name__}")
