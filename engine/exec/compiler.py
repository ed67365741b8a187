"""The expression compiler: bound expressions -> Python source -> functions.

Per-row interpretation of an expression tree is what makes a Python database slow; here
each expression becomes one Python expression over the row tuple `r`, the parameter tuple
`p` and the execution context `ctx`, and whole operator loops (filter + project over a
batch, aggregation steps) are generated as list comprehensions and plain loops. Constants
and helper functions are passed in as globals of the generated code.

SQL NULL is None. Strict operators short-circuit to None when an argument is None; AND,
OR and NOT follow three-valued logic. `predicate()` compiles a condition for filtering,
where NULL and FALSE both reject the row, which allows cheaper code.
"""
from __future__ import annotations

import itertools
import operator
import re
from typing import Any, Callable

from engine.errors import SqlError
from engine.exec import functions as F
from engine.exec.expr import (AggCall, And, ArrayExpr, Call, Case, Cast, Coalesce, Col, Compare, Const, Expr,
                              InList, IsBool, IsNull, Like, Not, Or, OuterCol, Param, Quantified, RowValue,
                              Subquery, WindowCall)
from engine.exec.array_functions import flatten
from engine.exec.text_functions import like, like_regex
from engine.types import BPCHAR, FLOAT4, FLOAT8, JSONB, NUMERIC, OutputSettings, SqlType

_PY_OPS = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge, "~~": like, "~~*": lambda v, p: like(v, p, True),
            "!~~": lambda v, p: not like(v, p), "!~~*": lambda v, p: not like(v, p, True)}


def quantified(op: str, value: Any, items: Any, all_: bool) -> bool | None:
    """`value op ANY (items)` (or ALL), with SQL's three-valued logic: ANY is true if some
    comparison is, ALL false if some comparison is; otherwise NULL if a NULL took part.
    A tuple `value` is a row compared with row items (`(a, b) IN (SELECT x, y ...)`)."""
    if items is None:
        return None
    if not items:
        return all_
    if value is None:
        return None
    compare = row_compare if type(value) is tuple else _COMPARE[op]
    saw_null = False
    for item in (items if compare is row_compare else flatten(items)):    # arrays: every element
        if item is None:
            saw_null = True
            continue
        result = compare(op, value, item) if compare is row_compare else compare(value, item)
        if result is None:
            saw_null = True
        elif result != all_:
            return not all_
    return None if saw_null else all_


def row_compare(op: str, left: tuple, right: tuple) -> bool | None:
    """Two rows compared as SQL compares row values: = and <> pairwise, the orderings
    lexicographically; NULL when a NULL decides."""
    if op in ("=", "<>"):
        unknown = False
        for a, b in zip(left, right):
            if a is None or b is None:
                unknown = True
            elif a != b:
                return op == "<>"
        return None if unknown else op == "="
    for a, b in zip(left, right):
        if a is None or b is None:
            return None
        if a != b:
            return _COMPARE[op](a, b)
    return op in ("<=", ">=")


