"""Access paths and join methods chosen by estimates: the optimizer's costed rules.

The rules in `optimizer.RULES` rewrite plans in ways that always help; the rules here
choose between ways that depend on the data, using `Statistics` — row counts per table and
distinct keys per index, which `apply` keeps up to date as a side effect of maintaining
the rows and indexes (`engine.state.DatabaseState` answers them). Each rule has the shape
`(plan, catalog, statistics) -> plan`:

- `use_indexes`: a scan filtered by `col = value` on every column of an index, by equality
  on a prefix of an ordered index (and a range on the next column), by a range on its first
  column, or by `col IN (...)`, becomes an index search (`plan.IndexLookup`); the index with
  the fewest estimated rows wins. An unordered range search that would visit more than a
  third of the index reads the table instead, decided when it runs (`TableData.scan`).
- `ordered_scans`: `ORDER BY` columns that an ordered index returns in order, under a
  LIMIT, become an index scan in that order (backward for DESC) that stops after the rows
  the LIMIT keeps, instead of a sort of every row.
- `join_order`: a tree of inner joins is rebuilt left-deep, greedily: the smallest input
  first, then each time the input that joins to what is there with the fewest estimated
  rows. Each join either hashes its smaller side or, when an input is a table scan with an
  index on its join columns and the other side is small enough, looks its rows up through
  the index for each row of the other side (an index nested loop: a lateral join whose
  inner side is an index lookup keyed by the outer row). A projection on top restores
  the column order the plan above expects. Left joins get the same index nested loop
  choice.

Estimates (`estimate`): a table's rows times the selectivity of its conditions — one over
the distinct keys of a one-column index for `col = value`, PostgreSQL's defaults otherwise
(1/200 for equality, 1/3 for a range) — and for an equi-join the product of the inputs over
the larger number of distinct join keys.

Only columns of types whose Python equality and order agree with SQL's are searched
(integers, numeric, floats, text, dates and times, bool, uuid, bytea); `char(n)`, whose
comparison ignores trailing blanks, is not.
"""
from __future__ import annotations

from typing import Callable, Protocol

from engine.catalog.model import Catalog, IndexDef
from engine.exec import plan as P
from engine.exec.expr import (And, Col, Compare, Const, Expr, InList, IsNull, Like, Not, Or, OuterCol, Quantified,
                              Subquery,
                              map_expr, walk)
from engine.sql.optimizer import (_columns_used, _everywhere, _row_independent, conjunction, conjuncts, hash_join_keys,
                                  subquery_plans)
from engine.txn.index import Search
from engine.types import (BOOL, BYTEA, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, NAME, NUMERIC, OID, TEXT, TIME,
                          TIMESTAMP, TIMESTAMPTZ, UUID, VARCHAR, SqlType)


class Statistics(Protocol):
    """What the costed rules know about the data: kept current by `apply`."""

    def table_rows(self, table_id: int) -> int: ...

    def index_distinct(self, table_id: int, index_id: int) -> int: ...

    def index_share(self, table_id: int, index_id: int, search: Search) -> float | None:
        """The share of an ordered index's distinct keys `search` visits (None: unknown)."""


class NoStatistics:
    """Estimates for plans made without data (a thousand rows, each key on ten)."""

    def table_rows(self, table_id: int) -> int:
        return 1000

    def index_distinct(self, table_id: int, index_id: int) -> int:
        return 100

    def index_share(self, table_id: int, index_id: int, search: Search) -> float | None:
        return None


CostedRule = Callable[[P.Node, Catalog, Statistics], P.Node]

_INTEGERS = frozenset((INT2.oid, INT4.oid, INT8.oid, OID.oid))
_NUMBERS = _INTEGERS | {NUMERIC.oid, FLOAT4.oid, FLOAT8.oid}
_STRINGS = frozenset((TEXT.oid, VARCHAR.oid, NAME.oid))
_SEARCHABLE = _NUMBERS | _STRINGS | {DATE.oid, TIME.oid, TIMESTAMP.oid, TIMESTAMPTZ.oid, BOOL.oid, UUID.oid,
                                     BYTEA.oid}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def comparable(column: SqlType, value: SqlType) -> bool:
    """Whether values of type `value` find rows of a column of type `column` through an
    index: equal values must be equal (and hash alike) in Python, and order alike."""
    a, b = column.oid, value.oid
    if a not in _SEARCHABLE or b not in _SEARCHABLE:
        return False
    if a == b:
        return True
    if a in _STRINGS and b in _STRINGS:
        return True
    return (a in _INTEGERS and b in _NUMBERS) or (b in _INTEGERS and a in _NUMBERS)


