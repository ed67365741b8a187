"""Bound, typed expressions: the closed set of nodes the binder produces and the compiler
turns into Python code. Frozen and hashable, so equal subtrees compare equal (GROUP BY
matching relies on it).

`Col(index)` refers to a position in the row tuple of the operator's input.
`Param(index)` is the statement parameter $index+1 (lifted literals are parameters too).
"""
from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.types import BOOL, INT4, RECORD, SqlType


@dataclass(frozen=True, slots=True)
class Expr:
    pass


@dataclass(frozen=True, slots=True)
class Col(Expr):
    index: int
    type: SqlType
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class OuterCol(Expr):
    """A column of an enclosing query's row (correlated subqueries): `depth` levels out."""
    depth: int
    index: int
    type: SqlType


@dataclass(frozen=True, slots=True)
class Const(Expr):
    value: Any
    type: SqlType

    def __hash__(self) -> int:
        try:
            return hash((self.value, self.type))
        except TypeError:
            return hash((repr(self.value), self.type))


@dataclass(frozen=True, slots=True)
class Param(Expr):
    index: int
    type: SqlType


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A function or operator call; `fn` names an implementation in exec.functions, `sig`
    is the signature overload resolution chose (looked up again by argument types if None)."""
    fn: str
    args: tuple[Expr, ...]
    type: SqlType
    sig: Any = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: str                  # "=", "<>", "<", "<=", ">", ">="
    left: Expr
    right: Expr
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class And(Expr):
    args: tuple[Expr, ...]
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class Or(Expr):
    args: tuple[Expr, ...]
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class Not(Expr):
    arg: Expr
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class IsNull(Expr):
    arg: Expr
    negated: bool = False
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class IsBool(Expr):
    """x IS [NOT] TRUE / FALSE / UNKNOWN."""
    arg: Expr
    value: bool | None
    negated: bool = False
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class InList(Expr):
    arg: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    type: SqlType = BOOL


@dataclass(frozen=True, slots=True)
class Case(Expr):
    whens: tuple[tuple[Expr, Expr], ...]   # (condition, result)
    default: Expr | None
    type: SqlType


@dataclass(frozen=True, slots=True)
class Coalesce(Expr):
    args: tuple[Expr, ...]
    type: SqlType


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    arg: Expr
    type: SqlType


@dataclass(frozen=True, slots=True)
class Like(Expr):
    arg: Expr
    pattern: Expr
    case_insensitive: bool = False
    negated: bool = False
    type: SqlType = BOOL
    escape: Expr | None = None       # None: the default escape character, backslash


@dataclass(frozen=True, slots=True)
class RowValue(Expr):
    """ROW(a, b, ...) or a table's whole row (t in row_to_json(t)); the value is a tuple."""
    args: tuple[Expr, ...]
    names: tuple[str, ...]
    type: SqlType = RECORD


@dataclass(frozen=True, slots=True)
class ArrayExpr(Expr):
    """ARRAY[...]: elements already of the element type (sub-arrays for more dimensions)."""
    elements: tuple[Expr, ...]
    type: SqlType


@dataclass(frozen=True, slots=True)
class OrderItem(Expr):
    """One ORDER BY key inside an aggregate call or a window definition."""
    expr: Expr
    descending: bool = False
    nulls_first: bool = False

    @property
    def type(self) -> SqlType:
        return self.expr.type


