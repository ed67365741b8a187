"""Plan nodes: a closed set of frozen dataclasses, each describing one operator, its input(s),
and the row layout it produces (`columns`). `render` draws a plan as the tree EXPLAIN prints;
the tests use the same renderer.

Row layouts: a node's output rows are tuples; `columns[i]` describes position i. A scan
outputs the table's raw row tuples (one position per slot, dropped columns included), so no
projection happens until a Project asks for one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.catalog.model import TableDef
from engine.exec.expr import AggCall, Expr
from engine.types import INT8, TEXT, TIMESTAMPTZ, SqlType


@dataclass(frozen=True, slots=True)
class OutputColumn:
    name: str
    type: SqlType
    table_oid: int = 0
    attnum: int = 0
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class ReadPoint:
    """Where a table is read when not at the statement's snapshot: a FOR SYSTEM_TIME clause.

    `kind` is "as_of" (the table exactly after one LSN), or "between", "from_to", "all"
    (every version in a range, with the system columns). `by_lsn` for the TRANSACTION forms,
    else the bounds are timestamps. `index` numbers the clauses of one statement: the
    bounds are evaluated once per execution and `ctx.points[index]` holds the resolved
    (low, high) LSNs (engine.rewind.points)."""
    index: int
    kind: str
    by_lsn: bool
    bounds: tuple[Expr, ...] = ()

    @property
    def history(self) -> bool:
        return self.kind != "as_of"


# The columns every row of a history read (BETWEEN, FROM ... TO, ALL) carries after the
# table's own slots; hidden from `*`, available by name.
SYSTEM_COLUMNS: tuple[tuple[str, SqlType], ...] = (
    ("_tx", INT8), ("_valid_from", TIMESTAMPTZ), ("_valid_to", TIMESTAMPTZ), ("_op", TEXT), ("_user", TEXT))


@dataclass(frozen=True, slots=True)
class Node:
    pass


@dataclass(frozen=True, slots=True)
class Result(Node):
    """One empty row: the FROM of a SELECT without FROM."""
    columns: tuple[OutputColumn, ...] = ()


@dataclass(frozen=True, slots=True)
class Values(Node):
    rows: tuple[tuple[Expr, ...], ...]
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class SeqScan(Node):
    table: TableDef
    alias: str
    columns: tuple[OutputColumn, ...]
    filter: Expr | None = None
    read_point: ReadPoint | None = None
    with_rowid: bool = False         # append the rowid to each row (for UPDATE/DELETE)


@dataclass(frozen=True, slots=True)
class IndexLookup(Node):
    """Rows whose unique key equals `key` (one expression per index column)."""
    table: TableDef
    alias: str
    index_id: int
    index_name: str
    key: tuple[Expr, ...]
    columns: tuple[OutputColumn, ...]
    filter: Expr | None = None
    read_point: ReadPoint | None = None
    with_rowid: bool = False


@dataclass(frozen=True, slots=True)
class VirtualScan(Node):
    """A generated table (pg_catalog, information_schema, rewind.*, set-returning functions)."""
    name: str
    producer: Any                    # callable(ctx) -> list of row tuples
    columns: tuple[OutputColumn, ...]
    filter: Expr | None = None


@dataclass(frozen=True, slots=True)
class Filter(Node):
    input: Node
    predicate: Expr
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class Project(Node):
    input: Node
    exprs: tuple[Expr, ...]
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class Join(Node):
    """kind: inner, left, right, full, cross. Equi-keys make it a hash join."""
    left: Node
    right: Node
    kind: str
    left_keys: tuple[Expr, ...]
    right_keys: tuple[Expr, ...]
    condition: Expr | None           # evaluated on the combined row (left + right)
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    """Output rows: group values, then aggregate results."""
    input: Node
    groups: tuple[Expr, ...]
    aggs: tuple[AggCall, ...]
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class SortKey:
    expr: Expr
    descending: bool = False
    nulls_first: bool = False


@dataclass(frozen=True, slots=True)
class Sort(Node):
    input: Node
    keys: tuple[SortKey, ...]
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class Limit(Node):
    input: Node
    count: Expr | None
    offset: Expr | None
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class Distinct(Node):
    input: Node
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class SetOp(Node):
    kind: str                        # union, intersect, except
    all: bool
    left: Node
    right: Node
    columns: tuple[OutputColumn, ...]


def inputs(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Filter, Project, Aggregate, Sort, Limit, Distinct)):
        return (node.input,)
    if isinstance(node, (Join, SetOp)):
        return (node.left, node.right)
    return ()


def describe(node: Node) -> str:
    """One line for EXPLAIN."""
    if isinstance(node, SeqScan):
        return f"Seq Scan on {node.table.name}" + (f" {node.alias}" if node.alias != node.table.name else "")
    if isinstance(node, IndexLookup):
        return f"Index Scan using {node.index_name} on {node.table.name}" + (f" {node.alias}" if node.alias != node.table.name else "")
    if isinstance(node, VirtualScan):
        return f"Function Scan on {node.name}"
    if isinstance(node, Join):
        if node.kind == "cross" or not node.left_keys:
            return "Nested Loop" + ("" if node.kind in ("inner", "cross") else f" {node.kind.title()} Join")
        return "Hash Join" if node.kind == "inner" else f"Hash {node.kind.title()} Join"
    if isinstance(node, Aggregate):
        return "HashAggregate" if node.groups else "Aggregate"
    if isinstance(node, SetOp):
        return ("Append" if node.kind == "union" and node.all else f"HashSetOp {node.kind.title()}" + (" All" if node.all else ""))
    return {Result: "Result", Values: "Values Scan", Filter: "Filter", Project: "Result", Sort: "Sort",
            Limit: "Limit", Distinct: "HashAggregate"}[type(node)]


def render(node: Node, annotate=None) -> list[str]:
    """The plan as EXPLAIN lines: a tree with "->" arrows, as PostgreSQL draws it."""
    lines: list[str] = []

    def visit(n: Node, depth: int) -> None:
        label = describe(n) + (annotate(n) if annotate else "")
        if depth == 0:
            lines.append(label)
        else:
            lines.append("  " * (3 * depth - 2) + "->  " + label)
        details = _details(n)
        for d in details:
            lines.append(("  " * (3 * depth + (1 if depth else 0)) if depth else "  ") + d)
        for child in inputs(n):
            visit(child, depth + 1)

    visit(node, 0)
    return lines


def _details(n: Node) -> list[str]:
    out = []
    if isinstance(n, SeqScan) and n.filter is not None:
        out.append("Filter: (...)")
    if isinstance(n, IndexLookup):
        out.append("Index Cond: (key = ...)")
    if isinstance(n, Sort):
        out.append(f"Sort Key: {len(n.keys)} key(s)")
    if isinstance(n, Join) and n.left_keys:
        out.append(f"Hash Cond: {len(n.left_keys)} key(s)")
    return out


# -------------------------------------------------------------------- writes


@dataclass(frozen=True, slots=True)
class InsertPlan:
    table: TableDef
    source: Node                     # rows with one value per target slot, already of the column types
    target_slots: tuple[int, ...]
    defaults: tuple[tuple[int, Expr], ...]   # slots not targeted, with their DEFAULT expressions
    returning: tuple[Expr, ...] = ()         # over the new row (one position per slot)
    columns: tuple[OutputColumn, ...] = ()   # of RETURNING
    on_conflict: Any = None


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    table: TableDef
    source: Node                     # target row slots, then the rowid, then any FROM columns
    assignments: tuple[tuple[int, Expr], ...]  # slot <- expression over the source row
    recheck: Expr | None             # the target table's own conditions, re-checked on a newer version
    returning: tuple[Expr, ...] = ()
    columns: tuple[OutputColumn, ...] = ()


@dataclass(frozen=True, slots=True)
class DeletePlan:
    table: TableDef
    source: Node                     # target row slots, then the rowid
    recheck: Expr | None
    returning: tuple[Expr, ...] = ()
    columns: tuple[OutputColumn, ...] = ()