def _flatten(e: Expr | None) -> list[Expr]:
    out: list[Expr] = []
    for c in conjuncts(e):
        out.extend(_flatten(c) if isinstance(c, And) else [c])
    return out


class _Conditions:
    """A scan filter's conjuncts sorted by what an index can answer: per table slot, the
    `= value` (first one), `IN (values)` or `= ANY (array)`, and range (`<`, `<=`, `>`,
    `>=`) conditions."""

    def __init__(self, parts: list[Expr], width: int) -> None:
        self.parts = parts
        self.equal: dict[int, tuple[int, Expr]] = {}
        self.listed: dict[int, tuple[int, tuple[Expr, ...]]] = {}
        self.lower: dict[int, tuple[int, Expr, bool]] = {}
        self.upper: dict[int, tuple[int, Expr, bool]] = {}
        for pos, c in enumerate(parts):
            if isinstance(c, Compare) and c.op in _FLIPPED:
                for col, value, op in ((c.left, c.right, c.op), (c.right, c.left, _FLIPPED[c.op])):
                    if isinstance(col, Col) and col.index < width and _row_independent(value) \
                            and comparable(col.type, value.type):
                        if op == "=":
                            self.equal.setdefault(col.index, (pos, value))
                        elif op in (">", ">="):
                            self.lower.setdefault(col.index, (pos, value, op == ">="))
                        else:
                            self.upper.setdefault(col.index, (pos, value, op == "<="))
                        break
            elif isinstance(c, InList) and not c.negated and isinstance(c.arg, Col) and c.arg.index < width and \
                    all(_row_independent(i) and comparable(c.arg.type, i.type) for i in c.items):
                self.listed.setdefault(c.arg.index, (pos, c.items))
            elif isinstance(c, Quantified) and c.op == "=" and not c.all and isinstance(c.arg, Col) and \
                    c.arg.index < width and _row_independent(c.array) and c.array.type.element is not None and \
                    comparable(c.arg.type, c.array.type.element):
                self.listed.setdefault(c.arg.index, (pos, c.array))     # key = ANY (array)

    def bounds(self, slot: int, used: list[int]) -> tuple[Expr | None, bool, Expr | None, bool]:
        """The range conditions on `slot` as (lower, lower inclusive, upper, upper inclusive);
        the positions of the conjuncts they come from are added to `used`."""
        lower = upper = None
        lower_inclusive = upper_inclusive = True
        if slot in self.lower:
            pos, lower, lower_inclusive = self.lower[slot]
            used.append(pos)
        if slot in self.upper:
            pos, upper, upper_inclusive = self.upper[slot]
            used.append(pos)
        return lower, lower_inclusive, upper, upper_inclusive


