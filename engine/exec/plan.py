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
from engine.types import INT8, TEXT, TIMESTAMPTZ, SqlType, format_type


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
    """Rows found through an index (EXPLAIN's "Index Scan").

    `keys` hold equality values for the first len(key) index columns (`slots` are all of
    the index's columns, in index order), one tuple per item of an IN list. An ordered index
    can also bound the column after the keys (`lower`, `upper`; with at most one key) and
    return its rows in key order (`order` 1) or in reverse (-1), which takes the place of a
    sort. `index_cond` is the conjunction of the conditions the search answers: rows the
    index cannot vouch for (changed after the snapshot, NULL in the key, own writes) are
    checked against it; `filter` holds the rest. With `array`, the one key expression is an
    array whose elements are the keys (`key = ANY (array)`)."""
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
    array: bool = False
    lower: Expr | None = None
    lower_inclusive: bool = True
    upper: Expr | None = None
    upper_inclusive: bool = True
    order: int = 0
    index_cond: Expr | None = None

    @property
    def exact_keys(self) -> bool:
        """Whether the search is equality on every index column (a plain lookup per key)."""
        return (self.lower is None and self.upper is None and self.order == 0 and bool(self.keys)
                and len(self.keys[0]) == len(self.slots))


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
    """The rows the enclosing RecursiveUnion produced in its previous round, or (`cte`) the
    RETURNING rows of a data-modifying WITH query (a CteWrite with the same key)."""
    name: str
    key: int
    columns: tuple[OutputColumn, ...]
    cte: bool = False


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
    """kind: inner, left, right, full, cross; semi and anti (the left rows with / without a
    match, left columns only: EXISTS and NOT EXISTS). Equi-keys make it a hash join. A
    lateral join re-runs `right` for every left row, with that row visible to it as the
    innermost outer row."""
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


def _system_time(point: ReadPoint, sql) -> str:
    """A scan's FOR SYSTEM_TIME clause as EXPLAIN shows it (the session's rewind.as_of has no bounds)."""
    if point.kind == "all":
        return "ALL"
    tx = "TRANSACTION " if point.by_lsn else ""
    if point.kind == "as_of":
        return f"AS OF {tx}{sql(point.bounds[0])}" if point.bounds else "AS OF rewind.as_of"
    first, second = ("BETWEEN", "AND") if point.kind == "between" else ("FROM", "TO")
    return f"{first} {tx}{sql(point.bounds[0])} {second} {tx}{sql(point.bounds[1])}"


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


def walk_all(node: Node) -> Iterator[Node]:
    """Every node of a plan, subquery plans included."""
    for n in walk(node):
        yield n
        for e in node_expressions(n):
            for sub in _subqueries(e):
                yield from walk_all(sub.plan)


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
        out.extend(x for x in (n.lower, n.upper) if x is not None)
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
class OnConflict:
    """INSERT ... ON CONFLICT: `index_id` is the arbiter unique index (None: every unique
    index, DO NOTHING only); with `update`, the assignments and condition are over the
    existing row's slots followed by the proposed row's (`excluded`)."""
    index_id: int | None
    update: bool
    assignments: tuple[tuple[int, Expr], ...] = ()
    condition: Expr | None = None


@dataclass(frozen=True, slots=True)
class InsertPlan:
    table: TableDef
    source: Node                     # rows with one value per target slot, already of the column types
    target_slots: tuple[int, ...]
    defaults: tuple[tuple[int, Expr], ...]   # slots not targeted, with their DEFAULT expressions
    returning: tuple[Expr, ...] = ()         # over the new row (one position per slot)
    columns: tuple[OutputColumn, ...] = ()   # of RETURNING
    on_conflict: OnConflict | None = None


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


