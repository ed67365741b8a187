"""The optimizer: a list of small rewrite rules applied to a plan, one after another.

Each rule is a function `(plan, catalog) -> plan` that rewrites what it recognises and leaves
everything else alone; `optimize` applies them in order, to the plan and to the plans of its
subqueries. Rules never change results, only how they are computed:

- `fold_constants`: evaluate constant sub-expressions once, at plan time;
- `push_down_filters`: move WHERE/ON conditions as close to the scans as they can go
  (through joins, projections of derived tables and views, sorts), into the scans' filters;
- `hash_join_keys`: turn `left.x = right.y` conditions of a join into hash-join keys;
- `decorrelate_exists`: correlated EXISTS / NOT EXISTS / IN conditions become hash semi and
  anti joins, unless an index answers the subquery per outer row;
- `aggregate_before_join`: aggregate one side of a join per join key before joining;
- `project_late`: sort and limit before computing the select list.

Then the rules that choose by estimates run (`access`: index searches, ordered index
scans), with the statistics the session hands over. Keep each rule small and local.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

from engine.catalog.model import Catalog
from engine.exec import plan as P
from engine.exec.functions import Signature, find_signature
from engine.exec.expr import (AggCall, And, Call, Cast, Col, Compare, Const, Expr, Not, OuterCol, Param,
                              SrfCall, Subquery, WindowCall, map_expr, walk)
from engine.types import BPCHAR

if TYPE_CHECKING:
    from engine.sql.access import Statistics

Rule = Callable[[P.Node, Catalog], P.Node]


def optimize(node: P.Node, catalog: Catalog, stats: Statistics | None = None) -> P.Node:
    """Apply every rule, then the costed ones (`access.COSTED_RULES`) with `stats`."""
    from engine.sql.access import COSTED_RULES, NoStatistics
    for rule in RULES:
        node = rule(node, catalog)
    stats = stats if stats is not None else NoStatistics()
    for costed in COSTED_RULES:
        node = costed(node, catalog, stats)
    return node


def _everywhere(node: P.Node, fn: Callable[[P.Node], P.Node]) -> P.Node:
    """Apply fn bottom-up to every node of the plan and of its subqueries' plans."""
    in_subqueries = subquery_plans(lambda plan: _everywhere(plan, fn))
    return P.transform(node, lambda n: fn(P.map_node_expressions(n, in_subqueries)))


def subquery_plans(fn: Callable[[P.Node], P.Node]) -> Callable[[Expr], Expr]:
    """expression -> the expression with fn applied to the plan of every subquery in it."""
    def in_subqueries(e: Expr) -> Expr:
        if type(e) in _LEAVES or not any(isinstance(x, Subquery) for x in walk(e)):
            return e

        def visit(x: Expr) -> Expr | None:
            if isinstance(x, Subquery):
                arg = map_expr(x.arg, visit) if x.arg is not None else None
                return dataclasses.replace(x, plan=fn(x.plan), arg=arg)
            return None
        return map_expr(e, visit)
    return in_subqueries


_LEAVES = frozenset({Col, Const, Param, OuterCol})     # expressions without sub-expressions


# -------------------------------------------------------------------- expression helpers


def conjuncts(e: Expr | None) -> list[Expr]:
    if e is None:
        return []
    return list(e.args) if isinstance(e, And) else [e]


def conjunction(parts: list[Expr]) -> Expr | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _columns_used(e: Expr) -> set[int] | None:
    """The row positions `e` reads, or None if it cannot move (it runs a correlated subquery,
    which sees the whole row, or has side effects)."""
    used: set[int] = set()
    for x in walk(e):
        if isinstance(x, Col):
            used.add(x.index)
        elif isinstance(x, Subquery) and x.correlated:
            return None
        elif isinstance(x, Call) and _volatile(x):
            return None
        elif isinstance(x, (AggCall, WindowCall, SrfCall)):
            return None
    return used


def _signature(call: Call) -> Signature:
    return call.sig or find_signature(call.fn, [a.type for a in call.args])


def _volatile(call: Call) -> bool:
    return _signature(call).volatile


def _shift(e: Expr, delta: int) -> Expr:
    return map_expr(e, lambda x: Col(x.index + delta, x.type, x.nullable) if isinstance(x, Col) else None)