def _search(scan: P.SeqScan, index: IndexDef, found: _Conditions, catalog: Catalog, stats: Statistics) -> tuple[float, P.IndexLookup] | None:
    """The best search of `index` for the scan's conditions, with its estimated rows."""
    columns = index.columns
    ordered = index.method == "btree"
    rows = max(stats.table_rows(scan.table.table_id), 1)
    distinct = max(stats.index_distinct(scan.table.table_id, index.index_id), 1)
    p = 0
    while p < len(columns) and columns[p] in found.equal:
        p += 1
    used = [found.equal[s][0] for s in columns[:p]]
    keys: tuple[tuple[Expr, ...], ...] = (tuple(found.equal[s][1] for s in columns[:p]),) if p else ()
    lower = upper = None
    lower_inclusive = upper_inclusive = True
    array = False
    if p == len(columns):
        estimate = 1.0 if index.unique else rows / distinct
    elif p == 0 and columns[0] in found.listed and (len(columns) == 1 or ordered):
        pos, items = found.listed[columns[0]]
        array = isinstance(items, Expr)
        if array and len(columns) > 1:
            return None
        used = [pos]
        keys = ((items,),) if array else tuple((i,) for i in items)
        per_key = 1.0 if index.unique and len(columns) == 1 else rows / distinct ** (1 / len(columns))
        estimate = (10 if array else len(items)) * per_key
    elif ordered and (p or columns[p] in found.lower or columns[p] in found.upper):
        estimate = rows / distinct ** (p / len(columns)) if p else float(rows)
        slot = columns[p]
        lower, lower_inclusive, upper, upper_inclusive = found.bounds(slot, used)
        if lower is not None or upper is not None:
            bounds = [Compare(op, Col(slot, value.type), value) for op, value in
                      (((">=" if lower_inclusive else ">"), lower), (("<=" if upper_inclusive else "<"), upper))
                      if value is not None]
            estimator = Estimator(catalog, stats)
            estimate *= min(estimator.selectivity(b, scan) for b in bounds) if len(bounds) == 1 else \
                estimator.selectivity(And(tuple(bounds)), scan)
    else:
        return None
    rest = [c for pos, c in enumerate(found.parts) if pos not in used]
    cond = conjunction([found.parts[pos] for pos in sorted(set(used))])
    lookup = P.IndexLookup(scan.table, scan.alias, index.index_id, index.name, tuple(columns), keys, scan.columns,
                           conjunction(rest), scan.read_point, scan.with_rowid, array=array, lower=lower,
                           lower_inclusive=lower_inclusive, upper=upper, upper_inclusive=upper_inclusive,
                           index_cond=cond)
    return estimate, lookup


def use_indexes(node: P.Node, catalog: Catalog, stats: Statistics) -> P.Node:
    """A filtered scan becomes the index search with the fewest estimated rows, if any."""
    def rule(n: P.Node) -> P.Node:
        if not isinstance(n, P.SeqScan) or n.filter is None or (n.read_point is not None and n.read_point.history):
            return n
        found = _Conditions(_flatten(n.filter), n.table.width)
        if not (found.equal or found.listed or found.lower or found.upper):
            return n
        best: tuple[float, int, P.IndexLookup] | None = None
        for index in sorted(catalog.indexes_of(n.table.table_id), key=lambda i: (not i.primary, i.index_id)):
            option = _search(n, index, found, catalog, stats)
            if option is not None and (best is None or option[0] < best[0]):
                best = (option[0], index.index_id, option[1])
        return best[2] if best is not None else n
    return _everywhere(node, rule)


def ordered_scans(node: P.Node, catalog: Catalog, stats: Statistics) -> P.Node:
    """LIMIT over a sort of a scan (through its select list) by columns that an ordered
    index returns in order, after equality on the index's leading columns: scan the index
    in that order and stop early — when that visits fewer rows than the best other search."""
    def rule(n: P.Node) -> P.Node:
        if not isinstance(n, P.Limit) or n.ties or n.count is None or not isinstance(n.input, P.Sort):
            return n
        sort = n.input
        project = sort.input if isinstance(sort.input, P.Project) else None
        scan = project.input if project is not None else sort.input
        if not isinstance(scan, P.SeqScan) or scan.with_rowid or \
                (scan.read_point is not None and scan.read_point.history):
            return n
        keys = []
        for k in sort.keys:
            e = project.exprs[k.expr.index] if project is not None and isinstance(k.expr, Col) else k.expr
            if not isinstance(e, Col) or e.index >= scan.table.width:
                return n
            keys.append((e.index, k.descending, k.nulls_first))
        ordered = _ordered_search(scan, keys, catalog, stats, n.count)
        if ordered is None:
            return n
        source = P.Project(ordered, project.exprs, project.columns) if project is not None else ordered
        return P.Limit(source, n.count, n.offset, n.columns, n.ties)
    return _everywhere(node, rule)


