"""Scalar functions and operators: signatures, overload resolution, result types, implementations.

The registry `FUNCTIONS` maps a function or operator name ("lower", "+", "~", "->", ...) to
its `Signature`s. A signature says which argument types it accepts (concrete types, or the
polymorphic families "any", "anyelement", "anyarray", "anynonarray", "anycompatible",
"anycompatiblearray"), what it returns, and how it runs, in one of two ways:

- `template`: a Python expression over {0}, {1}, ... (the evaluated arguments; never None
  when the signature is `strict`) and `ctx` (the ExecContext), compiled inline by
  `exec.compiler`. Helpers it calls are registered with `@runtime` and become globals of
  the generated code.
- `builder`: `builder(arg_types, settings) -> callable`, for implementations that depend on
  the argument types (concat formats each argument with its type's output function).

`resolve(name, arg_types)` picks the signature PostgreSQL would pick (func_select_candidate:
exact matches, then implicit casts, most exact matches, preferred types of each category,
unknown literals resolved by category, "string" winning), binds the polymorphic families,
and says what each argument must be cast to and what the call returns.

The implementations live by area beside this module (`text_functions`, `math_functions`,
`datetime_functions`, `json_functions`, `array_functions`, `misc_functions`), each adding its
signatures with `define`; importing this module registers them all.
"""
from __future__ import annotations

import datetime as dt
import importlib
import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from typing import Any, Callable

from engine.errors import SqlError, division_by_zero, undefined_function, undefined_operator
from engine.types import (BOOL, BPCHAR, CHAR, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, NAME,
                          NUMERIC, NUMERIC_CONTEXT, NUMERIC_PRECEDENCE, OID, RECORD, REG_TYPES, REGCLASS, TEXT, TIME,
                          TIMESTAMP, TIMESTAMPTZ, UNKNOWN, UTC, VARCHAR, Interval, SqlType, array_of,
                          format_type)

# -------------------------------------------------------------------- runtime helpers

HELPERS: dict[str, Any] = {"Decimal": Decimal, "math": math, "dt": dt, "Interval": Interval, "UTC": UTC,
                           "NUMERIC_CONTEXT": NUMERIC_CONTEXT}


def runtime(fn: Callable) -> Callable:
    """Make `fn` callable by name from generated code (templates)."""
    HELPERS[fn.__name__] = fn
    return fn


@runtime
def overflow(type_name: str = "integer"):
    raise SqlError("22003", f"{type_name} out of range")


@runtime
def int_div(a: int, b: int) -> int:
    if b == 0:
        raise division_by_zero()
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@runtime
def int_mod(a: int, b: int) -> int:
    if b == 0:
        raise division_by_zero()
    return a - b * int_div(a, b)


@runtime
def float_div(a: float, b: float) -> float:
    if b == 0:
        raise division_by_zero()
    return check_float(a / b, a, b)


@runtime
def check_float(v: float, *inputs: float) -> float:
    """PostgreSQL's float overflow check: an infinite result from finite inputs is an error."""
    if math.isinf(v) and not any(math.isinf(x) for x in inputs):
        raise SqlError("22003", "value out of range: overflow")
    return v


@runtime
def check_float4(v: float, *inputs: float) -> float:
    v = to_float4(v)
    return check_float(v, *inputs)


@runtime
def to_float4(v: float) -> float:
    """Round a Python float to float4 precision (overflow becomes infinity)."""
    if math.isinf(v) or v != v:
        return v
    if abs(v) > 3.4028235677973366e38:
        return math.copysign(math.inf, v)
    import struct
    return struct.unpack("f", struct.pack("f", v))[0]


# comparisons of float and numeric values: NaN equals NaN and is greater than any other value

@runtime
def nan_eq(a, b) -> bool:
    return a == b or (a != a and b != b)


@runtime
def nan_ne(a, b) -> bool:
    return not nan_eq(a, b)


@runtime
def nan_lt(a, b) -> bool:
    return a < b if a == a and b == b else (a == a and b != b)


@runtime
def nan_le(a, b) -> bool:
    return a <= b if a == a and b == b else b != b


@runtime
def nan_gt(a, b) -> bool:
    return a > b if a == a and b == b else (b == b and a != a)