def _row_independent(e: Expr) -> bool:
    """True when `e` has the same value for every row of the scan (parameters, constants,
    outer references, uncorrelated subqueries)."""
    for x in walk(e):
        if isinstance(x, Col) or (isinstance(x, Subquery) and x.correlated):
            return False
        if isinstance(x, Call) and _volatile(x):
            return False
        if isinstance(x, (AggCall, WindowCall, SrfCall)):
            return False
    return True


# -------------------------------------------------------------------- rules


def fold_constants(node: P.Node, catalog: Catalog) -> P.Node:
    """Constant sub-expressions (no columns, parameters or volatile calls) become constants."""
    from engine.exec.compiler import CodeGen

    def fold(e: Expr) -> Expr:
        def visit(x: Expr) -> Expr | None:
            if isinstance(x, (Const, Col, Param, OuterCol)):
                return x
            if isinstance(x, (Call, Compare)) and _foldable(x):
                g = CodeGen()
                try:
                    value = g.function("", g.expr(x))(None, None)()
                except Exception:
                    return x          # errors surface at run time, as they would unfolded
                return Const(value, x.type)
            return None
        return map_expr(e, visit)

    def rule(n: P.Node) -> P.Node:
        return P.map_node_expressions(n, fold)
    return _everywhere(node, rule)


def _foldable(e: Expr) -> bool:
    for x in walk(e):
        if isinstance(x, (Col, Param, OuterCol, Subquery, AggCall, WindowCall, SrfCall, Cast)):
            return False
        if isinstance(x, Call) and not _signature(x).immutable:
            return False
    return True


def push_down_filters(node: P.Node, catalog: Catalog) -> P.Node:
    """Conditions move down to where their columns come from; scans absorb them."""
    def rule(n: P.Node) -> P.Node:
        if isinstance(n, P.Filter):
            return _push(n.input, conjuncts(n.predicate))
        if isinstance(n, P.Join) and n.condition is not None and not n.lateral:
            return _push_join_condition(n)
        return n
    return _everywhere(node, rule)


def _with_filter(node: P.Node, parts: list[Expr]) -> P.Node:
    """node filtered by the conjuncts `parts`, pushed as far down as they go."""
    return _push(node, parts) if parts else node


def _push(node: P.Node, parts: list[Expr]) -> P.Node:
    if not parts:
        return node
    if isinstance(node, (P.SeqScan, P.IndexLookup, P.VirtualScan, P.FunctionScan)):
        return dataclasses.replace(node, filter=conjunction(conjuncts(node.filter) + parts))
    if isinstance(node, P.Filter):
        return _push(node.input, conjuncts(node.predicate) + parts)
    if isinstance(node, P.Sort) or (isinstance(node, P.Distinct) and not node.on):
        return P.with_inputs(node, (_push(node.input, parts),))
    if isinstance(node, P.Project):
        below, stay = [], []
        for c in parts:
            used = _columns_used(c)
            if used is not None and all(_movable(node.exprs[i]) for i in used):
                below.append(map_expr(c, lambda x: node.exprs[x.index] if isinstance(x, Col) else None))
            else:
                stay.append(c)
        inner = _push(node.input, below) if below else node.input
        result = P.Project(inner, node.exprs, node.columns) if inner is not node.input else node
        return P.Filter(result, conjunction(stay), node.columns) if stay else result
    if isinstance(node, P.Join) and not node.lateral:
        width = len(node.left.columns)
        inner = node.kind in ("inner", "cross")
        left, right, join, stay = [], [], [], []
        for c in parts:
            side = _side(c, width)
            if side == "left" and (inner or node.kind == "left"):
                left.append(c)
            elif side == "right" and (inner or node.kind == "right"):
                right.append(_shift(c, -width))
            elif side == "both" and inner:
                join.append(c)
            else:
                stay.append(c)
        joined = dataclasses.replace(node, left=_with_filter(node.left, left), right=_with_filter(node.right, right),
                                     condition=conjunction(conjuncts(node.condition) + join),
                                     kind="inner" if join else node.kind)
        return P.Filter(joined, conjunction(stay), node.columns) if stay else joined
    return P.Filter(node, conjunction(parts), node.columns)