def _ordered_search(scan: P.SeqScan, keys: list[tuple[int, bool, bool]], catalog: Catalog, stats: Statistics,
                    count: Expr) -> P.IndexLookup | None:
    """The scan as an ordered index search in the order of `keys` (slot, descending, nulls
    first), if one is estimated to visit fewer rows than the best unordered way plus a sort."""
    first = keys[0][1:]
    direction = {(False, False): 1, (True, True): -1}.get(first)
    if direction is None or any(k[1:] != first for k in keys):
        return None
    found = _Conditions(_flatten(scan.filter), scan.table.width)
    table_id = scan.table.table_id
    rows = max(stats.table_rows(table_id), 1)
    keep = count.value if isinstance(count, Const) and isinstance(count.value, int) else 10
    unordered = float(rows)
    for index in catalog.indexes_of(table_id):
        option = _search(scan, index, found, catalog, stats)
        if option is not None:
            unordered = min(unordered, option[0])
    best: tuple[float, P.IndexLookup] | None = None
    for index in catalog.indexes_of(table_id):
        columns = index.columns
        if index.method != "btree" or not all(
                (c := scan.table.column_by_slot(s)) is not None and comparable(c.type, c.type) for s in columns):
            continue
        p = 0
        while p < len(columns) and columns[p] in found.equal:
            p += 1
        wanted = [slot for slot, _, _ in keys if not (slot in columns[:p])]
        if list(columns[p:p + len(wanted)]) != wanted or not wanted:
            continue
        used = [found.equal[s][0] for s in columns[:p]]
        prefix = tuple(found.equal[s][1] for s in columns[:p])
        lower, lower_inclusive, upper, upper_inclusive = found.bounds(columns[p], used)
        rest = [c for pos, c in enumerate(found.parts) if pos not in used]
        # rows the search visits: those matching its own conditions, until `keep` pass the rest
        matching = rows / max(stats.index_distinct(table_id, index.index_id), 1) ** (p / len(columns)) if p else rows
        passing = matching * 0.25 ** len(rest)
        visits = min(matching, keep * matching / max(passing, 1.0))
        if best is None or visits < best[0]:
            cond = conjunction([found.parts[pos] for pos in sorted(set(used))])
            best = (visits, P.IndexLookup(scan.table, scan.alias, index.index_id, index.name, tuple(columns),
                                          (prefix,) if p else (), scan.columns, conjunction(rest), scan.read_point,
                                          lower=lower, lower_inclusive=lower_inclusive, upper=upper,
                                          upper_inclusive=upper_inclusive, order=direction, index_cond=cond))
    if best is None or best[0] > unordered * 2:
        return None
    return best[1]


# -------------------------------------------------------------------- estimates

EQUALITY = 1 / 200          # PostgreSQL's defaults without statistics
RANGE = 1 / 3
UNKNOWN_DISTINCT = 200


