"""The `rewind` system schema: the log as tables and functions SQL can query.

    rewind.transactions      one row per committed transaction (lsn, committed_at, user_name,
                             application_name, client_addr, reason, events)
    rewind.changes           one row per row event (lsn, committed_at, user_name, table_name,
                             op, key, before, after), the rows as jsonb
    rewind.diff(table, from, to)      the rows added, removed and changed between two points
                             (change, key, before, after), rows matched by primary key
    rewind.log_digest()      (lsn, digest): the hash-chain value after the newest transaction
    rewind.verify_digest(lsn, digest)  whether the log, recomputed from its first record,
                             still has that hash-chain value after `lsn`

Rows come from the log itself (`Log.records`, decoded with `events.decode_transaction`),
never from a copy, so they are exactly what is stored and hash-chained; before-images and
diffs come from the tables' in-memory version history (`engine.changes`,
`TableData.get_at`). Only the records the statement's snapshot sees are read. A WHERE clause on `lsn` or `committed_at`
narrows the LSN range before anything is read (`SystemTable.bounded`, planned by the
planner as a narrower producer under the same Filter): the log finds an LSN by its sparse
index and the state maps a time to an LSN by binary search, so `WHERE lsn > 1000` or
`WHERE committed_at > now() - interval '1 hour'` read only those records.

Data flow: planner (PlanEnv.virtual_table -> VirtualScan) -> producer(ctx) -> Database.log.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from engine import events as ev
from engine.catalog.model import TEMP_ID_BASE, Catalog, TableDef
from engine.catalog.system import system_catalog
from engine.changes import ChangesUnavailable, TableView, row_changes
from engine.errors import SqlError, undefined_function
from engine.exec import functions as F
from engine.exec.casts import cast_function
from engine.exec.compiler import CodeGen
from engine.exec.context import ExecContext
from engine.exec.expr import And, Col, Compare, Expr, OuterCol, Subquery, walk
from engine.exec.srf import SetReturning, register
from engine.txn.temp import no_history
from engine.jsonvalue import row_object
from engine.rewind.points import from_micros, lsn_of, point_from_value, to_micros
from engine.storage.verify import verify_digest
from engine.types import (BOOL, DATE, INT2, INT4, INT8, JSONB, REGCLASS, TEXT, TIMESTAMP, TIMESTAMPTZ,
                          OutputSettings, SqlType, canonical_jsonb, format_type)

if TYPE_CHECKING:
    from engine.database import Database

Producer = Callable[[ExecContext], list[tuple]]


@dataclass(frozen=True, slots=True)
class SystemTable:
    """A table the planner plans as a VirtualScan; `bounded(predicate, settings)` gives a
    producer that reads only what the predicate can accept (None: no narrowing)."""
    name: str
    columns: tuple[tuple[str, SqlType], ...]
    producer: Producer
    bounded: Callable[[Expr, OutputSettings], Producer | None] | None = None


TRANSACTION_COLUMNS: tuple[tuple[str, SqlType], ...] = (
    ("lsn", INT8), ("committed_at", TIMESTAMPTZ), ("user_name", TEXT), ("application_name", TEXT),
    ("client_addr", TEXT), ("reason", TEXT), ("events", INT4))


def virtual_table(db: Database, schema: str | None, name: str) -> SystemTable | None:
    """The relation `rewind.<name>`, or None (the rewind schema is never on the search path)."""
    if schema != "rewind":
        return None
    if name == "transactions":
        return _log_table(db, name, TRANSACTION_COLUMNS, _transaction_rows)
    if name == "changes":
        return _log_table(db, name, CHANGE_COLUMNS, _change_rows)
    return None


# -------------------------------------------------------------------- rewind.transactions

def _transaction_rows(db: Database, low: int, high: int) -> list[tuple]:
    out = []
    for record in db.log.records(low, high):
        txn = ev.decode_transaction(record.payload)
        out.append((record.lsn, from_micros(record.commit_time_us), txn.user, txn.application_name,
                    txn.client_addr, txn.reason, len(txn.events)))
    return out


# -------------------------------------------------------------------- rewind.changes

CHANGE_COLUMNS: tuple[tuple[str, SqlType], ...] = (
    ("lsn", INT8), ("committed_at", TIMESTAMPTZ), ("user_name", TEXT), ("table_name", TEXT), ("op", TEXT),
    ("key", JSONB), ("before", JSONB), ("after", JSONB))


def _jsonb(value: dict | None) -> str | None:
    return None if value is None else canonical_jsonb(value)


def _change_rows(db: Database, low: int, high: int) -> list[tuple]:
    out = []
    state = db.state
    for record in db.log.records(low, high):
        txn = ev.decode_transaction(record.payload)
        if not any(isinstance(e, ev.ROW_EVENTS) for e in txn.events):
            continue
        try:
            changes = row_changes(state, record.lsn, txn, with_before=True)
        except ChangesUnavailable:
            # older than the live history: a state rebuilt from a checkpoint covers the rest
            state = db.past.rebuilt.covering(record.lsn - 1, high)
            changes = row_changes(state, record.lsn, txn, with_before=True)
        committed_at = from_micros(record.commit_time_us)
        for c in changes:
            out.append((record.lsn, committed_at, txn.user, c.table, c.op, _jsonb(c.key), _jsonb(c.before),
                        _jsonb(c.after)))
    return out


def _log_table(db: Database, name: str, columns: tuple[tuple[str, SqlType], ...],
               rows: Callable[[Database, int, int], list[tuple]]) -> SystemTable:
    """A table of log records: `rows(db, low, high)` reads LSNs low..high; the columns named
    `lsn` and `committed_at` narrow that range."""
    names = [n for n, _ in columns]

    def producer(ctx: ExecContext) -> list[tuple]:
        return rows(db, 1, ctx.snapshot_lsn)

    def bounded(predicate: Expr, settings: OutputSettings) -> Producer | None:
        limits = _range_limits(predicate, names.index("lsn"), names.index("committed_at"), settings)
        if not limits:
            return None

        def narrowed(ctx: ExecContext) -> list[tuple]:
            low, high = 1, ctx.snapshot_lsn
            for column, op, value in limits:
                v = value(ctx.params, ctx)()
                if v is None:
                    return []
                if column == "lsn":
                    low, high = _narrow_lsn(low, high, op, v)
                else:
                    low, high = _narrow_time(db, low, high, op, to_micros(v))
            if low > high:
                return []
            return rows(db, low, high)
        return narrowed

    return SystemTable(name, columns, producer, bounded)


# -------------------------------------------------------------------- range narrowing

_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def _range_limits(predicate: Expr, lsn_index: int, time_index: int, settings: OutputSettings
                  ) -> list[tuple[str, str, Callable]]:
    """(column, op, compiled value) for each top-level conjunct `lsn|committed_at <op> value`
    whose value does not depend on the row."""
    conjuncts = predicate.args if isinstance(predicate, And) else (predicate,)
    out = []
    for c in conjuncts:
        if not isinstance(c, Compare) or c.op not in _FLIPPED:
            continue
        for column, value, op in ((c.left, c.right, c.op), (c.right, c.left, _FLIPPED[c.op])):
            if isinstance(column, Col) and column.index in (lsn_index, time_index) and _row_independent(value):
                g = CodeGen()
                g.cast_factory = lambda s, d: cast_function(s, d, settings)
                out.append(("lsn" if column.index == lsn_index else "committed_at", op, g.function("", g.expr(value))))
                break
    return out


def _row_independent(e: Expr) -> bool:
    return not any(isinstance(x, (Col, OuterCol, Subquery)) for x in walk(e))


def _narrow_lsn(low: int, high: int, op: str, v: Any) -> tuple[int, int]:
    if op == ">":
        return max(low, math.floor(v) + 1), high
    if op == ">=":
        return max(low, math.ceil(v)), high
    if op == "<":
        return low, min(high, math.ceil(v) - 1)
    if op == "<=":
        return low, min(high, math.floor(v))
    if v != math.floor(v):
        return 1, 0
    return max(low, int(v)), min(high, int(v))


def _narrow_time(db: Database, low: int, high: int, op: str, us: int) -> tuple[int, int]:
    at = db.lsn_at_time
    if op == ">":
        return max(low, at(us) + 1), high
    if op == ">=":
        return max(low, at(us - 1) + 1), high
    if op == "<":
        return low, min(high, at(us - 1))
    if op == "<=":
        return low, min(high, at(us))
    return max(low, at(us - 1) + 1), min(high, at(us))


# -------------------------------------------------------------------- rewind.diff

DIFF_COLUMNS = [("change", TEXT), ("key", JSONB), ("before", JSONB), ("after", JSONB)]


def _diff_arguments(types: list[SqlType]) -> list[SqlType]:
    if len(types) != 3:
        raise undefined_function(f"rewind.diff({', '.join(format_type(t) for t in types)})")
    return [TEXT] + [INT8 if t.oid in (INT2.oid, INT4.oid, INT8.oid)
                     else TIMESTAMPTZ if t.oid in (TIMESTAMPTZ.oid, TIMESTAMP.oid, DATE.oid) else TEXT
                     for t in types[1:]]


def _diff_rows(ctx: ExecContext, table_name: str, start: Any, end: Any) -> list[tuple]:
    """Rows of `table_name` that differ between two points, matched by primary key (by row
    identity without one); only rows some transaction between the points touched can differ."""
    db: Database = ctx.session.db
    current = _table_in(ctx.catalog, ctx, table_name)
    if current is not None and current.table_id >= TEMP_ID_BASE:
        raise no_history(current.name, "rewind.diff")
    timezone = ctx.session.output_settings.timezone
    lsns = [lsn_of(point_from_value(v, timezone), ctx.snapshot_lsn, db.lsn_at_time) for v in (start, end)]
    state = db.state
    # the table the name means at the later point (else the earlier one), at both points:
    # renamed or not, it is one table
    found = next((t for t in (_table_at(ctx, table_name, lsn) for lsn in sorted(lsns, reverse=True)) if t is not None), None)
    if found is None:
        raise SqlError("42P01", f'relation "{table_name}" does not exist at either point')
    tables = [state.catalog_at(lsn).tables.get(found.table_id) for lsn in lsns]
    data = state.tables.get(found.table_id)
    if data is None:
        return []
    low, high = min(lsns), max(lsns)
    if not data.has_history_at(low):
        data = db.past.rebuilt.covering(low, high).tables.get(found.table_id)
    touched = list(dict.fromkeys(rowid for lsn, rowid, _, _ in data.versions(low) if lsn <= high))
    sides = []
    for table, lsn in zip(tables, lsns):
        view = TableView(table) if table is not None else None
        rows: dict[str, tuple[dict, dict]] = {}
        if view is not None:
            for rowid in touched:
                row = data.get_at(rowid, lsn)
                if row is not None:
                    key = view.key_of(rowid, row)
                    rows[canonical_jsonb(key)] = (key, row_object(view.columns, row))
        sides.append(rows)
    before, after = sides
    out = []
    for key_text in dict.fromkeys([*before, *after]):
        old, new = before.get(key_text), after.get(key_text)
        if old is None:
            out.append(("added", key_text, None, canonical_jsonb(new[1])))
        elif new is None:
            out.append(("removed", key_text, canonical_jsonb(old[1]), None))
        elif old[1] != new[1]:
            out.append(("changed", key_text, canonical_jsonb(old[1]), canonical_jsonb(new[1])))
    return out


def _table_at(ctx: ExecContext, name: str, lsn: int) -> TableDef | None:
    return _table_in(ctx.session.db.state.catalog_at(lsn), ctx, name)


def _table_in(catalog: Catalog, ctx: ExecContext, name: str) -> TableDef | None:
    try:
        oid = system_catalog(catalog).parse(REGCLASS.oid, name, ctx.session.search_path())
    except SqlError:
        return None
    return catalog.tables.get(int(oid))


# -------------------------------------------------------------------- rewind.log_digest

def _log_digest_rows(ctx: ExecContext) -> list[tuple]:
    log = ctx.session.db.log
    lsn = min(ctx.snapshot_lsn, log.durable_lsn)
    return [(lsn, log.chain_at(lsn).hex())]


register("rewind.diff", SetReturning(_diff_arguments, lambda types: list(DIFF_COLUMNS), _diff_rows))
register("rewind.log_digest", SetReturning(
    lambda types: types if not types else _no_arguments("rewind.log_digest", types),
    lambda types: [("lsn", INT8), ("digest", TEXT)], _log_digest_rows))


def _no_arguments(name: str, types: list[SqlType]) -> list[SqlType]:
    raise undefined_function(f"{name}({', '.join(format_type(t) for t in types)})")


# -------------------------------------------------------------------- functions

def _verify_digest(ctx: ExecContext, lsn: int, digest: str) -> bool:
    db = ctx.session.db
    if not 0 <= lsn <= db.log.durable_lsn:
        return False
    return verify_digest(db.data_dir / "log", lsn, digest.strip().lower())


F.HELPERS["rewind_verify_digest"] = _verify_digest
F.define("rewind.verify_digest", (INT8, TEXT), BOOL, "rewind_verify_digest(ctx, {0}, {1})", volatile=True)
