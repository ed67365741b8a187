"""Points in history: turning FOR SYSTEM_TIME bounds and `rewind.as_of` into LSNs.

A point is either a transaction number (LSN n: the state right after transaction n
committed) or a timestamp (the state after the last transaction that committed at or
before it). A time-travel clause reads one point (AS OF) or a range of states
[low, high] (BETWEEN a AND b: [a, b]; FROM a TO b: [a, b) — the state at b excluded;
ALL: everything up to the statement's snapshot). Points past the statement's snapshot are
refused for transaction numbers and clamped to the snapshot for timestamps (a timestamp
in the future means "now").

`PointPlan` is what planning a statement with FOR SYSTEM_TIME clauses produces: the
clauses, a compiled evaluator of their bound expressions (run once per execution, with
the statement's parameters), and which catalog each time-travel table reference was bound
against, so the session can tell whether the plan still fits the points it resolves to.
A table reference at a point binds by the name the table had then, or by its current name
(`under_current_name`).

Data flow: planner (ReadPoint) -> Session.execute -> `resolve` (here, via
Database.lsn_at_time) -> ctx.points -> engine.rewind.history reads the rows.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from engine.catalog.model import Catalog
from engine.errors import SqlError
from engine.exec.plan import ReadPoint
from engine.types import INFINITY, MINUS_INFINITY, TIMESTAMPTZ, UTC, InfiniteDatetime, parse_text

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_LATEST, _EARLIEST = 2**63 - 1, -2**63
_TX = re.compile(r"\s*(?:tx|transaction)\s*:?\s*(\d+)\s*", re.I)


def to_micros(ts: dt.datetime | InfiniteDatetime) -> int:
    """A timestamptz value as microseconds since the epoch (UTC), as the log stores commit times
    ('infinity' after every commit, '-infinity' before every one)."""
    if ts.__class__ is InfiniteDatetime:
        return _LATEST if ts is INFINITY else _EARLIEST
    return (ts - _EPOCH) // dt.timedelta(microseconds=1)


def from_micros(us: int) -> dt.datetime | InfiniteDatetime:
    try:
        return _EPOCH + dt.timedelta(microseconds=us)
    except OverflowError:
        return INFINITY if us > 0 else MINUS_INFINITY


@dataclass(frozen=True, slots=True)
class Point:
    """One point in history, as given: a transaction number, or a timestamp (microseconds)."""
    lsn: int | None = None
    time_us: int | None = None

    def describe(self) -> str:
        if self.lsn is not None:
            return f"tx:{self.lsn}"
        when = from_micros(self.time_us)
        return str(when) if when.__class__ is InfiniteDatetime else when.isoformat()


def parse_point(text: str, timezone: dt.tzinfo) -> Point:
    """'tx:<lsn>' (also 'transaction <lsn>') or a timestamp in any form timestamptz accepts."""
    m = _TX.fullmatch(text)
    if m:
        return Point(lsn=int(m.group(1)))
    try:
        return Point(time_us=to_micros(parse_text(TIMESTAMPTZ, text, timezone)))
    except SqlError:
        raise SqlError("22023", f'invalid point in history: "{text}"',
                       hint="Use a timestamp, or tx:<n> for the state right after transaction n.") from None


def point_from_value(value: Any, timezone: dt.tzinfo) -> Point:
    """A point given as a SQL value: bigint (an LSN), timestamptz, or text (parse_point)."""
    if value is None:
        raise SqlError("22004", "a point in history must not be null")
    if isinstance(value, bool):
        raise SqlError("22023", "a point in history must be a timestamp or a transaction number")
    if isinstance(value, int):
        return Point(lsn=value)
    if isinstance(value, InfiniteDatetime):
        return Point(time_us=to_micros(value))
    if isinstance(value, dt.datetime):
        return Point(time_us=to_micros(value if value.tzinfo else value.replace(tzinfo=timezone)))
    if isinstance(value, dt.date):
        return Point(time_us=to_micros(dt.datetime.combine(value, dt.time(), timezone)))
    return parse_point(str(value), timezone)


def lsn_of(point: Point, snapshot_lsn: int, lsn_at_time: Callable[[int], int], strict: bool = True) -> int:
    """The LSN a point names, seen from a statement whose snapshot is `snapshot_lsn`.

    A transaction number past the snapshot is an error when `strict` (AS OF), else the
    snapshot (the far end of a range); a timestamp past it always means the snapshot."""
    if point.lsn is not None:
        if point.lsn < 0:
            raise SqlError("22023", f"transaction number {point.lsn} is out of range")
        if point.lsn > snapshot_lsn:
            if strict:
                raise SqlError("22023", f"transaction {point.lsn} is not visible yet "
                               f"(the newest committed transaction this statement sees is {snapshot_lsn})")
            return snapshot_lsn
        return point.lsn
    return min(lsn_at_time(point.time_us), snapshot_lsn)


def resolve(point: ReadPoint, values: tuple, snapshot_lsn: int, lsn_at_time: Callable[[int], int],
            timezone: dt.tzinfo) -> tuple[int, int]:
    """(low, high) LSNs of a time-travel clause whose bound expressions evaluated to `values`."""
    if point.kind == "all":
        return 0, snapshot_lsn
    points = [_bound(point, v, timezone) for v in values]
    if point.kind == "as_of":
        lsn = lsn_of(points[0], snapshot_lsn, lsn_at_time)
        return lsn, lsn
    low = lsn_of(points[0], snapshot_lsn, lsn_at_time, strict=False)
    end = points[1]
    if point.kind == "between":
        return low, lsn_of(end, snapshot_lsn, lsn_at_time, strict=False)
    # FROM a TO b: the states before b
    if end.lsn is not None:
        return low, min(end.lsn - 1, snapshot_lsn)
    return low, min(lsn_at_time(end.time_us - 1), snapshot_lsn)


def _bound(point: ReadPoint, value: Any, timezone: dt.tzinfo) -> Point:
    if value is None:
        raise SqlError("22004", "FOR SYSTEM_TIME: a point in history must not be null")
    if point.by_lsn:
        return Point(lsn=int(value))
    return point_from_value(value, timezone)


@dataclass(frozen=True, slots=True)
class PointTable:
    """A table reference read at a point, and the catalog it was bound against."""
    point: ReadPoint
    schema: str | None
    name: str
    catalog: Any


@dataclass(slots=True)
class PointPlan:
    """The FOR SYSTEM_TIME clauses of one planned statement."""
    points: tuple[ReadPoint, ...]
    evaluator: Any                  # CompiledPlan of one row: every bound expression, in order
    tables: tuple[PointTable, ...]
    session_point: bool             # points[0] is rewind.as_of's, resolved by the session
    indexes: tuple[tuple[int, int], ...] = ()   # (point index, index id) of every index search at an AS OF point


_UNDER_CURRENT_NAME: dict[tuple[int, int, str, str], tuple[Catalog, Catalog]] = {}


def under_current_name(past: Catalog, current: Catalog, schema: str | None, name: str,
                       search_path: tuple[str, ...]) -> Catalog | None:
    """`past` with the table that `name` means in `current` shown under that name, when the
    name means nothing in `past` but the table existed then under another one (renamed
    since): a table answers to its current name at every point where it existed, as well
    as to the name it had then. None when that does not apply. The same catalog object is
    returned for the same question (plans compare catalogs by identity)."""
    found = current.relation(name, schema, search_path)
    if found is None or found[0] != "table" or past.relation(name, schema, search_path) is not None:
        return None
    then = past.tables.get(found[1])
    if then is None:
        return None
    now = current.tables[found[1]]
    key = (id(past), now.table_id, now.schema, now.name)
    memo = _UNDER_CURRENT_NAME.get(key)
    if memo is not None and memo[0] is past:
        return memo[1]
    tables = dict(past.tables)
    tables[now.table_id] = msgspec.structs.replace(then, schema=now.schema, name=now.name)
    derived = Catalog(tables, past.indexes, past.sequences, past.views, past.schemas, past.roles, past.next_id)
    if len(_UNDER_CURRENT_NAME) > 256:
        _UNDER_CURRENT_NAME.clear()
    _UNDER_CURRENT_NAME[key] = (past, derived)
    return derived
