"""EXPLAIN and EXPLAIN ANALYZE: the plan of a statement as text, optionally with what running
it did.

The session plans the explained statement as it would any other (so EXPLAIN shows the plan
that would really run) and hands it here. Plain EXPLAIN renders the optimized plan tree
(`exec.plan.render`). EXPLAIN ANALYZE runs the statement once more, compiled with
instrumentation (`operators.compile_plan(..., stats)`), and annotates each node with its
actual rows, loops and time; writes really happen, as in PostgreSQL. The format is
PostgreSQL's text format without cost estimates (as with COSTS OFF); docs/sql.md describes it.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

from engine.errors import feature_not_supported
from engine.exec import plan as P
from engine.exec.cte_writes import CompiledCteWrites
from engine.exec.dml import CompiledWrite
from engine.exec.locking import CompiledLockingQuery
from engine.exec.operators import NodeStats, compile_plan
from engine.sql.parser import Explain

_WRITE_NAMES = {P.InsertPlan: "Insert", P.UpdatePlan: "Update", P.DeletePlan: "Delete", P.MergePlan: "Merge"}


def plan_tree(prepared: Any) -> P.Node:
    """The node to render for a planned query or write (writes as a pseudo-node on top)."""
    compiled = prepared.plan
    if isinstance(compiled, CompiledCteWrites):
        compiled = compiled.main
    if prepared.kind == "query":
        return compiled.node
    return compiled.plan


async def run(session: Any, explain: Explain, inner: Any, params: tuple, planning: float) -> list[str]:
    """The lines of EXPLAIN's output for the planned statement `inner`."""
    if explain.format != "text":
        raise feature_not_supported(f"EXPLAIN (FORMAT {explain.format.upper()})")
    tree = plan_tree(inner)
    ctes = [cte for cte, _ in inner.plan.writes] if isinstance(inner.plan, CompiledCteWrites) else []
    if not explain.analyze:
        return _with_ctes(_render(tree, explain.verbose), ctes, explain.verbose)
    stats: dict[int, NodeStats] = {}
    instrumented = inner
    main = inner.plan.main if ctes else inner.plan
    if inner.kind == "query" and not isinstance(main, CompiledLockingQuery):
        main = compile_plan(tree, session.output_settings, stats)
    elif inner.kind == "write":
        main = CompiledWrite(tree, session.output_settings, session.row_compiler(inner.catalog), stats)
    if ctes:
        rows_compiler = session.row_compiler(inner.catalog)
        main = CompiledCteWrites([(cte, CompiledWrite(cte.plan, session.output_settings, rows_compiler, stats))
                                  for cte in ctes], main, stats)
    if main is not inner.plan:
        instrumented = dataclasses.replace(inner, plan=main)
    started = time.perf_counter()
    cursor = await session.execute(instrumented, params)
    rows = 0
    for batch in cursor.batches or ():
        rows += len(batch)
    elapsed = time.perf_counter() - started
    if inner.kind == "write" or not stats:
        stats[id(tree)] = NodeStats(rows=rows, loops=1, first=elapsed, total=elapsed)
    annotate = lambda n: _actual(stats.get(id(n)), explain.timing)  # noqa: E731
    details = lambda n: _removed(stats.get(id(n)))  # noqa: E731
    lines = _with_ctes(_render(tree, explain.verbose, annotate, details), ctes, explain.verbose, annotate, details)
    if explain.summary is not False:
        lines.append(f"Planning Time: {planning * 1000:.3f} ms")
        lines.append(f"Execution Time: {elapsed * 1000:.3f} ms")
    return lines


def _render(tree: Any, verbose: bool, annotate=None, details=None) -> list[str]:
    if isinstance(tree, P.Node):
        return P.render(tree, annotate, verbose, details)
    name = f"{_WRITE_NAMES[type(tree)]} on {tree.table.name}"
    lines = [name + (annotate(tree) if annotate else "")]
    for line in P.render(tree.source, annotate, verbose, details):
        lines.append("  ->  " + line if not line.startswith(" ") else "      " + line)
    return lines


def _with_ctes(lines: list[str], ctes: list[P.CteWrite], verbose: bool, annotate=None, details=None) -> list[str]:
    """The plan's lines with each data-modifying WITH query's plan as a "CTE name" block under
    the top node, after its detail lines and before its inputs, as PostgreSQL lays them out."""
    if not ctes:
        return lines
    at = next((i for i, line in enumerate(lines[1:], 1) if line.startswith("  ->  ")), len(lines))
    blocks = []
    for cte in ctes:
        inner = _render(cte.plan, verbose, annotate, details)
        blocks.append(f"  CTE {cte.name}")
        blocks.append("    ->  " + inner[0])
        blocks.extend(" " * 8 + line for line in inner[1:])
    return lines[:at] + blocks + lines[at:]


def _removed(stats: NodeStats | None) -> list[str]:
    """"Rows Removed by Filter" under a filtering scan (the only nodes counting rows read),
    per loop as PostgreSQL counts it."""
    if stats is None or not stats.loops or not stats.read:
        return []
    return [f"Rows Removed by Filter: {round((stats.read - stats.rows) / stats.loops)}"]


def _actual(stats: NodeStats | None, timing: bool) -> str:
    if stats is None or stats.loops == 0:
        return " (never executed)"
    rows = round(stats.rows / stats.loops)
    if not timing:
        return f" (actual rows={rows} loops={stats.loops})"
    first = (stats.first or stats.total) * 1000 / stats.loops
    total = stats.total * 1000 / stats.loops
    return f" (actual time={first:.3f}..{total:.3f} rows={rows} loops={stats.loops})"
