"""Data-modifying WITH queries: `WITH moved AS (DELETE ... RETURNING ...) INSERT INTO archive
SELECT * FROM moved`, and the same in front of a SELECT, UPDATE or DELETE.

As in PostgreSQL, each data-modifying WITH query runs exactly once and to completion, whether
or not the statement reads it (and however much of it a LIMIT reads); the statement sees its
RETURNING rows through WorkTableScans keyed by `plan.CteWrite.key`. They run in the order
written, then the statement itself, all in the statement's transaction.

PostgreSQL runs all of them on one snapshot, so none sees the others' changes to tables. Here
they run one after the other on the transaction's own writes, so a statement that reads a
table a WITH query changes (or two WITH queries changing one table) would see changes
PostgreSQL hides: `reject_snapshot_conflicts` refuses those plans with 0A000 instead of
answering differently.
"""
from __future__ import annotations

import time
from typing import Any

from engine.errors import SqlError
from engine.exec import plan as P
from engine.exec.context import ExecContext
from engine.exec.dml import CompiledWrite
from engine.exec.operators import CompiledPlan, NodeStats, run_to_list


class CompiledCteWrites:
    """The statement's data-modifying WITH queries, then the statement (`main`: a compiled
    query, locking query or write). `run` returns what `main`'s run returns (a query's rows;
    a write's count and RETURNING rows); `kind` is the write's command, for the tag. With
    `stats` (EXPLAIN ANALYZE), each WITH query's rows and time are recorded under its plan."""

    __slots__ = ("writes", "main", "kind", "stats")

    def __init__(self, writes: list[tuple[P.CteWrite, CompiledWrite]], main: Any,
                 stats: dict[int, NodeStats] | None = None) -> None:
        self.writes = writes
        self.main = main
        self.kind = getattr(main, "kind", None)
        self.stats = stats

    async def run(self, txn, ctx: ExecContext, lock_timeout: float | None) -> Any:
        for cte, write in self.writes:
            started = time.perf_counter()
            _, rows = await write.run(txn, ctx, lock_timeout)
            ctx.worktables[cte.key] = rows
            if self.stats is not None:
                elapsed = time.perf_counter() - started
                self.stats[id(cte.plan)] = NodeStats(rows=len(rows), loops=1, first=elapsed, total=elapsed)
        if isinstance(self.main, CompiledPlan):
            return run_to_list(self.main, ctx)
        return await self.main.run(txn, ctx, lock_timeout)


def reject_snapshot_conflicts(writes: list[P.CteWrite], main_reads: P.Node) -> None:
    """0A000 when the statement (whose plan reads `main_reads`) or another WITH query reads a
    table a data-modifying WITH query changes: PostgreSQL would read it unchanged."""
    changed: dict[int, str] = {}
    for w in writes:
        table = w.plan.table
        if table.table_id in changed:
            raise SqlError("0A000", f'several data-modifying WITH queries changing table "{table.name}" are not supported')
        changed[table.table_id] = w.name
    readers = [(None, main_reads)] + [(w.name, w.plan.source) for w in writes]
    for reader, source in readers:
        for node in P.walk_all(source):
            if isinstance(node, (P.SeqScan, P.IndexLookup)):
                writer = changed.get(node.table.table_id)
                if writer is not None and writer != reader:
                    raise SqlError("0A000", f'reading table "{node.table.name}", which WITH query "{writer}" changes, '
                                            "in the same statement is not supported")