class CodeGen:
    """Accumulates generated source fragments and the globals they need."""

    def __init__(self, settings: OutputSettings = OutputSettings()) -> None:
        self.env: dict[str, Any] = dict(F.HELPERS)
        self.env["quantified"] = quantified
        self.settings = settings          # for functions whose implementation depends on them
        self._names = itertools.count()
        self.cast_factory: Callable[[SqlType, SqlType], Callable[[Any], Any]] | None = None
        self.subquery_runner: Callable[..., Any] | None = None

    def const(self, value: Any) -> str:
        if value is None or isinstance(value, bool) or (type(value) is int and -10**15 < value < 10**15):
            return repr(value)
        if isinstance(value, str) and len(value) < 200:
            return repr(value)
        name = f"_k{next(self._names)}"
        self.env[name] = value
        return name

    def temp(self) -> str:
        return f"_t{next(self._names)}"

    # ---------------------------------------------------------------- expressions

    def expr(self, e: Expr, row: str = "r") -> str:
        """Python source evaluating `e` to its SQL value (None for NULL)."""
        t = type(e)
        if t is Col:
            return f"{row}[{e.index}]"
        if t is Param:
            return f"p[{e.index}]"
        if t is Const:
            return self.const(e.value)
        if t is OuterCol:
            return f"ctx.outer[-{e.depth}][{e.index}]"
        if t is Compare:
            return self._compare(e, row)
        if t is And:
            return self._and(e, row)
        if t is Or:
            return self._or(e, row)
        if t is Not:
            a = self.temp()
            return f"(None if ({a} := {self.expr(e.arg, row)}) is None else not {a})"
        if t is IsNull:
            return f"({self.expr(e.arg, row)} is {'not ' if e.negated else ''}None)"
        if t is IsBool:
            test = f"({self.expr(e.arg, row)} is {e.value!r})"
            return f"(not {test})" if e.negated else test
        if t is Call:
            return self._call(e, row)
        if t is Cast:
            return self._cast(e, row)
        if t is Coalesce:
            parts = []
            for arg in e.args[:-1]:
                v = self.temp()
                parts.append((v, self.expr(arg, row)))
            out = self.expr(e.args[-1], row)
            for v, src in reversed(parts):
                out = f"({v} if ({v} := {src}) is not None else {out})"
            return out
        if t is Case:
            out = self.expr(e.default, row) if e.default is not None else "None"
            for cond, result in reversed(e.whens):
                out = f"({self.expr(result, row)} if {self.predicate(cond, row)} else {out})"
            return out
        if t is InList:
            return self._in(e, row)
        if t is Like:
            return self._like(e, row)
        if t is Subquery:
            return self._subquery(e, row)
        if t is Quantified:
            return f"quantified({e.op!r}, {self.expr(e.arg, row)}, {self.expr(e.array, row)}, {e.all})"
        if t is RowValue:
            return "(" + "".join(self.expr(a, row) + ", " for a in e.args) + ")"
        if t is ArrayExpr:
            return "array_build(" + ", ".join(self.expr(a, row) for a in e.elements) + ")"
        if t is AggCall:
            raise SqlError("42803", "aggregate functions are not allowed here")
        if t is WindowCall:
            raise SqlError("42P20", "window functions are not allowed here")
        raise SqlError("0A000", f"expression {type(e).__name__} is not supported")

    def predicate(self, e: Expr, row: str = "r") -> str:
        """Python source that is truthy exactly when `e` is TRUE."""
        t = type(e)
        if t is And:
            return "(" + " and ".join(self.predicate(a, row) for a in e.args) + ")"
        if t is Or:
            return "(" + " or ".join(self.predicate(a, row) for a in e.args) + ")"
        if t is Compare:
            left, right = e.left, e.right
            if _never_null(left) and _never_null(right) and _plain(left) and _plain(right):
                return f"({self.expr(left, row)} {_PY_OPS[e.op]} {self.expr(right, row)})"
            a, b = self.temp(), self.temp()
            lhs = self.expr(left, row)
            rhs = self.expr(right, row)
            return f"(({a} := {lhs}) is not None and ({b} := {rhs}) is not None and {_comparison(e, a, b)})"
        if t is IsNull or t is IsBool:
            return self.expr(e, row)
        return f"({self.expr(e, row)} is True)"

    def _compare(self, e: Compare, row: str) -> str:
        a, b = self.temp(), self.temp()
        return (f"(None if ({a} := {self.expr(e.left, row)}) is None or ({b} := {self.expr(e.right, row)}) is None "
                f"else {_comparison(e, a, b)})")

    def _and(self, e: And, row: str) -> str:
        temps = [self.temp() for _ in e.args]
        false_test = " or ".join(f"({v} := {self.expr(a, row)}) is False" for v, a in zip(temps, e.args))
        null_test = " or ".join(f"{v} is None" for v in temps)
        return f"(False if {false_test} else (None if {null_test} else True))"

    def _or(self, e: Or, row: str) -> str:
        temps = [self.temp() for _ in e.args]
        true_test = " or ".join(f"({v} := {self.expr(a, row)}) is True" for v, a in zip(temps, e.args))
        null_test = " or ".join(f"{v} is None" for v in temps)
        return f"(True if {true_test} else (None if {null_test} else False))"

    def _call(self, e: Call, row: str) -> str:
        sig = e.sig or F.find_signature(e.fn, [a.type for a in e.args])
        args = [self.expr(a, row) for a in e.args]
        if sig.builder is not None:
            name = f"_fn{next(self._names)}"
            self.env[name] = sig.builder(list(e.args), self.settings)
            template = name + "(" + ", ".join("{%d}" % i for i in range(len(args))) + ")"
        else:
            template = sig.template
        if not sig.strict or not args:
            return "(" + _fill(template, args) + ")"
        temps = [self.temp() for _ in args]
        body = _fill(template, temps)
        test = " or ".join(f"({v} := {a}) is None" for v, a in zip(temps, args))
        return f"(None if {test} else {body})"

    def _cast(self, e: Cast, row: str) -> str:
        source = e.arg.type
        if source == e.type:
            return self.expr(e.arg, row)
        if self.cast_factory is None:
            raise SqlError("0A000", "casts are not available here")
        fn = self.cast_factory(source, e.type)
        name = f"_cast{next(self._names)}"
        self.env[name] = fn
        v = self.temp()
        return f"(None if ({v} := {self.expr(e.arg, row)}) is None else {name}({v}))"

    def _in(self, e: InList, row: str) -> str:
        v = self.temp()
        subject = self.expr(e.arg, row)
        if all(isinstance(i, Const) for i in e.items):
            values = [i.value for i in e.items]
            has_null = any(x is None for x in values)
            s = self.const(frozenset(x for x in values if x is not None))
            miss = "None" if has_null else "False"
            if e.negated:
                return f"(None if ({v} := {subject}) is None else (False if {v} in {s} else ({'None' if has_null else 'True'})))"
            return f"(None if ({v} := {subject}) is None else (True if {v} in {s} else {miss}))"
        items = "(" + ", ".join(self.expr(i, row) for i in e.items) + ",)"
        lst = self.temp()
        found = f"(True if {v} in {lst} else (None if None in {lst} else False))"
        if e.negated:
            found = f"(False if {v} in {lst} else (None if None in {lst} else True))"
        return f"(None if ({v} := {subject}) is None else (({lst} := {items}) and {found}))"

    def _like(self, e: Like, row: str) -> str:
        v = self.temp()
        subject = self.expr(e.arg, row)
        neg = "not " if e.negated else ""
        escape_const = e.escape is None or (isinstance(e.escape, Const) and e.escape.value is not None)
        escape = "\\" if e.escape is None else (e.escape.value if escape_const else None)
        if isinstance(e.pattern, Const) and e.pattern.value is not None and escape_const:
            rx = self.const(like_regex(e.pattern.value, e.case_insensitive, escape))
            return f"(None if ({v} := {subject}) is None else ({neg}{rx}.match({v}) is not None))"
        p, x = self.temp(), self.temp()
        escape_src = repr(escape) if escape_const else self.expr(e.escape, row)
        return (f"(None if ({v} := {subject}) is None or ({p} := {self.expr(e.pattern, row)}) is None "
                f"or ({x} := {escape_src}) is None else {neg}like({v}, {p}, {e.case_insensitive}, {x}))")

    def _subquery(self, e: Subquery, row: str) -> str:
        if self.subquery_runner is None:
            raise SqlError("0A000", "subqueries are not supported here")
        name = f"_sq{next(self._names)}"
        self.env[name] = self.subquery_runner(e)
        arg = self.expr(e.arg, row) if e.arg is not None else "None"
        return f"{name}(ctx, p, {row}, {arg})"

    # ---------------------------------------------------------------- functions

    def function(self, params: str, body: str, name: str = "_fn") -> Callable:
        """Compile `def _make(p, ctx): def name(params): return body; return name`."""
        src = f"def _make(p, ctx):\n    def {name}({params}):\n        return {body}\n    return {name}\n"
        return self.build(src)

    def build(self, src: str) -> Callable:
        try:
            code = compile(src, "<rewinddb>", "exec")
        except (RecursionError, MemoryError, SyntaxError):
            # Python's parser refuses nesting beyond its own limits ("too many nested
            # parentheses", "too many statically nested blocks"): the generated source is
            # valid otherwise, so the statement is too deep, not wrong
            raise SqlError("54001", "statement is too complex") from None
        namespace = dict(self.env)
        exec(code, namespace)
        return namespace["_make"]


