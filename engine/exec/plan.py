"""Plan nodes: a closed set of frozen dataclasses, each describing one operator, its input(s),
and the row layout it produces (`columns`). `render` draws a plan as the tree EXPLAIN prints;
the tests use the same renderer.

Row layouts: a node's output rows are tuples; `columns[i]` describes position i. A scan
outputs the table's raw row tuples (one position per slot, dropped columns included), so no
projection happens until a Project asks for one.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from engine.catalog.model import TableDef
from engine.exec.expr import AggCall, Expr, GroupingCall, SrfCall, WindowCall, WindowSpec, map_value
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
    alias: str = "*VALUES*"


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
    """Rows whose unique key equals one of `keys` (each one expression per index column, in
    the order of the index's `slots`)."""
    table: TableDef
    alias: str
    index_id: int
    index_name: str
    slots: tuple[int, ...]
    keys: tuple[tuple[Expr, ...], ...]
    columns: tuple[OutputColumn, ...]
    filter: Expr | None = None
    read_point: ReadPoint | None = None
    with_rowid: bool = False


@dataclass(frozen=True, slots=True)
class VirtualScan(Node):
    """A generated table (pg_catalog, information_schema, rewind.*)."""
    name: str
    producer: Any                    # callable(ctx) -> list of row tuples
    columns: tuple[OutputColumn, ...]
    filter: Expr | None = None
    narrow: Any = None               # callable(predicate, settings) -> a producer reading only rows it may accept, or None


@dataclass(frozen=True, slots=True)
class FunctionScan(Node):
    """Set-returning functions in FROM, zipped row by row (ROWS FROM / multi-argument unnest),
    shorter ones padded with NULLs; `ordinality` appends the row number."""
    functions: tuple[SrfCall, ...]
    alias: str
    columns: tuple[OutputColumn, ...]
    ordinality: bool = False
    filter: Expr | None = None


@dataclass(frozen=True, slots=True)
class WorkTableScan(Node):
    """The rows the enclosing RecursiveUnion produced in its previous round."""
    name: str
    key: int
    columns: tuple[OutputColumn, ...]


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
class ProjectSet(Node):
    """Set-returning functions in a select list: each input row, followed by the functions'
    values, once per row the longest function returns (the others padded with NULLs)."""
    input: Node
    functions: tuple[SrfCall, ...]
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class Join(Node):
    """kind: inner, left, right, full, cross. Equi-keys make it a hash join. A lateral join
    re-runs `right` for every left row, with that row visible to it as the innermost outer row."""
    left: Node
    right: Node
    kind: str
    left_keys: tuple[Expr, ...]
    right_keys: tuple[Expr, ...]
    condition: Expr | None           # evaluated on the combined row (left + right)
    columns: tuple[OutputColumn, ...]
    lateral: bool = False


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    """Output rows: group values, then aggregate results, then grouping() values.

    With grouping sets, `sets` lists for each set the positions in `groups` it groups by;
    the groups a set leaves out are NULL in its rows."""
    input: Node
    groups: tuple[Expr, ...]
    aggs: tuple[AggCall, ...]
    columns: tuple[OutputColumn, ...]
    sets: tuple[tuple[int, ...], ...] | None = None
    groupings: tuple[GroupingCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Window(Node):
    """Window functions sharing one window: input rows (in the window's order), each followed
    by the value of every function."""
    input: Node
    spec: WindowSpec
    functions: tuple[WindowCall, ...]
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
    """OFFSET/LIMIT; `ties` (FETCH ... WITH TIES) keeps going while rows equal the last one on
    these sort keys."""
    input: Node
    count: Expr | None
    offset: Expr | None
    columns: tuple[OutputColumn, ...]
    ties: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Distinct(Node):
    """Rows with duplicates removed; with `on` (DISTINCT ON), the first row of each group of
    rows equal on those expressions."""
    input: Node
    columns: tuple[OutputColumn, ...]
    on: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class SetOp(Node):
    kind: str                        # union, intersect, except
    all: bool
    left: Node
    right: Node
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class RecursiveUnion(Node):
    """WITH RECURSIVE: `anchor` once, then `recursive` (which reads the previous round through a
    WorkTableScan with the same key) until a round adds no rows."""
    name: str
    anchor: Node
    recursive: Node
    distinct: bool
    key: int
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True, slots=True)
class LockTarget:
    """One table a locking SELECT locks: where its row and rowid sit in the raw row, how to lock."""
    table: TableDef
    start: int                       # position of the table's slot 0 in the raw row
    rowid: int                       # position of its rowid in the raw row
    mode: int                        # txn.locks mode (KEY_SHARE .. UPDATE)
    wait: str                        # "wait", "nowait" or "skip"
    clause: str                      # "FOR UPDATE", "FOR SHARE", ... (for messages)


@dataclass(frozen=True, slots=True)
class LockRows(Node):
    """SELECT ... FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE, then LIMIT/OFFSET.

    Input rows are the select list, hidden sort keys, then from `raw` on the FROM row (with
    the targets' rowids) the select list was computed from. Each row's targets are locked in
    order; a target changed since the snapshot is re-read, `predicate` re-checked and
    `outputs` recomputed over the new raw row. Outputs the select list only."""
    input: Node
    targets: tuple[LockTarget, ...]
    raw: int
    predicate: Expr | None
    outputs: tuple[Expr, ...]
    count: Expr | None
    offset: Expr | None
    columns: tuple[OutputColumn, ...]


def inputs(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Filter, Project, ProjectSet, Aggregate, Window, Sort, Limit, Distinct, LockRows)):
        return (node.input,)
    if isinstance(node, (Join, SetOp)):
        return (node.left, node.right)
    if isinstance(node, RecursiveUnion):
        return (node.anchor, node.recursive)
    return ()