@dataclass(frozen=True, slots=True)
class MergeAction:
    """One WHEN clause of MERGE. `kind`: update, delete, insert or nothing; the condition and
    the values are over the joined row (`MergePlan.source`). For an update, `values` are the
    assigned slots; for an insert, every slot (a column not given has its DEFAULT or NULL)."""
    matched: bool
    kind: str
    condition: Expr | None
    values: tuple[tuple[int, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class MergePlan:
    """MERGE: the source's rows left-joined to the target's on the ON condition. A joined row
    is the source's columns, then the target's slots from `target_offset`, then the target
    row's rowid (NULL: no target row matched). The first action whose kind of match and
    condition fit a row acts on it."""
    table: TableDef
    source: Node
    target_offset: int
    condition: Expr                  # ON, re-checked on a target row changed concurrently
    actions: tuple[MergeAction, ...]
    returning: tuple[Expr, ...] = ()         # (MERGE has no RETURNING in PostgreSQL 15)
    columns: tuple[OutputColumn, ...] = ()


@dataclass(frozen=True, slots=True)
class CteWrite:
    """A data-modifying WITH query (`WITH name AS (DELETE ... RETURNING ...)`): it runs once,
    to completion, before the statement; the statement reads its RETURNING rows through
    WorkTableScans with the same key."""
    name: str
    key: int
    plan: InsertPlan | UpdatePlan | DeletePlan


# -------------------------------------------------------------------- EXPLAIN


_JOIN_NAMES = {"inner": "", "cross": "", "left": " Left Join", "right": " Right Join", "full": " Full Join",
               "semi": " Semi Join", "anti": " Anti Join"}
_OPERATORS = {"+", "-", "*", "/", "%", "||", "^", "&", "|", "#", "<<", ">>", "~", "!~", "~*", "!~*", "@>", "<@",
              "->", "->>", "#>", "#>>", "?", "?|", "?&", "&&", "-|-"}


def render(node: Node, annotate: Callable[[Node], str] | None = None, verbose: bool = False,
           details: Callable[[Node], list[str]] | None = None) -> list[str]:
    """The plan as EXPLAIN's lines: PostgreSQL's tree layout ("->" arrows, six-space steps),
    node names and detail lines (filters, join and index conditions, sort and group keys),
    with expressions written back as SQL. `annotate(node)` appends to a node's line (EXPLAIN
    ANALYZE's actual rows and times), `details(node)` adds lines under it. Projections are
    not nodes of their own, as in PostgreSQL."""
    return _Renderer(node, annotate, verbose, details).lines


class _Renderer:
    def __init__(self, root: Node, annotate, verbose: bool, details) -> None:
        self.annotate = annotate
        self.verbose = verbose
        self.extra = details
        self.lines: list[str] = []
        self.subplans: dict[int, int] = {}
        self.qualify = sum(1 for n in walk_all(root) if _relation_name(n) is not None) > 1
        self.visit(root, 0, [])

    # ------------------------------------------------------------ the tree

    def visit(self, node: Node, depth: int, outer: list[list[str]], label: str | None = None,
              filters: tuple[str, ...] = (), subplans: tuple = (), shown: Node | None = None) -> None:
        """Draw `node` at `depth`. Filters above it (HAVING, conditions that stayed above a join)
        arrive already written as `filters` and are listed under it, as PostgreSQL does."""
        if isinstance(node, Filter):
            row = self.labels(node.input, outer)
            text = self.sql(node.predicate, row, outer)
            found = tuple((sub, row) for sub in _subqueries(node.predicate))
            self.visit(node.input, depth, outer, label, filters + (text,), subplans + found, shown or node)
            return
        if isinstance(node, Project) and not isinstance(node.input, Result):
            row = self.labels(node.input, outer)
            found = tuple((sub, row) for e in node.exprs for sub in _subqueries(e))
            self.visit(node.input, depth, outer, label, filters, subplans + found, shown or node)
            return
        stats_node = shown or node
        name = label or self.describe(node)
        if self.annotate is not None:
            name += self.annotate(stats_node)
        self.line(depth, name)
        own = self.labels(node, outer)
        if self.verbose and not isinstance(node, Result):
            self.detail(depth, "Output: " + ", ".join(self.labels(stats_node, outer)))
        if isinstance(node, Project):           # a select list without FROM: one "Result" node
            subplans = subplans + tuple((sub, []) for e in node.exprs for sub in _subqueries(e))
            node = node.input
        inner_labels = [self.labels(c, outer) for c in inputs(node)]
        for text in self.details(node, inner_labels, own, outer):
            self.detail(depth, text)
        for text in filters:
            self.detail(depth, "Filter: " + text)
        if self.extra is not None:
            for text in self.extra(stats_node):
                self.detail(depth, text)
        for i, child in enumerate(inputs(node)):
            child_outer = outer
            if isinstance(node, Join) and node.lateral and i == 1:
                child_outer = outer + [inner_labels[0]]
            if isinstance(node, Join) and node.left_keys and i == 1:
                self.line(depth + 1, "Hash" + (self.annotate(child) if self.annotate else ""))
                self.visit(child, depth + 2, child_outer)
            elif isinstance(node, SetOp) and node.kind == "union" and not node.all:
                if i == 0:
                    self.line(depth + 1, "Append")
                self.visit(child, depth + 2, child_outer)
            else:
                self.visit(child, depth + 1, child_outer)
        row_labels = inner_labels[0] if len(inner_labels) == 1 else (
            inner_labels[0] + inner_labels[1] if len(inner_labels) == 2 else own)
        found = [(sub, row_labels) for e in node_expressions(node) for sub in _subqueries(e)] + list(subplans)
        for sub, row in found:
            n = self.subplan_number(sub)
            self.line(depth + 1, f"SubPlan {n}" if sub.correlated else f"InitPlan {n} (returns ${n})")
            self.visit(sub.plan, depth + 2, outer + [row])

    def line(self, depth: int, text: str) -> None:
        self.lines.append(text if depth == 0 else " " * (6 * depth - 4) + "->  " + text)

    def detail(self, depth: int, text: str) -> None:
        self.lines.append(" " * (6 * depth + 2) + text)

    def subplan_number(self, sub) -> int:
        key = id(sub.plan)
        if key not in self.subplans:
            self.subplans[key] = len(self.subplans) + 1
        return self.subplans[key]

    # ------------------------------------------------------------ names and details

    def describe(self, n: Node) -> str:
        if isinstance(n, SeqScan):
            return f"Seq Scan on {self.relation(n.table.name, n.alias)}"
        if isinstance(n, IndexLookup):
            backward = " Backward" if n.order < 0 else ""
            return f"Index Scan{backward} using {n.index_name} on {self.relation(n.table.name, n.alias)}"
        if isinstance(n, VirtualScan):
            return f"Seq Scan on {n.name}"
        if isinstance(n, FunctionScan):
            fn = n.functions[0].name if len(n.functions) == 1 else "ROWS FROM"
            return f"Function Scan on {fn}" + (f" {n.alias}" if n.alias != fn else "")
        if isinstance(n, Values):
            return f'Values Scan on "{n.alias}"'
        if isinstance(n, WorkTableScan):
            return f"{'CTE' if n.cte else 'WorkTable'} Scan on {n.name}"
        if isinstance(n, Join):
            if n.left_keys:
                return "Hash" + (_JOIN_NAMES[n.kind] or " Join")
            return "Nested Loop" + _JOIN_NAMES[n.kind]
        if isinstance(n, Aggregate):
            if n.sets is not None:
                return "MixedAggregate"
            return "HashAggregate" if n.groups else "Aggregate"
        if isinstance(n, Distinct):
            return "Unique" if n.on else "HashAggregate"
        if isinstance(n, SetOp):
            if n.kind == "union":
                return "Append" if n.all else "HashAggregate"
            return f"HashSetOp {n.kind.title()}" + (" All" if n.all else "")
        return {Result: "Result", Project: "Result", Filter: "Result", ProjectSet: "ProjectSet",
                Window: "WindowAgg", Sort: "Sort", Limit: "Limit", RecursiveUnion: "Recursive Union",
                LockRows: "LockRows"}[type(n)]

    def relation(self, name: str, alias: str) -> str:
        return name if alias == name else f"{name} {alias}"

    def details(self, n: Node, inner: list[list[str]], own: list[str], outer: list[list[str]]) -> list[str]:
        out: list[str] = []
        row = inner[0] if inner else own
        sql = lambda e, labels=row: self.sql(e, labels, outer)       # noqa: E731
        if isinstance(n, IndexLookup):
            columns = [self.column_label(n.table, n.alias, s) for s in n.slots]
            if n.array:
                conds = [f"({columns[0]} = ANY ({self.sql(n.keys[0][0], own, outer)}))"]
            elif len(n.keys) > 1:
                values = ", ".join(self.sql(k[0], own, outer) for k in n.keys)
                conds = [f"({columns[0]} = ANY (ARRAY[{values}]))"]
            else:
                conds = [f"({c} = {self.sql(k, own, outer)})" for c, k in zip(columns, n.keys[0] if n.keys else ())]
            bounded = columns[len(n.keys[0]) if n.keys else 0] if n.lower is not None or n.upper is not None else ""
            if n.lower is not None:
                conds.append(f"({bounded} {'>=' if n.lower_inclusive else '>'} {self.sql(n.lower, own, outer)})")
            if n.upper is not None:
                conds.append(f"({bounded} {'<=' if n.upper_inclusive else '<'} {self.sql(n.upper, own, outer)})")
            if conds:
                out.append("Index Cond: " + (conds[0] if len(conds) == 1 else "(" + " AND ".join(conds) + ")"))
        if isinstance(n, (SeqScan, IndexLookup)) and n.read_point is not None:
            out.append("System Time: " + _system_time(n.read_point, lambda e: self.sql(e, own, outer)))
        if isinstance(n, (SeqScan, IndexLookup, VirtualScan, FunctionScan)) and n.filter is not None:
            out.append("Filter: " + self.sql(n.filter, own, outer))
        if isinstance(n, Join):
            both = inner[0] + inner[1]
            if n.left_keys:
                conds = [f"({self.sql(a, inner[0], outer)} = {self.sql(b, inner[1], outer)})"
                         for a, b in zip(n.left_keys, n.right_keys)]
                out.append("Hash Cond: " + (conds[0] if len(conds) == 1 else "(" + " AND ".join(conds) + ")"))
            if n.condition is not None:
                out.append("Join Filter: " + self.sql(n.condition, both, outer))
        if isinstance(n, Aggregate):
            if n.sets is not None:
                for s in n.sets:
                    key = ", ".join(sql(n.groups[i]) for i in s)
                    out.append(("Hash Key: " + key) if s else "Group Key: ()")
            elif n.groups:
                out.append("Group Key: " + ", ".join(sql(g) for g in n.groups))
        if isinstance(n, Distinct) and not n.on:
            out.append("Group Key: " + ", ".join(row))
        if isinstance(n, SetOp) and n.kind == "union" and not n.all:
            out.append("Group Key: " + ", ".join(self.labels(n.left, outer)))
        if isinstance(n, Sort):
            out.append("Sort Key: " + ", ".join(self.sort_key(k.expr, k.descending, k.nulls_first, row, outer)
                                               for k in n.keys))
        if isinstance(n, Window) and (n.spec.partition or n.spec.order):
            parts = []
            if n.spec.partition:
                parts.append("PARTITION BY " + ", ".join(sql(e) for e in n.spec.partition))
            if n.spec.order:
                parts.append("ORDER BY " + ", ".join(self.sort_key(o.expr, o.descending, o.nulls_first, row, outer)
                                                     for o in n.spec.order))
            out.append("Window: (" + " ".join(parts) + ")")
        if isinstance(n, Limit) and n.ties:
            out.append("With Ties")
        return out

    def sort_key(self, e: Expr, descending: bool, nulls_first: bool, labels: list[str], outer) -> str:
        text = self.sql(e, labels, outer)
        if descending:
            text += " DESC"
            if not nulls_first:
                text += " NULLS LAST"
        elif nulls_first:
            text += " NULLS FIRST"
        return text

    def column_label(self, table, alias: str, slot: int) -> str:
        column = table.column_by_slot(slot)
        name = column.name if column is not None else f"?{slot}"
        return f"{alias}.{name}" if self.qualify else name

    # ------------------------------------------------------------ row layouts

    def labels(self, n: Node, outer: list[list[str]]) -> list[str]:
        """How EXPLAIN writes each output position of a node."""
        if isinstance(n, (SeqScan, IndexLookup)):
            out = []
            for i, c in enumerate(n.columns):
                out.append(f"{n.alias}.{c.name}" if self.qualify else c.name)
            return out
        if isinstance(n, (VirtualScan, FunctionScan, Values, WorkTableScan)):
            alias = getattr(n, "alias", None) or getattr(n, "name", "")
            return [f"{alias}.{c.name}" if self.qualify else c.name for c in n.columns]
        if isinstance(n, Result):
            return []
        children = inputs(n)
        inner = [self.labels(c, outer) for c in children]
        if isinstance(n, (Filter, Sort, Limit, Distinct)):
            return inner[0]
        if isinstance(n, Project):
            return [self.sql(e, inner[0], outer) for e in n.exprs]
        if isinstance(n, Join):
            return inner[0] + inner[1] if n.kind not in ("semi", "anti") else inner[0]
        if isinstance(n, Aggregate):
            return ([self.sql(g, inner[0], outer) for g in n.groups] + [self.sql(a, inner[0], outer) for a in n.aggs]
                    + [self.sql(g, [self.sql(x, inner[0], outer) for x in n.groups], outer) for g in n.groupings])
        if isinstance(n, Window):
            return inner[0] + [self.sql(f, inner[0], outer) for f in n.functions]
        if isinstance(n, ProjectSet):
            return inner[0] + [self.sql(f, inner[0], outer) for f in n.functions]
        if isinstance(n, LockRows):
            return [self.sql(e, inner[0][n.raw:], outer) for e in n.outputs]
        return [c.name for c in n.columns]

    # ------------------------------------------------------------ expressions

    def sql(self, e: Expr, labels: list[str], outer: list[list[str]]) -> str:
        """An expression written back as SQL, with columns named by `labels`."""
        from engine.exec import expr as X
        r = lambda x: self.sql(x, labels, outer)            # noqa: E731
        t = type(e)
        if t is X.Col:
            return labels[e.index] if e.index < len(labels) else f"${e.index}"
        if t is X.OuterCol:
            level = outer[-e.depth] if e.depth <= len(outer) else []
            return level[e.index] if e.index < len(level) else f"outer.{e.index}"
        if t is X.Param:
            return f"${e.index + 1}"
        if t is X.Const:
            return _literal(e)
        if t is X.Compare:
            return f"({r(e.left)} {e.op} {r(e.right)})"
        if t is X.And:
            return "(" + " AND ".join(r(a) for a in e.args) + ")"
        if t is X.Or:
            return "(" + " OR ".join(r(a) for a in e.args) + ")"
        if t is X.Not:
            return f"(NOT {r(e.arg)})"
        if t is X.IsNull:
            return f"({r(e.arg)} IS {'NOT ' if e.negated else ''}NULL)"
        if t is X.IsBool:
            word = {True: "TRUE", False: "FALSE", None: "UNKNOWN"}[e.value]
            return f"({r(e.arg)} IS {'NOT ' if e.negated else ''}{word})"
        if t is X.Call:
            if e.fn in _OPERATORS and len(e.args) == 2:
                return f"({r(e.args[0])} {e.fn} {r(e.args[1])})"
            if e.fn in ("-u", "+u", "~u", "@u"):        # prefix operators
                return f"({e.fn[0]} {r(e.args[0])})"
            return f"{e.fn}({', '.join(r(a) for a in e.args)})"
        if t is X.Cast:
            return f"({r(e.arg)})::{format_type(e.type)}"
        if t is X.Case:
            parts = " ".join(f"WHEN {r(c)} THEN {r(v)}" for c, v in e.whens)
            return f"CASE {parts}" + (f" ELSE {r(e.default)}" if e.default is not None else "") + " END"
        if t is X.Coalesce:
            return f"COALESCE({', '.join(r(a) for a in e.args)})"
        if t is X.InList:
            return f"({r(e.arg)} {'NOT ' if e.negated else ''}IN ({', '.join(r(i) for i in e.items)}))"
        if t is X.Like:
            op = ("!" if e.negated else "") + ("~~*" if e.case_insensitive else "~~")
            return f"({r(e.arg)} {op} {r(e.pattern)})"
        if t is X.AggCall:
            args = "*" if e.star else ", ".join(r(a) for a in e.args)
            if e.distinct:
                args = "DISTINCT " + args
            if e.order:
                args += " ORDER BY " + ", ".join(self.sort_key(o.expr, o.descending, o.nulls_first, labels, outer)
                                                 for o in e.order)
            text = f"{e.name}({args})"
            return text + (f" FILTER (WHERE {r(e.filter)})" if e.filter is not None else "")
        if t is X.WindowCall:
            args = "*" if e.star else ", ".join(r(a) for a in e.args)
            return f"{e.name}({args}) OVER (...)"
        if t is X.GroupingCall:
            return f"GROUPING({', '.join(r(a) for a in e.args)})"
        if t is X.SrfCall:
            return f"{e.name}({', '.join(r(a) for a in e.args)})" if e.name != "scalar" else r(e.args[0])
        if t is X.Quantified:
            return f"({r(e.arg)} {e.op} {'ALL' if e.all else 'ANY'} ({r(e.array)}))"
        if t is X.Subquery:
            n = self.subplan_number(e)
            ref = f"(SubPlan {n})" if e.correlated else f"${n}"
            if e.kind == "exists":
                return f"{'NOT ' if e.negated else ''}EXISTS {ref}" if e.correlated else ref
            if e.kind == "in":
                return f"({'NOT ' if e.negated else ''}({r(e.arg)} = ANY ({ref})))" if e.negated else \
                    f"({r(e.arg)} = ANY ({ref}))"
            if e.kind in ("any", "all"):
                return f"({r(e.arg)} {e.op} {e.kind.upper()} ({ref}))"
            return ref
        if t is X.OrderItem:
            return self.sort_key(e.expr, e.descending, e.nulls_first, labels, outer)
        parts = [r(c) for c in X.children(e)]
        return f"{t.__name__.lower()}({', '.join(parts)})"


def _literal(e) -> str:
    v = e.value
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if e.type.oid in (20, 21, 23, 1700, 700, 701, 26) and not isinstance(v, str):
        text = str(v)
        return text if not text.startswith("-") else f"'{text}'::{format_type(e.type)}"
    from engine.types import text_formatter
    text = text_formatter(e.type)(v) if e.type.oid != 705 else str(v)
    return "'" + text.replace("'", "''") + "'::" + (format_type(e.type) if e.type.oid != 705 else "unknown")


def _subqueries(e: Expr):
    from engine.exec.expr import Subquery, walk as walk_expr
    for x in walk_expr(e):
        if isinstance(x, Subquery):
            yield x


def _relation_name(n: Node) -> str | None:
    if isinstance(n, (SeqScan, IndexLookup)):
        return n.alias
    if isinstance(n, (VirtualScan, WorkTableScan)):
        return n.name
    if isinstance(n, (FunctionScan, Values)):
        return n.alias
    return None