def _fill(template: str, args: list[str]) -> str:
    """A signature's template with its arguments: {0}, {1}, ... and {args} (all of them)."""
    return _PLACEHOLDER.sub(lambda m: ", ".join(args) if m.group(1) == "args" else args[int(m.group(1))], template)


_PLACEHOLDER = re.compile(r"\{(\d+|args)\}")


def _never_null(e: Expr) -> bool:
    return (isinstance(e, Col) and not e.nullable) or (isinstance(e, Const) and e.value is not None)


def _is_bpchar(e: Expr) -> bool:
    return e.type.oid == BPCHAR.oid


_NAN_ORDERED = frozenset({FLOAT4.oid, FLOAT8.oid, NUMERIC.oid})
_NAN_OPS = {"=": "nan_eq", "<>": "nan_ne", "<": "nan_lt", "<=": "nan_le", ">": "nan_gt", ">=": "nan_ge"}


def _plain(e: Expr) -> bool:
    """Whether Python's own comparison operators compare values of e's type as SQL does."""
    return e.type.oid not in _NAN_ORDERED and e.type.oid not in (BPCHAR.oid, JSONB.oid)


def _comparison(e: Compare, a: str, b: str) -> str:
    """Python source comparing two non-NULL operands: bpchar ignores trailing spaces, and
    float/numeric NaN equals itself and sorts above every other value, as in PostgreSQL."""
    if _is_bpchar(e.left) or _is_bpchar(e.right):
        return f"{a}.rstrip(' ') {_PY_OPS[e.op]} {b}.rstrip(' ')"
    if e.left.type.oid in _NAN_ORDERED or e.right.type.oid in _NAN_ORDERED:
        return f"{_NAN_OPS[e.op]}({a}, {b})"
    if e.left.type.oid == JSONB.oid:
        return f"jsonb_cmp({a}, {b}) {_PY_OPS[e.op]} 0"
    return f"{a} {_PY_OPS[e.op]} {b}"
