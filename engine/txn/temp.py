"""A session's temporary tables: a private catalog overlay and private rows, never logged.

A temporary table belongs to one session. Neither its definition nor its rows go into the
log: they live in the session's `TempSpace` — a `Catalog` holding only the session's
temporary objects (schema `pg_temp_N`), and one `TableData` per table — and vanish when
the session ends (so a restarted server has none).

Data flow. DDL gives temporary objects ids from `TEMP_ID_BASE` on (process-wide, so no two
sessions' objects share an id: row and key locks are named by id), and the transaction
records their events like any others (`Transaction.events`, its private catalog, its own
writes), so reads, savepoints and ROLLBACK need nothing new. At COMMIT the session takes
the events of temporary objects out of the transaction (`split`) before the rest becomes
the log record, and `commit` applies them here, through the same `apply_event` the log
replay uses for the catalog; a transaction that only touched temporary tables appends no
record at all. Then the ON COMMIT actions run: DELETE ROWS empties, DROP drops.

Reads: `overlay(catalog)` is the shared catalog with the temporary objects added (cached
while neither side changes, so plans cached against it stay valid); the schema is searched
before every other (Session.search_path), so a temporary table shadows a permanent one of
the same name, and `pg_temp` names it too (Catalog.relation). Temporary rows are applied
at LSN 0 with no undo history: only their own session reads them, always at the newest
version (TableData serves any snapshot LSN >= 0 from `rows`), and they have no past:
FOR SYSTEM_TIME and rewind.diff on them answer 0A000 (`no_history`).
"""
from __future__ import annotations

import itertools

from engine import events as ev
from engine.catalog.changes import apply_event
from engine.catalog.model import TEMP_ID_BASE, Catalog
from engine.errors import SqlError
from engine.events import RowCodec, value_from_storage
from engine.txn.versions import TableData

TEMP_SCHEMA_PREFIX = "pg_temp_"
_NO_HISTORY = 1                     # a history floor above LSN 0: applying at 0 keeps no undo entries
_temp_ids = itertools.count(TEMP_ID_BASE)


def next_temp_id() -> int:
    return next(_temp_ids)


def is_temp_schema(schema: str) -> bool:
    return schema.startswith(TEMP_SCHEMA_PREFIX)


def no_history(name: str, what: str) -> SqlError:
    """The error for reading the past of a temporary table (it was never logged)."""
    return SqlError("0A000", f'{what} is not supported for temporary table "{name}"',
                    detail="Temporary tables are not in the log, so they have no history.")


_ROW_EVENTS = (ev.RowInserted, ev.RowUpdated, ev.RowDeleted)


def _object_id(event: ev.Event) -> int | None:
    """The id of the table, index, sequence or view an event is about (None: none of those)."""
    if type(event) in _ROW_EVENTS:
        return event.table_id
    for name in ("table_id", "index_id", "seq_id", "view_id"):
        oid = getattr(event, name, None)
        if oid is not None:
            return oid
    for name in ("table", "index", "sequence", "view"):
        definition = getattr(event, name, None)
        if definition is not None:
            return getattr(definition, name + "_id" if name != "sequence" else "seq_id")
    return None


def is_temp_event(event: ev.Event) -> bool:
    oid = _object_id(event)
    return oid is not None and oid >= TEMP_ID_BASE


class TempSpace:
    """One session's temporary objects (see the module docstring)."""

    __slots__ = ("schema", "catalog", "tables", "codecs", "on_commit", "_merged")

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.catalog = Catalog(schemas=(schema,))
        self.tables: dict[int, TableData] = {}
        self.codecs: dict[int, RowCodec] = {}
        self.on_commit: dict[int, str] = {}          # table id -> "delete" (DELETE ROWS) or "drop"
        self._merged: tuple[Catalog | None, Catalog | None, Catalog | None] = (None, None, None)

    def overlay(self, shared: Catalog) -> Catalog:
        """`shared` with this session's temporary objects and schema added."""
        base, temp, merged = self._merged
        if base is shared and temp is self.catalog:
            return merged
        t = self.catalog
        merged = Catalog({**shared.tables, **t.tables}, {**shared.indexes, **t.indexes},
                         {**shared.sequences, **t.sequences}, shared.views, shared.schemas + (self.schema,),
                         shared.roles, shared.next_id)
        self._merged = (shared, t, merged)
        return merged

    def split(self, events: list[ev.Event]) -> tuple[list[ev.Event], list[ev.Event]]:
        """(the events for the log, the events of temporary objects), each in order."""
        shared: list[ev.Event] = []
        local: list[ev.Event] = []
        for event in events:
            (local if is_temp_event(event) else shared).append(event)
        return shared, local

    def commit(self, events: list[ev.Event], on_commit: dict[int, str]) -> None:
        """Apply a committed transaction's events of temporary objects, then the ON COMMIT actions."""
        for event in events:
            self._apply(event)
        for table_id, action in on_commit.items():
            if table_id in self.catalog.tables:
                self.on_commit[table_id] = action
        for table_id, action in list(self.on_commit.items()):
            if action == "drop":
                self._apply(ev.TableDropped(table_id))
            elif self.tables[table_id].rows:
                self.tables[table_id].truncate(0)

    def _apply(self, event: ev.Event) -> None:
        self.catalog = catalog = apply_event(self.catalog, event)
        t = type(event)
        if t is ev.RowInserted:
            self.tables[event.table_id].insert(0, event.rowid, self.codecs[event.table_id].decode(event.values))
        elif t is ev.RowUpdated:
            self.tables[event.table_id].update(0, event.rowid, self.codecs[event.table_id].decode(event.values))
        elif t is ev.RowDeleted:
            self.tables[event.table_id].delete(0, event.rowid)
        elif t is ev.TableTruncated:
            self.tables[event.table_id].truncate(0)
        elif t is ev.TableCreated:
            tid = event.table.table_id
            data = self.tables[tid] = TableData(tid, 0)
            data.history_floor = _NO_HISTORY
            self.codecs[tid] = RowCodec(event.table)
        elif t is ev.TableDropped:
            self.tables.pop(event.table_id, None)
            self.codecs.pop(event.table_id, None)
            self.on_commit.pop(event.table_id, None)
        elif t in (ev.ColumnAdded, ev.ColumnAltered, ev.ColumnDropped, ev.ColumnRenamed, ev.TableRenamed,
                   ev.TableAltered):
            tid = event.table_id if t is not ev.TableAltered else event.table.table_id
            table = catalog.tables[tid]
            if t is ev.ColumnAdded:
                self.tables[tid].reshape(0, table.width, event.column.slot,
                                         value_from_storage(event.column.type, event.fill))
            elif t is ev.ColumnAltered:
                self.tables[tid].reshape(0, table.width)
            self.codecs[tid] = RowCodec(table)
        elif t is ev.IndexCreated:
            self.tables[event.index.table_id].add_index(event.index)
        elif t is ev.IndexDropped:
            for data in self.tables.values():
                data.indexes.pop(event.index_id, None)