@runtime
def nan_ge(a, b) -> bool:
    return a >= b if a == a and b == b else a != a


@runtime
def num_add(a: Decimal, b: Decimal) -> Decimal:
    return NUMERIC_CONTEXT.add(a, b)


@runtime
def num_sub(a: Decimal, b: Decimal) -> Decimal:
    return NUMERIC_CONTEXT.subtract(a, b)


@runtime
def num_mul(a: Decimal, b: Decimal) -> Decimal:
    return NUMERIC_CONTEXT.multiply(a, b)


def numeric_scale(d: Decimal) -> int:
    """A numeric's display scale (digits after the decimal point)."""
    exp_ = d.as_tuple().exponent
    return -exp_ if isinstance(exp_, int) and exp_ < 0 else 0


def numeric_weight(d: Decimal) -> int:
    """PostgreSQL's weight: index of the first base-10000 digit (0 for 1..9999)."""
    if d == 0:
        return 0
    adjusted = d.adjusted()          # exponent of the leading decimal digit
    return adjusted // 4 if adjusted >= 0 else -((-adjusted - 1) // 4) - 1


def _leading_nbase_digits(d: Decimal, count: int = 1) -> tuple[int, int]:
    """(weight, value) of the first `count` base-10000 digits, as PostgreSQL stores numerics."""
    if d == 0:
        return 0, 0
    w = numeric_weight(d)
    return w, int(abs(d).scaleb(-4 * (w - count + 1), context=NUMERIC_CONTEXT))


def round_numeric(v: Decimal, scale: int) -> Decimal:
    """Round half away from zero to `scale` digits after the point (round_var)."""
    return v.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=NUMERIC_CONTEXT)


def divide_to_scale(a: Decimal, b: Decimal, scale: int) -> Decimal:
    """a / b rounded half away from zero to `scale` digits after the point.

    The quotient is first truncated a few digits further (never rounded twice the wrong way),
    with just the precision those digits need: a non-terminating quotient is never expanded
    to the context's full precision."""
    digits = max(a.adjusted() - b.adjusted() + 2 + scale + 3, 1)
    quotient = Context(prec=digits, rounding=ROUND_DOWN, Emax=NUMERIC_CONTEXT.Emax,
                       Emin=NUMERIC_CONTEXT.Emin).divide(a, b)
    return round_numeric(quotient, scale)


@runtime
def numeric_div(a: Decimal, b: Decimal) -> Decimal:
    """numeric / numeric with PostgreSQL's result scale (select_div_scale in numeric.c)."""
    if b == 0 and not b.is_nan():
        if a.is_nan():
            return a
        raise division_by_zero()
    if a.is_nan() or b.is_nan():
        return Decimal("NaN")
    if a.is_infinite():
        return Decimal("NaN") if b.is_infinite() else (a if b > 0 else -a)
    if b.is_infinite():
        return Decimal(0)
    w1, d1 = _leading_nbase_digits(a)
    w2, d2 = _leading_nbase_digits(b)
    qweight = w1 - w2 - (1 if d1 <= d2 else 0)
    rscale = min(max(16 - qweight * 4, numeric_scale(a), numeric_scale(b), 0), 1000)
    if a == 0:
        return Decimal(0).scaleb(-rscale)
    return divide_to_scale(a, b, rscale)


@runtime
def numeric_mod(a: Decimal, b: Decimal) -> Decimal:
    if b == 0 and not b.is_nan():
        if a.is_nan():
            return a
        raise division_by_zero()
    if a.is_nan() or b.is_nan():
        return Decimal("NaN")
    if a.is_infinite():
        return Decimal("NaN")
    if b.is_infinite():
        return a
    return NUMERIC_CONTEXT.remainder(a, b)


@runtime
def numeric_round(a: Decimal, places: int = 0) -> Decimal:
    if a.is_nan() or a.is_infinite():
        return a
    places = max(min(places, 1000), -1000)
    r = round_numeric(a, places)
    return r if places >= 0 else r.quantize(Decimal(1), context=NUMERIC_CONTEXT)


@runtime
def numeric_trunc(a: Decimal, places: int = 0) -> Decimal:
    if a.is_nan() or a.is_infinite():
        return a
    places = max(min(places, 1000), -1000)
    r = a.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN, context=NUMERIC_CONTEXT)
    return r if places >= 0 else r.quantize(Decimal(1), context=NUMERIC_CONTEXT)