class Estimator:
    """Estimated output rows of plan nodes, from `Statistics` (memoized per node)."""

    def __init__(self, catalog: Catalog, stats: Statistics) -> None:
        self.catalog = catalog
        self.stats = stats
        self._rows: dict[int, tuple[P.Node, float]] = {}

    def rows(self, node: P.Node) -> float:
        found = self._rows.get(id(node))
        if found is None or found[0] is not node:
            found = self._rows[id(node)] = (node, max(self._estimate(node), 1.0))
        return found[1]

    def _estimate(self, n: P.Node) -> float:
        if isinstance(n, P.SeqScan):
            return self.stats.table_rows(n.table.table_id) * self.selectivity(n.filter, n)
        if isinstance(n, P.IndexLookup):
            index = self.catalog.indexes.get(n.index_id)
            rows = self.stats.table_rows(n.table.table_id)
            if n.exact_keys and index is not None:
                per_key = 1.0 if index.unique else rows / max(self.stats.index_distinct(n.table.table_id, n.index_id), 1)
                return len(n.keys) * per_key * self.selectivity(n.filter, n)
            return rows * self.selectivity(n.index_cond, n) * self.selectivity(n.filter, n)
        if isinstance(n, P.Values):
            return len(n.rows)
        if isinstance(n, P.Result):
            return 1
        if isinstance(n, (P.VirtualScan, P.WorkTableScan)):
            return 100
        if isinstance(n, P.FunctionScan):
            return 1000
        if isinstance(n, P.Filter):
            return self.rows(n.input) * self.selectivity(n.predicate, n.input)
        if isinstance(n, P.Limit):
            count = n.count.value if isinstance(n.count, Const) and isinstance(n.count.value, int) else None
            return min(self.rows(n.input), count) if count is not None else self.rows(n.input)
        if isinstance(n, P.Aggregate):
            return max(self.rows(n.input) / 10, 1) if n.groups else 1
        if isinstance(n, P.Distinct):
            return self.rows(n.input) / 2
        if isinstance(n, P.Join):
            left, right = self.rows(n.left), self.rows(n.right)
            if n.lateral:
                joined = left * right
            elif n.left_keys:
                joined = left * right * self.join_selectivity(n)
            else:
                joined = left * right * self.selectivity(n.condition, n)
            if n.kind == "semi":
                return min(joined, left)
            if n.kind == "anti":
                return max(left - joined, left / 10)
            return max(joined, left) if n.kind in ("left", "full") else joined
        if isinstance(n, P.SetOp):
            left, right = self.rows(n.left), self.rows(n.right)
            return {"union": left + right, "intersect": min(left, right)}.get(n.kind, left)
        if isinstance(n, P.RecursiveUnion):
            return self.rows(n.anchor) * 10
        children = P.inputs(n)
        return self.rows(children[0]) if children else 1000

    def distinct(self, node: P.Node, e: Expr) -> float | None:
        """Distinct values of expression `e` over the rows of `node`, when known."""
        origin = self.origin(node, e)
        if origin is None:
            return None
        table, slot = origin
        best = None
        for index in self.catalog.indexes_of(table.table_id):
            if index.columns == (slot,):
                best = float(self.stats.table_rows(table.table_id) if index.unique
                             else self.stats.index_distinct(table.table_id, index.index_id))
                if index.unique:
                    break
        return best

    def origin(self, node: P.Node, e: Expr) -> tuple | None:
        """(table, slot) that column expression `e` of `node`'s rows comes from, if it is one."""
        while isinstance(e, Col):
            i = e.index
            if isinstance(node, (P.SeqScan, P.IndexLookup)):
                return (node.table, i) if i < node.table.width else None
            if isinstance(node, (P.Filter, P.Sort, P.Limit, P.Distinct)):
                node = node.input
            elif isinstance(node, P.Project):
                e, node = node.exprs[i], node.input
            elif isinstance(node, P.Join):
                width = len(node.left.columns)
                node, e = (node.left, e) if i < width else (node.right, Col(i - width, e.type))
            else:
                return None
        return None

    def selectivity(self, e: Expr | None, node: P.Node) -> float:
        """The share of `node`'s rows that pass condition `e`."""
        if e is None:
            return 1.0
        if isinstance(e, And):
            out = 1.0
            for a in e.args:
                out *= self.selectivity(a, node)
            return out
        if isinstance(e, Or):
            miss = 1.0
            for a in e.args:
                miss *= 1 - self.selectivity(a, node)
            return 1 - miss
        if isinstance(e, Not):
            return 1 - self.selectivity(e.arg, node)
        if isinstance(e, Compare):
            if e.op == "=":
                for side in (e.left, e.right):
                    nd = self.distinct(node, side) if isinstance(side, Col) else None
                    if nd:
                        return 1 / nd
                return EQUALITY
            if e.op == "<>":
                return 1 - EQUALITY
            return self.range_share(e, node) or RANGE
        if isinstance(e, InList):
            return min(1.0, len(e.items) * self.selectivity(Compare("=", e.arg, e.items[0]), node)) \
                if not e.negated else 1 - EQUALITY * len(e.items)
        if isinstance(e, IsNull):
            return 1 - EQUALITY if e.negated else EQUALITY
        if isinstance(e, Like):
            return EQUALITY if not e.negated else 1 - EQUALITY
        return RANGE

    def range_share(self, e: Compare, node: P.Node) -> float | None:
        """`col < constant` and the like: the share of an ordered index's keys in range."""
        for col, value, op in ((e.left, e.right, e.op), (e.right, e.left, _FLIPPED[e.op])):
            if not isinstance(col, Col) or not isinstance(value, Const) or value.value is None \
                    or not comparable(col.type, value.type):
                continue
            origin = self.origin(node, col)
            if origin is None:
                continue
            table, slot = origin
            for index in self.catalog.indexes_of(table.table_id):
                if index.method == "btree" and index.columns[0] == slot:
                    lower = op in (">", ">=")
                    search = Search((), value.value if lower else None, None if lower else value.value, lower,
                                    not lower, op == ">=", op == "<=")
                    return self.stats.index_share(table.table_id, index.index_id, search)
        return None

    def join_selectivity(self, n: P.Join) -> float:
        out = 1.0
        for lk, rk in zip(n.left_keys, n.right_keys):
            nl = self.distinct(n.left, lk) or min(self.rows(n.left), UNKNOWN_DISTINCT)
            nr = self.distinct(n.right, rk) or min(self.rows(n.right), UNKNOWN_DISTINCT)
            out /= max(nl, nr, 1)
        return out * self.selectivity(n.condition, n)


