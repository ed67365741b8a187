"""Scalar functions and operators: signatures, result types and Python implementations.

Each `Signature` says what argument types a function accepts, what it returns, and how it
runs: `template` is a Python expression with {0}, {1}, ... for the (already evaluated,
non-NULL when `strict`) arguments, compiled inline by `exec.compiler`; helpers it calls are
module-level functions here, put into the generated code's globals by name.

Overload resolution (`resolve`) follows PostgreSQL's rules in the common cases: an exact
match wins, then one reachable by implicit casts (integers widen to numeric and float,
unknown literals take any type, varchar/bpchar/name act as text).
"""
from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from typing import Any, Callable

from engine.errors import SqlError, division_by_zero, undefined_function
from engine.types import (BOOL, BYTEA, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, JSON, JSONB,
                          NUMERIC, NUMERIC_PRECEDENCE, OID, REG_TYPES, REGCLASS, STRING_TYPES, TEXT, TIME, TIMESTAMP,
                          TIMESTAMPTZ, UNKNOWN, UTC, UUID, VARCHAR, VOID, Interval, SqlType, array_of)

# -------------------------------------------------------------------- runtime helpers
# Called by generated code; names are referenced from templates.


_BIG = Context(prec=2000, Emax=10**6, Emin=-10**6)


def overflow(type_name: str = "integer"):
    raise SqlError("22003", f"{type_name} out of range")


def int_div(a: int, b: int) -> int:
    if b == 0:
        raise division_by_zero()
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def int_mod(a: int, b: int) -> int:
    if b == 0:
        raise division_by_zero()
    return a - b * int_div(a, b)


def float_div(a: float, b: float) -> float:
    if b == 0:
        raise division_by_zero()
    return a / b


def numeric_scale(d: Decimal) -> int:
    exp_ = d.as_tuple().exponent
    return -exp_ if isinstance(exp_, int) and exp_ < 0 else 0


def numeric_weight(d: Decimal) -> int:
    """PostgreSQL's weight: index of the first base-10000 digit (0 for 1..9999)."""
    if d == 0:
        return 0
    adjusted = d.adjusted()          # exponent of the leading decimal digit
    return adjusted // 4 if adjusted >= 0 else -((-adjusted - 1) // 4) - 1


def numeric_div(a: Decimal, b: Decimal) -> Decimal:
    """numeric / numeric with PostgreSQL's result scale (select_div_scale in numeric.c)."""
    if b == 0:
        if a.is_nan():
            return a
        raise division_by_zero()
    if a.is_nan() or b.is_nan():
        return Decimal("NaN")
    if a.is_infinite() or b.is_infinite():
        return a / b
    w1, d1 = _leading_nbase_digit(a)
    w2, d2 = _leading_nbase_digit(b)
    qweight = w1 - w2 - (1 if d1 <= d2 else 0)
    rscale = min(max(16 - qweight * 4, numeric_scale(a), numeric_scale(b), 0), 1000)
    return (a / b if a else Decimal(0)).quantize(Decimal(1).scaleb(-rscale), rounding=ROUND_HALF_UP, context=_BIG) \
        if a else Decimal(0).quantize(Decimal(1).scaleb(-rscale))


def _leading_nbase_digit(d: Decimal) -> tuple[int, int]:
    """(weight, value) of the first non-zero base-10000 digit, as PostgreSQL stores numerics."""
    if d == 0:
        return 0, 0
    w = numeric_weight(d)
    return w, int(abs(d).scaleb(-4 * w, context=_BIG))


def numeric_mod(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise division_by_zero()
    return a % b


def numeric_round(a: Decimal, places: int = 0) -> Decimal:
    if a.is_nan() or a.is_infinite():
        return a
    return a.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_BIG)


def numeric_trunc(a: Decimal, places: int = 0) -> Decimal:
    if a.is_nan() or a.is_infinite():
        return a
    return a.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN, context=_BIG)


def float_round(a: float) -> float:
    return float(math.floor(a + 0.5)) if a >= 0 else -float(math.floor(-a + 0.5))


def check_float(v: float, type_name: str = "double precision") -> float:
    if math.isinf(v):
        raise SqlError("22003", "value out of range: overflow")
    return v