# -------------------------------------------------------------------- signatures

POLYMORPHIC = frozenset({"any", "anyelement", "anyarray", "anynonarray", "anycompatible",
                         "anycompatiblearray", "anycompatiblenonarray"})


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    args: tuple[SqlType | str, ...]      # a type, or a polymorphic family name
    returns: SqlType | str | Callable     # a type, a family name (bound from the arguments), or fn(arg types)
    template: str | None = None          # Python expression over {0}, {1}, ... ({args}: all of them)
    builder: Callable | None = None      # (arg_types, settings) -> callable
    strict: bool = True                  # NULL in -> NULL out, without calling
    variadic: bool = False               # the last argument repeats (at least once)
    volatile: bool = False
    arg_names: tuple[str, ...] = ()      # for calls in named notation (name => value)
    defaults: tuple[Any, ...] = ()       # values of the trailing arguments a call may leave out

    def __str__(self) -> str:
        return f"{self.name}({', '.join(a if isinstance(a, str) else format_type(a) for a in self.args)})"

    @property
    def immutable(self) -> bool:
        """Whether a call with constant arguments can be computed once, at plan time: not
        volatile, not reading the execution context, not depending on session settings."""
        return not self.volatile and self.builder is None and "ctx" not in (self.template or "")


FUNCTIONS: dict[str, list[Signature]] = {}


def define(name: str, args: tuple, returns, template: str | None = None, **kw) -> None:
    FUNCTIONS.setdefault(name, []).append(Signature(name, tuple(args), returns, template, **kw))


@dataclass(frozen=True, slots=True)
class Resolved:
    """The outcome of overload resolution: what to call, what to cast each argument to."""
    sig: Signature
    arg_types: tuple[SqlType, ...]
    returns: SqlType


# -------------------------------------------------------------------- implicit casts

_OID_FAMILY = frozenset({OID.oid} | REG_TYPES)       # oid and the reg* types cast to each other freely
_INT_TARGETS = frozenset({INT4.oid, INT8.oid, FLOAT4.oid, FLOAT8.oid, NUMERIC.oid}) | _OID_FAMILY
_IMPLICIT: dict[int, frozenset[int]] = {
    INT2.oid: _INT_TARGETS,
    INT4.oid: _INT_TARGETS - {INT4.oid},
    INT8.oid: _INT_TARGETS - {INT4.oid, INT8.oid},
    FLOAT4.oid: frozenset({FLOAT8.oid}),
    NUMERIC.oid: frozenset({FLOAT4.oid, FLOAT8.oid}),
    TEXT.oid: frozenset({BPCHAR.oid, VARCHAR.oid, NAME.oid, REGCLASS.oid}),
    VARCHAR.oid: frozenset({TEXT.oid, BPCHAR.oid, NAME.oid, REGCLASS.oid}),
    BPCHAR.oid: frozenset({TEXT.oid, VARCHAR.oid, NAME.oid}),
    NAME.oid: frozenset({TEXT.oid}),
    CHAR.oid: frozenset({TEXT.oid}),
    DATE.oid: frozenset({TIMESTAMP.oid, TIMESTAMPTZ.oid}),
    TIMESTAMP.oid: frozenset({TIMESTAMPTZ.oid}),
    TIME.oid: frozenset({INTERVAL.oid}),
    **{oid: _OID_FAMILY - {oid} | {INT8.oid} for oid in _OID_FAMILY},
}
PREFERRED = frozenset({FLOAT8.oid, TEXT.oid, TIMESTAMPTZ.oid, INTERVAL.oid, BOOL.oid, OID.oid})


def implicitly_castable(src: SqlType, dst: SqlType) -> bool:
    """Whether PostgreSQL would cast `src` to `dst` without being asked (pg_cast context 'i')."""
    if src.oid == dst.oid or src.oid == UNKNOWN.oid:
        return True
    if dst.oid in _IMPLICIT.get(src.oid, ()):
        return True
    if src.element is not None and dst.element is not None:
        return implicitly_castable(src.element, dst.element)
    return False


def is_preferred(t: SqlType) -> bool:
    return t.oid in PREFERRED