def _push_join_condition(node: P.Join) -> P.Join:
    """ON conditions that read one side only filter that side first, where the join kind allows."""
    width = len(node.left.columns)
    left, right, keep = [], [], []
    for c in conjuncts(node.condition):
        side = _side(c, width)
        if side == "left" and node.kind in ("inner", "right"):
            left.append(c)
        elif side == "right" and node.kind in ("inner", "left"):
            right.append(_shift(c, -width))
        else:
            keep.append(c)
    if not left and not right:
        return node
    return dataclasses.replace(node, left=_with_filter(node.left, left), right=_with_filter(node.right, right),
                               condition=conjunction(keep))


def _side(e: Expr, left_width: int) -> str | None:
    """Which side of a join `e` reads: "left", "right", "both", or None (nothing, or unmovable)."""
    used = _columns_used(e)
    if not used:
        return None
    if all(i < left_width for i in used):
        return "left"
    if all(i >= left_width for i in used):
        return "right"
    return "both"


def _movable(e: Expr) -> bool:
    """Whether a projected expression may be evaluated below its projection instead."""
    return _columns_used(e) is not None and not any(isinstance(x, Subquery) for x in walk(e))


def hash_join_keys(node: P.Node, catalog: Catalog) -> P.Node:
    """`left.a = right.b` conjuncts of a join condition become hash keys."""
    def rule(n: P.Node) -> P.Node:
        if not isinstance(n, P.Join) or n.lateral or n.left_keys or n.condition is None:
            return n
        width = len(n.left.columns)
        lkeys, rkeys, rest = [], [], []
        for c in conjuncts(n.condition):
            if isinstance(c, Compare) and c.op == "=" and BPCHAR.oid not in (c.left.type.oid, c.right.type.oid):
                sides = (_side(c.left, width), _side(c.right, width))
                if sides == ("left", "right"):
                    lkeys.append(c.left)
                    rkeys.append(_shift(c.right, -width))
                    continue
                if sides == ("right", "left"):
                    lkeys.append(c.right)
                    rkeys.append(_shift(c.left, -width))
                    continue
            rest.append(c)
        if not lkeys:
            return n
        kind = "inner" if n.kind == "cross" else n.kind
        return dataclasses.replace(n, kind=kind, left_keys=tuple(lkeys), right_keys=tuple(rkeys),
                                   condition=conjunction(rest))
    return _everywhere(node, rule)


def project_late(node: P.Node, catalog: Catalog) -> P.Node:
    """Sort and limit before computing the select list (a LIMIT then computes it for few rows,
    and a sort on a column sorts the scan's rows directly); stacked projections merge."""
    def rule(n: P.Node) -> P.Node:
        if isinstance(n, P.Sort) and isinstance(n.input, P.Project):
            project = n.input
            if all(_movable(project.exprs[k.expr.index]) for k in n.keys if isinstance(k.expr, Col)) and \
                    all(isinstance(k.expr, Col) for k in n.keys):
                keys = tuple(P.SortKey(project.exprs[k.expr.index], k.descending, k.nulls_first) for k in n.keys)
                return P.Project(P.Sort(project.input, keys, project.input.columns), project.exprs, project.columns)
        if isinstance(n, P.Limit) and isinstance(n.input, P.Project) and not n.ties:
            project = n.input
            limited = P.Limit(project.input, n.count, n.offset, project.input.columns)
            return P.Project(limited, project.exprs, project.columns)
        if isinstance(n, P.Project) and isinstance(n.input, P.Project) and all(isinstance(e, Col) for e in n.exprs):
            inner = n.input
            return P.Project(inner.input, tuple(inner.exprs[e.index] for e in n.exprs), n.columns)
        return n
    return _everywhere(node, rule)


_COMBINE = {"count": "sum", "sum": "sum", "min": "min", "max": "max"}