def text_length(s: str) -> int:
    return len(s)


def text_substr(s: str, start: int, length: int | None = None) -> str:
    if length is not None and length < 0:
        raise SqlError("22011", "negative substring length not allowed")
    begin = start - 1
    end = None if length is None else begin + length
    if end is not None and end <= 0:
        return ""
    return s[max(begin, 0):end]


def concat_text(*args: Any) -> str:
    return "".join("" if a is None else a for a in args)


def like_regex(pattern: str, case_insensitive: bool = False, escape: str = "\\") -> re.Pattern:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape:
            i += 1
            if i < len(pattern):
                out.append(re.escape(pattern[i]))
            else:
                raise SqlError("22025", "LIKE pattern must not end with escape character")
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S | (re.I if case_insensitive else 0))


_LIKE_CACHE: dict[tuple[str, bool], re.Pattern] = {}


def like(value: str, pattern: str, case_insensitive: bool = False) -> bool:
    key = (pattern, case_insensitive)
    rx = _LIKE_CACHE.get(key)
    if rx is None:
        if len(_LIKE_CACHE) > 1000:
            _LIKE_CACHE.clear()
        rx = _LIKE_CACHE[key] = like_regex(pattern, case_insensitive)
    return rx.match(value) is not None


def statement_now(ctx) -> dt.datetime:
    return ctx.transaction_time


def clock_now(ctx) -> dt.datetime:
    return dt.datetime.now(UTC)


def current_date(ctx) -> dt.date:
    return ctx.transaction_time.astimezone(ctx.timezone).date()


def gen_random_uuid() -> uuid.UUID:
    return uuid.uuid4()


def ts_add_interval(ts: dt.datetime, iv: Interval) -> dt.datetime:
    if iv.months:
        y, m = divmod(ts.month - 1 + iv.months, 12)
        year = ts.year + y
        month = m + 1
        import calendar
        day = min(ts.day, calendar.monthrange(year, month)[1])
        ts = ts.replace(year=year, month=month, day=day)
    return ts + dt.timedelta(days=iv.days, microseconds=iv.micros)


def tstz_add_interval(ts: dt.datetime, iv: Interval, tz) -> dt.datetime:
    if iv.months or iv.days:
        local = ts.astimezone(tz).replace(tzinfo=None)
        local = ts_add_interval(local, Interval(iv.months, iv.days, 0))
        ts = local.replace(tzinfo=tz).astimezone(UTC) if not isinstance(tz, dt.timezone) else local.replace(tzinfo=tz).astimezone(UTC)
    return ts + dt.timedelta(microseconds=iv.micros)


def ts_diff(a: dt.datetime, b: dt.datetime) -> Interval:
    delta = a - b
    days = delta.days
    micros = delta.seconds * 1_000_000 + delta.microseconds
    if days < 0 < micros:
        days += 1
        micros -= 86_400_000_000
    return Interval(0, days, micros)


def date_add_int(d: dt.date, n: int) -> dt.date:
    try:
        return d + dt.timedelta(days=n)
    except OverflowError:
        raise SqlError("22008", "date out of range") from None


def interval_mul(iv: Interval, f) -> Interval:
    f = float(f)
    months = iv.months * f
    m = int(months)
    days = iv.days * f + (months - m) * 30
    d = int(days)
    micros = iv.micros * f + (days - d) * 86_400_000_000
    return Interval(m, d, int(round(micros)))


def interval_div(iv: Interval, f) -> Interval:
    if f == 0:
        raise division_by_zero()
    return interval_mul(iv, 1.0 / float(f))


HELPERS: dict[str, Any] = {name: obj for name, obj in globals().items()
                           if callable(obj) and not name.startswith("_") and name[0].islower()}
HELPERS.update({"Decimal": Decimal, "math": math, "dt": dt, "Interval": Interval, "UTC": UTC})

# -------------------------------------------------------------------- signatures


@dataclass(frozen=True, slots=True)
class Signature:
    args: tuple[SqlType | str, ...]      # a type, or a family: "any", "anyelement", "numeric*", "text*"
    returns: SqlType | str               # a type, or "arg0" (same as first argument)
    template: str                        # Python expression over {0}, {1}, ... ; {ctx} = the context
    strict: bool = True
    variadic: bool = False
    volatile: bool = False


