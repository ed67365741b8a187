"""INSERT, UPDATE, DELETE and MERGE: compiled once per plan, run against a transaction.

Rows to change are found by running the plan's source (a normal read plan, which appends
each target row's rowid). Each row is then locked (DELETE and key-changing UPDATEs FOR
UPDATE, other UPDATEs FOR NO KEY UPDATE, as PostgreSQL does), waiting for other writers; if
a transaction that committed after the snapshot changed the row, READ COMMITTED re-checks
the statement's conditions on the newest version (so concurrent `SET n = n + 1` never loses
an update) while REPEATABLE READ and SERIALIZABLE fail with 40001.

Every row version written, by the statement itself or by a foreign key's cascade, goes
through `TableRules` of its table: generated columns computed from the row, types' length
and precision, NOT NULL, CHECK, unique
keys, the foreign keys it holds (the referenced row must exist; it is locked FOR KEY SHARE
so it cannot vanish before commit) and the foreign keys that point at it (ON DELETE /
ON UPDATE: NO ACTION and RESTRICT refuse, CASCADE, SET NULL and SET DEFAULT change the
referencing rows, recursively). The transaction records the changes as events.

INSERT ... ON CONFLICT looks each proposed row up in the arbiter unique index(es): a
conflicting row is skipped (DO NOTHING) or locked and updated (DO UPDATE, over the existing
row followed by the proposed one, `excluded`); a row the same statement already inserted or
updated cannot be updated again (21000).

MERGE runs its source (the source's rows left-joined to the target's) and gives each joined
row the first WHEN clause that fits it, writing through the same `RowWriter` and locking
target rows as UPDATE and DELETE do; a target row changed concurrently is joined again in its
newest version (READ COMMITTED) and may fall to the NOT MATCHED clauses; a target row two
source rows update or delete is refused (21000).

A statement writing many rows yields to the event loop every YIELD_EVERY seconds (checked
every 256 rows), so other sessions are served meanwhile; a cancel or statement_timeout that
arrived in between fails it there (57014).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from engine.catalog.model import Catalog, ConstraintDef, TableDef
from engine.errors import SqlError
from engine.exec import plan as P
from engine.exec.casts import typmod_enforcer
from engine.exec.context import ExecContext
from engine.exec.operators import _Builder
from engine.txn.locks import KEY_SHARE, NO_KEY_UPDATE, UPDATE
from engine.txn.transaction import READ_COMMITTED
from engine.types import OutputSettings, SqlType

YIELD_EVERY = 0.005          # seconds of writing between yields to the event loop

# (p, ctx) -> (row -> value): a compiled expression over one table's row
RowFunction = Callable[[tuple, ExecContext], Callable[[tuple], Any]]


class RowCompiler:
    """What the session provides: the catalog the plan was made against, and compiling SQL
    text over a table's row: a CHECK condition (type None) or a DEFAULT of a column's type."""

    def __init__(self, catalog: Catalog, compile_text: Callable[[TableDef, str, SqlType | None], RowFunction]) -> None:
        self.catalog = catalog
        self.compile_text = compile_text
        self._rules: dict[int, TableRules] = {}

    def rules(self, table: TableDef) -> TableRules:
        found = self._rules.get(table.table_id)
        if found is None:
            found = self._rules[table.table_id] = TableRules(table, self)
        return found


@dataclass(frozen=True, slots=True)
class ForeignKey:
    constraint: ConstraintDef
    child: TableDef
    parent: TableDef
    child_slots: tuple[int, ...]
    parent_slots: tuple[int, ...]
    parent_index: int | None          # the unique index on the referenced columns

    def child_key(self, row: tuple) -> tuple | None:
        key = tuple([row[s] for s in self.child_slots])
        return None if None in key else key

    def parent_key(self, row: tuple) -> tuple:
        return tuple([row[s] for s in self.parent_slots])


class TableRules:
    """The rules every new row version of one table must satisfy, compiled once per plan."""

    def __init__(self, table: TableDef, compiler: RowCompiler) -> None:
        self.table = table
        self.compiler = compiler
        catalog = compiler.catalog
        self.enforce = [(c.slot, f) for c in table.columns if (f := typmod_enforcer(c.type, explicit=False)) is not None]
        self.not_null = [(c.slot, c.name) for c in table.columns if c.not_null]
        self.checks = [(c.name, compiler.compile_text(table, c.check, None)) for c in table.constraints
                       if c.kind == "c" and c.check]
        self.defaults = {c.slot: compiler.compile_text(table, c.default, c.type) for c in table.columns
                         if c.default is not None}
        self.generated = [(c.slot, compiler.compile_text(table, c.generated, c.type)) for c in table.columns
                          if c.generated is not None]
        self.holds = [_foreign_key(catalog, table, c) for c in table.constraints if c.kind == "f"]
        self.referenced_by = [_foreign_key(catalog, child, c) for child in catalog.tables.values()
                              for c in child.constraints if c.kind == "f" and c.ref_table == table.table_id]


def _foreign_key(catalog: Catalog, child: TableDef, c: ConstraintDef) -> ForeignKey:
    parent = catalog.tables[c.ref_table]
    index = next((i.index_id for i in catalog.indexes_of(parent.table_id)
                  if i.unique and tuple(i.columns) == tuple(c.ref_columns)), None)
    return ForeignKey(c, child, parent, tuple(c.columns), tuple(c.ref_columns), index)


class CompiledWrite:
    """A write plan compiled to Python: `run(txn, ctx)` returns (row count, RETURNING rows)."""

    __slots__ = ("plan", "kind", "source", "build_row", "recheck", "returning", "compiler", "conflict_build",
                 "conflict_condition", "merge_actions")

    def __init__(self, plan, settings: OutputSettings, compiler: RowCompiler, stats: dict | None = None) -> None:
        self.plan = plan
        self.compiler = compiler
        builder = _Builder(settings, stats)           # stats: EXPLAIN ANALYZE of the source plan
        g = builder.gen()
        table = plan.table
        self.source = builder.build(plan.source)
        self.conflict_build = self.conflict_condition = None
        self.merge_actions: tuple[_MergeStep, ...] = ()
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
            conflict = plan.on_conflict
            if conflict is not None and conflict.update:
                assigned = dict(conflict.assignments)
                parts = [g.expr(assigned[slot]) if slot in assigned else f"r[{slot}]" for slot in range(table.width)]
                self.conflict_build = g.function("r", "(" + "".join(p + ", " for p in parts) + ")")
                if conflict.condition is not None:
                    self.conflict_condition = g.function("r", g.predicate(conflict.condition))
        elif isinstance(plan, P.MergePlan):
            self.kind = "MERGE"
            self.build_row = None
            self.merge_actions = tuple(_MergeStep.compile(g, a, table.width, plan.target_offset) for a in plan.actions)
        elif isinstance(plan, P.UpdatePlan):
            self.kind = "UPDATE"
            assigned = dict(plan.assignments)
            parts = [g.expr(assigned[slot]) if slot in assigned else f"r[{slot}]" for slot in range(table.width)]
            self.build_row = g.function("r", "(" + "".join(p + ", " for p in parts) + ")")
        else:
            self.kind = "DELETE"
            self.build_row = None
        recheck = plan.condition if isinstance(plan, P.MergePlan) else getattr(plan, "recheck", None)
        self.recheck = g.function("r", g.predicate(recheck)) if recheck is not None else None
        self.returning = (g.function("r", "(" + "".join(g.expr(e) + ", " for e in plan.returning) + ")")
                          if plan.returning else None)
        compiler.rules(table)            # compile the rules now, not on the first execution

    async def insert_columns(self, txn, ctx: ExecContext, columns: list[Sequence], lock_timeout: float | None = None) -> int:
        """INSERT values given column by column (COPY FROM) instead of the plan's source: the
        same defaults, checks and foreign keys, done a column at a time when the columns are
        the table's own, in order; then the transaction's bulk paths."""
        table = self.plan.table
        txn.check_writable("COPY FROM", table)
        writer = RowWriter(txn, ctx, lock_timeout, self.compiler)
        rules = writer.rules(table)
        if list(self.plan.target_slots) == list(range(table.width)) and len(columns) == table.width:
            rows = _validate_columns(rules, list(columns))
        else:
            build, validate = self.build_row(ctx.params, ctx), rules.validate
            rows = [validate(build(r)) for r in zip(*columns)]
        if any(index.unique for index in txn.current_catalog.indexes_of(table.table_id)):
            await txn.check_unique_many(table, rows, timeout=lock_timeout)
        for fk in rules.table_rules.holds:
            for row in rows:
                await writer._check_reference(fk, row)
        txn.insert_many(table, rows)
        return len(rows)

    async def run(self, txn, ctx: ExecContext, lock_timeout: float | None = None) -> tuple[int, list[tuple]]:
        table = self.plan.table
        txn.check_writable(self.kind, table)
        p = ctx.params
        source_rows: list[tuple] = []
        charge = ctx.memory.charge
        for batch in self.source(ctx):
            charge(batch)
            source_rows.extend(batch)
        writer = RowWriter(txn, ctx, lock_timeout, self.compiler)
        returning = self.returning(p, ctx) if self.returning is not None else None
        out: list[tuple] = []
        count = 0
        if self.kind in ("INSERT", "MERGE"):
            count = await (self._insert(writer, source_rows, returning, out) if self.kind == "INSERT"
                           else self._merge(writer, source_rows))
            await writer.finish()
            return count, out
        build = self.build_row(p, ctx) if self.build_row is not None else None
        recheck = self.recheck(p, ctx) if self.recheck is not None else None
        width = table.width
        updating = self.kind == "UPDATE"
        done: set[int] = set()
        pacer = _Pacer(txn)
        for i, r in enumerate(source_rows):
            if not i & 255:
                await pacer.pause_if_due()
            rowid = r[width]
            if rowid in done:
                continue               # joined to several FROM rows: PostgreSQL changes it once
            current, changed = await _lock_found_row(txn, table, rowid, NO_KEY_UPDATE if updating else UPDATE,
                                                     lock_timeout)
            if current is None:
                continue
            if changed:
                if recheck is not None and not recheck(current):
                    continue
                r = current + r[width:]
            done.add(rowid)
            if updating:
                row = await writer.update(table, rowid, current, build(r))
                if returning is not None:
                    out.append(returning(row + r[width:]))
            else:
                await writer.delete(table, rowid, current)
                if returning is not None:
                    out.append(returning(r))
            count += 1
        await writer.finish()
        return count, out

    async def _insert(self, writer: RowWriter, source_rows: list[tuple], returning, out: list[tuple]) -> int:
        txn, ctx = writer.txn, writer.ctx
        table = self.plan.table
        build = self.build_row(ctx.params, ctx)
        conflict = self.plan.on_conflict
        arbiters = []
        if conflict is not None:
            indexes = [i for i in txn.current_catalog.indexes_of(table.table_id) if i.unique]
            arbiters = [i for i in indexes if conflict.index_id is None or i.index_id == conflict.index_id]
        update = self.conflict_build(ctx.params, ctx) if self.conflict_build is not None else None
        condition = self.conflict_condition(ctx.params, ctx) if self.conflict_condition is not None else None
        touched: set[int] = set()
        count = 0
        pacer = _Pacer(txn)
        for i, r in enumerate(source_rows):
            if not i & 255:
                await pacer.pause_if_due()
            row = build(r)
            if arbiters:
                row = writer.rules(table).validate(row)
                existing = _conflicting(txn, ctx, table, arbiters, row)
                if existing is not None:
                    rowid, current = existing
                    if update is None:
                        continue
                    if rowid in touched:
                        raise SqlError("21000", "ON CONFLICT DO UPDATE command cannot affect row a second time",
                                       hint="Ensure that no rows proposed for insertion within the same command "
                                            "have duplicate constrained values.")
                    if not txn.owns(table, rowid):
                        await txn.lock_row(table, rowid, mode=NO_KEY_UPDATE, timeout=writer.lock_timeout)
                        current = txn.latest(table, rowid)
                        if current is None:
                            continue
                    combined = current + row
                    if condition is not None and not condition(combined):
                        continue
                    new = await writer.update(table, rowid, current, update(combined))
                    touched.add(rowid)
                    count += 1
                    if returning is not None:
                        out.append(returning(new))
                    continue
            rowid, row = await writer.insert(table, row)
            touched.add(rowid)
            count += 1
            if returning is not None:
                out.append(returning(row))
        return count

    async def _merge(self, writer: RowWriter, source_rows: list[tuple]) -> int:
        """MERGE: each joined row takes the first WHEN clause that fits it. A target row changed
        by a transaction that committed after the snapshot is joined again in its newest
        version (READ COMMITTED): if it no longer matches, or is gone, the NOT MATCHED
        clauses apply, as in PostgreSQL 15."""
        txn, ctx = writer.txn, writer.ctx
        plan = self.plan
        table, offset, width = plan.table, plan.target_offset, plan.table.width
        rowid_at = offset + width
        unmatched_tail = (None,) * (width + 1)
        on = self.recheck(ctx.params, ctx)
        steps = [step.bind(ctx) for step in self.merge_actions]
        matched_steps = [s for s in steps if s.matched]
        unmatched_steps = [s for s in steps if not s.matched]
        touched: set[int] = set()
        count = 0
        pacer = _Pacer(txn)
        for i, r in enumerate(source_rows):
            if not i & 255:
                await pacer.pause_if_due()
            rowid = r[rowid_at]
            if rowid is not None:
                step = _first_fitting(matched_steps, r)
                if step is None or step.kind == "nothing":
                    continue
                if rowid in touched:
                    raise SqlError("21000", "MERGE command cannot affect row a second time",
                                   hint="Ensure that not more than one source row matches any one target row.")
                mode = UPDATE if step.kind == "delete" else NO_KEY_UPDATE
                current, changed = await _lock_found_row(txn, table, rowid, mode, writer.lock_timeout)
                if changed:
                    joined = r[:offset] + current + (rowid,) if current is not None else None
                    if joined is not None and on(joined):
                        r = joined
                        step = _first_fitting(matched_steps, r)
                        if step is None or step.kind == "nothing":
                            continue
                        if step.kind == "delete" and mode != UPDATE:
                            await txn.lock_row(table, rowid, mode=UPDATE, timeout=writer.lock_timeout)
                    else:                          # gone, or no longer matching: NOT MATCHED
                        r = r[:offset] + unmatched_tail
                        rowid = None
                elif current is None:
                    continue                       # deleted earlier in this transaction
                if rowid is not None:
                    if step.kind == "delete":
                        await writer.delete(table, rowid, current)
                    else:
                        await writer.update(table, rowid, current, step.build(r))
                    touched.add(rowid)
                    count += 1
                    continue
            step = _first_fitting(unmatched_steps, r)
            if step is None or step.kind == "nothing":
                continue
            await writer.insert(table, step.build(r))
            count += 1
        return count


class _MergeStep:
    """One WHEN clause of MERGE compiled: its condition and the row its action writes
    (`compile` once per plan, `bind` per execution)."""

    __slots__ = ("matched", "kind", "condition", "build")

    def __init__(self, matched: bool, kind: str, condition, build) -> None:
        self.matched = matched
        self.kind = kind
        self.condition = condition
        self.build = build

    @staticmethod
    def compile(g, action: P.MergeAction, width: int, offset: int) -> _MergeStep:
        condition = g.function("r", g.predicate(action.condition)) if action.condition is not None else None
        build = None
        if action.kind in ("update", "insert"):
            given = dict(action.values)
            kept = (lambda slot: f"r[{offset + slot}]") if action.kind == "update" else (lambda slot: "None")
            parts = [g.expr(given[slot]) if slot in given else kept(slot) for slot in range(width)]
            build = g.function("r", "(" + "".join(p + ", " for p in parts) + ")")
        return _MergeStep(action.matched, action.kind, condition, build)

    def bind(self, ctx: ExecContext) -> _MergeStep:
        p = ctx.params
        return _MergeStep(self.matched, self.kind, self.condition(p, ctx) if self.condition is not None else None,
                          self.build(p, ctx) if self.build is not None else None)


def _first_fitting(steps: list[_MergeStep], row: tuple) -> _MergeStep | None:
    for step in steps:
        if step.condition is None or step.condition(row):
            return step
    return None


async def _lock_found_row(txn, table: TableDef, rowid: int, mode: int,
                          lock_timeout: float | None) -> tuple[tuple | None, bool]:
    """Lock a row the statement found, to update or delete it: its newest version (None: it
    is gone) and whether a transaction that committed after the snapshot changed it, which
    READ COMMITTED re-checks and the other isolation levels refuse (40001)."""
    if txn.owns(table, rowid):
        return txn.latest(table, rowid), False
    await txn.lock_row(table, rowid, mode=mode, timeout=lock_timeout)
    current = txn.latest(table, rowid)
    if not txn.changed_since_snapshot(table, rowid):
        return current, False
    if txn.isolation != READ_COMMITTED:
        raise _serialization_failure("update" if current is not None else "delete")
    return current, True


class _Pacer:
    """Lets other sessions run in the middle of a long write, once YIELD_EVERY seconds of
    writing have passed since the last time; fails the write if it was canceled meanwhile."""

    __slots__ = ("txn", "deadline")

    def __init__(self, txn) -> None:
        self.txn = txn
        self.deadline = time.monotonic() + YIELD_EVERY

    async def pause_if_due(self) -> None:
        if time.monotonic() > self.deadline:
            await asyncio.sleep(0)
            if self.txn.interrupted is not None:
                raise self.txn.interrupted
            self.deadline = time.monotonic() + YIELD_EVERY


def _conflicting(txn, ctx: ExecContext, table: TableDef, arbiters, row: tuple) -> tuple[int, tuple] | None:
    for index in arbiters:
        key = tuple([row[s] for s in index.columns])
        if None in key:
            continue
        found = txn.lookup(table, index.index_id, key, None, ctx)
        if found:
            return found[0]
    return None


class RowWriter:
    """Writes the row versions of one statement, enforcing each table's rules and following
    foreign keys' referential actions. `finish()` runs the checks PostgreSQL defers to the
    end of the statement (foreign keys with NO ACTION)."""

    def __init__(self, txn, ctx: ExecContext, lock_timeout: float | None, compiler: RowCompiler) -> None:
        self.txn = txn
        self.ctx = ctx
        self.lock_timeout = lock_timeout
        self.compiler = compiler
        self._rules: dict[int, _BoundRules] = {}
        self._no_action: list[tuple[ForeignKey, tuple]] = []

    def rules(self, table: TableDef) -> _BoundRules:
        found = self._rules.get(table.table_id)
        if found is None:
            found = self._rules[table.table_id] = _BoundRules(self.compiler.rules(table), self.ctx)
        return found

    async def insert(self, table: TableDef, row: tuple) -> tuple[int, tuple]:
        txn = self.txn
        rules = self.rules(table)
        row = rules.validate(row)
        rowid = txn.allocate_rowid(table)
        await txn.check_unique(table, row, rowid, None, timeout=self.lock_timeout)
        for fk in rules.table_rules.holds:
            await self._check_reference(fk, row)
        txn.insert(table, rowid, row)
        return rowid, row

    async def update(self, table: TableDef, rowid: int, old: tuple, row: tuple,
                     recheck: ForeignKey | None = None) -> tuple:
        """Update a row; `recheck` is a foreign key to verify even if its columns kept their
        value (ON DELETE SET DEFAULT may set the key the parent just lost)."""
        txn = self.txn
        rules = self.rules(table)
        row = rules.validate(row)
        if txn.key_changed(table, old, row):
            await txn.lock_row(table, rowid, mode=UPDATE, timeout=self.lock_timeout)
        await txn.check_unique(table, row, rowid, old, timeout=self.lock_timeout)
        for fk in rules.table_rules.holds:
            key = fk.child_key(row)
            if key is not None and (key != fk.child_key(old) or (recheck is not None and fk.constraint == recheck.constraint)):
                await self._check_reference(fk, row)
        txn.update(table, rowid, row)
        for fk in rules.table_rules.referenced_by:
            old_key, new_key = fk.parent_key(old), fk.parent_key(row)
            if old_key != new_key and None not in old_key:
                await self._referenced_key_gone(fk, old_key, new_key, deleting=False)
        return row

    async def delete(self, table: TableDef, rowid: int, old: tuple) -> None:
        self.txn.delete(table, rowid)
        for fk in self.rules(table).table_rules.referenced_by:
            key = fk.parent_key(old)
            if None not in key:
                await self._referenced_key_gone(fk, key, None, deleting=True)

    async def finish(self) -> None:
        for fk, key in self._no_action:
            if self._parent_rows(fk, key):
                continue                  # the key was put back within the statement
            if self._children(fk, key):
                raise _still_referenced(fk, key)

    # ---------------------------------------------------------------- foreign keys

    async def _check_reference(self, fk: ForeignKey, row: tuple) -> None:
        """The row holding `fk` must find its referenced row (MATCH SIMPLE: a NULL key is fine)."""
        key = fk.child_key(row)
        if key is None:
            return
        found = self._parent_rows(fk, key)
        if not found:
            raise SqlError("23503", f'insert or update on table "{fk.child.name}" violates foreign key constraint '
                                    f'"{fk.constraint.name}"',
                           detail=f'Key ({_names(fk.child, fk.child_slots)})=({_values(key)}) is not present in '
                                  f'table "{fk.parent.name}".',
                           table=fk.child.name, constraint=fk.constraint.name)
        rowid = found[0][0]
        if not self.txn.owns(fk.parent, rowid):
            await self.txn.lock_row(fk.parent, rowid, mode=KEY_SHARE, timeout=self.lock_timeout)

    def _parent_rows(self, fk: ForeignKey, key: tuple) -> list[tuple[int, tuple]]:
        if fk.parent_index is not None:
            return self.txn.lookup(fk.parent, fk.parent_index, key, None, self.ctx)
        return [(rid, r) for rid, r in self.txn.items(fk.parent, None, self.ctx) if fk.parent_key(r) == key]

    def _children(self, fk: ForeignKey, key: tuple) -> list[tuple[int, tuple]]:
        return [(rid, r) for rid, r in self.txn.items(fk.child, None, self.ctx) if fk.child_key(r) == key]

    async def _referenced_key_gone(self, fk: ForeignKey, key: tuple, new_key: tuple | None, deleting: bool) -> None:
        """A referenced key was deleted or changed: apply the foreign key's action."""
        action = fk.constraint.on_delete if deleting else fk.constraint.on_update
        if action == "a":
            self._no_action.append((fk, key))
            return
        children = self._children(fk, key)
        if not children:
            return
        if action == "r":
            raise _still_referenced(fk, key)
        txn = self.txn
        for rowid, _ in children:
            if not txn.owns(fk.child, rowid):
                await txn.lock_row(fk.child, rowid, mode=UPDATE, timeout=self.lock_timeout)
            current = txn.latest(fk.child, rowid)
            if current is None or fk.child_key(current) != key:
                continue
            if action == "c" and deleting:
                await self.delete(fk.child, rowid, current)
                continue
            values = list(current)
            if action == "c":
                replacement = new_key
            elif action == "n":
                replacement = (None,) * len(key)
            else:
                defaults = self.rules(fk.child).defaults
                replacement = tuple(defaults[s](current) if s in defaults else None for s in fk.child_slots)
            for slot, v in zip(fk.child_slots, replacement):
                values[slot] = v
            await self.update(fk.child, rowid, current, tuple(values), recheck=fk if action == "d" else None)