# -------------------------------------------------------------------- resolution


class _Undetermined(Exception):
    """A polymorphic candidate whose type only unknown literals could have decided."""


def _bind_polymorphic(sig: Signature, arg_types: list[SqlType]) -> tuple[list[SqlType], SqlType] | None:
    """Concrete argument targets and return type for a candidate, or None if it does not fit
    (raises _Undetermined when every polymorphic argument is an unknown literal)."""
    declared = _expand(sig, len(arg_types))
    if declared is None:
        return None
    element: SqlType | None = None          # anyelement / anyarray's element
    compatible: list[SqlType] = []          # anycompatible family inputs (as element types)
    for want, have in zip(declared, arg_types):
        if not isinstance(want, str) or want == "any":
            continue
        if have.oid == UNKNOWN.oid:
            continue
        if want in ("anyelement", "anynonarray"):
            if want == "anynonarray" and have.element is not None:
                return None
            got = have.base
        elif want == "anyarray":
            if have.element is None:
                return None
            got = have.element
        elif want in ("anycompatible", "anycompatiblenonarray"):
            if want == "anycompatiblenonarray" and have.element is not None:
                return None
            compatible.append(have.base)
            continue
        elif want == "anycompatiblearray":
            if have.element is None:
                return None
            compatible.append(have.element)
            continue
        else:
            return None
        if element is None:
            element = got
        elif element.oid != got.oid:
            return None
    common: SqlType | None = None
    if compatible:
        common = select_common_type(compatible)
        if common is None:
            return None
    elif any(w in ("anycompatible", "anycompatiblearray", "anycompatiblenonarray") for w in declared if isinstance(w, str)):
        common = TEXT
    targets: list[SqlType] = []
    for want, have in zip(declared, arg_types):
        if not isinstance(want, str):
            targets.append(want)
        elif want == "any":
            targets.append(TEXT if have.oid == UNKNOWN.oid else have)
        elif want in ("anyelement", "anynonarray"):
            if element is None:
                raise _Undetermined()
            targets.append(element)
        elif want == "anyarray":
            if element is None:
                raise _Undetermined()
            targets.append(array_of(element))
        elif want in ("anycompatible", "anycompatiblenonarray"):
            targets.append(common)
        else:
            targets.append(array_of(common))
    returns = sig.returns
    if isinstance(returns, SqlType):
        result = returns
    elif callable(returns):
        result = returns(targets)
    elif returns in ("anyelement", "anynonarray"):
        result = element or TEXT
    elif returns == "anyarray":
        result = array_of(element or TEXT)
    elif returns in ("anycompatible", "anycompatiblenonarray"):
        result = common or TEXT
    elif returns == "anycompatiblearray":
        result = array_of(common or TEXT)
    else:
        raise AssertionError(f"bad return type {returns!r} in {sig}")
    return targets, result


def _expand(sig: Signature, n: int) -> tuple | None:
    args = sig.args
    if sig.variadic:
        if n < len(args):
            return None
        return args + (args[-1],) * (n - len(args))
    return args if len(args) == n else None


def select_common_type(types: list[SqlType]) -> SqlType | None:
    """PostgreSQL's select_common_type for known types: the preferred/implicitly reachable one."""
    known = [t for t in types if t.oid != UNKNOWN.oid]
    if not known:
        return TEXT
    best = known[0].base
    for t in known[1:]:
        t = t.base
        if t.oid == best.oid:
            continue
        if t.category != best.category:
            return None
        if implicitly_castable(best, t) and not (is_preferred(best) and not implicitly_castable(t, best)):
            best = t
        elif not implicitly_castable(t, best):
            return None
    return best


# PostgreSQL functions rewinddb knows it lacks: calls answer 0A000 naming the feature
NOT_SUPPORTED = {
    **{f"jsonb_path_{kind}{tz}": "SQL/JSON path expressions" for kind in ("exists", "match", "query", "query_array",
                                                                           "query_first") for tz in ("", "_tz")},
    "jsonb_set_lax": "jsonb_set_lax",
    "json_populate_record": "json_populate_record", "jsonb_populate_record": "jsonb_populate_record",
    "json_populate_recordset": "json_populate_recordset", "jsonb_populate_recordset": "jsonb_populate_recordset",
    "json_to_record": "json_to_record", "jsonb_to_record": "jsonb_to_record",
    "json_to_recordset": "json_to_recordset", "jsonb_to_recordset": "jsonb_to_recordset",
}