@dataclass(frozen=True, slots=True)
class AggCall(Expr):
    """An aggregate call before aggregation; replaced by a Col of the Aggregate's output.

    `order` is the ORDER BY inside the call (string_agg(x, ',' ORDER BY y))."""
    name: str
    args: tuple[Expr, ...]
    type: SqlType
    distinct: bool = False
    star: bool = False
    filter: Expr | None = None
    order: tuple[OrderItem, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupingCall(Expr):
    """grouping(a, b, ...): which of its arguments the current grouping set leaves out (a bitmask)."""
    args: tuple[Expr, ...]
    type: SqlType = INT4


@dataclass(frozen=True, slots=True)
class Frame:
    """A window frame: mode rows/range/groups; bounds are (kind, offset) with kind one of
    "unbounded_preceding", "preceding", "current", "following", "unbounded_following"."""
    mode: str = "range"
    start: tuple[str, Expr | None] = ("unbounded_preceding", None)
    end: tuple[str, Expr | None] = ("current", None)
    exclude: str = "no others"          # "no others", "current row", "group", "ties"


@dataclass(frozen=True, slots=True)
class WindowSpec:
    partition: tuple[Expr, ...] = ()
    order: tuple[OrderItem, ...] = ()
    frame: Frame = Frame()


@dataclass(frozen=True, slots=True)
class WindowCall(Expr):
    """A window function call (or an aggregate with OVER); replaced by a Col of a Window node."""
    name: str
    args: tuple[Expr, ...]
    type: SqlType
    spec: WindowSpec
    filter: Expr | None = None
    star: bool = False


@dataclass(frozen=True, slots=True)
class SrfCall(Expr):
    """A set-returning function in a select list; replaced by a Col of a ProjectSet node."""
    name: str
    args: tuple[Expr, ...]
    type: SqlType


@dataclass(frozen=True, slots=True)
class Subquery(Expr):
    """A subquery used as a value: kind "scalar", "exists", "array", "in" (= ANY), or "any" /
    "all" comparing `arg` with every row by `op`. `negated` is NOT IN / NOT EXISTS."""
    kind: str
    plan: Any                # a plan node
    type: SqlType
    arg: Expr | None = None
    negated: bool = False
    correlated: bool = False
    op: str = "="


@dataclass(frozen=True, slots=True)
class Quantified(Expr):
    """`arg op ANY (array)` / `arg op ALL (array)` over the elements of an array value."""
    op: str
    arg: Expr
    array: Expr
    all: bool = False
    type: SqlType = BOOL

    def __hash__(self) -> int:
        return id(self.plan)


def walk(e: Expr):
    """Yield e and every sub-expression (not descending into subquery plans)."""
    yield e
    for child in children(e):
        yield from walk(child)


def children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, (Call, And, Or, GroupingCall, SrfCall)):
        return e.args
    if isinstance(e, Compare):
        return (e.left, e.right)
    if isinstance(e, (Not, IsNull, IsBool, Cast)):
        return (e.arg,)
    if isinstance(e, InList):
        return (e.arg,) + e.items
    if isinstance(e, Case):
        out = [x for pair in e.whens for x in pair]
        if e.default is not None:
            out.append(e.default)
        return tuple(out)
    if isinstance(e, Coalesce):
        return e.args
    if isinstance(e, Like):
        return (e.arg, e.pattern) + ((e.escape,) if e.escape is not None else ())
    if isinstance(e, RowValue):
        return e.args
    if isinstance(e, ArrayExpr):
        return e.elements
    if isinstance(e, AggCall):
        return e.args + ((e.filter,) if e.filter is not None else ()) + e.order
    if isinstance(e, OrderItem):
        return (e.expr,)
    if isinstance(e, WindowCall):
        spec = e.spec
        bounds = tuple(b for _, b in (spec.frame.start, spec.frame.end) if b is not None)
        return e.args + ((e.filter,) if e.filter is not None else ()) + spec.partition + spec.order + bounds
    if isinstance(e, Quantified):
        return (e.arg, e.array)
    if isinstance(e, Subquery):
        return (e.arg,) if e.arg is not None else ()
    return ()


def map_expr(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Rebuild `e` bottom-up, replacing any node for which fn returns non-None."""
    replaced = fn(e)
    if replaced is not None:
        return replaced
    return map_children(e, lambda c: map_expr(c, fn))


def map_children(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """`e` with fn applied to each direct sub-expression (subquery plans are left alone)."""
    if isinstance(e, (Col, Const, Param, OuterCol)):
        return e
    if isinstance(e, Subquery):
        return dataclasses.replace(e, arg=fn(e.arg)) if e.arg is not None else e
    changes = {}
    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        mapped = map_value(v, fn)
        if mapped is not v:
            changes[f.name] = mapped
    return dataclasses.replace(e, **changes) if changes else e


def map_value(v: Any, fn: Callable[[Expr], Expr]) -> Any:
    """`v` (an expression, or a tuple or frozen dataclass holding expressions) with fn applied
    to every expression in it; `v` itself when nothing changed."""
    if isinstance(v, Expr):
        return fn(v)
    if isinstance(v, tuple) and v:
        mapped = [map_value(x, fn) for x in v]
        return v if all(map(operator.is_, mapped, v)) else tuple(mapped)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        changes = {f.name: m for f in dataclasses.fields(v)
                   if (m := map_value(getattr(v, f.name), fn)) is not getattr(v, f.name)}
        return dataclasses.replace(v, **changes) if changes else v
    return v
