"""Casts between types: which are allowed (implicitly, on assignment, explicitly) and the
function that performs each, with PostgreSQL's rounding, range and length rules.

Casts to and from text use the types' text input/output functions, so they depend on the
session's output settings (TimeZone, extra_float_digits); plans are cached per session and
dropped when those settings change.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable

from engine.errors import SqlError
from engine.types import (INT2VECTOR, OIDVECTOR, BOOL, BPCHAR, CHAR, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8,
                          INT_RANGES, INTERVAL, JSON, JSONB, NUMERIC, NUMERIC_CONTEXT, NUMERIC_PRECEDENCE,
                          OID, REG_TYPES, STRING_TYPES, TEXT, TIME, TIMESTAMP, TIMESTAMPTZ, TYPES_BY_OID, UNKNOWN,
                          UTC, VARCHAR, END_OF_DAY, InfiniteDatetime, Interval, OutputSettings, SqlType, format_numeric,
                          format_type, numeric_typmod, scale_at_least_zero, text_formatter, text_parser, time_from_micros,
                          time_micros)
from engine.exec.functions import implicitly_castable, to_float4

_JSONB_SCALAR_TARGETS = frozenset({BOOL.oid, INT2.oid, INT4.oid, INT8.oid, NUMERIC.oid, FLOAT4.oid, FLOAT8.oid})
_DATETIMES = {DATE.oid, TIMESTAMP.oid, TIMESTAMPTZ.oid, TIME.oid}
_INFINITE_CAPABLE = {DATE.oid, TIMESTAMP.oid, TIMESTAMPTZ.oid}
_OID_LIKE = {OID.oid} | REG_TYPES


def castable(src: SqlType, dst: SqlType, context: str) -> bool:
    """Whether `src` casts to `dst` in a context: "implicit" (an expression needing another
    type), "assignment" (a value stored into a column) or "explicit" (CAST, ::), each
    allowing what the one before it allows, as pg_cast's castcontext says."""
    if implicitly_castable(src, dst):
        return True
    s, d = src.oid, dst.oid
    if s == d or (s, d) in _VECTOR_ARRAYS or (s == CHAR.oid and d == TEXT.oid):
        return True
    if context == "implicit":
        return False
    if s in NUMERIC_PRECEDENCE and d in NUMERIC_PRECEDENCE:
        return True
    if d in STRING_TYPES:
        return True               # every type's output function (I/O conversion cast)
    if {s, d} <= _DATETIMES:
        return not (s == TIME.oid or d == TIME.oid) or (s in (TIMESTAMP.oid, TIMESTAMPTZ.oid) and d == TIME.oid)
    if s == INTERVAL.oid and d == TIME.oid:
        return True
    if {s, d} <= {JSON.oid, JSONB.oid}:
        return True
    if src.element is not None and dst.element is not None:
        return castable(src.element, dst.element, context)
    if context == "assignment":
        return False
    if s in STRING_TYPES:
        return True               # every type's input function (explicit)
    if s in _OID_LIKE and d in INT_RANGES:
        return True
    if {s, d} == {BOOL.oid, INT4.oid}:
        return True
    if s == JSONB.oid and d in _JSONB_SCALAR_TARGETS:
        return True
    return False