def resolve(name: str, arg_types: list[SqlType], operator: bool = False) -> Resolved:
    """The signature PostgreSQL would choose for `name(arg_types)`, with argument casts."""
    candidates = FUNCTIONS.get(name)
    if not candidates:
        if name in NOT_SUPPORTED:
            raise SqlError("0A000", f"{NOT_SUPPORTED[name]} ({name}) is not supported")
        raise _no_match(name, arg_types, operator)
    n = len(arg_types)
    fitting: list[tuple[Signature, list[SqlType], SqlType]] = []
    undetermined = False
    for sig in candidates:
        try:
            bound = _bind_polymorphic(sig, arg_types)
        except _Undetermined:
            undetermined = True
            continue
        if bound is None:
            continue
        targets, result = bound
        if all(implicitly_castable(have, want) for have, want in zip(arg_types, targets)):
            fitting.append((sig, targets, result))
    if not fitting:
        if undetermined:
            raise SqlError("42804", "could not determine polymorphic type because input has type unknown")
        raise _no_match(name, arg_types, operator)
    if len(fitting) > 1 and operator and n == 2 and (arg_types[0].oid == UNKNOWN.oid) != (arg_types[1].oid == UNKNOWN.oid):
        # a binary operator with one unknown side: try the other side's type for it first
        known = arg_types[1] if arg_types[0].oid == UNKNOWN.oid else arg_types[0]
        exact = [f for f in fitting if all(t.oid == known.oid for t in f[1])]
        if len(exact) == 1:
            fitting = exact
    if len(fitting) > 1:
        fitting = _narrow(fitting, arg_types)
    if len(fitting) > 1:
        raise SqlError("42725", f"{'operator' if operator else 'function'} {_shown(name, arg_types, operator)} is not unique",
                       hint=f"Could not choose a best candidate {'operator' if operator else 'function'}. "
                            "You might need to add explicit type casts.")
    sig, targets, result = fitting[0]
    return Resolved(sig, tuple(targets), result)


def _narrow(fitting, arg_types: list[SqlType]):
    """func_select_candidate's tie-breaking rules, in order."""
    def keep_max(items, score):
        best = max(score(f) for f in items)
        return [f for f in items if score(f) == best]

    # exact matches count against the declared types: a polymorphic one (anyelement) is never exact
    exact = {id(f[0]): sum(1 for have, want, declared in zip(arg_types, f[1], f[0].args)
                           if have.oid == want.oid and have.oid != UNKNOWN.oid and not isinstance(declared, str))
             for f in fitting}
    fitting = keep_max(fitting, lambda f: exact[id(f[0])])
    if len(fitting) == 1:
        return fitting
    # preferred types of the input's own category, at the known inputs needing a cast (a
    # polymorphic declared type is neither the input's type nor preferred)
    fitting = keep_max(fitting, lambda f: sum(1 for have, want, declared in zip(arg_types, f[1], f[0].args)
                                               if have.oid != UNKNOWN.oid and not isinstance(declared, str) and (
                                                   have.oid == want.oid or (
                                                       want.category == have.category and is_preferred(want)))))
    if len(fitting) == 1:
        return fitting
    unknown_positions = [i for i, t in enumerate(arg_types) if t.oid == UNKNOWN.oid]
    if unknown_positions:
        for i in unknown_positions:
            categories = {f[1][i].category for f in fitting}
            if "S" in categories:
                category = "S"
            elif len(categories) == 1:
                category = categories.pop()
            else:
                return fitting
            in_category = [f for f in fitting if f[1][i].category == category]
            preferred = [f for f in in_category if is_preferred(f[1][i])]
            fitting = preferred or in_category
        if len(fitting) == 1:
            return fitting
        known = {t.oid for t in arg_types if t.oid != UNKNOWN.oid}
        if len(known) == 1:
            oid = known.pop()
            same = [f for f in fitting if all(f[1][i].oid == oid for i in unknown_positions)]
            if same:
                fitting = same
    return fitting