def aggregate_before_join(node: P.Node, catalog: Catalog) -> P.Node:
    """GROUP BY over an inner hash join whose aggregates (count, sum, min, max) read one side
    only: aggregate that side per join key first, join the partial rows, and combine the
    partials (counts and sums add up, minima and maxima stay). Each partial row stands for
    all its side's rows with that key, and meets every matching row of the other side, so
    the combined results equal the originals. A fact table joined to a small dimension then
    joins one row per key instead of one per fact. Skipped when the side's join keys are
    unique (nothing would shrink)."""
    def rule(n: P.Node) -> P.Node:
        if not isinstance(n, P.Aggregate) or n.sets is not None or not n.groups or n.groupings:
            return n
        j = n.input
        if not isinstance(j, P.Join) or j.kind != "inner" or j.lateral or not j.left_keys or j.condition is not None:
            return n
        if any(a.distinct or a.order or a.filter is not None or a.name not in _COMBINE for a in n.aggs):
            return n
        width = len(j.left.columns)
        sides = {_side(x, width) for a in n.aggs for x in a.args}
        if sides - {"left", "right"} or len(sides) > 1 or not all(_movable(x) for a in n.aggs for x in a.args):
            return n
        side = sides.pop() if sides else "left"
        return _aggregate_side(n, j, side, width, catalog) or n
    return _everywhere(node, rule)


def _aggregate_side(n: P.Aggregate, j: P.Join, side: str, width: int, catalog: Catalog) -> P.Node | None:
    left = side == "left"
    source = j.left if left else j.right
    keys = j.left_keys if left else j.right_keys
    offset = 0 if left else width                    # where the side's columns sit in the joined row
    if _unique_keys(source, keys, catalog):
        return None
    own: list[Expr] = list(keys)                     # partial groups: the join keys, then the side's groups
    for g in n.groups:
        where = _side(g, width)
        if where == side:
            local = _shift(g, -offset)
            if local not in own:
                own.append(local)
        elif where is None or where == "both" or not _movable(g):
            return None
    partial_aggs = tuple(AggCall(a.name, tuple(_shift(x, -offset) for x in a.args), a.type if a.name != "count" else a.type,
                                 star=a.star) for a in n.aggs)
    columns = tuple(P.OutputColumn("?group?", e.type) for e in own) + tuple(P.OutputColumn(a.name, a.type) for a in n.aggs)
    partial = P.Aggregate(source, tuple(own), partial_aggs, columns)
    part_keys = tuple(Col(i, e.type) for i, e in enumerate(keys))
    if left:
        joined = P.Join(partial, j.right, "inner", part_keys, j.right_keys, None, partial.columns + j.right.columns)
    else:
        joined = P.Join(j.left, partial, "inner", j.left_keys, part_keys, None, j.left.columns + partial.columns)
    base = 0 if left else width                      # where the partial rows sit in the new joined row
    other_shift = len(partial.columns) - len(source.columns) if left else 0

    def regroup(g: Expr) -> Expr:
        if _side(g, width) == side:
            return Col(base + own.index(_shift(g, -offset)), g.type)
        return _shift(g, other_shift)

    groups = tuple(regroup(g) for g in n.groups)
    first_agg = base + len(own)
    aggs = tuple(AggCall(_COMBINE[a.name], (Col(first_agg + i, a.type),), a.type) for i, a in enumerate(n.aggs))
    return P.Aggregate(joined, groups, aggs, n.columns)


def _unique_keys(source: P.Node, keys: tuple[Expr, ...], catalog: Catalog) -> bool:
    """Whether the join keys are columns of a scanned table covering one of its unique indexes."""
    if not isinstance(source, (P.SeqScan, P.IndexLookup)) or not all(isinstance(k, Col) for k in keys):
        return False
    slots = {k.index for k in keys}
    return any(i.unique and set(i.columns) <= slots for i in catalog.indexes_of(source.table.table_id))


def decorrelate_exists(node: P.Node, catalog: Catalog) -> P.Node:
    """A filter condition `EXISTS (SELECT ... FROM t WHERE t.k = outer.k ...)` (or NOT EXISTS,
    or `x IN (SELECT y ... WHERE t.k = outer.k)`) becomes a hash semi (anti) join on the
    correlated equalities: t is read once instead of once per outer row. Subqueries that an
    index answers per row, or that reach further out, stay as they are."""
    def rule(n: P.Node) -> P.Node:
        if isinstance(n, P.Filter):
            base, parts = n.input, conjuncts(n.predicate)
        elif isinstance(n, (P.SeqScan, P.VirtualScan, P.FunctionScan)) and n.filter is not None:
            base, parts = dataclasses.replace(n, filter=None), conjuncts(n.filter)
        else:
            return n
        joins, rest = [], []
        for c in parts:
            semi = _semi_join(c, len(n.columns), catalog)
            (joins if semi is not None else rest).append(semi or c)
        if not joins:
            return n
        node = _push(base, rest) if rest else base
        for right, kind, lkeys, rkeys, residual in joins:
            node = P.Join(node, right, kind, lkeys, rkeys, residual, node.columns)
        return node
    return _everywhere(node, rule)


