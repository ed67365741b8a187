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
from typing import Any, Callable

from engine.errors import SqlError
from engine.exec import functions as F
from engine.exec.expr import (AggCall, And, Call, Case, Cast, Coalesce, Col, Compare, Const, Expr,
                              InList, IsBool, IsNull, Like, Not, Or, OuterCol, Param, Quantified,
                              Subquery, WindowCall)
from engine.types import BPCHAR, SqlType

_PY_OPS = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}


def quantified(op: str, value: Any, items: Any, all_: bool) -> bool | None:
    """`value op ANY (items)` (or ALL), with SQL's three-valued logic: ANY is true if some
    comparison is, ALL false if some comparison is; otherwise NULL if a NULL took part."""
    if items is None:
        return None
    if not items:
        return all_
    if value is None:
        return None
    compare = _COMPARE[op]
    saw_null = False
    for item in items:
        if item is None:
            saw_null = True
        elif compare(value, item) != all_:
            return not all_
    return None if saw_null else all_


class CodeGen:
    """Accumulates generated source fragments and the globals they need."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = dict(F.HELPERS)
        self.env["quantified"] = quantified
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
            if _never_null(left) and _never_null(right):
                return f"({self.expr(left, row)} {_PY_OPS[e.op]} {self.expr(right, row)})"
            a, b = self.temp(), self.temp()
            lhs = self.expr(left, row)
            rhs = self.expr(right, row)
            if _is_bpchar(left) or _is_bpchar(right):
                return (f"(({a} := {lhs}) is not None and ({b} := {rhs}) is not None and "
                        f"{a}.rstrip(' ') {_PY_OPS[e.op]} {b}.rstrip(' '))")
            return f"(({a} := {lhs}) is not None and ({b} := {rhs}) is not None and {a} {_PY_OPS[e.op]} {b})"
        if t is IsNull or t is IsBool:
            return self.expr(e, row)
        return f"({self.expr(e, row)} is True)"

    def _compare(self, e: Compare, row: str) -> str:
        a, b = self.temp(), self.temp()
        op = _PY_OPS[e.op]
        if _is_bpchar(e.left) or _is_bpchar(e.right):
            return (f"(None if ({a} := {self.expr(e.left, row)}) is None or ({b} := {self.expr(e.right, row)}) is None "
                    f"else {a}.rstrip(' ') {op} {b}.rstrip(' '))")
        return (f"(None if ({a} := {self.expr(e.left, row)}) is None or ({b} := {self.expr(e.right, row)}) is None "
                f"else {a} {op} {b})")

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
        sig = _signature(e)
        args = [self.expr(a, row) for a in e.args]
        if sig.variadic:
            return sig.template.replace("{args}", ", ".join(args))
        if not sig.strict or not args:
            return "(" + sig.template.format(*args) + ")"
        temps = [self.temp() for _ in args]
        body = sig.template.format(*temps)
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
        if isinstance(e.pattern, Const) and e.pattern.value is not None:
            rx = self.const(F.like_regex(e.pattern.value, e.case_insensitive))
            return f"(None if ({v} := {subject}) is None else ({neg}{rx}.match({v}) is not None))"
        p = self.temp()
        return (f"(None if ({v} := {subject}) is None or ({p} := {self.expr(e.pattern, row)}) is None "
                f"else {neg}like({v}, {p}, {e.case_insensitive}))")

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
        except RecursionError:
            raise SqlError("54001", "statement is too complex") from None
        namespace = dict(self.env)
        exec(code, namespace)
        return namespace["_make"]


def _signature(e: Call) -> F.Signature:
    for sig in F.FUNCTIONS[e.fn]:
        if sig.variadic or len(sig.args) == len(e.args):
            if sig.variadic or all(isinstance(w, str) or w.oid == a.type.oid for w, a in zip(sig.args, e.args)):
                return sig
    raise SqlError("XX000", f"no implementation of {e.fn} for these argument types")


def _never_null(e: Expr) -> bool:
    return (isinstance(e, Col) and not e.nullable) or (isinstance(e, Const) and e.value is not None)


def _is_bpchar(e: Expr) -> bool:
    return e.type.oid == BPCHAR.oid