_CHILD_FIELDS = ("input", "left", "right", "anchor", "recursive")
_OPAQUE_FIELDS = frozenset(_CHILD_FIELDS + ("table", "columns", "read_point", "producer", "targets"))


def with_inputs(node: Node, new: tuple[Node, ...]) -> Node:
    """`node` reading from `new` instead of its current inputs."""
    old = inputs(node)
    if all(a is b for a, b in zip(old, new)):
        return node
    names = [f for f in _CHILD_FIELDS if hasattr(node, f)]
    return dataclasses.replace(node, **dict(zip(names, new)))


def transform(node: Node, fn: Callable[[Node], Node]) -> Node:
    """Rebuild a plan bottom-up: fn sees each node after its inputs were transformed."""
    children = inputs(node)
    if children:
        node = with_inputs(node, tuple(transform(c, fn) for c in children))
    return fn(node)


def map_node_expressions(node: Node, fn: Callable[[Expr], Expr]) -> Node:
    """`node` with fn applied to every expression it evaluates itself (not its inputs')."""
    changes = {}
    for f in dataclasses.fields(node):
        if f.name in _OPAQUE_FIELDS:
            continue
        v = getattr(node, f.name)
        mapped = map_value(v, fn)
        if mapped is not v:
            changes[f.name] = mapped
    return dataclasses.replace(node, **changes) if changes else node


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node below it (not descending into subquery plans)."""
    yield node
    for child in inputs(node):
        yield from walk(child)


def node_expressions(n: Node) -> list[Expr]:
    """Every expression a node evaluates itself (not those of its inputs)."""
    out: list[Expr] = []
    for name in ("filter", "predicate", "condition", "count", "offset"):
        v = getattr(n, name, None)
        if isinstance(v, Expr):
            out.append(v)
    for name in ("exprs", "groups", "aggs", "groupings", "left_keys", "right_keys", "functions", "on", "ties"):
        out.extend(getattr(n, name, ()) or ())
    if isinstance(n, IndexLookup):
        out.extend(x for key in n.keys for x in key)
    if isinstance(n, Sort):
        out.extend(k.expr for k in n.keys)
    if isinstance(n, Window):
        out.extend(n.spec.partition)
        out.extend(n.spec.order)
    if isinstance(n, Values):
        out.extend(x for row in n.rows for x in row)
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
