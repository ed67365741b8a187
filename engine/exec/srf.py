"""Set-returning functions: functions that produce rows, in FROM (FunctionScan) or in a
select list (ProjectSet).

Each entry of `SET_RETURNING` says which types its arguments are coerced to (PostgreSQL's
overload choice for the common cases), which columns it returns, and how it produces rows:
`rows(ctx, *args)` yields tuples, one value per column. Arguments are never NULL there
unless the function is not `strict`: a strict function's NULL argument produces no rows
(callers check).
Other modules add functions here with `register` (JSON and regular-expression functions
live with their scalar relatives).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

from engine.errors import SqlError
from engine.exec.datetime_functions import ts_add_interval, tstz_add_interval
from engine.types import (BOOL, DATE, FLOAT4, FLOAT8, INT2, INT2VECTOR, INT4, INT8, INTERVAL, NUMERIC,
                          NUMERIC_PRECEDENCE, OID, OIDVECTOR, TIMESTAMP, TIMESTAMPTZ, UNKNOWN, Interval, SqlType,
                          Vector, array_of, format_type)


@dataclass(frozen=True, slots=True)
class SetReturning:
    arguments: Callable[[list[SqlType]], list[SqlType]]          # argument types -> coercion targets
    columns: Callable[[list[SqlType]], list[tuple[str, SqlType]]]  # coerced argument types -> columns
    rows: Callable[..., Iterable[tuple]]                         # (ctx, *args) -> rows
    composite: bool = False       # returns named (OUT) columns: a table alias does not rename its only column
    strict: bool = True           # False: `rows` is called with NULL arguments too


SET_RETURNING: dict[str, SetReturning] = {}


def register(name: str, function: SetReturning) -> None:
    SET_RETURNING[name] = function


def fixed(name: str, choices: tuple[tuple[SqlType, ...], ...], columns: list[tuple[str, SqlType]],
          rows: Callable[..., Iterable[tuple]]) -> SetReturning:
    """A set-returning function with plain signatures: the first of `choices` the argument
    types reach by implicit casts is the one called."""
    from engine.exec.functions import implicitly_castable

    def arguments(types: list[SqlType]) -> list[SqlType]:
        for choice in choices:
            if len(choice) == len(types) and all(implicitly_castable(t, c) for t, c in zip(types, choice)):
                return list(choice)
        raise _no_such(name, types)
    return SetReturning(arguments, lambda types: columns, rows, composite=True)


def _no_such(name: str, types: list[SqlType]) -> SqlError:
    shown = ", ".join(format_type(t) if t.oid != UNKNOWN.oid else "unknown" for t in types)
    return SqlError("42883", f"function {name}({shown}) does not exist",
                    hint="No function matches the given name and argument types. You might need to add explicit type casts.")


# -------------------------------------------------------------------- generate_series

_DATETIME = (TIMESTAMP.oid, TIMESTAMPTZ.oid, DATE.oid)


def _series_arguments(types: list[SqlType]) -> list[SqlType]:
    if len(types) not in (2, 3):
        raise _no_such("generate_series", types)
    known = [t for t in types if t.oid != UNKNOWN.oid]
    if any(t.oid in _DATETIME for t in known[:2]) or (len(types) == 3 and types[2].oid == INTERVAL.oid):
        first = next((t for t in types[:2] if t.oid in _DATETIME), None)
        if first is None:
            raise _no_such("generate_series", types)
        target = TIMESTAMP if first.oid == TIMESTAMP.oid and all(
            t.oid in (TIMESTAMP.oid, UNKNOWN.oid) for t in types[:2]) else TIMESTAMPTZ
        if len(types) != 3 or types[2].oid not in (INTERVAL.oid, UNKNOWN.oid):
            raise _no_such("generate_series", types)
        for t in types[:2]:
            if t.oid not in _DATETIME + (UNKNOWN.oid,):
                raise _no_such("generate_series", types)
        return [target, target, INTERVAL]
    if not known:
        raise SqlError("42725", "function generate_series(unknown, unknown) is not unique",
                       hint="Could not choose a best candidate function. You might need to add explicit type casts.")
    if any(t.oid not in NUMERIC_PRECEDENCE for t in known) or any(t.oid in (FLOAT4.oid, FLOAT8.oid) for t in known):
        raise _no_such("generate_series", types)
    rank = max(NUMERIC_PRECEDENCE[t.oid] for t in known)
    target = {0: INT4, 1: INT4, 2: INT8}.get(rank, NUMERIC)
    return [target] * len(types)


def _series_columns(types: list[SqlType]) -> list[tuple[str, SqlType]]:
    return [("generate_series", types[0])]


def _series_rows(ctx: Any, start: Any, stop: Any, step: Any = None) -> Iterator[tuple]:
    if isinstance(start, int) or isinstance(start, Decimal):
        if step is None:
            step = 1
        if step == 0:
            raise SqlError("22023", "step size cannot equal zero")
        if start.is_nan() if isinstance(start, Decimal) else False:
            raise SqlError("22023", "start value cannot be NaN")
        if isinstance(step, Decimal) and step.is_nan() or isinstance(stop, Decimal) and stop.is_nan():
            raise SqlError("22023", "stop value cannot be NaN" if isinstance(stop, Decimal) and stop.is_nan()
                           else "step size cannot be NaN")
        if isinstance(start, int) and isinstance(stop, int) and isinstance(step, int):
            end = stop + 1 if step > 0 else stop - 1
            for v in range(start, end, step):
                yield (v,)
            return
        v = start
        if step > 0:
            while v <= stop:
                yield (v,)
                v = v + step
        else:
            while v >= stop:
                yield (v,)
                v = v + step
        return
    if not isinstance(step, Interval):
        raise SqlError("42883", "function generate_series does not exist for these types")
    with_tz = getattr(start, "tzinfo", getattr(stop, "tzinfo", None)) is not None
    add = (lambda t: tstz_add_interval(t, step, ctx.timezone)) if with_tz else (lambda t: ts_add_interval(t, step))
    if step == Interval():
        raise SqlError("22023", "step size cannot equal zero")
    increasing = step > Interval()
    v = start
    while (v <= stop) if increasing else (v >= stop):
        yield (v,)
        v = add(v)


register("generate_series", SetReturning(_series_arguments, _series_columns, _series_rows))


# -------------------------------------------------------------------- unnest


# the catalogs' vector types (pg_index.indkey, ...) are arrays of their element, subscripted from 0
_VECTOR_ARRAYS = {INT2VECTOR.oid: array_of(INT2), OIDVECTOR.oid: array_of(OID)}


def _unnest_arguments(types: list[SqlType]) -> list[SqlType]:
    if len(types) == 1 and types[0].oid in _VECTOR_ARRAYS:
        return [_VECTOR_ARRAYS[types[0].oid]]
    if len(types) != 1 or types[0].element is None:
        if len(types) == 1 and types[0].oid == UNKNOWN.oid:
            raise SqlError("42725", "function unnest(unknown) is not unique",
                           hint="Could not choose a best candidate function. You might need to add explicit type casts.")
        raise _no_such("unnest", types)
    return types


def _unnest_columns(types: list[SqlType]) -> list[tuple[str, SqlType]]:
    return [("unnest", types[0].element)]


def _flatten(values: tuple) -> Iterator[Any]:
    for v in values:
        if isinstance(v, tuple):
            yield from _flatten(v)
        else:
            yield v


def _unnest_rows(ctx: Any, array: tuple) -> Iterator[tuple]:
    for v in _flatten(array):
        yield (v,)


register("unnest", SetReturning(_unnest_arguments, _unnest_columns, _unnest_rows))


# -------------------------------------------------------------------- generate_subscripts

def _subscripts_arguments(types: list[SqlType]) -> list[SqlType]:
    if len(types) not in (2, 3) or (types[0].element is None and types[0].oid not in _VECTOR_ARRAYS):
        raise _no_such("generate_subscripts", types)
    return [types[0], INT4] + ([BOOL] if len(types) == 3 else [])


def _subscripts_rows(ctx: Any, array: tuple, dimension: int, reverse: bool = False) -> Iterator[tuple]:
    """The subscripts of one dimension of an array (of a vector: from 0, as PostgreSQL's lower bound)."""
    level: Any = array
    for _ in range(dimension - 1):
        level = level[0] if level and isinstance(level[0], tuple) else None
        if level is None:
            return
    if dimension < 1 or not level:
        return
    first = 0 if isinstance(array, Vector) else 1
    subscripts = range(first, first + len(level))
    for i in (reversed(subscripts) if reverse else subscripts):
        yield (i,)


register("generate_subscripts", SetReturning(_subscripts_arguments, lambda types: [("generate_subscripts", INT4)],
                                             _subscripts_rows))


# -------------------------------------------------------------------- a scalar function in FROM


register("scalar", SetReturning(lambda types: types, lambda types: [("?column?", types[0])],
                                lambda ctx, value: ((value,),), strict=False))


def zip_rows(producers: list[Iterable[tuple]], widths: list[int]) -> Iterator[tuple]:
    """ROWS FROM semantics: the functions' rows side by side, shorter ones padded with NULLs."""
    if len(producers) == 1:
        yield from producers[0]
        return
    iterators = [iter(p) for p in producers]
    pads = [(None,) * w for w in widths]
    while True:
        row: tuple = ()
        alive = False
        for i, it in enumerate(iterators):
            if it is None:
                row += pads[i]
                continue
            nxt = next(it, None)
            if nxt is None:
                iterators[i] = None
                row += pads[i]
            else:
                alive = True
                row += nxt
        if not alive:
            return
        yield row
