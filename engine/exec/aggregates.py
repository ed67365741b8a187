"""Aggregate functions: their result types and their code, in one definition each.

An aggregate is a state machine written as Python source fragments, so that the aggregation
operator (and window frames) can inline it into generated loops:

- `init`: an expression giving a fresh state,
- `step`: statements updating the state `{S}` from the argument values `{A0}`, `{A1}`, ...
  (for a strict aggregate, rows where an argument is NULL never reach `step`),
- `final`: a function from the state to the result (None: the state is the result).

The same definition also folds a list of argument tuples (`folder`), which is how
DISTINCT and ORDER BY inside a call, and window frames that slide, are computed: collect,
sort or de-duplicate, then fold. Result types follow PostgreSQL: sum(int4) is int8,
sum(int8) and avg(int) are numeric, stddev/variance of integers and numerics are numeric
with PostgreSQL's result scale, of floats float8.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Callable

from engine.errors import SqlError
from engine.exec.functions import numeric_div, numeric_scale   # first: it loads the function modules in order
from engine.exec.datetime_functions import interval_div
from engine.types import (BOOL, BYTEA, CHAR, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, JSON, JSONB,
                          NAME, NUMERIC, TEXT, TIME, TIMESTAMP, TIMESTAMPTZ, UNKNOWN, UUID, VARCHAR, SqlType,
                          InfiniteDatetime, array_of, record_fields, canonical_jsonb, format_date, format_float8,
                          format_numeric, format_time, format_type, parse_json_text, text_formatter)

AGGREGATE_NAMES = frozenset({
    "count", "sum", "avg", "min", "max", "string_agg", "array_agg", "json_agg", "jsonb_agg",
    "json_object_agg", "jsonb_object_agg", "bool_and", "bool_or", "every", "stddev", "stddev_samp",
    "stddev_pop", "variance", "var_samp", "var_pop",
})

ORDERED_SET_NAMES = frozenset({"percentile_cont", "percentile_disc", "mode"})   # WITHIN GROUP (ORDER BY ...)
# hypothetical-set aggregates: f(args) WITHIN GROUP (ORDER BY keys), where a row of args would rank
HYPOTHETICAL_NAMES = frozenset({"rank", "dense_rank", "percent_rank", "cume_dist"})
AGGREGATE_NAMES = AGGREGATE_NAMES | ORDERED_SET_NAMES

_INTEGERS = (INT2.oid, INT4.oid, INT8.oid)
_ORDERED_CATEGORIES = frozenset("NSDTUA")   # types min/max accept (numeric, string, datetime, ...)


@dataclass(frozen=True, slots=True)
class AggregateDef:
    init: str
    step: str
    final: Callable[[Any], Any] | None
    strict: bool = True


def no_such_aggregate(name: str, types: list[SqlType]) -> SqlError:
    shown = ", ".join(format_type(t) if t.oid != UNKNOWN.oid else "unknown" for t in types)
    return SqlError("42883", f"function {name}({shown}) does not exist",
                    hint="No function matches the given name and argument types. You might need to add explicit type casts.")


def argument_types(name: str, types: list[SqlType]) -> list[SqlType]:
    """The types the arguments are coerced to (unknown literals become text, as in PostgreSQL)."""
    if name in ("string_agg",) and len(types) == 2:
        if any(t.oid == BYTEA.oid for t in types):
            return [BYTEA, BYTEA]
        return [TEXT, TEXT]
    if name in ("bool_and", "bool_or", "every"):
        return [BOOL for _ in types]
    return [TEXT if t.oid == UNKNOWN.oid else t for t in types]


def result_type(name: str, types: list[SqlType]) -> SqlType:
    """The aggregate's result type for these argument types, or 42883 when there is none."""
    n = len(types)
    t = types[0] if types else None
    if name == "count":
        return INT8
    if name in ORDERED_SET_NAMES:       # of the sorted value; percentile_cont's is float8
        return types[0]
    if name in ("json_object_agg", "jsonb_object_agg"):
        if n != 2:
            raise no_such_aggregate(name, types)
        return JSON if name == "json_object_agg" else JSONB
    if name == "string_agg":
        if n != 2 or {x.oid for x in types} - {TEXT.oid, BYTEA.oid}:
            raise no_such_aggregate(name, types)
        return types[0]
    if n != 1 or t is None:
        raise no_such_aggregate(name, types)
    oid = t.oid
    if name == "sum":
        out = {INT2.oid: INT8, INT4.oid: INT8, INT8.oid: NUMERIC, NUMERIC.oid: NUMERIC, FLOAT4.oid: FLOAT4,
               FLOAT8.oid: FLOAT8, INTERVAL.oid: INTERVAL}.get(oid)
    elif name == "avg":
        out = {INT2.oid: NUMERIC, INT4.oid: NUMERIC, INT8.oid: NUMERIC, NUMERIC.oid: NUMERIC, FLOAT4.oid: FLOAT8,
               FLOAT8.oid: FLOAT8, INTERVAL.oid: INTERVAL}.get(oid)
    elif name in ("min", "max"):
        # PostgreSQL 15 has no min/max of uuid, bytea or json(b); "char", name and varchar are text's
        out = t.base if t.category in _ORDERED_CATEGORIES and oid not in (JSON.oid, JSONB.oid, UUID.oid, BYTEA.oid) \
            else None
        if oid in (VARCHAR.oid, NAME.oid, CHAR.oid):
            out = TEXT
    elif name in ("bool_and", "bool_or", "every"):
        out = BOOL if oid == BOOL.oid else None
    elif name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
        out = NUMERIC if oid in _INTEGERS or oid == NUMERIC.oid else (FLOAT8 if oid in (FLOAT4.oid, FLOAT8.oid) else None)
    elif name == "array_agg":
        if t.is_array:
            raise SqlError("0A000", "array_agg of arrays is not supported")
        out = array_of(t if oid != UNKNOWN.oid else TEXT)
    elif name == "json_agg":
        out = JSON
    elif name == "jsonb_agg":
        out = JSONB
    else:
        out = None
    if out is None:
        raise no_such_aggregate(name, types)
    return out


