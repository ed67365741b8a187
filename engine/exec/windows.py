"""Window functions: signatures, frames, and the computation over one partition.

The Window operator (exec.operators) sorts its input by the window's PARTITION BY and ORDER BY
keys and hands each partition here, with the rows' ORDER BY key tuples (rows with equal keys
are "peers"). Every function then yields one value per row of the partition:

- ranking and offset functions (row_number, rank, dense_rank, percent_rank, cume_dist, ntile,
  lag, lead) look at the partition and the peer groups only;
- first_value, last_value, nth_value and aggregates look at the row's frame: ROWS, RANGE or
  GROUPS between two bounds, minus the EXCLUDE clause's rows. The default frame is RANGE
  BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (the whole partition without ORDER BY).

Aggregates whose frame always starts at the partition's first row (the default frame, the
common case) are computed incrementally in one pass; other frames fold each row's frame,
reusing the previous value when the frame did not change.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from engine.errors import SqlError
from engine.exec.expr import Frame
from engine.exec.datetime_functions import ts_add_interval, tstz_add_interval
from engine.types import (END_OF_DAY, FLOAT8, INT2, INT4, INT8, TEXT, UNKNOWN, InfiniteDatetime, Interval, SqlType,
                          format_type, time_micros)

WINDOW_FUNCTIONS = frozenset({"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
                              "lag", "lead", "first_value", "last_value", "nth_value"})


def window_signature(name: str, types: list[SqlType],
                     common: Callable[[list[SqlType]], SqlType]) -> tuple[list[SqlType], SqlType]:
    """(argument coercion targets, result type) of a window function, or 42883. `common` resolves
    the type lag/lead's value and default share (they are anycompatible)."""
    n = len(types)
    value = (types[0] if types[0].oid != UNKNOWN.oid else TEXT) if types else None
    if name in ("row_number", "rank", "dense_rank") and n == 0:
        return [], INT8
    if name in ("percent_rank", "cume_dist") and n == 0:
        return [], FLOAT8
    if name == "ntile" and n == 1 and _integer_like(types[0]):
        return [INT4], INT4
    if name in ("lag", "lead") and 1 <= n <= 3 and (n < 2 or _integer_like(types[1])):
        if n == 3:
            value = common([value, types[2]])
        return [value] + [INT4] * (n > 1) + [value] * (n > 2), value
    if name in ("first_value", "last_value") and n == 1:
        return [value], value
    if name == "nth_value" and n == 2 and _integer_like(types[1]):
        return [value, INT4], value
    shown = ", ".join(format_type(t) if t.oid != UNKNOWN.oid else "unknown" for t in types)
    raise SqlError("42883", f"function {name}({shown}) does not exist",
                   hint="No function matches the given name and argument types. You might need to add explicit type casts.")


def _integer_like(t: SqlType) -> bool:
    return t.oid in (INT2.oid, INT4.oid, INT8.oid, UNKNOWN.oid)


# -------------------------------------------------------------------- one partition


class Partition:
    """The rows of one partition in window order, with their peer groups."""

    __slots__ = ("rows", "keys", "n", "peer_of", "group_start", "group_end")

    def __init__(self, rows: list[tuple], keys: list[tuple] | None) -> None:
        self.rows = rows
        self.keys = keys
        n = self.n = len(rows)
        if keys is None:                       # no ORDER BY: every row is a peer of every other
            self.peer_of = [0] * n
            self.group_start = [0]
            self.group_end = [n]
            return
        peer_of = []
        starts = []
        previous = object()
        for i, k in enumerate(keys):
            if k != previous:
                starts.append(i)
                previous = k
            peer_of.append(len(starts) - 1)
        self.peer_of = peer_of
        self.group_start = starts
        self.group_end = starts[1:] + [n]


def ranking(name: str, part: Partition, argument: Callable[[tuple], Any] | None) -> list:
    """The values of a function that ignores frames, one per row of the partition."""
    n = part.n
    if name == "row_number":
        return list(range(1, n + 1))
    peer_of, starts, ends = part.peer_of, part.group_start, part.group_end
    if name == "rank":
        return [starts[g] + 1 for g in peer_of]
    if name == "dense_rank":
        return [g + 1 for g in peer_of]
    if name == "percent_rank":
        return [(starts[g]) / (n - 1) if n > 1 else 0.0 for g in peer_of]
    if name == "cume_dist":
        return [ends[g] / n for g in peer_of]
    if name == "ntile":
        return _ntile(n, argument(part.rows[0]) if n else None)
    raise SqlError("XX000", f"unknown ranking function {name}")


