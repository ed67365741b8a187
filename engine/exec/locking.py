"""SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE: a query that locks the rows it returns.

`CompiledLockingQuery` runs the plan under a `plan.LockRows` node like any query, then, row by
row and in the query's order, locks each target table's row (waiting for conflicting holders,
or failing with 55P03 under NOWAIT, or leaving the row out under SKIP LOCKED) until LIMIT and
OFFSET are satisfied, so no more rows are locked than are needed, as in PostgreSQL. A locked
row that a transaction committed after the snapshot changed is handled as UPDATE handles it:
READ COMMITTED re-reads the newest version, re-checks the WHERE clause on it and recomputes
the select list (a deleted row, or one that no longer qualifies, is left out), while
REPEATABLE READ and SERIALIZABLE fail with 40001.

Locking waits, so this runs as a coroutine from `Session.execute` and returns all rows at once.
"""
from __future__ import annotations

from engine.errors import SqlError, read_only_transaction
from engine.exec import plan as P
from engine.exec.context import ExecContext
from engine.exec.operators import _Builder
from engine.types import OutputSettings


class CompiledLockingQuery:
    __slots__ = ("node", "columns", "source", "recheck", "outputs", "count", "offset")

    def __init__(self, node: P.LockRows, settings: OutputSettings) -> None:
        self.node = node
        self.columns = node.columns
        builder = _Builder(settings)
        self.source = builder.build(node.input)
        g = builder.gen()
        self.recheck = g.function("r", g.predicate(node.predicate)) if node.predicate is not None else None
        self.outputs = g.function("r", "(" + "".join(g.expr(e) + ", " for e in node.outputs) + ")")
        self.count = g.function("", g.expr(node.count)) if node.count is not None else None
        self.offset = g.function("", g.expr(node.offset)) if node.offset is not None else None

    async def run(self, txn, ctx: ExecContext, lock_timeout: float | None) -> list[tuple]:
        node = self.node
        if txn.read_only and node.targets:
            raise read_only_transaction(f"SELECT {node.targets[0].clause}")
        p = ctx.params
        count = self.count(p, ctx)() if self.count is not None else None
        offset = (self.offset(p, ctx)() if self.offset is not None else None) or 0
        if count is not None and count < 0:
            raise SqlError("2201W", "LIMIT must not be negative")
        if offset < 0:
            raise SqlError("2201X", "OFFSET must not be negative")
        wanted = None if count is None else offset + count
        rows: list[tuple] = []
        if wanted == 0:
            return rows
        for batch in self.source(ctx):
            rows.extend(batch)
        recheck = self.recheck(p, ctx) if self.recheck is not None else None
        outputs = self.outputs(p, ctx)
        n_visible = len(node.outputs)
        raw_at = node.raw
        read_committed = txn.isolation == "read committed"
        out: list[tuple] = []
        for r in rows:
            raw = r[raw_at:]
            changed = False
            keep = True
            for target in node.targets:
                table = target.table
                rowid = raw[target.rowid]
                if rowid is None or txn.owns(table, rowid):
                    continue
                if not await txn.lock_row(table, rowid, mode=target.mode, nowait=target.wait == "nowait",
                                          skip_locked=target.wait == "skip", timeout=lock_timeout):
                    keep = False
                    break
                if not txn.changed_since_snapshot(table, rowid):
                    continue
                if not read_committed:
                    raise SqlError("40001", "could not serialize access due to concurrent update")
                current = txn.latest(table, rowid)
                if current is None:
                    keep = False
                    break
                raw = raw[:target.start] + current + raw[target.start + table.width:]
                changed = True
            if not keep:
                continue
            if changed:
                if recheck is not None and not recheck(raw):
                    continue
                out.append(outputs(raw))
            else:
                out.append(r[:n_visible])
            if wanted is not None and len(out) >= wanted:
                break
        return out[offset:] if offset else out