def definition(name: str, arg_types: list[SqlType], result: SqlType, star: bool = False) -> AggregateDef:
    """The code of one aggregate for these argument and result types."""
    if name == "count":
        return AggregateDef("0", "{S} += 1", None, strict=not star)
    t = arg_types[0]
    if name == "sum":
        return AggregateDef("None", "{S} = {A0} if {S} is None else {S} + {A0}", _sum_final(result))
    if name == "avg":
        zero = "Interval(0, 0, 0)" if t.oid == INTERVAL.oid else "0"
        return AggregateDef(f"[0, {zero}]", "{S}[0] += 1\n{S}[1] += {A0}", _avg_final(result))
    if name == "min":
        return AggregateDef("None", "if {S} is None or {A0} < {S}:\n    {S} = {A0}", None)
    if name == "max":
        return AggregateDef("None", "if {S} is None or {A0} > {S}:\n    {S} = {A0}", None)
    if name in ("bool_and", "every"):
        return AggregateDef("None", "{S} = {A0} if {S} is None else ({S} and {A0})", None)
    if name == "bool_or":
        return AggregateDef("None", "{S} = {A0} if {S} is None else ({S} or {A0})", None)
    if name == "string_agg":
        empty = "b''" if result.oid == BYTEA.oid else "''"
        step = ("if {A0} is not None:\n"
                "    if {S}:\n"
                f"        {{S}}.append({empty} if {{A1}} is None else {{A1}})\n"
                "    {S}.append({A0})")
        return AggregateDef("[]", step, _joined(result.oid == BYTEA.oid), strict=False)
    if name == "array_agg":
        return AggregateDef("[]", "{S}.append({A0})", _array_final, strict=False)
    if name in ("json_agg", "jsonb_agg"):
        convert = json_converter(t, jsonb=name == "jsonb_agg")
        if name == "jsonb_agg":
            return AggregateDef("[]", "{S}.append({A0})", lambda s: _jsonb_array_final(s, convert), strict=False)
        structured = t.is_array or record_fields(t) is not None
        return AggregateDef("[]", "{S}.append({A0})", lambda s: _json_array_final(s, convert, structured), strict=False)
    if name in ("json_object_agg", "jsonb_object_agg"):
        key_convert = text_formatter(arg_types[0])
        value_convert = json_converter(arg_types[1], jsonb=name == "jsonb_object_agg")
        step = ("if {A0} is None:\n"
                "    raise SqlError('22023', 'field name must not be null')\n"
                "{S}.append(({A0}, {A1}))")
        if name == "json_object_agg":
            return AggregateDef("[]", step, lambda s: _json_object_final(s, key_convert, value_convert), strict=False)
        return AggregateDef("[]", step, lambda s: _jsonb_object_final(s, key_convert, value_convert), strict=False)
    if name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
        sample = not name.endswith("_pop")
        root = name.startswith("stddev")
        if result.oid == FLOAT8.oid:
            step = ("_n = {S}[0]\n"
                    "{S}[0] = _n + 1.0\n"
                    "{S}[1] += {A0}\n"
                    "if _n > 0.0:\n"
                    "    _d = {A0} * {S}[0] - {S}[1]\n"
                    "    {S}[2] += _d * _d / ({S}[0] * _n)")
            return AggregateDef("[0.0, 0.0, 0.0]", step, lambda s: _float_variance(s, sample, root))
        return AggregateDef("[0, 0, 0]", "{S}[0] += 1\n{S}[1] += {A0}\n{S}[2] += {A0} * {A0}",
                            lambda s: _numeric_variance(s, sample, root))
    if name in HYPOTHETICAL_NAMES:
        # collected with their order keys, NULLs too; sorted and placed by the caller (`hypothetical_result`)
        return AggregateDef("[]", "{S}.append((" + "".join(f"{{A{i}}}, " for i in range(len(arg_types))) + "))",
                            None, strict=False)
    if name in ORDERED_SET_NAMES:
        # collected (value, fraction) in the WITHIN GROUP order; NULL values never arrive
        final = {"percentile_cont": _percentile_cont, "percentile_disc": _percentile_disc, "mode": _mode}[name]
        return AggregateDef("[]", "{S}.append((" + "".join(f"{{A{i}}}, " for i in range(len(arg_types))) + "))", final)
    raise SqlError("0A000", f"aggregate function {name} is not supported")