def _interval_time(v: Interval) -> dt.time:
    """interval -> time: the time part modulo a day (interval_time); days and months drop."""
    seconds, micros = divmod(v.micros % 86_400_000_000, 1_000_000)
    minutes, second = divmod(seconds, 60)
    return dt.time(minutes // 60, minutes % 60, second, micros)


# the catalogs' vector types are their element arrays, binary-coercible both ways
_VECTOR_ARRAYS = {(INT2VECTOR.oid, 1005), (1005, INT2VECTOR.oid), (OIDVECTOR.oid, 1028), (1028, OIDVECTOR.oid)}


def cast_function(src: SqlType, dst: SqlType, settings: OutputSettings = OutputSettings()) -> Callable[[Any], Any]:
    """A function converting a non-NULL value of `src` to `dst` (typmod enforced)."""
    convert = _base_cast(src, dst, settings)
    enforce = typmod_enforcer(dst, explicit=True)
    if enforce is None:
        return convert
    return lambda v: enforce(convert(v))


def _base_cast(src: SqlType, dst: SqlType, settings: OutputSettings) -> Callable[[Any], Any]:
    s, d = src.oid, dst.oid
    if s == d or (s, d) in _VECTOR_ARRAYS:
        return _identity
    if s == UNKNOWN.oid or (s in STRING_TYPES and d not in STRING_TYPES):
        return text_parser(dst.base, settings.timezone)
    if d in STRING_TYPES:
        if s in STRING_TYPES:
            return (lambda v: v.rstrip(" ")) if s == BPCHAR.oid and d != BPCHAR.oid else _identity
        if s == BOOL.oid:
            return lambda v: "true" if v else "false"      # booltext, not the output function's t/f
        return text_formatter(src, settings)
    if s in REG_TYPES and (d in INT_RANGES or d in _OID_LIKE):
        return int                # a reg* value's name is for its own type only
    if s == JSONB.oid and d in _JSONB_SCALAR_TARGETS:
        from engine.exec.json_functions import jsonb_scalar_cast
        extract = jsonb_scalar_cast(format_type(dst.base))
        if d == BOOL.oid:
            return extract
        convert = _base_cast(NUMERIC, dst, settings) if d != NUMERIC.oid else _identity
        return lambda v: convert(Decimal(extract(v)))
    if d in INT_RANGES:
        lo, hi = INT_RANGES[d]
        label = format_type(dst.base)
        if s in (FLOAT4.oid, FLOAT8.oid):
            def from_float(v: float) -> int:
                if v != v or math.isinf(v):
                    raise SqlError("22003", f"{label} out of range")
                r = int(round(v))          # round half to even, as rint()
                if not lo <= r <= hi:
                    raise SqlError("22003", f"{label} out of range")
                return r
            return from_float
        if s == NUMERIC.oid:
            def from_numeric(v: Decimal) -> int:
                if v.is_nan() or v.is_infinite():
                    raise SqlError("0A000" if v.is_nan() else "22003", f"cannot convert {'NaN' if v.is_nan() else 'infinity'} to {label}")
                r = int(v.to_integral_value(rounding=ROUND_HALF_UP))
                if not lo <= r <= hi:
                    raise SqlError("22003", f"{label} out of range")
                return r
            return from_numeric
        if s == BOOL.oid:
            return int
        def narrow(v: int) -> int:
            if not lo <= v <= hi:
                raise SqlError("22003", f"{label} out of range")
            return v
        return narrow
    if d == NUMERIC.oid:
        if s in (FLOAT4.oid, FLOAT8.oid):
            def float_to_numeric(v: float) -> Decimal:
                if v != v:
                    return Decimal("NaN")
                if math.isinf(v):
                    return Decimal("Infinity") if v > 0 else Decimal("-Infinity")
                from engine.types import format_float4, format_float8
                text = format_float8(v, 0) if s == FLOAT8.oid else format_float4(v, 0)
                return Decimal(text)
            return float_to_numeric
        return Decimal
    if d in (FLOAT4.oid, FLOAT8.oid):
        label = format_type(dst.base)

        def to_float(v) -> float:
            f = to_float4(float(v)) if d == FLOAT4.oid else float(v)
            if math.isinf(f) and not (isinstance(v, (float, Decimal)) and v in (math.inf, -math.inf)):
                shown = format_numeric(v) if isinstance(v, Decimal) else str(v)
                raise SqlError("22003", f'"{shown}" is out of range for type {label}')
            return f if f or isinstance(v, float) else 0.0     # numeric has no negative zero: -0.0 becomes 0
        return to_float
    if d == BOOL.oid and s == INT4.oid:
        return bool
    if s in _INFINITE_CAPABLE and d in _DATETIMES:
        # infinity stays infinity between date, timestamp and timestamptz; as a time it is NULL
        finite = _datetime_cast(s, d, settings.timezone)
        if d == TIME.oid:
            return lambda v: None if v.__class__ is InfiniteDatetime else finite(v)
        return lambda v: v if v.__class__ is InfiniteDatetime else finite(v)
    if d == INTERVAL.oid and s == TIME.oid:
        return lambda v: Interval(0, 0, time_micros(v))
    if d == TIME.oid and s == INTERVAL.oid:
        return _interval_time
    if {s, d} <= {JSON.oid, JSONB.oid}:
        return text_parser(dst, settings.timezone)
    if s in _OID_LIKE or d in _OID_LIKE:
        return _identity
    if src.element is not None and dst.element is not None:
        inner = cast_function(src.element, dst.element, settings)
        return lambda v: _cast_elements(v, inner)
    raise SqlError("42846", f"cannot cast type {format_type(src)} to {format_type(dst)}")


def _datetime_cast(s: int, d: int, tz: dt.tzinfo) -> Callable[[Any], Any]:
    """A cast between date, timestamp, timestamptz (and to time) of finite values."""
    if d == TIMESTAMP.oid and s == DATE.oid:
        return lambda v: dt.datetime.combine(v, dt.time())
    if d == TIMESTAMPTZ.oid and s == DATE.oid:
        return lambda v: dt.datetime.combine(v, dt.time()).replace(tzinfo=tz).astimezone(UTC)
    if d == TIMESTAMPTZ.oid and s == TIMESTAMP.oid:
        return lambda v: v.replace(tzinfo=tz).astimezone(UTC)
    if d == TIMESTAMP.oid and s == TIMESTAMPTZ.oid:
        return lambda v: v.astimezone(tz).replace(tzinfo=None)
    if d == DATE.oid and s == TIMESTAMP.oid:
        return lambda v: v.date()
    if d == DATE.oid and s == TIMESTAMPTZ.oid:
        return lambda v: v.astimezone(tz).date()
    if d == TIME.oid and s == TIMESTAMP.oid:
        return lambda v: v.time()
    if d == TIME.oid and s == TIMESTAMPTZ.oid:
        return lambda v: v.astimezone(tz).time().replace(tzinfo=None)
    raise SqlError("42846", f"cannot cast type {format_type(TYPES_BY_OID[s])} to {format_type(TYPES_BY_OID[d])}")


def _cast_elements(v: tuple, inner: Callable[[Any], Any]) -> tuple:
    """An array's elements cast one by one, through every dimension (a nested tuple)."""
    return tuple(None if x is None else (_cast_elements(x, inner) if type(x) is tuple else inner(x)) for x in v)


def _identity(v: Any) -> Any:
    return v


def typmod_enforcer(t: SqlType, explicit: bool) -> Callable[[Any], Any] | None:
    """Length/precision rules for a type with a modifier (None when there is nothing to do).

    Explicit casts truncate strings; assignment raises 22001 unless only spaces are cut.
    A row type's fields (and an array of rows' elements) follow their own types' rules."""
    if t.fields is not None:
        fields = [typmod_enforcer(ft, explicit) for _, ft in t.fields]
        if not any(fields):
            return None
        return lambda v: tuple(x if x is None or e is None else e(x) for e, x in zip(fields, v))
    if t.element is not None and t.element.fields is not None:
        row = typmod_enforcer(t.element, explicit)
        return None if row is None else (lambda v: tuple(None if x is None else row(x) for x in v))
    if t.typmod == -1:
        return None
    if t.oid in (VARCHAR.oid, BPCHAR.oid):
        n = t.typmod - 4
        label = format_type(t)
        pad = t.oid == BPCHAR.oid

        def enforce_length(v: str) -> str:
            if len(v) > n:
                if explicit or not v[n:].strip(" "):
                    v = v[:n]
                else:
                    raise SqlError("22001", f"value too long for type {label}")
            return v.ljust(n) if pad else v
        return enforce_length
    if t.oid == NUMERIC.oid:
        precision, scale = numeric_typmod(t.typmod)
        quantum = Decimal(1).scaleb(-scale)
        limit = Decimal(10) ** (precision - scale)

        def enforce_numeric(v: Decimal) -> Decimal:
            if v.is_nan():
                return v
            if v.is_infinite():
                raise SqlError("22003", "numeric field overflow",
                               detail=f"A field with precision {precision}, scale {scale} cannot hold an infinite value.")
            try:
                r = v.quantize(quantum, rounding=ROUND_HALF_UP, context=NUMERIC_CONTEXT)
            except InvalidOperation:
                r = None
            if r is None or abs(r) >= limit:
                raise SqlError("22003", "numeric field overflow",
                               detail=f"A field with precision {precision}, scale {scale} must round to an absolute value less than "
                                      + (f"10^{precision - scale}" if precision != scale else "1") + ".")
            return scale_at_least_zero(r) if scale < 0 else r
        return enforce_numeric
    if t.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid, TIME.oid):
        p = t.typmod
        if p >= 6:
            return None
        factor = 10 ** (6 - p)

        def enforce_precision(v):
            if v.__class__ is InfiniteDatetime or v is END_OF_DAY:
                return v
            us = v.microsecond
            r = (us + factor // 2) // factor * factor          # half up, as AdjustTimestampForTypmod
            if r == us:
                return v
            if r >= 1_000_000:
                if t.oid == TIME.oid:                          # 23:59:59.99 rounds up to 24:00:00
                    return time_from_micros(time_micros(v) - us + 1_000_000)
                return v.replace(microsecond=0) + dt.timedelta(seconds=1)
            return v.replace(microsecond=r)
        return enforce_precision
    return None


def assignment_function(src: SqlType, dst: SqlType, settings: OutputSettings = OutputSettings()) -> Callable[[Any], Any] | None:
    """What storing a `src` value into a `dst` column does (None when nothing)."""
    convert = None if src.oid == dst.oid else _base_cast(src, dst, settings)
    enforce = typmod_enforcer(dst, explicit=False)
    if convert is None:
        return enforce
    if enforce is None:
        return convert
    return lambda v: enforce(convert(v))