def _ntile(total: int, buckets: int | None) -> list:
    """PostgreSQL's window_ntile: leading buckets take the remainder's extra rows."""
    if buckets is None:
        return [None] * total
    if buckets <= 0:
        raise SqlError("22014", "argument of ntile must be greater than zero")
    out = []
    tile, in_bucket = 1, 0
    boundary = total // buckets
    remainder = 0
    if boundary <= 0:
        boundary = 1
    else:
        remainder = total % buckets
        if remainder:
            boundary += 1
    for _ in range(total):
        in_bucket += 1
        if boundary < in_bucket:
            if remainder and tile == remainder:
                remainder = 0
                boundary -= 1
            tile += 1
            in_bucket = 1
        out.append(tile)
    return out


def offset_values(forward: bool, part: Partition, args: Callable[[tuple], tuple]) -> list:
    """lag (backward) and lead (forward): the value `offset` rows away, or the default."""
    rows = part.rows
    n = part.n
    out = []
    for i, r in enumerate(rows):
        a = args(r)
        offset = a[1] if len(a) > 1 else 1
        if offset is None:
            out.append(None)
            continue
        j = i + offset if forward else i - offset
        if 0 <= j < n:
            out.append(args(rows[j])[0])
        else:
            out.append(a[2] if len(a) > 2 else None)
    return out


class FrameBounds:
    """Computes each row's frame as index ranges into the partition."""

    def __init__(self, frame: Frame, part: Partition, start_offset: Any, end_offset: Any,
                 descending: bool, timezone: dt.tzinfo) -> None:
        self.frame = frame
        self.part = part
        self.start_offset = _checked_offset(start_offset, "starting", frame)
        self.end_offset = _checked_offset(end_offset, "ending", frame)
        self.descending = descending
        self.timezone = timezone
        self._range_keys: list | None = None

    @property
    def starts_at_first_row(self) -> bool:
        return self.frame.start[0] == "unbounded_preceding" and self.frame.exclude == "no others"

    @property
    def whole_partition(self) -> bool:
        f = self.frame
        if f.exclude != "no others" or f.start[0] != "unbounded_preceding":
            return False
        if f.end[0] == "unbounded_following":
            return True
        return f.end[0] == "current" and f.mode != "rows" and self.part.keys is None

    def bounds(self, i: int) -> tuple[int, int]:
        """[start, end) of row i's frame, before exclusion."""
        f = self.frame
        return self._bound(i, f.start[0], self.start_offset, True), self._bound(i, f.end[0], self.end_offset, False)

    def ranges(self, i: int) -> list[tuple[int, int]]:
        """Row i's frame as disjoint index ranges, with the EXCLUDE clause applied."""
        start, end = self.bounds(i)
        if end <= start:
            return []
        exclude = self.frame.exclude
        if exclude == "no others":
            return [(start, end)]
        g = self.part.peer_of[i]
        gs, ge = self.part.group_start[g], self.part.group_end[g]
        if exclude == "current row":
            cut = [(i, i + 1)]
        elif exclude == "group":
            cut = [(gs, ge)]
        else:                                  # ties: the peers, but not the row itself
            cut = [(gs, i), (i + 1, ge)]
        out = [(start, end)]
        for a, b in cut:
            nxt = []
            for s, e in out:
                if b <= s or a >= e:
                    nxt.append((s, e))
                    continue
                if s < a:
                    nxt.append((s, a))
                if b < e:
                    nxt.append((b, e))
            out = nxt
        return out

    def _bound(self, i: int, kind: str, offset: Any, is_start: bool) -> int:
        part = self.part
        n = part.n
        if kind == "unbounded_preceding":
            return 0
        if kind == "unbounded_following":
            return n
        mode = self.frame.mode
        if mode == "rows":
            if kind == "current":
                return i if is_start else i + 1
            delta = -offset if kind == "preceding" else offset
            return min(max(i + delta + (0 if is_start else 1), 0), n)
        g = part.peer_of[i]
        if kind == "current":
            return part.group_start[g] if is_start else part.group_end[g]
        if mode == "groups":
            target = g - offset if kind == "preceding" else g + offset
            groups = len(part.group_start)
            if is_start:
                return 0 if target < 0 else (n if target >= groups else part.group_start[target])
            return 0 if target < 0 else (n if target >= groups else part.group_end[target])
        return self._range_bound(i, kind, offset, is_start)

    def _range_bound(self, i: int, kind: str, offset: Any, is_start: bool) -> int:
        """RANGE with an offset: compare the single ORDER BY key with the current row's +/- offset."""
        part = self.part
        keys = self._range_keys
        if keys is None:
            keys = self._range_keys = [_comparable(k[0]) for k in part.keys]
        v = keys[i]
        g = part.peer_of[i]
        if v is None:
            return part.group_start[g] if is_start else part.group_end[g]
        lo = 0
        while lo < part.n and keys[lo] is None:
            lo += 1
        hi = lo
        while hi < part.n and keys[hi] is not None:
            hi += 1
        toward_start = (kind == "preceding") != self.descending
        limit = self._shift(v, offset, -1 if toward_start else 1)
        if self.descending:
            # keys decrease; the frame's rows have keys <= limit (start) / >= limit (end)
            if is_start:
                return _first(lo, hi, lambda j: keys[j] <= limit)
            return _first(lo, hi, lambda j: keys[j] < limit)
        if is_start:
            return _first(lo, hi, lambda j: keys[j] >= limit)
        return _first(lo, hi, lambda j: keys[j] > limit)

    def _shift(self, v: Any, offset: Any, sign: int) -> Any:
        if v.__class__ is InfiniteDatetime:
            return v                        # infinity +- an interval is itself
        if isinstance(offset, Interval) and isinstance(v, int):
            return v + sign * offset.micros  # a time key (microseconds): no wrap-around, as in_range_time_interval
        if isinstance(v, dt.datetime):
            step = offset if sign > 0 else -offset
            if v.tzinfo is not None:
                return tstz_add_interval(v, step, self.timezone)
            return ts_add_interval(v, step)
        return v + offset if sign > 0 else v - offset