def _semi_join(c: Expr, width: int, catalog: Catalog):
    """(right plan, "semi"|"anti", left keys, right keys, residual) for a decorrelatable
    EXISTS / NOT EXISTS / IN conjunct (not one an index answers per outer row), else None."""
    negated = False
    if isinstance(c, Not) and isinstance(c.arg, Subquery):
        negated, c = True, c.arg
    if not isinstance(c, Subquery) or not c.correlated:
        return None
    if c.kind == "exists":
        negated = negated != c.negated
    elif c.kind != "in" or c.negated or negated:
        return None
    plan = c.plan
    while isinstance(plan, P.Project) and c.kind == "exists":
        plan = plan.input
    output = None
    if c.kind == "in":
        if not isinstance(plan, P.Project) or len(plan.exprs) != 1 or not _movable(plan.exprs[0]):
            return None
        output, plan = plan.exprs[0], plan.input
    if not isinstance(plan, (P.SeqScan, P.VirtualScan, P.FunctionScan)) or plan.filter is None:
        return None
    if isinstance(plan, P.FunctionScan) and any(isinstance(x, OuterCol) for f in plan.functions for x in walk(f)):
        return None
    lkeys, rkeys, inner, correlated = [], [], [], []
    for part in conjuncts(plan.filter):
        outer_refs = [x for x in walk(part) if isinstance(x, OuterCol)]
        if any(isinstance(x, Subquery) for x in walk(part)) or any(x.depth != 1 for x in outer_refs):
            return None
        if not outer_refs:
            inner.append(part)
        elif isinstance(part, Compare) and part.op == "=" and BPCHAR.oid not in (part.left.type.oid, part.right.type.oid):
            sides = [(e, any(isinstance(x, OuterCol) for x in walk(e)), any(isinstance(x, Col) for x in walk(e)))
                     for e in (part.left, part.right)]
            (a, a_outer, a_inner), (b, b_outer, b_inner) = sides
            if a_outer and not a_inner and b_inner and not b_outer:
                lkeys.append(_outer_to_left(a))
                rkeys.append(b)
            elif b_outer and not b_inner and a_inner and not a_outer:
                lkeys.append(_outer_to_left(b))
                rkeys.append(a)
            else:
                correlated.append(part)
        else:
            correlated.append(part)
    if not lkeys or _indexed(plan, list(zip(rkeys, lkeys)), inner, catalog):
        return None
    if output is not None:
        lkeys.append(c.arg)
        rkeys.append(output)
    residual = conjunction(correlated)
    if residual is not None:                     # over the joined row: the left (outer) columns, then the right's
        residual = map_expr(residual, lambda x: Col(x.index + width, x.type, x.nullable) if isinstance(x, Col)
                            else (Col(x.index, x.type) if isinstance(x, OuterCol) else None))
    right = dataclasses.replace(plan, filter=conjunction(inner))
    return right, ("anti" if negated else "semi"), tuple(lkeys), tuple(rkeys), residual


def _indexed(plan: P.Node, correlated: list[tuple[Expr, Expr]], inner: list[Expr], catalog: Catalog) -> bool:
    """Whether an index of the scanned table has all its columns fixed per outer row, by the
    correlated equalities (inner column, outer value) or by `column = constant`."""
    from engine.sql.access import comparable
    if not isinstance(plan, P.SeqScan):
        return False
    pairs = correlated + [(col, value) for part in inner if isinstance(part, Compare) and part.op == "="
                          for col, value in ((part.left, part.right), (part.right, part.left))
                          if isinstance(value, (Const, Param))]
    fixed = {col.index for col, value in pairs if isinstance(col, Col) and comparable(col.type, value.type)}
    return any(set(i.columns) <= fixed for i in catalog.indexes_of(plan.table.table_id))


def _outer_to_left(e: Expr) -> Expr:
    return map_expr(e, lambda x: Col(x.index, x.type) if isinstance(x, OuterCol) else None)


RULES: list[Rule] = [fold_constants, push_down_filters, hash_join_keys, decorrelate_exists, aggregate_before_join,
                     project_late]