class _BoundRules:
    """A table's rules with their compiled expressions opened for one execution."""

    __slots__ = ("table_rules", "checks", "defaults", "generated")

    def __init__(self, rules: TableRules, ctx: ExecContext) -> None:
        self.table_rules = rules
        self.checks = [(name, make(ctx.params, ctx)) for name, make in rules.checks]
        self.defaults = {slot: make(ctx.params, ctx) for slot, make in rules.defaults.items()}
        self.generated = [(slot, make(ctx.params, ctx)) for slot, make in rules.generated]

    def validate(self, row: tuple) -> tuple:
        rules = self.table_rules
        table = rules.table
        if self.generated:
            values = list(row)
            for slot, compute in self.generated:       # from the other columns, never each other
                values[slot] = compute(row)
            row = tuple(values)
        if rules.enforce:
            values = list(row)
            for slot, f in rules.enforce:
                v = values[slot]
                if v is not None:
                    values[slot] = f(v)
            row = tuple(values)
        for slot, name in rules.not_null:
            if row[slot] is None:
                raise SqlError("23502", f'null value in column "{name}" of relation "{table.name}" violates not-null constraint',
                               detail=f"Failing row contains ({_row_text(table, row)}).", table=table.name, column=name)
        for name, check in self.checks:
            if check(row) is False:
                raise SqlError("23514", f'new row for relation "{table.name}" violates check constraint "{name}"',
                               detail=f"Failing row contains ({_row_text(table, row)}).", table=table.name, constraint=name)
        return row