FUNCTIONS: dict[str, list[Signature]] = {}


def define(name: str, args: tuple, returns, template: str, **kw) -> None:
    FUNCTIONS.setdefault(name, []).append(Signature(tuple(args), returns, template, **kw))


# arithmetic operators (the binder maps + - * / % on numbers to these)
for t, lo, hi, label in ((INT2, -(1 << 15), (1 << 15) - 1, "smallint"), (INT4, -(1 << 31), (1 << 31) - 1, "integer"),
                         (INT8, -(1 << 63), (1 << 63) - 1, "bigint")):
    for op, py in (("+", "{0} + {1}"), ("-", "{0} - {1}"), ("*", "{0} * {1}")):
        define(op, (t, t), t, f"(_v if {lo} <= (_v := {py}) <= {hi} else overflow('{label}'))")
    define("/", (t, t), t, "int_div({0}, {1})")
    define("%", (t, t), t, "int_mod({0}, {1})")
    define("-u", (t,), t, f"(_v if (_v := -{{0}}) <= {hi} else overflow('{label}'))")
    define("abs", (t,), t, f"(_v if (_v := abs({{0}})) <= {hi} else overflow('{label}'))")
for t in (FLOAT4, FLOAT8):
    define("+", (t, t), t, "check_float({0} + {1})")
    define("-", (t, t), t, "check_float({0} - {1})")
    define("*", (t, t), t, "check_float({0} * {1})")
    define("/", (t, t), t, "float_div({0}, {1})")
    define("-u", (t,), t, "-{0}")
    define("abs", (t,), t, "abs({0})")
define("+", (NUMERIC, NUMERIC), NUMERIC, "({0} + {1})")
define("-", (NUMERIC, NUMERIC), NUMERIC, "({0} - {1})")
define("*", (NUMERIC, NUMERIC), NUMERIC, "({0} * {1})")
define("/", (NUMERIC, NUMERIC), NUMERIC, "numeric_div({0}, {1})")
define("%", (NUMERIC, NUMERIC), NUMERIC, "numeric_mod({0}, {1})")
define("-u", (NUMERIC,), NUMERIC, "(-{0})")
define("abs", (NUMERIC,), NUMERIC, "abs({0})")
define("round", (NUMERIC,), NUMERIC, "numeric_round({0})")
define("round", (NUMERIC, INT4), NUMERIC, "numeric_round({0}, {1})")
define("round", (FLOAT8,), FLOAT8, "float_round({0})")
define("trunc", (NUMERIC,), NUMERIC, "numeric_trunc({0})")
define("trunc", (NUMERIC, INT4), NUMERIC, "numeric_trunc({0}, {1})")
define("trunc", (FLOAT8,), FLOAT8, "float(math.trunc({0}))")
define("floor", (NUMERIC,), NUMERIC, "Decimal(math.floor({0}))")
define("floor", (FLOAT8,), FLOAT8, "float(math.floor({0}))")
define("ceil", (NUMERIC,), NUMERIC, "Decimal(math.ceil({0}))")
define("ceil", (FLOAT8,), FLOAT8, "float(math.ceil({0}))")
define("ceiling", (NUMERIC,), NUMERIC, "Decimal(math.ceil({0}))")
define("ceiling", (FLOAT8,), FLOAT8, "float(math.ceil({0}))")
define("sqrt", (FLOAT8,), FLOAT8, "math.sqrt({0})")
define("power", (FLOAT8, FLOAT8), FLOAT8, "check_float(math.pow({0}, {1}))")
define("random", (), FLOAT8, "__import__('random').random()", volatile=True)