# -------------------------------------------------------------------- joins

LOOKUP_COST = 3.0       # an index lookup per outer row, against one hashed or scanned row


def join_order(node: P.Node, catalog: Catalog, stats: Statistics) -> P.Node:
    """Rebuild inner-join trees in a greedy order; index nested loops where they pay."""
    estimator = Estimator(catalog, stats)

    def visit(n: P.Node) -> P.Node:
        n = P.map_node_expressions(n, in_subqueries)
        if _inner(n):
            tree = _Flattened(n)
            if tree.movable:
                return _JoinBuilder(tree, [visit(leaf) for leaf in tree.leaves], estimator).build(n)
        n = P.with_inputs(n, tuple(visit(c) for c in P.inputs(n)))
        if isinstance(n, P.Join) and n.kind == "left" and n.left_keys and not n.lateral:
            return _index_nested_loop(n.left, n.right, n.left_keys, n.right_keys, n.condition, "left", n.columns,
                                      estimator) or n
        return n
    in_subqueries = subquery_plans(visit)
    return visit(node)


def _inner(n: P.Node) -> bool:
    return isinstance(n, P.Join) and n.kind in ("inner", "cross") and not n.lateral


class _Flattened:
    """A tree of inner joins as leaves (the non-join inputs, left to right) and conditions
    over the leaves' concatenated columns (`bases[i]`: where leaf i's columns start)."""

    def __init__(self, root: P.Join) -> None:
        self.leaves: list[P.Node] = []
        self.conditions: list[Expr] = []
        self.movable = True
        self.layout = self._flatten(root)
        self.bases = []
        at = 0
        for leaf in self.leaves:
            self.bases.append(at)
            at += len(leaf.columns)

    def _flatten(self, n: P.Node) -> list[int]:
        """Add n's leaves and conditions; n's columns as positions in the concatenation."""
        if not _inner(n):
            start = sum(len(leaf.columns) for leaf in self.leaves)
            self.leaves.append(n)
            return list(range(start, start + len(n.columns)))
        layout = self._flatten(n.left) + self._flatten(n.right)
        width = len(n.left.columns)
        parts = conjuncts(n.condition) + [Compare("=", lk, map_expr(rk, lambda x: Col(x.index + width, x.type, x.nullable)
                                                                     if isinstance(x, Col) else None))
                                         for lk, rk in zip(n.left_keys, n.right_keys)]
        for c in parts:
            if _columns_used(c) is None:
                self.movable = False
            self.conditions.append(map_expr(c, lambda x: Col(layout[x.index], x.type, x.nullable)
                                            if isinstance(x, Col) else None))
        return layout


