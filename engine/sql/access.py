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

Only columns of types whose Python equality and order agree with SQL's are searched
(integers, numeric, floats, text, dates and times, bool, uuid, bytea); `char(n)`, whose
comparison ignores trailing blanks, is not.
"""
from __future__ import annotations

from typing import Callable, Protocol

from engine.catalog.model import Catalog, IndexDef
from engine.exec import plan as P
from engine.exec.expr import And, Col, Compare, Const, Expr, InList, Quantified
from engine.sql.optimizer import _everywhere, _row_independent, conjunction, conjuncts
from engine.types import (BOOL, BYTEA, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, NAME, NUMERIC, OID, TEXT, TIME,
                          TIMESTAMP, TIMESTAMPTZ, UUID, VARCHAR, SqlType)


class Statistics(Protocol):
    """What the costed rules know about the data: kept current by `apply`."""

    def table_rows(self, table_id: int) -> int: ...

    def index_distinct(self, table_id: int, index_id: int) -> int: ...


class NoStatistics:
    """Estimates for plans made without data (a thousand rows, each key on ten)."""

    def table_rows(self, table_id: int) -> int:
        return 1000

    def index_distinct(self, table_id: int, index_id: int) -> int:
        return 100


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


def _search(scan: P.SeqScan, index: IndexDef, found: _Conditions, stats: Statistics) -> tuple[float, P.IndexLookup] | None:
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
        if slot in found.lower:
            pos, lower, lower_inclusive = found.lower[slot]
            used.append(pos)
        if slot in found.upper:
            pos, upper, upper_inclusive = found.upper[slot]
            used.append(pos)
        if lower is not None or upper is not None:
            estimate /= 10 if lower is not None and upper is not None else 3
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
            option = _search(n, index, found, stats)
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
        option = _search(scan, index, found, stats)
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
        lower = upper = None
        lower_inclusive = upper_inclusive = True
        slot = columns[p]
        if slot in found.lower:
            pos, lower, lower_inclusive = found.lower[slot]
            used.append(pos)
        if slot in found.upper:
            pos, upper, upper_inclusive = found.upper[slot]
            used.append(pos)
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


COSTED_RULES: list[CostedRule] = [ordered_scans, use_indexes]