# strings
define("||", (TEXT, TEXT), TEXT, "({0} + {1})")
define("length", (TEXT,), INT4, "len({0})")
define("char_length", (TEXT,), INT4, "len({0})")
define("character_length", (TEXT,), INT4, "len({0})")
define("octet_length", (TEXT,), INT4, "len({0}.encode())")
define("lower", (TEXT,), TEXT, "{0}.lower()")
define("upper", (TEXT,), TEXT, "{0}.upper()")
define("substring", (TEXT, INT4), TEXT, "text_substr({0}, {1})")
define("substring", (TEXT, INT4, INT4), TEXT, "text_substr({0}, {1}, {2})")
define("substr", (TEXT, INT4), TEXT, "text_substr({0}, {1})")
define("substr", (TEXT, INT4, INT4), TEXT, "text_substr({0}, {1}, {2})")
define("replace", (TEXT, TEXT, TEXT), TEXT, "{0}.replace({1}, {2})")
define("concat", ("any",), TEXT, "concat_text({args})", strict=False, variadic=True)
define("btrim", (TEXT,), TEXT, "{0}.strip(' ')")
define("ltrim", (TEXT,), TEXT, "{0}.lstrip(' ')")
define("rtrim", (TEXT,), TEXT, "{0}.rstrip(' ')")
define("strpos", (TEXT, TEXT), INT4, "({0}.find({1}) + 1)")
define("position", (TEXT, TEXT), INT4, "({1}.find({0}) + 1)")
define("left", (TEXT, INT4), TEXT, "({0}[:{1}] if {1} >= 0 else {0}[:{1}])")
define("right", (TEXT, INT4), TEXT, "({0}[-{1}:] if {1} > 0 else {0}[-{1}:] if {1} < 0 else '')")
define("repeat", (TEXT, INT4), TEXT, "({0} * max({1}, 0))")
define("reverse", (TEXT,), TEXT, "{0}[::-1]")
define("md5", (TEXT,), TEXT, "__import__('hashlib').md5({0}.encode()).hexdigest()")