def _shown(name: str, arg_types: list[SqlType], operator: bool) -> str:
    shown = [format_type(t) for t in arg_types]
    if operator:
        if len(arg_types) == 2:
            return f"{shown[0]} {name} {shown[1]}"
        return f"{name.rstrip('u')} {shown[0]}" if name.endswith("u") and len(name) > 1 else f"{name} {shown[0]}"
    return f"{name}({', '.join(shown)})"


def _no_match(name: str, arg_types: list[SqlType], operator: bool) -> SqlError:
    if operator:
        return undefined_operator(_shown(name, arg_types, True), prefix=len(arg_types) == 1)
    return undefined_function(_shown(name, arg_types, False))


def find_signature(name: str, arg_types: list[SqlType]) -> Signature:
    """The signature implementing a bound call whose arguments already have their target types."""
    for sig in FUNCTIONS.get(name, ()):
        declared = _expand(sig, len(arg_types))
        if declared is not None and all(isinstance(w, str) or w.oid == a.oid or (w.oid == RECORD.oid and a.fields is not None)
                                        for w, a in zip(declared, arg_types)):      # a table's row type is a record
            return sig
    raise SqlError("XX000", f"no implementation of {name} for these argument types")


def numeric_result_type(a: SqlType, b: SqlType) -> SqlType | None:
    """The common type of two numeric operands, as PostgreSQL's operator resolution picks it."""
    pa, pb = NUMERIC_PRECEDENCE.get(a.oid), NUMERIC_PRECEDENCE.get(b.oid)
    if pa is None or pb is None:
        return None
    order = [INT2, INT4, INT8, NUMERIC, FLOAT4, FLOAT8]
    result = order[max(pa, pb)]
    if result is FLOAT4 and a.oid != b.oid:
        return FLOAT8                    # there are no operators mixing float4 with another type
    return result


# -------------------------------------------------------------------- arithmetic operators
# (the binder maps + - * / % on two numbers of one type to these; "-u" is unary minus)

for _t, _label in ((INT2, "smallint"), (INT4, "integer"), (INT8, "bigint")):
    _lo, _hi = -(1 << (_t.size * 8 - 1)), (1 << (_t.size * 8 - 1)) - 1
    for _op in ("+", "-", "*"):
        define(_op, (_t, _t), _t, f"(_v if {_lo} <= (_v := {{0}} {_op} {{1}}) <= {_hi} else overflow('{_label}'))")
    define("/", (_t, _t), _t, f"(_v if (_v := int_div({{0}}, {{1}})) <= {_hi} else overflow('{_label}'))")
    define("%", (_t, _t), _t, "int_mod({0}, {1})")
    define("-u", (_t,), _t, f"(_v if (_v := -{{0}}) <= {_hi} else overflow('{_label}'))")
    define("+u", (_t,), _t, "{0}")
for _t, _check in ((FLOAT4, "check_float4"), (FLOAT8, "check_float")):
    for _op in ("+", "-", "*"):
        define(_op, (_t, _t), _t, f"{_check}({{0}} {_op} {{1}}, {{0}}, {{1}})")
    define("/", (_t, _t), _t, "float_div({0}, {1})" if _t is FLOAT8 else "to_float4(float_div({0}, {1}))")
    define("-u", (_t,), _t, "(-{0})")
    define("+u", (_t,), _t, "{0}")
define("+", (NUMERIC, NUMERIC), NUMERIC, "num_add({0}, {1})")
define("-", (NUMERIC, NUMERIC), NUMERIC, "num_sub({0}, {1})")
define("*", (NUMERIC, NUMERIC), NUMERIC, "num_mul({0}, {1})")
define("/", (NUMERIC, NUMERIC), NUMERIC, "numeric_div({0}, {1})")
define("%", (NUMERIC, NUMERIC), NUMERIC, "numeric_mod({0}, {1})")
define("-u", (NUMERIC,), NUMERIC, "(-{0})")
define("+u", (NUMERIC,), NUMERIC, "{0}")

ARITHMETIC_OPERATORS = frozenset({"+", "-", "*", "/", "%"})


# the areas register their signatures on import (they use `define` and `runtime` from here)
for _area in ("text_functions", "math_functions", "datetime_functions", "json_functions", "array_functions",
              "misc_functions"):
    importlib.import_module(f"engine.exec.{_area}")
