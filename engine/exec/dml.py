"""INSERT, UPDATE and DELETE: compiled once per plan, run against a transaction.

Rows to change are found by running the plan's source (a normal read plan, which appends
each target row's rowid). Each row is then locked (DELETE and key-changing UPDATEs FOR
UPDATE, other UPDATEs FOR NO KEY UPDATE, as PostgreSQL does), waiting for other writers; if
a transaction that committed after the snapshot changed the row, READ COMMITTED re-checks
the statement's conditions on the newest version (so concurrent `SET n = n + 1` never loses
an update) while REPEATABLE READ and SERIALIZABLE fail with 40001. New row versions are checked (types' length and
precision, NOT NULL, CHECK, unique keys) and handed to the transaction, which records
them as events.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from engine.catalog.model import TableDef
from engine.errors import SqlError
from engine.exec import plan as P
from engine.exec.casts import typmod_enforcer
from engine.exec.context import ExecContext
from engine.exec.operators import _Builder
from engine.txn.locks import NO_KEY_UPDATE, UPDATE
from engine.txn.transaction import READ_COMMITTED
from engine.types import OutputSettings


class CompiledWrite:
    """A write plan compiled to Python: `run(txn, ctx)` returns (row count, RETURNING rows)."""

    __slots__ = ("plan", "kind", "source", "build_row", "recheck", "returning", "checks", "enforce",
                 "not_null")

    def __init__(self, plan, settings: OutputSettings, check_compiler: Callable[[TableDef], list],
                 stats: dict | None = None) -> None:
        self.plan = plan
        builder = _Builder(settings, stats)           # stats: EXPLAIN ANALYZE of the source plan
        g = builder.gen()
        table = plan.table
        self.source = builder.build(plan.source)
        if isinstance(plan, P.InsertPlan):
            self.kind = "INSERT"
            position = {slot: i for i, slot in enumerate(plan.target_slots)}
            defaults = dict(plan.defaults)
            parts = []
            for slot in range(table.width):
                if slot in position:
                    parts.append(f"r[{position[slot]}]")
                elif slot in defaults:
                    parts.append(g.expr(defaults[slot]))
                else:
                    parts.append("None")
            self.build_row = g.function("r", "(" + "".join(p + ", " for p in parts) + ")")
        elif isinstance(plan, P.UpdatePlan):
            self.kind = "UPDATE"
            assigned = dict(plan.assignments)
            parts = [g.expr(assigned[slot]) if slot in assigned else f"r[{slot}]" for slot in range(table.width)]
            self.build_row = g.function("r", "(" + "".join(p + ", " for p in parts) + ")")
        else:
            self.kind = "DELETE"
            self.build_row = None
        self.recheck = g.function("r", g.predicate(plan.recheck)) if getattr(plan, "recheck", None) is not None else None
        self.returning = (g.function("r", "(" + "".join(g.expr(e) + ", " for e in plan.returning) + ")")
                          if plan.returning else None)
        self.checks = check_compiler(table) if self.kind != "DELETE" else []
        self.enforce = [(c.slot, f) for c in table.columns if (f := typmod_enforcer(c.type, explicit=False)) is not None]
        self.not_null = [(c.slot, c.name) for c in table.columns if c.not_null]

    def _validate(self, table: TableDef, row: tuple) -> tuple:
        if self.enforce:
            values = list(row)
            for slot, f in self.enforce:
                v = values[slot]
                if v is not None:
                    values[slot] = f(v)
            row = tuple(values)
        for slot, name in self.not_null:
            if row[slot] is None:
                raise SqlError("23502", f'null value in column "{name}" of relation "{table.name}" violates not-null constraint',
                               detail=f"Failing row contains ({_row_text(table, row)}).", table=table.name, column=name)
        for name, check in self.checks:
            if check(row) is False:
                raise SqlError("23514", f'new row for relation "{table.name}" violates check constraint "{name}"',
                               detail=f"Failing row contains ({_row_text(table, row)}).", table=table.name, constraint=name)
        return row

    async def insert_columns(self, txn, ctx: ExecContext, columns: list[Sequence], lock_timeout: float | None = None) -> int:
        """INSERT values given column by column (COPY FROM) instead of the plan's source: the
        same defaults and checks, done a column at a time when the columns are the table's
        own, in order; then the transaction's bulk paths."""
        txn.check_writable("COPY FROM")
        table = self.plan.table
        if list(self.plan.target_slots) == list(range(table.width)) and len(columns) == table.width:
            rows = self._validate_columns(table, list(columns))
        else:
            build, validate = self.build_row(ctx.params, ctx), self._validate
            rows = [validate(table, build(r)) for r in zip(*columns)]
        if any(index.unique for index in txn.current_catalog.indexes_of(table.table_id)):
            await txn.check_unique_many(table, rows, timeout=lock_timeout)
        txn.insert_many(table, rows)
        return len(rows)

    def _validate_columns(self, table: TableDef, columns: list[Sequence]) -> list[tuple]:
        """`_validate` for whole columns of full-width rows; the rows, or `_validate`'s error."""
        for slot, enforce in self.enforce:
            columns[slot] = _map_values(enforce, columns[slot])
        rows = list(zip(*columns))
        if any(None in columns[slot] for slot, _ in self.not_null) or self.checks:
            for row in rows:
                self._validate(table, row)
        return rows

    async def run(self, txn, ctx: ExecContext, lock_timeout: float | None = None) -> tuple[int, list[tuple]]:
        txn.check_writable(self.kind)
        table = self.plan.table
        p = ctx.params
        source_rows: list[tuple] = []
        for batch in self.source(ctx):
            source_rows.extend(batch)
        returning = self.returning(p, ctx) if self.returning is not None else None
        out: list[tuple] = []
        count = 0
        if self.kind == "INSERT":
            build = self.build_row(p, ctx)
            for r in source_rows:
                row = self._validate(table, build(r))
                rowid = txn.allocate_rowid(table)
                await txn.check_unique(table, row, rowid, None, timeout=lock_timeout)
                txn.insert(table, rowid, row)
                count += 1
                if returning is not None:
                    out.append(returning(row))
            return count, out
        build = self.build_row(p, ctx) if self.build_row is not None else None
        recheck = self.recheck(p, ctx) if self.recheck is not None else None
        width = table.width
        updating = self.kind == "UPDATE"
        done: set[int] = set()
        for r in source_rows:
            rowid = r[width]
            if rowid in done:
                continue               # joined to several FROM rows: PostgreSQL changes it once
            if txn.owns(table, rowid):
                current = txn.latest(table, rowid)
                if current is None:
                    continue
            else:
                await txn.lock_row(table, rowid, mode=NO_KEY_UPDATE if updating else UPDATE, timeout=lock_timeout)
                current = txn.latest(table, rowid)
                if txn.changed_since_snapshot(table, rowid):
                    if txn.isolation != READ_COMMITTED:
                        raise _serialization_failure("update" if current is not None else "delete")
                    if current is None or (recheck is not None and not recheck(current)):
                        continue
                    r = current + r[width:]
            done.add(rowid)
            if updating:
                row = self._validate(table, build(r))
                if txn.key_changed(table, current, row):
                    await txn.lock_row(table, rowid, mode=UPDATE, timeout=lock_timeout)
                await txn.check_unique(table, row, rowid, current, timeout=lock_timeout)
                txn.update(table, rowid, row)
                if returning is not None:
                    out.append(returning(row + r[width:]))
            else:
                txn.delete(table, rowid)
                if returning is not None:
                    out.append(returning(r))
            count += 1
        return count, out


def _map_values(f: Callable[[Any], Any], values: Sequence) -> list:
    """f over a column's non-NULL values; repeated values (COPY data often has many) once each."""
    if len(values) > 64:
        distinct = set(values)
        if len(distinct) * 4 < len(values):
            mapped = {v: f(v) for v in distinct if v is not None}
            return [mapped.get(v) for v in values]
    if None in values:
        return [None if v is None else f(v) for v in values]
    return list(map(f, values))


def _serialization_failure(change: str) -> SqlError:
    return SqlError("40001", f"could not serialize access due to concurrent {change}")


def _row_text(table: TableDef, row: tuple) -> str:
    return ", ".join("null" if row[c.slot] is None else str(row[c.slot]) for c in table.columns)