# date/time
define("now", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("current_timestamp", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("transaction_timestamp", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("statement_timestamp", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("clock_timestamp", (), TIMESTAMPTZ, "clock_now(ctx)", strict=False, volatile=True)
define("current_date", (), DATE, "current_date(ctx)", strict=False)
define("+", (TIMESTAMP, INTERVAL), TIMESTAMP, "ts_add_interval({0}, {1})")
define("-", (TIMESTAMP, INTERVAL), TIMESTAMP, "ts_add_interval({0}, -{1})")
define("+", (TIMESTAMPTZ, INTERVAL), TIMESTAMPTZ, "tstz_add_interval({0}, {1}, ctx.timezone)")
define("-", (TIMESTAMPTZ, INTERVAL), TIMESTAMPTZ, "tstz_add_interval({0}, -{1}, ctx.timezone)")
define("-", (TIMESTAMP, TIMESTAMP), INTERVAL, "ts_diff({0}, {1})")
define("-", (TIMESTAMPTZ, TIMESTAMPTZ), INTERVAL, "ts_diff({0}, {1})")
define("+", (DATE, INT4), DATE, "date_add_int({0}, {1})")
define("-", (DATE, INT4), DATE, "date_add_int({0}, -{1})")
define("-", (DATE, DATE), INT4, "({0} - {1}).days")
define("+", (DATE, INTERVAL), TIMESTAMP, "ts_add_interval(dt.datetime.combine({0}, dt.time()), {1})")
define("-", (DATE, INTERVAL), TIMESTAMP, "ts_add_interval(dt.datetime.combine({0}, dt.time()), -{1})")
define("+", (INTERVAL, INTERVAL), INTERVAL, "({0} + {1})")
define("-", (INTERVAL, INTERVAL), INTERVAL, "({0} - {1})")
define("-u", (INTERVAL,), INTERVAL, "(-{0})")
define("*", (INTERVAL, FLOAT8), INTERVAL, "interval_mul({0}, {1})")
define("*", (FLOAT8, INTERVAL), INTERVAL, "interval_mul({1}, {0})")
define("/", (INTERVAL, FLOAT8), INTERVAL, "interval_div({0}, {1})")

# misc
define("nextval", (REGCLASS,), INT8, "ctx.session.nextval({0})", volatile=True)
define("gen_random_uuid", (), UUID, "gen_random_uuid()", strict=False, volatile=True)
define("version", (), TEXT, "ctx.version_string", strict=False)
define("current_user", (), "name", "ctx.user", strict=False)
define("session_user", (), "name", "ctx.user", strict=False)
define("user", (), "name", "ctx.user", strict=False)
define("current_database", (), "name", "ctx.database", strict=False)
define("current_schema", (), "name", "ctx.current_schema()", strict=False)
define("pg_backend_pid", (), INT4, "ctx.backend_pid", strict=False)
define("pg_notify", (TEXT, TEXT), VOID, "(ctx.session.notify({0}, {1}) or '')", strict=False, volatile=True)
define("pg_blocking_pids", (INT4,), array_of(INT4), "ctx.session.blocking_pids({0})", volatile=True)

# -------------------------------------------------------------------- resolution

_TEXTLIKE = STRING_TYPES
_OID_FAMILY = frozenset({OID.oid} | REG_TYPES)


def _family_accepts(family: str, t: SqlType) -> bool:
    return family == "any"


def implicit_cast_cost(src: SqlType, dst: SqlType) -> int | None:
    """How far `src` is from `dst` by implicit casts (0 exact), or None if not castable."""
    if src.oid == dst.oid:
        return 0
    if src.oid == UNKNOWN.oid:
        return 1
    if src.oid in _TEXTLIKE and dst.oid in _TEXTLIKE:
        return 1 if dst.oid == TEXT.oid else 2
    ps, pd = NUMERIC_PRECEDENCE.get(src.oid), NUMERIC_PRECEDENCE.get(dst.oid)
    if ps is not None and pd is not None and ps < pd:
        return 1 + pd - ps
    if src.oid == DATE.oid and dst.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid):
        return 2 if dst.oid == TIMESTAMP.oid else 3
    if src.oid == TIMESTAMP.oid and dst.oid == TIMESTAMPTZ.oid:
        return 2
    if dst.oid in _OID_FAMILY and (src.oid in _OID_FAMILY or src.oid in (INT2.oid, INT4.oid, INT8.oid)):
        return 1 if src.oid in _OID_FAMILY else 2    # oid and the reg* types are one family
    if src.oid == JSON.oid and dst.oid == JSONB.oid:
        return None
    return None


def resolve(name: str, arg_types: list[SqlType]) -> tuple[Signature, list[SqlType]]:
    """The best signature for these argument types, and the type each argument must be cast to."""
    candidates = FUNCTIONS.get(name)
    if not candidates:
        raise undefined_function(f"{name}({', '.join(str(t) for t in arg_types)})")
    best: tuple[int, Signature, list[SqlType]] | None = None
    for sig in candidates:
        if sig.variadic:
            targets = [t if t.oid != UNKNOWN.oid else TEXT for t in arg_types]
            cost = 100
        else:
            if len(sig.args) != len(arg_types):
                continue
            cost = 0
            targets = []
            for want, have in zip(sig.args, arg_types):
                if isinstance(want, str):
                    if not _family_accepts(want, have):
                        break
                    targets.append(have)
                    continue
                c = implicit_cast_cost(have, want)
                if c is None:
                    break
                cost += c
                targets.append(want)
            if len(targets) != len(arg_types):
                continue
        if best is None or cost < best[0]:
            best = (cost, sig, targets)
    if best is None:
        shown = ", ".join(str(t) if t.oid != UNKNOWN.oid else "unknown" for t in arg_types)
        if name in ("+", "-", "*", "/", "%", "||", "-u"):
            from engine.errors import undefined_operator
            if len(arg_types) == 2:
                raise undefined_operator(f"{arg_types[0]} {name} {arg_types[1]}")
            raise undefined_operator(f"{name[0]} {arg_types[0]}")
        raise undefined_function(f"{name}({shown})")
    return best[1], best[2]


def numeric_result_type(a: SqlType, b: SqlType) -> SqlType | None:
    """The common type of two numeric operands, as PostgreSQL's operator resolution picks it."""
    pa, pb = NUMERIC_PRECEDENCE.get(a.oid), NUMERIC_PRECEDENCE.get(b.oid)
    if pa is None or pb is None:
        return None
    order = [INT2, INT4, INT8, NUMERIC, FLOAT4, FLOAT8]
    result = order[max(pa, pb)]
    if result is FLOAT4 and (a.oid == INT8.oid or b.oid == INT8.oid or a.oid == NUMERIC.oid or b.oid == NUMERIC.oid):
        return FLOAT8
    return result