def _first(lo: int, hi: int, pred: Callable[[int], bool]) -> int:
    """The first index in [lo, hi) where the monotone `pred` holds (hi if none)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _comparable(v: Any) -> Any:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, dt.time) or v is END_OF_DAY:
        return time_micros(v)
    return v


def _checked_offset(value: Any, which: str, frame: Frame) -> Any:
    bound = frame.start if which == "starting" else frame.end
    if bound[1] is None:
        return None
    if value is None:
        raise SqlError("22004", f"frame {which} offset must not be null")
    negative = value < 0 if not hasattr(value, "months") else value < type(value)(0, 0, 0)
    if negative:
        if frame.mode == "range":
            raise SqlError("22013", "invalid preceding or following size in window function")
        raise SqlError("22013", f"frame {which} offset must not be negative")
    return value


def frame_values(name: str, part: Partition, bounds: FrameBounds, args: Callable[[tuple], tuple]) -> list:
    """first_value, last_value and nth_value over each row's frame."""
    rows = part.rows
    out = []
    for i, r in enumerate(rows):
        ranges = bounds.ranges(i)
        if name == "first_value":
            out.append(args(rows[ranges[0][0]])[0] if ranges else None)
        elif name == "last_value":
            out.append(args(rows[ranges[-1][1] - 1])[0] if ranges else None)
        else:
            nth = args(r)[1]
            if nth is None:
                out.append(None)
                continue
            if nth <= 0:
                raise SqlError("22016", "argument of nth_value must be greater than zero")
            value = None
            for s, e in ranges:
                if nth <= e - s:
                    value = args(rows[s + nth - 1])[0]
                    break
                nth -= e - s
            out.append(value)
    return out


def aggregate_values(part: Partition, bounds: FrameBounds, args: Callable[[tuple], tuple],
                     accept: Callable[[tuple], bool] | None, init: Callable[[], Any],
                     step: Callable[..., Any], final: Callable[[Any], Any]) -> list:
    """An aggregate over each row's frame (`accept` is its FILTER)."""
    rows = part.rows
    n = part.n
    arguments = [args(r) if accept is None or accept(r) else None for r in rows]
    if bounds.whole_partition:
        state = init()
        for a in arguments:
            if a is not None:
                state = step(state, *a)
        value = final(state)
        return [value] * n
    out = []
    if bounds.starts_at_first_row:
        state = init()
        done = 0
        for i in range(n):
            _, end = bounds.bounds(i)
            while done < end:
                a = arguments[done]
                if a is not None:
                    state = step(state, *a)
                done += 1
            out.append(final(state))
        return out
    previous: list | None = None
    value = None
    for i in range(n):
        ranges = bounds.ranges(i)
        if ranges != previous:
            state = init()
            for s, e in ranges:
                for j in range(s, e):
                    a = arguments[j]
                    if a is not None:
                        state = step(state, *a)
            value = final(state)
            previous = ranges
        out.append(value)
    return out