def _fraction(s: list) -> float | None:
    fraction = s[0][1]
    if not 0 <= fraction <= 1:
        raise SqlError("22003", f"percentile value {fraction:g} is not between 0 and 1")
    return fraction


def _percentile_cont(s: list) -> float | None:
    """PostgreSQL's interpolation between the two rows around fraction * (n - 1)."""
    if not s:
        return None
    position = _fraction(s) * (len(s) - 1)
    low, high = math.floor(position), math.ceil(position)
    first = s[low][0]
    return first if low == high else first + (s[high][0] - first) * (position - low)


def _percentile_disc(s: list) -> Any:
    """The first value whose position in the order reaches fraction * n."""
    if not s:
        return None
    return s[max(math.ceil(_fraction(s) * len(s)), 1) - 1][0]


def hypothetical_result(name: str, keys: list[tuple], position: int) -> Any:
    """rank, dense_rank, percent_rank or cume_dist of the hypothetical row at `position` of a
    group's rows sorted on their order `keys`, the hypothetical row last among its peers."""
    mine = keys[position]
    first = position                # where the hypothetical row's peers begin
    while first and keys[first - 1] == mine:
        first -= 1
    if name == "rank":
        return first + 1
    if name == "dense_rank":
        return 1 + sum(1 for i in range(first) if i == 0 or keys[i] != keys[i - 1])
    if name == "percent_rank":
        return first / (len(keys) - 1) if len(keys) > 1 else 0.0
    return (position + 1) / len(keys)          # cume_dist


def _mode(s: list) -> Any:
    """The most frequent value; among equally frequent ones, the first in the order."""
    best, best_count, current, count = None, 0, None, 0
    for (value,) in s:
        count = count + 1 if count and value == current else 1
        current = value
        if count > best_count:
            best, best_count = value, count
    return best


def step_source(d: AggregateDef, state: str, args: list[str]) -> str:
    """The aggregate's step as statements over `state` and argument expressions (already temps)."""
    return d.step.format(S=state, **{f"A{i}": a for i, a in enumerate(args)})


# -------------------------------------------------------------------- finals


def _sum_final(result: SqlType) -> Callable[[Any], Any] | None:
    if result.oid == NUMERIC.oid:
        return lambda s: None if s is None else Decimal(s)
    if result.oid == INT8.oid:
        def check_int8(s):
            if s is not None and not -(1 << 63) <= s < (1 << 63):
                raise SqlError("22003", "bigint out of range")
            return s
        return check_int8
    return None


def _avg_final(result: SqlType) -> Callable[[Any], Any]:
    if result.oid == NUMERIC.oid:
        return lambda s: numeric_div(Decimal(s[1]), Decimal(s[0])) if s[0] else None
    if result.oid == INTERVAL.oid:
        return lambda s: interval_div(s[1], s[0]) if s[0] else None
    return lambda s: s[1] / s[0] if s[0] else None


def _joined(binary: bool) -> Callable[[list], Any]:
    if binary:
        return lambda s: b"".join(s) if s else None
    return lambda s: "".join(s) if s else None


def _array_final(s: list) -> tuple | None:
    return tuple(s) if s else None


def _float_variance(s: list, sample: bool, root: bool) -> float | None:
    n, _, sxx = s
    if n == 0 or (sample and n == 1):
        return None
    v = sxx / (n - 1.0 if sample else n)
    return math.sqrt(v) if root else v