def _still_referenced(fk: ForeignKey, key: tuple) -> SqlError:
    return SqlError("23503", f'update or delete on table "{fk.parent.name}" violates foreign key constraint '
                             f'"{fk.constraint.name}" on table "{fk.child.name}"',
                    detail=f'Key ({_names(fk.parent, fk.parent_slots)})=({_values(key)}) is still referenced from '
                           f'table "{fk.child.name}".',
                    table=fk.parent.name, constraint=fk.constraint.name)


def _names(table: TableDef, slots: tuple[int, ...]) -> str:
    return ", ".join(table.column_by_slot(s).name for s in slots)


def _values(key: tuple) -> str:
    return ", ".join("null" if v is None else str(v) for v in key)


def _validate_columns(rules: _BoundRules, columns: list[Sequence]) -> list[tuple]:
    """`validate` for whole columns of full-width rows; the rows, or `validate`'s error."""
    t = rules.table_rules
    for slot, enforce in t.enforce:
        columns[slot] = _map_values(enforce, columns[slot])
    rows = list(zip(*columns))
    if rules.generated:
        return [rules.validate(row) for row in rows]
    if any(None in columns[slot] for slot, _ in t.not_null) or rules.checks:
        validate = rules.validate
        for row in rows:
            validate(row)
    return rows


def _map_values(f: Callable[[Any], Any], values: Sequence) -> list:
    """f over a column's non-NULL values; repeated values (COPY data often has many) once each."""
    if len(values) > 64:
        distinct = set(values)
        if len(distinct) * 4 < len(values):
            mapped = {v: f(v) for v in distinct if v is not None}
            return list(map(mapped.get, values))
    if None in values:
        return [None if v is None else f(v) for v in values]
    return list(map(f, values))


def _serialization_failure(change: str) -> SqlError:
    return SqlError("40001", f"could not serialize access due to concurrent {change}")


def _row_text(table: TableDef, row: tuple) -> str:
    return ", ".join("null" if row[c.slot] is None else str(row[c.slot]) for c in table.columns)
