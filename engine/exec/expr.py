"""Bound, typed expressions: the closed set of nodes the binder produces and the compiler
turns into Python code. Frozen and hashable, so equal subtrees compare equal (GROUP BY
matching relies on it).

`Col(index)` refers to a position in the row tuple of the operator's input.
`Param(index)` is the statement parameter $index+1 (lifted literals are parameters too).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.types import BOOL, SqlType


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
    """A function or operator call; `fn` names an implementation in exec.functions."""
    fn: str
    args: tuple[Expr, ...]
    type: SqlType


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


@dataclass(frozen=True, slots=True)
class AggCall(Expr):
    """An aggregate call before aggregation; replaced by a Col of the Aggregate's output."""
    name: str
    args: tuple[Expr, ...]
    type: SqlType
    distinct: bool = False
    star: bool = False
    filter: Expr | None = None


@dataclass(frozen=True, slots=True)
class Subquery(Expr):
    """A subquery used as a value: kind "scalar", "exists", "in" (with `arg`), "array"."""
    kind: str
    plan: Any                # a plan node
    type: SqlType
    arg: Expr | None = None
    negated: bool = False
    correlated: bool = False

    def __hash__(self) -> int:
        return id(self.plan)


def walk(e: Expr):
    """Yield e and every sub-expression (not descending into subquery plans)."""
    yield e
    for child in children(e):
        yield from walk(child)


def children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, (Call, And, Or)):
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
        return (e.arg, e.pattern)
    if isinstance(e, AggCall):
        return e.args + ((e.filter,) if e.filter is not None else ())
    if isinstance(e, Subquery):
        return (e.arg,) if e.arg is not None else ()
    return ()