class _JoinBuilder:
    """Greedy left-deep order for one flattened tree (see `join_order`)."""

    def __init__(self, tree: _Flattened, leaves: list[P.Node], estimator: Estimator) -> None:
        self.tree = tree
        self.leaves = leaves
        self.estimator = estimator
        self.leaf_of = {}
        for i, leaf in enumerate(tree.leaves):
            for j in range(len(leaf.columns)):
                self.leaf_of[tree.bases[i] + j] = i
        self.needs = [{self.leaf_of[c] for c in _columns_used(cond) or ()} for cond in tree.conditions]

    def build(self, original: P.Join) -> P.Node:
        rows = self.estimator.rows
        remaining = list(range(len(self.leaves)))
        first = min(remaining, key=lambda i: rows(self.leaves[i]))
        remaining.remove(first)
        placed = [first]
        node = self.leaves[first]
        positions = {self.tree.bases[first] + j: j for j in range(len(node.columns))}   # concatenation -> node
        used: set[int] = set()
        while remaining:
            best = None
            for i in remaining:
                conds = [k for k, need in enumerate(self.needs) if k not in used and need <= set(placed) | {i}
                         and i in need]
                candidate = self._join(node, positions, i, conds)
                score = (not conds, rows(candidate[0]))
                if best is None or score < best[0]:
                    best = (score, i, conds, candidate)
            _, i, conds, (node, positions) = best
            used.update(conds)
            placed.append(i)
            remaining.remove(i)
        leftover = [self._remap(self.tree.conditions[k], positions) for k in range(len(self.tree.conditions))
                    if k not in used]
        if leftover:
            node = P.Filter(node, conjunction(leftover), node.columns)
        order = [positions[c] for c in self.tree.layout]
        if order == list(range(len(node.columns))) and len(node.columns) == len(original.columns):
            return node
        return P.Project(node, tuple(Col(k, c.type, c.nullable) for k, c in zip(order, original.columns)),
                         original.columns)

    @staticmethod
    def _remap(e: Expr, positions: dict[int, int]) -> Expr:
        return map_expr(e, lambda x: Col(positions[x.index], x.type, x.nullable) if isinstance(x, Col) else None)

    def _join(self, node: P.Node, positions: dict[int, int], i: int, conds: list[int]) -> tuple[P.Node, dict[int, int]]:
        """`node` joined with leaf i on conditions `conds`: the cheapest of a hash join with
        either side hashed and an index nested loop into either side."""
        leaf = self.leaves[i]
        base = self.tree.bases[i]
        rows = self.estimator.rows
        options = []
        for leaf_right in (True, False):
            left, right = (node, leaf) if leaf_right else (leaf, node)
            width = len(left.columns)
            placed = {c: (p if leaf_right else p + len(leaf.columns)) for c, p in positions.items()}
            placed.update({base + j: (width + j if leaf_right else j) for j in range(len(leaf.columns))})
            condition = conjunction([self._remap(self.tree.conditions[k], placed) for k in conds])
            columns = left.columns + right.columns
            join = hash_join_keys(P.Join(left, right, "inner" if condition is not None else "cross", (), (),
                                         condition, columns), None)
            cost = rows(left) + rows(right) * 1.5          # the hashed side costs more than the probing one
            options.append((cost, join, placed))
            if join.left_keys:
                nested = _index_nested_loop(left, right, join.left_keys, join.right_keys, join.condition, "inner",
                                            columns, self.estimator)
                if nested is not None:
                    options.append((rows(left) * LOOKUP_COST, nested, placed))
        cost, join, placed = min(options, key=lambda o: o[0])
        return join, placed


def _index_nested_loop(left: P.Node, right: P.Node, left_keys: tuple[Expr, ...], right_keys: tuple[Expr, ...],
                       condition: Expr | None, kind: str, columns: tuple[P.OutputColumn, ...],
                       estimator: Estimator) -> P.Node | None:
    """`left` joined to a table scan `right` by looking up, for each left row, the right rows
    whose index key equals the left row's key values — when an index covers the right keys
    exactly and the left side is small enough to pay for a lookup per row."""
    if not isinstance(right, P.SeqScan) or right.read_point is not None:
        return None
    if right.filter is not None and any(isinstance(x, (OuterCol, Subquery)) for x in walk(right.filter)):
        return None
    if any(isinstance(x, Subquery) for k in left_keys for x in walk(k)):
        return None
    if estimator.rows(left) * LOOKUP_COST > estimator.stats.table_rows(right.table.table_id) + estimator.rows(left):
        return None
    slots = {}
    for lk, rk in zip(left_keys, right_keys):
        if not isinstance(rk, Col) or rk.index >= right.table.width or not comparable(rk.type, lk.type):
            return None
        slots.setdefault(rk.index, lk)
    for index in sorted(estimator.catalog.indexes_of(right.table.table_id), key=lambda i: (not i.unique, i.index_id)):
        if set(index.columns) != set(slots):
            continue
        outer = tuple(map_expr(slots[s], _outward) for s in index.columns)
        cond = conjunction([Compare("=", Col(s, right.table.column_by_slot(s).type), k)
                            for s, k in zip(index.columns, outer)])
        lookup = P.IndexLookup(right.table, right.alias, index.index_id, index.name, tuple(index.columns), (outer,),
                               right.columns, right.filter, None, right.with_rowid, index_cond=cond)
        return P.Join(left, lookup, kind, (), (), condition, columns, lateral=True)
    return None


def _outward(e: Expr) -> Expr | None:
    """An expression over the outer row as the inner side of a lateral join sees it."""
    if isinstance(e, Col):
        return OuterCol(1, e.index, e.type)
    if isinstance(e, OuterCol):
        return OuterCol(e.depth + 1, e.index, e.type)
    return None


COSTED_RULES: list[CostedRule] = [ordered_scans, use_indexes, join_order]