def _numeric_variance(s: list, sample: bool, root: bool) -> Decimal | None:
    """numeric_stddev_internal: (N*sum(x^2) - sum(x)^2) / (N*(N-1)) at select_div_scale."""
    n, sx, sxx = s
    if n == 0 or (sample and n == 1):
        return None
    numerator = Decimal(n) * Decimal(sxx) - Decimal(sx) * Decimal(sx)
    if numerator <= 0:
        return Decimal(0)
    denominator = Decimal(n * (n - 1) if sample else n * n)
    v = numeric_div(numerator, denominator)
    if not root:
        return v
    scale = numeric_scale(v)
    with localcontext() as c:
        c.prec = max(v.adjusted(), 0) + scale + 10
        r = v.sqrt()
    return r.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


# -------------------------------------------------------------------- JSON values


def json_converter(t: SqlType, jsonb: bool = False) -> Callable[[Any], str]:
    """value of type t -> its JSON text, as to_json / to_jsonb write it."""
    oid = t.oid
    if oid in (JSON.oid, JSONB.oid):
        if jsonb and oid == JSON.oid:
            return lambda v: canonical_jsonb(parse_json_text(v))
        return lambda v: v
    if t.is_array:
        element = json_converter(t.element, jsonb)
        sep = ", " if jsonb else ","

        def array_json(v: tuple) -> str:
            return "[" + sep.join("null" if x is None else (array_json(x) if isinstance(x, tuple) else element(x))
                                  for x in v) + "]"
        return array_json
    fields = record_fields(t)
    if fields is not None:            # a row with named fields (a table's whole row): an object
        members = [(json.dumps(name, ensure_ascii=False), json_converter(ft, jsonb)) for name, ft in fields]

        def row_json(v: tuple) -> str:
            text = "{" + ",".join(f"{n}:{'null' if x is None else f(x)}" for (n, f), x in zip(members, v)) + "}"
            return canonical_jsonb(parse_json_text(text)) if jsonb else text
        return row_json
    if oid == BOOL.oid:
        return lambda v: "true" if v else "false"
    if oid in _INTEGERS:
        return str
    if oid == NUMERIC.oid:
        return lambda v: format_numeric(v) if v.is_finite() else json.dumps(format_numeric(v))
    if oid in (FLOAT4.oid, FLOAT8.oid):
        return lambda v: format_float8(v, 1) if math.isfinite(v) else json.dumps(format_float8(v, 1))
    if oid == DATE.oid:
        return lambda v: f'"{format_date(v)}"'
    if oid == TIMESTAMP.oid:
        return lambda v: f'"{_iso(v)}"'
    if oid == TIMESTAMPTZ.oid:
        return lambda v: f'"{_iso_tz(v)}"'
    if oid == TIME.oid:
        return lambda v: f'"{format_time(v)}"'
    text = text_formatter(t)
    return lambda v: json.dumps(text(v), ensure_ascii=False)


def _iso(v: dt.datetime | InfiniteDatetime) -> str:
    if v.__class__ is InfiniteDatetime:
        return str(v)
    s = v.strftime("%Y-%m-%dT%H:%M:%S")
    if v.microsecond:
        s += f".{v.microsecond:06d}".rstrip("0")
    return s


def _iso_tz(v: dt.datetime | InfiniteDatetime) -> str:
    if v.__class__ is InfiniteDatetime:
        return str(v)
    offset = v.utcoffset() or dt.timedelta(0)
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    h, rem = divmod(abs(total), 3600)
    return _iso(v.replace(tzinfo=None)) + f"{sign}{h:02d}:{rem // 60:02d}"


def _json_array_final(s: list, convert: Callable[[Any], str], structured: bool) -> str | None:
    """json_agg's text: arrays and rows after the first go on a new line, as PostgreSQL writes them."""
    if not s:
        return None
    return "[" + ", ".join("null" if v is None else ("\n " if structured and i else "") + convert(v)
                           for i, v in enumerate(s)) + "]"


def _jsonb_array_final(s: list, convert: Callable[[Any], str]) -> str | None:
    if not s:
        return None
    return canonical_jsonb([None if v is None else parse_json_text(convert(v)) for v in s])


def _json_object_final(s: list, key: Callable, value: Callable) -> str | None:
    if not s:
        return None
    return "{ " + ", ".join(f"{json.dumps(key(k), ensure_ascii=False)} : {'null' if v is None else value(v)}"
                            for k, v in s) + " }"


def _jsonb_object_final(s: list, key: Callable, value: Callable) -> str | None:
    if not s:
        return None
    return canonical_jsonb({key(k): None if v is None else parse_json_text(value(v)) for k, v in s})
