"""Committed row changes as JSON-ready dicts: the change feed's one definition.

`record_changes(state, lsn, txn)` turns one committed, applied log record into one dict per
row change, in the order the transaction made them:

    {"lsn": 12, "table": "public.users", "op": "insert" | "update" | "delete",
     "key": {"id": 1}, "after": {"id": 1, "name": "Alice"}}

- `table` is schema-qualified; `key` is the row's primary key as {column: value}, or
  {"_rowid": n} (the row's internal id, stable for its life) for a table without one;
  `after` is the whole new row, null for a delete. Values are rendered by
  `engine.jsonvalue.json_renderer` (UTC for timestamptz).
- An UPDATE that changes the primary key is delivered as a delete of the old key followed by
  an insert of the new one, so that every change's `key` names the row it leaves behind
  (a consumer keeps `mirror[key] = after`, deleting on null).
- TRUNCATE is delivered as one delete per row it removed.
- Schema changes, sequence advances and NOTIFY carry no row change and produce nothing.

The HTTP change stream (`GET /v1/changes`, server/http.py) and `LISTEN rewind_changes` both
send exactly these dicts. `row_changes` is the step below them: one `RowChange` per row
event, an UPDATE staying one change, optionally with the before-image too (the audit
table `rewind.changes` shows it). Before-images come from the state's per-table undo history
(`TableData.changes_at`); a record older than the history kept in memory raises
`ChangesUnavailable` instead of guessing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine import events as ev
from engine.catalog.model import TableDef
from engine.jsonvalue import json_renderer, row_object
from engine.state import DatabaseState

Columns = list[tuple[str, int, Callable[[Any], Any]]]


class ChangesUnavailable(Exception):
    """The row history needed to describe a record is no longer held in memory."""

    def __init__(self, lsn: int) -> None:
        super().__init__(f"the row changes of transaction {lsn} are older than the history held in memory")
        self.lsn = lsn


class TableView:
    """How one table definition's rows render as JSON objects: its qualified name, key
    columns and all columns (also used by rewind.diff)."""

    __slots__ = ("name", "key", "columns")

    def __init__(self, table: TableDef) -> None:
        self.name = f"{table.schema}.{table.name}"
        self.columns: Columns = [(c.name, c.slot, json_renderer(c.type)) for c in table.columns]
        pk = table.primary_key
        slots = set(pk.columns) if pk is not None else set()
        self.key: Columns | None = [c for c in self.columns if c[1] in slots] if pk is not None else None

    def key_of(self, rowid: int, row: tuple) -> dict[str, Any]:
        return row_object(self.key, row) if self.key is not None else {"_rowid": rowid}


@dataclass(frozen=True, slots=True)
class RowChange:
    """One row event of a record: `key` names the row after it (before it, for a delete);
    `old_key` is the key before an update; `before` only when asked for."""
    table: str
    op: str
    key: dict[str, Any]
    old_key: dict[str, Any] | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def row_changes(state: DatabaseState, lsn: int, txn: ev.Transaction, with_before: bool = False) -> list[RowChange]:
    """One RowChange per row event of committed record `lsn` (already applied to `state`)."""
    views: dict[int, TableView] = {}
    pending: dict[int, list] = {}
    out: list[RowChange] = []
    for event in txn.events:
        if not isinstance(event, ev.ROW_EVENTS):
            continue
        tid = event.table_id
        view = views.get(tid)
        if view is None:
            view = views[tid] = TableView(_table_def(state, lsn, tid))
            pending[tid] = _entries(state, lsn, tid)
        entries = pending[tid]
        if isinstance(event, ev.TableTruncated):
            while entries and entries[-1][3] is None:
                _, rowid, before, _ = entries.pop()
                out.append(RowChange(view.name, "delete", view.key_of(rowid, before), None,
                                     row_object(view.columns, before) if with_before else None, None))
            continue
        if not entries:
            raise ChangesUnavailable(lsn)
        _, rowid, before, after = entries.pop()
        old = row_object(view.columns, before) if with_before and before is not None else None
        if after is None:
            out.append(RowChange(view.name, "delete", view.key_of(rowid, before), None, old, None))
        elif before is None:
            out.append(RowChange(view.name, "insert", view.key_of(rowid, after), None, None, row_object(view.columns, after)))
        else:
            out.append(RowChange(view.name, "update", view.key_of(rowid, after), view.key_of(rowid, before), old,
                                 row_object(view.columns, after)))
    return out


def record_changes(state: DatabaseState, lsn: int, txn: ev.Transaction) -> list[dict[str, Any]]:
    """The row changes of committed record `lsn` (already applied to `state`), as the feed sends them."""
    out: list[dict[str, Any]] = []
    for c in row_changes(state, lsn, txn):
        if c.op == "update" and c.key != c.old_key:
            out.append(_change(lsn, c.table, "delete", c.old_key, None))
            out.append(_change(lsn, c.table, "insert", c.key, c.after))
        else:
            out.append(_change(lsn, c.table, c.op, c.key, c.after))
    return out


def _change(lsn: int, table: str, op: str, key: dict[str, Any], after: dict[str, Any] | None) -> dict[str, Any]:
    return {"lsn": lsn, "table": table, "op": op, "key": key, "after": after}


def _table_def(state: DatabaseState, lsn: int, table_id: int) -> TableDef:
    """The table's definition after the record, or before it if the record dropped it."""
    table = state.catalog_at(lsn).tables.get(table_id) or state.catalog_at(lsn - 1).tables.get(table_id)
    if table is None:
        raise ChangesUnavailable(lsn)
    return table


def _entries(state: DatabaseState, lsn: int, table_id: int) -> list:
    """The table's undo entries of record `lsn`, reversed (consumed with pop())."""
    data = state.tables.get(table_id)
    if data is None or not data.has_history_at(lsn - 1):
        raise ChangesUnavailable(lsn)
    return data.changes_at(lsn)[::-1]
