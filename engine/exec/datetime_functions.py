"""Date/time functions and operators: arithmetic, extract/date_part, date_trunc, age,
make_*, justify_*, AT TIME ZONE, to_char/to_timestamp/to_date/to_number.

Values: date -> datetime.date, time -> datetime.time, timestamp -> naive datetime,
timestamptz -> aware datetime in UTC (rendered in the session TimeZone), interval ->
types.Interval (months, days, microseconds kept apart). Calendar arithmetic follows
PostgreSQL's timestamp.c: months are added first (clamping the day to the month's end),
then days, then microseconds; for timestamptz the months and days are added in the session
time zone's local time, so "+ 1 day" across a DST change keeps the wall-clock time.
Interval products and quotients cascade fractional months into days (30 per month) and
fractional days into seconds, as interval_mul/interval_div do.

Infinite dates and timestamps (`types.INFINITY`, `types.MINUS_INFINITY`) behave as in
PostgreSQL 15: adding or subtracting keeps them, subtracting two of them is 22008, date_trunc
and AT TIME ZONE keep them, extract answers +-Infinity for the units that only grow (year,
epoch, ...) and NULL for the others, to_char answers NULL. Time 24:00:00 (`types.END_OF_DAY`)
is a time whose fields say 24:00:00, so the arithmetic that reads fields handles it.
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import SqlError, division_by_zero
from engine.exec.functions import define, numeric_div, runtime
from engine.types import (BOOL, DATE, FLOAT4, FLOAT8, INFINITY, INT4, INT8, INTERVAL, MINUS_INFINITY,
                          NUMERIC, NUMERIC_CONTEXT, TEXT, TIME, TIMESTAMP, TIMESTAMPTZ, TIMETZ, USECS_PER_DAY, UTC,
                          EndOfDay, InfiniteDatetime, Interval, time_from_micros, time_micros, timezone_abbreviation)

_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_TZ = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = dt.timedelta(microseconds=1)
_JULIAN_EPOCH = 1721425      # Julian day number of 0001-01-01 minus 1 (date.toordinal() offset)

# -------------------------------------------------------------------- current time


@runtime
def statement_now(ctx) -> dt.datetime:
    return ctx.transaction_time


@runtime
def clock_now(ctx) -> dt.datetime:
    return dt.datetime.now(UTC)


@runtime
def current_date(ctx) -> dt.date:
    return ctx.transaction_time.astimezone(ctx.timezone).date()


@runtime
def local_timestamp(ctx) -> dt.datetime:
    return ctx.transaction_time.astimezone(ctx.timezone).replace(tzinfo=None)


@runtime
def current_timetz(ctx) -> dt.time:
    local = ctx.transaction_time.astimezone(ctx.timezone)
    return local.timetz().replace(tzinfo=dt.timezone(local.utcoffset() or dt.timedelta(0)))


# -------------------------------------------------------------------- interval arithmetic


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@runtime
def interval_mul(iv: Interval, factor) -> Interval:
    f = float(factor)
    if f != f:
        raise SqlError("22008", "interval out of range")
    months_f = iv.months * f
    days_f = iv.days * f
    if abs(months_f) > 2**31 or abs(days_f) > 2**31:
        raise SqlError("22008", "interval out of range")
    months = int(months_f)
    days = int(days_f)
    month_remainder_days = (iv.months * f - months) * 30
    sec_remainder = (iv.days * f - days + month_remainder_days - int(month_remainder_days)) * 86400
    sec_remainder = round(sec_remainder * 1_000_000) / 1_000_000
    if abs(sec_remainder) >= 86400:
        whole = int(sec_remainder / 86400)
        days += whole
        sec_remainder -= whole * 86400
    days += int(month_remainder_days)
    micros = round(iv.micros * f + sec_remainder * 1_000_000)
    return Interval(months, days, int(micros))


@runtime
def interval_div(iv: Interval, factor) -> Interval:
    f = float(factor)
    if f == 0:
        raise division_by_zero()
    months = int(iv.months / f)
    days = int(iv.days / f)
    month_remainder_days = (iv.months / f - months) * 30
    sec_remainder = (iv.days / f - days + month_remainder_days - int(month_remainder_days)) * 86400
    sec_remainder = round(sec_remainder * 1_000_000) / 1_000_000
    if abs(sec_remainder) >= 86400:
        whole = int(sec_remainder / 86400)
        days += whole
        sec_remainder -= whole * 86400
    days += int(month_remainder_days)
    return Interval(months, days, int(round(iv.micros / f + sec_remainder * 1_000_000)))


@runtime
def justify_hours(iv: Interval) -> Interval:
    whole = _trunc_div(iv.micros, USECS_PER_DAY)
    micros = iv.micros - whole * USECS_PER_DAY
    days = iv.days + whole
    if days > 0 and micros < 0:
        micros += USECS_PER_DAY
        days -= 1
    elif days < 0 and micros > 0:
        micros -= USECS_PER_DAY
        days += 1
    return Interval(iv.months, days, micros)


@runtime
def justify_days(iv: Interval) -> Interval:
    whole = _trunc_div(iv.days, 30)
    days = iv.days - whole * 30
    months = iv.months + whole
    if months > 0 and days < 0:
        days += 30
        months -= 1
    elif months < 0 and days > 0:
        days -= 30
        months += 1
    return Interval(months, days, iv.micros)


@runtime
def justify_interval(iv: Interval) -> Interval:
    months, days, micros = iv.months, iv.days, iv.micros
    if (days > 0 and micros > 0) or (days < 0 and micros < 0):
        whole = _trunc_div(days, 30)
        days -= whole * 30
        months += whole
    whole = _trunc_div(micros, USECS_PER_DAY)
    micros -= whole * USECS_PER_DAY
    days += whole
    whole = _trunc_div(days, 30)
    days -= whole * 30
    months += whole
    if months > 0 and (days < 0 or (days == 0 and micros < 0)):
        days += 30
        months -= 1
    elif months < 0 and (days > 0 or (days == 0 and micros > 0)):
        days -= 30
        months += 1
    if days > 0 and micros < 0:
        micros += USECS_PER_DAY
        days -= 1
    elif days < 0 and micros > 0:
        micros -= USECS_PER_DAY
        days += 1
    return Interval(months, days, micros)


# -------------------------------------------------------------------- timestamp arithmetic


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    y, m = divmod(value.month - 1 + months, 12)
    year = value.year + y
    if not 1 <= year <= 9999:
        raise SqlError("22008", "timestamp out of range")
    month = m + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


@runtime
def ts_add_interval(ts: dt.datetime | InfiniteDatetime, iv: Interval) -> dt.datetime | InfiniteDatetime:
    if ts.__class__ is InfiniteDatetime:
        return ts
    try:
        if iv.months:
            ts = _add_months(ts, iv.months)
        return ts + dt.timedelta(days=iv.days, microseconds=iv.micros)
    except OverflowError:
        raise SqlError("22008", "timestamp out of range") from None


@runtime
def tstz_add_interval(ts: dt.datetime | InfiniteDatetime, iv: Interval, tz) -> dt.datetime | InfiniteDatetime:
    if ts.__class__ is InfiniteDatetime:
        return ts
    try:
        if iv.months or iv.days:
            local = ts.astimezone(tz).replace(tzinfo=None)
            if iv.months:
                local = _add_months(local, iv.months)
            local += dt.timedelta(days=iv.days)
            ts = local_to_utc(local, tz)
        return ts + dt.timedelta(microseconds=iv.micros)
    except OverflowError:
        raise SqlError("22008", "timestamp out of range") from None


def local_to_utc(local: dt.datetime, tz) -> dt.datetime:
    """A wall-clock time in `tz` -> UTC (a time in a DST gap moves forward, as in PostgreSQL)."""
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        # nonexistent local time (spring forward): PostgreSQL uses the offset before the gap
        before = (local - dt.timedelta(hours=3)).replace(tzinfo=tz).utcoffset()
        utc = (local - before).replace(tzinfo=UTC)
    return utc


@runtime
def ts_diff(a: dt.datetime | InfiniteDatetime, b: dt.datetime | InfiniteDatetime) -> Interval:
    if a.__class__ is InfiniteDatetime or b.__class__ is InfiniteDatetime:
        raise SqlError("22008", "cannot subtract infinite timestamps")
    delta = a - b
    return justify_hours(Interval(0, 0, delta.days * USECS_PER_DAY + delta.seconds * 1_000_000 + delta.microseconds))


@runtime
def date_add_days(d: dt.date | InfiniteDatetime, n: int) -> dt.date | InfiniteDatetime:
    if d.__class__ is InfiniteDatetime:
        return d
    try:
        return d + dt.timedelta(days=n)
    except OverflowError:
        raise SqlError("22008", "date out of range") from None


@runtime
def date_diff(a: dt.date | InfiniteDatetime, b: dt.date | InfiniteDatetime) -> int:
    if a.__class__ is InfiniteDatetime or b.__class__ is InfiniteDatetime:
        raise SqlError("22008", "cannot subtract infinite dates")
    return (a - b).days


@runtime
def date_timestamp(d: dt.date | InfiniteDatetime) -> dt.datetime | InfiniteDatetime:
    """date -> timestamp (midnight), infinity kept."""
    return d if d.__class__ is InfiniteDatetime else dt.datetime(d.year, d.month, d.day)


@runtime
def date_add_time(d: dt.date | InfiniteDatetime, t: dt.time | EndOfDay) -> dt.datetime | InfiniteDatetime:
    if d.__class__ is InfiniteDatetime:
        return d
    return ts_add_interval(dt.datetime(d.year, d.month, d.day), Interval(0, 0, time_micros(t)))


@runtime
def is_finite(v: Any) -> bool:
    return v.__class__ is not InfiniteDatetime


@runtime
def timestamp_date(v: dt.datetime | InfiniteDatetime) -> dt.date | InfiniteDatetime:
    return v if v.__class__ is InfiniteDatetime else v.date()


@runtime
def float_or_null(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


@runtime
def time_add_interval(t: dt.time | EndOfDay, iv: Interval) -> dt.time:
    return time_from_micros((time_micros(t) + iv.micros) % USECS_PER_DAY)


@runtime
def time_diff(a: dt.time | EndOfDay, b: dt.time | EndOfDay) -> Interval:
    return Interval(0, 0, time_micros(a) - time_micros(b))


@runtime
def time_to_interval(t: dt.time | EndOfDay) -> Interval:
    return Interval(0, 0, time_micros(t))


# -------------------------------------------------------------------- time zones


_POSIX_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])?(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?", re.I)


def zone_named(name: str) -> dt.tzinfo:
    """A time zone as AT TIME ZONE / timezone() reads it: IANA names, abbreviations, and
    POSIX-style offsets (where '+05' means five hours WEST of Greenwich)."""
    n = name.strip()
    abbreviation = timezone_abbreviation(n)
    if abbreviation is not None:
        return abbreviation
    m = _POSIX_OFFSET.fullmatch(n)
    if m and (m.group(1) or n[:3].upper() in ("UTC", "GMT") or n.isdigit()):
        sign = 1 if m.group(1) == "-" else -1
        seconds = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60 + int(m.group(4) or 0)
        return dt.timezone(dt.timedelta(seconds=sign * seconds))
    try:
        return ZoneInfo(n)
    except (ZoneInfoNotFoundError, ValueError):
        raise SqlError("22023", f'time zone "{name}" not recognized') from None


def _interval_zone(iv: Interval) -> dt.tzinfo:
    if iv.months or iv.days:
        raise SqlError("22023", f'interval time zone "{iv}" must not include months or days')
    return dt.timezone(dt.timedelta(microseconds=iv.micros))


@runtime
def timestamp_at_zone(ts: dt.datetime | InfiniteDatetime, zone) -> dt.datetime | InfiniteDatetime:
    tz = _interval_zone(zone) if isinstance(zone, Interval) else zone_named(zone)
    return ts if ts.__class__ is InfiniteDatetime else local_to_utc(ts, tz)


@runtime
def timestamptz_at_zone(ts: dt.datetime | InfiniteDatetime, zone) -> dt.datetime | InfiniteDatetime:
    tz = _interval_zone(zone) if isinstance(zone, Interval) else zone_named(zone)
    return ts if ts.__class__ is InfiniteDatetime else ts.astimezone(tz).replace(tzinfo=None)


# -------------------------------------------------------------------- extract / date_part

_UNIT_ALIASES = {
    "microsecond": "microseconds", "microseconds": "microseconds", "us": "microseconds", "usec": "microseconds",
    "usecs": "microseconds", "usecond": "microseconds", "useconds": "microseconds",
    "millisecond": "milliseconds", "milliseconds": "milliseconds", "ms": "milliseconds", "msec": "milliseconds",
    "msecs": "milliseconds", "msecond": "milliseconds", "mseconds": "milliseconds",
    "second": "second", "seconds": "second", "sec": "second", "secs": "second", "s": "second",
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute", "m": "minute",
    "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour", "h": "hour",
    "day": "day", "days": "day", "d": "day", "week": "week", "weeks": "week", "w": "week",
    "month": "month", "months": "month", "mon": "month", "mons": "month",
    "quarter": "quarter", "qtr": "quarter", "year": "year", "years": "year", "y": "year", "yr": "year", "yrs": "year",
    "decade": "decade", "decades": "decade", "dec": "decade", "decs": "decade",
    "century": "century", "centuries": "century", "c": "century", "cent": "century",
    "millennium": "millennium", "millennia": "millennium", "mil": "millennium", "mils": "millennium",
    "millenniums": "millennium",
    "dow": "dow", "isodow": "isodow", "doy": "doy", "isoyear": "isoyear", "epoch": "epoch", "julian": "julian",
    "timezone": "timezone", "timezone_hour": "timezone_hour", "timezone_minute": "timezone_minute",
}
_TYPE_LABEL = {"timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
               "date": "date", "time": "time without time zone", "interval": "interval",
               "timetz": "time with time zone"}


def _unit(name: str, kind: str) -> str:
    unit = _UNIT_ALIASES.get(name.strip().lower())
    if unit is None:
        raise SqlError("22023", f'unit "{name.strip().lower()}" not recognized for type {_TYPE_LABEL[kind]}')
    return unit


def _unsupported(name: str, kind: str) -> SqlError:
    return SqlError("0A000", f'unit "{name.strip().lower()}" not supported for type {_TYPE_LABEL[kind]}')


def _scaled(micros: int, scale_digits: int) -> Decimal:
    """An integer count of microseconds as a numeric of seconds (or ms) with fixed scale."""
    return Decimal(micros).scaleb(-scale_digits)


def _iso_week(d: dt.date) -> tuple[int, int, int]:
    return d.isocalendar()


def _timestamp_field(unit: str, value: dt.datetime, kind: str, name: str, offset_seconds: int = 0) -> Decimal:
    year = value.year
    if unit == "microseconds":
        return Decimal(value.second * 1_000_000 + value.microsecond)
    if unit == "milliseconds":
        return _scaled(value.second * 1_000_000 + value.microsecond, 3)
    if unit == "second":
        return _scaled(value.second * 1_000_000 + value.microsecond, 6)
    if unit == "minute":
        return Decimal(value.minute)
    if unit == "hour":
        return Decimal(value.hour)
    if unit == "day":
        return Decimal(value.day)
    if unit == "month":
        return Decimal(value.month)
    if unit == "quarter":
        return Decimal((value.month - 1) // 3 + 1)
    if unit == "year":
        return Decimal(year)
    if unit == "decade":
        return Decimal(year // 10)
    if unit == "century":
        return Decimal((year + 99) // 100)
    if unit == "millennium":
        return Decimal((year + 999) // 1000)
    if unit == "dow":
        return Decimal(value.isoweekday() % 7)
    if unit == "isodow":
        return Decimal(value.isoweekday())
    if unit == "doy":
        return Decimal(value.timetuple().tm_yday)
    if unit == "week":
        return Decimal(value.isocalendar()[1])
    if unit == "isoyear":
        return Decimal(value.isocalendar()[0])
    if unit == "julian":
        day = Decimal(value.toordinal() + _JULIAN_EPOCH)
        micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return NUMERIC_CONTEXT.add(day, numeric_div(Decimal(micros), Decimal(USECS_PER_DAY)))
    if unit in ("timezone", "timezone_hour", "timezone_minute") and kind == "timestamptz":
        if unit == "timezone":
            return Decimal(offset_seconds)
        if unit == "timezone_hour":
            return Decimal(int(offset_seconds / 3600))
        return Decimal(int((offset_seconds % (3600 if offset_seconds >= 0 else -3600)) / 60))
    raise _unsupported(name, kind)


# the units whose value only grows with time: +-Infinity for an infinite value (others are NULL)
_GROWING_UNITS = frozenset({"year", "decade", "century", "millennium", "julian", "isoyear", "epoch"})


def _infinite_field(unit: str, value: InfiniteDatetime) -> Decimal | None:
    """extract(unit from an infinite value), as NonFiniteTimestampTzPart answers."""
    if unit in _GROWING_UNITS:
        return Decimal("Infinity") if value is INFINITY else Decimal("-Infinity")
    return None


@runtime
def extract_timestamp(name: str, value: dt.datetime | InfiniteDatetime) -> Decimal | None:
    unit = _unit(name, "timestamp")
    if value.__class__ is InfiniteDatetime:
        return _infinite_field(unit, value)
    if unit == "epoch":
        return _scaled((value - _EPOCH) // _ONE_US, 6)
    return _timestamp_field(unit, value, "timestamp", name)


@runtime
def extract_timestamptz(name: str, value: dt.datetime | InfiniteDatetime, tz) -> Decimal | None:
    unit = _unit(name, "timestamptz")
    if value.__class__ is InfiniteDatetime:
        return _infinite_field(unit, value)
    if unit == "epoch":
        return _scaled((value - _EPOCH_TZ) // _ONE_US, 6)
    local = value.astimezone(tz)
    offset = int((local.utcoffset() or dt.timedelta(0)).total_seconds())
    return _timestamp_field(unit, local.replace(tzinfo=None), "timestamptz", name, offset)


@runtime
def extract_date(name: str, value: dt.date | InfiniteDatetime) -> Decimal | None:
    unit = _unit(name, "date")
    if unit in ("microseconds", "milliseconds", "second", "minute", "hour", "timezone", "timezone_hour",
                "timezone_minute"):
        raise _unsupported(name, "date")
    if value.__class__ is InfiniteDatetime:
        return _infinite_field(unit, value)
    if unit == "epoch":
        return Decimal((value.toordinal() - _EPOCH.toordinal()) * 86400)
    if unit == "julian":
        return Decimal(value.toordinal() + _JULIAN_EPOCH)
    return _timestamp_field(unit, dt.datetime.combine(value, dt.time()), "date", name)


@runtime
def extract_time(name: str, value: dt.time | EndOfDay) -> Decimal:
    unit = _unit(name, "time")
    micros = value.second * 1_000_000 + value.microsecond
    if unit == "microseconds":
        return Decimal(micros)
    if unit == "milliseconds":
        return _scaled(micros, 3)
    if unit == "second":
        return _scaled(micros, 6)
    if unit == "minute":
        return Decimal(value.minute)
    if unit == "hour":
        return Decimal(value.hour)
    if unit == "epoch":
        return _scaled(time_micros(value), 6)
    raise _unsupported(name, "time")


@runtime
def extract_interval(name: str, iv: Interval) -> Decimal:
    unit = _unit(name, "interval")
    time_part = iv.micros
    if unit == "epoch":
        years, months = _trunc_div(iv.months, 12), iv.months - _trunc_div(iv.months, 12) * 12
        seconds_x4 = (1461 * years + 120 * months + 4 * iv.days) * (86400 // 4)
        return _scaled(seconds_x4 * 1_000_000 + time_part, 6)
    hours = _trunc_div(time_part, 3_600_000_000)
    rest = time_part - hours * 3_600_000_000
    minutes = _trunc_div(rest, 60_000_000)
    micros = rest - minutes * 60_000_000
    years = _trunc_div(iv.months, 12)
    month = iv.months - years * 12
    if unit == "microseconds":
        return Decimal(micros)
    if unit == "milliseconds":
        return _scaled(micros, 3)
    if unit == "second":
        return _scaled(micros, 6)
    if unit == "minute":
        return Decimal(minutes)
    if unit == "hour":
        return Decimal(hours)
    if unit == "day":
        return Decimal(iv.days)
    if unit == "month":
        return Decimal(month)
    if unit == "quarter":
        return Decimal(_trunc_div(month, 3) + 1)
    if unit == "year":
        return Decimal(years)
    if unit == "decade":
        return Decimal(_trunc_div(years, 10))
    if unit == "century":
        return Decimal(_trunc_div(years, 100))
    if unit == "millennium":
        return Decimal(_trunc_div(years, 1000))
    raise _unsupported(name, "interval")


# -------------------------------------------------------------------- date_trunc


def _trunc_datetime(unit: str, v: dt.datetime, kind: str, name: str) -> dt.datetime:
    if unit == "microseconds":
        return v
    if unit == "milliseconds":
        return v.replace(microsecond=v.microsecond // 1000 * 1000)
    if unit == "second":
        return v.replace(microsecond=0)
    if unit == "minute":
        return v.replace(second=0, microsecond=0)
    if unit == "hour":
        return v.replace(minute=0, second=0, microsecond=0)
    day = v.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=v.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(v.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    if unit == "decade":
        return day.replace(year=v.year // 10 * 10 or 1, month=1, day=1)
    if unit == "century":
        return day.replace(year=(v.year - 1) // 100 * 100 + 1, month=1, day=1)
    if unit == "millennium":
        return day.replace(year=(v.year - 1) // 1000 * 1000 + 1, month=1, day=1)
    raise _unsupported(name, kind)


@runtime
def date_trunc_timestamp(name: str, v: dt.datetime | InfiniteDatetime) -> dt.datetime | InfiniteDatetime:
    if v.__class__ is InfiniteDatetime:
        return v
    return _trunc_datetime(_unit(name, "timestamp"), v, "timestamp", name)


@runtime
def date_trunc_timestamptz(name: str, v: dt.datetime | InfiniteDatetime, tz) -> dt.datetime | InfiniteDatetime:
    if v.__class__ is InfiniteDatetime:
        return v
    unit = _unit(name, "timestamptz")
    local = v.astimezone(tz).replace(tzinfo=None)
    truncated = _trunc_datetime(unit, local, "timestamptz", name)
    if unit in ("microseconds", "milliseconds", "second", "minute"):
        return v - (local - truncated)
    return local_to_utc(truncated, tz)


@runtime
def date_trunc_interval(name: str, iv: Interval) -> Interval:
    unit = _unit(name, "interval")
    if unit == "week":
        raise SqlError("0A000", f'unit "{name.strip().lower()}" not supported for type interval',
                       detail="Months usually have fractional weeks.")
    years = _trunc_div(iv.months, 12)
    month = iv.months - years * 12
    if unit in ("year", "decade", "century", "millennium"):
        div = {"year": 1, "decade": 10, "century": 100, "millennium": 1000}[unit]
        return Interval(_trunc_div(years, div) * div * 12, 0, 0)
    if unit == "quarter":
        return Interval(years * 12 + _trunc_div(month, 3) * 3, 0, 0)
    if unit == "month":
        return Interval(iv.months, 0, 0)
    if unit == "day":
        return Interval(iv.months, iv.days, 0)
    step = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000, "milliseconds": 1000,
            "microseconds": 1}[unit]
    return Interval(iv.months, iv.days, _trunc_div(iv.micros, step) * step)


@runtime
def date_bin(stride: Interval, source: dt.datetime | InfiniteDatetime,
             origin: dt.datetime | InfiniteDatetime) -> dt.datetime | InfiniteDatetime:
    if source.__class__ is InfiniteDatetime:
        return source
    if origin.__class__ is InfiniteDatetime:
        raise SqlError("22008", "origin out of range")
    if stride.months:
        raise SqlError("0A000", "timestamps cannot be binned into intervals containing months or years")
    step = stride.days * USECS_PER_DAY + stride.micros
    if step <= 0:
        raise SqlError("22023", "stride must be greater than zero")
    delta = (source - origin) // _ONE_US
    return origin + dt.timedelta(microseconds=delta - delta % step if delta >= 0 else delta - delta % step)


# -------------------------------------------------------------------- age, make_*


_DAY_TAB = lambda year, month: calendar.monthrange(year, month)[1]  # noqa: E731


@runtime
def overlaps(s1: Any, e1: Any, s2: Any, e2: Any) -> bool | None:
    """(s1, e1) OVERLAPS (s2, e2) with PostgreSQL's NULL rules (overlaps_timestamp): each
    period is put in order; a period with one NULL end is its other end."""
    def ordered(start: Any, end: Any) -> tuple[Any, Any]:
        if start is None:
            return end, None
        if end is not None and start > end:
            return end, start
        return start, end
    s1, e1 = ordered(s1, e1)
    s2, e2 = ordered(s2, e2)
    if s1 is None or s2 is None:
        return None
    if s1 > s2:
        s1, e1, s2, e2 = s2, e2, s1, e1
    if s1 < s2:
        if e1 is None:
            return None
        if s2 < e1:
            return True
        return None if e2 is None else False
    return None if e1 is None or e2 is None else True


# timestamp2tm's fields of 'infinity' (INT64 max microseconds after 2000-01-01), which
# PostgreSQL 15's age() computes with; of '-infinity' it finds none ("timestamp out of range")
_INFINITY_FIELDS = (294277, 1, 9, 4, 0, 54, 775807)


def _age_fields(v: dt.datetime | InfiniteDatetime) -> tuple[int, int, int, int, int, int, int]:
    if v is INFINITY:
        return _INFINITY_FIELDS
    if v is MINUS_INFINITY:
        raise SqlError("22008", "timestamp out of range")
    return v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond


@runtime
def age(a: dt.datetime | InfiniteDatetime, b: dt.datetime | InfiniteDatetime) -> Interval:
    """timestamp_age: a field-wise difference, borrowing from the next larger field."""
    fa, fb = _age_fields(a), _age_fields(b)
    fields = [x - y for x, y in zip(fa[::-1], fb[::-1])]
    negative = a < b
    if negative:
        fields = [-f for f in fields]
    usec, sec, minute, hour, day, month, year = fields
    while usec < 0:
        usec += 1_000_000
        sec -= 1
    while sec < 0:
        sec += 60
        minute -= 1
    while minute < 0:
        minute += 60
        hour -= 1
    while hour < 0:
        hour += 24
        day -= 1
    while day < 0:
        ref = fa if negative else fb
        day += _DAY_TAB(ref[0], ref[1])
        month -= 1
    while month < 0:
        month += 12
        year -= 1
    result = Interval(year * 12 + month, day, ((hour * 60 + minute) * 60 + sec) * 1_000_000 + usec)
    return -result if negative else result


def _local(v: dt.datetime | InfiniteDatetime, tz) -> dt.datetime | InfiniteDatetime:
    """A timestamptz as the wall-clock timestamp in `tz` (infinity kept)."""
    return v if v.__class__ is InfiniteDatetime else v.astimezone(tz).replace(tzinfo=None)


@runtime
def age_tz(a: dt.datetime | InfiniteDatetime, b: dt.datetime | InfiniteDatetime, tz) -> Interval:
    return age(_local(a, tz), _local(b, tz))


@runtime
def age_today(v: dt.datetime | InfiniteDatetime, ctx) -> Interval:
    """age(v): from today's midnight (in the session time zone) back to v."""
    return age(dt.datetime.combine(current_date(ctx), dt.time()), v)


@runtime
def make_date(year: int, month: int, day: int) -> dt.date:
    try:
        if year <= 0:
            raise ValueError
        return dt.date(year, month, day)
    except ValueError:
        raise SqlError("22008", f"date field value out of range: {year:04d}-{month:02d}-{day:02d}") from None


@runtime
def make_time(hour: int, minute: int, sec: float) -> dt.time | EndOfDay:
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= sec < 60) and (hour, minute, sec) != (24, 0, 0):
        raise SqlError("22008", f"time field value out of range: {hour}:{minute:02d}:{sec:02}")
    micros = round(sec * 1_000_000)
    return time_from_micros((hour * 60 + minute) * 60_000_000 + micros)


@runtime
def make_timestamp(year: int, month: int, day: int, hour: int, minute: int, sec: float) -> dt.datetime:
    return date_add_time(make_date(year, month, day), make_time(hour, minute, sec))


@runtime
def make_timestamptz(year: int, month: int, day: int, hour: int, minute: int, sec: float, zone, ctx) -> dt.datetime:
    local = make_timestamp(year, month, day, hour, minute, sec)
    return local_to_utc(local, ctx.timezone if zone is None else zone_named(zone))


@runtime
def make_interval(years: int, months: int, weeks: int, days: int, hours: int, mins: int, secs: float) -> Interval:
    if math.isinf(secs) or secs != secs:
        raise SqlError("22008", "interval out of range")
    micros = round((hours * 3600 + mins * 60) * 1_000_000 + secs * 1_000_000)
    return Interval(years * 12 + months, weeks * 7 + days, int(micros))


@runtime
def to_timestamp_epoch(seconds: float) -> dt.datetime | InfiniteDatetime:
    if seconds != seconds:
        raise SqlError("22008", "timestamp cannot be NaN")
    if math.isinf(seconds):
        return INFINITY if seconds > 0 else MINUS_INFINITY
    try:
        return _EPOCH_TZ + dt.timedelta(microseconds=round(seconds * 1_000_000))
    except OverflowError:
        raise SqlError("22008", "timestamp out of range") from None


# -------------------------------------------------------------------- to_char (date/time)

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_ROMAN_MONTHS = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]

# longest first, so that "HH24" wins over "HH" and "YYYY" over "YY"
_DCH = sorted("""A.D. A.M. AD AM B.C. BC CC D DAY Day day DDD DD DY Dy dy FF1 FF2 FF3 FF4 FF5 FF6 HH24 HH12 HH
IDDD ID IW IYYY IYY IY I J MI MM MONTH Month month MON Mon mon MS OF P.M. PM Q RM rm SSSSS SSSS SS TZH TZM TZ tz
US WW W Y,YYY YYYY YYY YY Y a.d. a.m. ad am b.c. bc cc ddd dd d iddd id iw iyyy iyy iy i j mi mm ms p.m. pm q
sssss ssss ss us ww w y,yyy yyyy yyy yy y hh24 hh12 hh ff1 ff2 ff3 ff4 ff5 ff6""".split(), key=len, reverse=True)


def _tokens(fmt: str) -> list[tuple[str, str, bool, str]]:
    """Format -> [(kind, text, fill_mode, suffix)]: kind "field" or "literal"."""
    out: list[tuple[str, str, bool, str]] = []
    i = 0
    n = len(fmt)
    while i < n:
        fm = False
        if fmt.startswith(("FM", "fm"), i):
            fm = True
            i += 2
        if i < n and fmt[i] == '"':
            j = i + 1
            buf = []
            while j < n and fmt[j] != '"':
                if fmt[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(fmt[j])
                j += 1
            out.append(("literal", "".join(buf), False, ""))
            i = j + 1
            continue
        if i < n and fmt[i] == "\\" and i + 1 < n:
            out.append(("literal", fmt[i + 1], False, ""))
            i += 2
            continue
        for key in _DCH:
            if fmt.startswith(key, i):
                i += len(key)
                suffix = ""
                if fmt.startswith(("TH", "th"), i):
                    suffix = fmt[i:i + 2]
                    i += 2
                out.append(("field", key, fm, suffix))
                break
        else:
            if i < n:
                out.append(("literal", fmt[i], False, ""))
                i += 1
    return out


def _ordinal(n: int, upper: bool) -> str:
    if 10 <= n % 100 <= 20:
        s = "th"
    else:
        s = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return s.upper() if upper else s


def _case(name: str, key: str) -> str:
    if key.isupper() and not key[1:].islower():
        return name.upper()
    if key[0].isupper():
        return name
    return name.lower()


def format_datetime(value: dt.datetime, fmt: str, offset_seconds: int | None = None,
                    zone_name: str | None = None, interval: Interval | None = None) -> str:
    """to_char for a timestamp (naive local time), with the zone's offset for TZ/OF."""
    out = []
    hour = value.hour
    if interval is not None:
        hours_total = _trunc_div(interval.micros, 3_600_000_000)
    for kind, key, fm, suffix in _tokens(fmt):
        if kind == "literal":
            out.append(key)
            continue
        k = key.upper()
        number: int | None = None
        width = 0
        text: str | None = None
        if k in ("YYYY",):
            number, width = value.year, 4
        elif k == "Y,YYY":
            text = f"{value.year // 1000},{value.year % 1000:03d}"
        elif k == "YYY":
            number, width = value.year % 1000, 3
        elif k == "YY":
            number, width = value.year % 100, 2
        elif k == "Y":
            number, width = value.year % 10, 1
        elif k == "IYYY":
            number, width = value.isocalendar()[0], 4
        elif k == "IYY":
            number, width = value.isocalendar()[0] % 1000, 3
        elif k == "IY":
            number, width = value.isocalendar()[0] % 100, 2
        elif k == "I":
            number, width = value.isocalendar()[0] % 10, 1
        elif k == "MM":
            number, width = value.month, 2
        elif k == "MONTH":
            name = _case(_MONTHS[value.month - 1], key)
            text = name if fm else name.ljust(9)
        elif k == "MON":
            text = _case(_MONTHS[value.month - 1][:3], key)
        elif k == "RM":
            r = _ROMAN_MONTHS[value.month - 1]
            r = r if key == "RM" else r.lower()
            text = r if fm else r.ljust(4)
        elif k == "DD":
            number, width = (interval.days if interval is not None else value.day), 2
        elif k == "DDD":
            number, width = value.timetuple().tm_yday, 3
        elif k == "IDDD":
            iso = value.isocalendar()
            number, width = (iso[1] - 1) * 7 + iso[2], 3
        elif k == "D":
            number, width = value.isoweekday() % 7 + 1, 1
        elif k == "ID":
            number, width = value.isoweekday(), 1
        elif k == "DAY":
            name = _case(_DAYS[value.isoweekday() % 7], key)
            text = name if fm else name.ljust(9)
        elif k == "DY":
            text = _case(_DAYS[value.isoweekday() % 7][:3], key)
        elif k == "IW":
            number, width = value.isocalendar()[1], 2
        elif k == "WW":
            number, width = (value.timetuple().tm_yday - 1) // 7 + 1, 2
        elif k == "W":
            number, width = (value.day - 1) // 7 + 1, 1
        elif k == "Q":
            number, width = (value.month - 1) // 3 + 1, 1
        elif k == "CC":
            number, width = (value.year + 99) // 100, 2
        elif k == "J":
            number, width = value.toordinal() + _JULIAN_EPOCH, 1
        elif k == "HH24":
            number, width = (hours_total if interval is not None else hour), 2
        elif k in ("HH", "HH12"):
            h = hour % 12
            number, width = (12 if h == 0 else h), 2
        elif k == "MI":
            number, width = value.minute, 2
        elif k == "SS":
            number, width = value.second, 2
        elif k in ("SSSS", "SSSSS"):
            number, width = hour * 3600 + value.minute * 60 + value.second, 1
        elif k == "MS":
            number, width = value.microsecond // 1000, 3
        elif k == "US":
            number, width = value.microsecond, 6
        elif k.startswith("FF"):
            digits = int(k[2])
            number, width = value.microsecond // 10 ** (6 - digits), digits
        elif k in ("AM", "PM"):
            text = ("PM" if hour >= 12 else "AM") if key.isupper() else ("pm" if hour >= 12 else "am")
        elif k in ("A.M.", "P.M."):
            text = ("P.M." if hour >= 12 else "A.M.") if key.isupper() else ("p.m." if hour >= 12 else "a.m.")
        elif k in ("AD", "BC"):
            text = "AD" if key.isupper() else "ad"
        elif k in ("A.D.", "B.C."):
            text = "A.D." if key.isupper() else "a.d."
        elif k in ("TZ",):
            name = zone_name or ""
            text = name.upper() if key == "TZ" else name.lower()
        elif k == "OF":
            off = offset_seconds or 0
            sign = "-" if off < 0 else "+"
            h, m = divmod(abs(off) // 60, 60)
            text = f"{sign}{h:02d}" + (f":{m:02d}" if m else "")
        elif k == "TZH":
            off = offset_seconds or 0
            text = f"{'-' if off < 0 else '+'}{abs(off) // 3600:02d}"
        elif k == "TZM":
            text = f"{abs(offset_seconds or 0) // 60 % 60:02d}"
        if text is None:
            if number is None:
                text = ""
            else:
                text = str(number) if fm else (f"-{abs(number):0{width}d}" if number < 0 else f"{number:0{width}d}")
                if suffix:
                    text += _ordinal(abs(number), suffix == "TH")
        out.append(text)
    return "".join(out)


@runtime
def to_char_timestamp(v: dt.datetime | InfiniteDatetime, fmt: str) -> str | None:
    if v.__class__ is InfiniteDatetime:
        return None
    return format_datetime(v, fmt, 0, "")


@runtime
def to_char_timestamptz(v: dt.datetime | InfiniteDatetime, fmt: str, tz) -> str | None:
    if v.__class__ is InfiniteDatetime:
        return None
    local = v.astimezone(tz)
    offset = int((local.utcoffset() or dt.timedelta(0)).total_seconds())
    name = local.tzname() or ""
    if name and name[0] in "+-":
        name = name
    return format_datetime(local.replace(tzinfo=None), fmt, offset, name)


@runtime
def to_char_interval(iv: Interval, fmt: str) -> str:
    years = _trunc_div(iv.months, 12)
    base = dt.datetime(max(years, 1) if years > 0 else 1, 1, 1) + dt.timedelta(microseconds=iv.micros % USECS_PER_DAY)
    return format_datetime(base.replace(month=(iv.months % 12) + 1 if iv.months % 12 else 1), fmt, interval=iv)


# -------------------------------------------------------------------- to_timestamp / to_date

_NUMERIC_FIELDS = {"YYYY": 4, "YYY": 3, "YY": 2, "Y": 1, "IYYY": 4, "MM": 2, "DD": 2, "DDD": 3, "HH24": 2,
                   "HH12": 2, "HH": 2, "MI": 2, "SS": 2, "MS": 3, "US": 6, "J": 7, "D": 1, "ID": 1, "Q": 1,
                   "CC": 2, "WW": 2, "IW": 2, "SSSS": 5, "SSSSS": 5, "FF1": 1, "FF2": 2, "FF3": 3, "FF4": 4,
                   "FF5": 5, "FF6": 6, "TZH": 3, "TZM": 2, "Y,YYY": 5}


def parse_datetime(text: str, fmt: str, kind: str) -> tuple[dt.datetime, int | None]:
    """to_timestamp/to_date parsing: (local datetime, explicit UTC offset seconds or None)."""
    fields: dict[str, int] = {}
    pm: bool | None = None
    pos = 0
    n = len(text)
    for token_kind, key, fm, _ in _tokens(fmt):
        if token_kind == "literal":
            if key.isspace():
                while pos < n and text[pos].isspace():
                    pos += 1
            elif pos < n and not text[pos].isalnum():
                pos += 1
            continue
        while pos < n and text[pos].isspace() and key.upper() not in ("AM", "PM"):
            pos += 1
        k = key.upper()
        if k in ("MONTH", "MON", "DAY", "DY"):
            names = _MONTHS if k.startswith("MON") else _DAYS
            for i, name in enumerate(names):
                candidate = name if k in ("MONTH", "DAY") else name[:3]
                if text[pos:pos + len(candidate)].lower() == candidate.lower():
                    pos += len(candidate)
                    if k.startswith("MON"):
                        fields["MM"] = i + 1
                    break
                if k in ("MONTH", "DAY") and text[pos:pos + 3].lower() == name[:3].lower():
                    pos += 3
                    if k.startswith("MON"):
                        fields["MM"] = i + 1
                    break
            else:
                raise SqlError("22007", f'invalid value "{text[pos:pos + 9]}" for "{key}"',
                               detail="The given value did not match any of the allowed values for this field.")
            continue
        if k in ("AM", "PM", "A.M.", "P.M."):
            word = text[pos:pos + len(k)].upper()
            if word in ("AM", "A.M."):
                pm = False
            elif word in ("PM", "P.M."):
                pm = True
            else:
                raise SqlError("22007", f'invalid value "{text[pos:pos + len(k)]}" for "{key}"')
            pos += len(k)
            continue
        if k == "TZ":
            m = re.match(r"[A-Za-z]+", text[pos:])
            if m:
                pos += m.end()
            continue
        width = _NUMERIC_FIELDS.get(k)
        if width is None:
            continue
        start = pos
        if pos < n and text[pos] in "+-":
            pos += 1
        while pos < n and text[pos].isdigit() and (pos - start < width or _followed_by_digits(fmt, key)):
            pos += 1
            if pos - start >= width and not fm:
                break
        digits = text[start:pos]
        if not digits or digits in "+-":
            raise SqlError("22007", f'invalid value "{text[start:start + width]}" for "{key}"',
                           detail='Value must be an integer.')
        fields[k] = int(digits)
    year = fields.get("YYYY", fields.get("Y,YYY", fields.get("IYYY")))
    if year is None and "YY" in fields:
        yy = fields["YY"]
        year = yy + 2000 if yy < 70 else yy + 1900
    if year is None and "YYY" in fields:
        y = fields["YYY"]
        year = y + 2000 if y < 100 else y + 1000
    if year is None and "CC" in fields:
        year = (fields["CC"] - 1) * 100 + 1
    if year is None and "J" not in fields:
        # PostgreSQL's year 0 (1 BC), which Python's dates do not have
        raise SqlError("0A000", "dates before the Christian era (BC) are not supported",
                       detail="A format without a year gives a date in year 1 BC.")
    if "J" in fields:
        d = dt.date.fromordinal(fields["J"] - _JULIAN_EPOCH)
        month, day = d.month, d.day
        year = d.year
    else:
        month = fields.get("MM", 1)
        day = fields.get("DD", 1)
    if "DDD" in fields:
        d = dt.date(year, 1, 1) + dt.timedelta(days=fields["DDD"] - 1)
        month, day = d.month, d.day
    hour = fields.get("HH24", fields.get("HH12", fields.get("HH", 0)))
    if pm is not None or "HH12" in fields or "HH" in fields:
        if hour > 12 or hour < 1 and ("HH12" in fields or "HH" in fields):
            raise SqlError("22008", f'hour "{hour}" is invalid for the 12-hour clock',
                           hint="Use the 24-hour clock, or give an hour between 1 and 12.")
        if pm and hour < 12:
            hour += 12
        elif pm is False and hour == 12:
            hour = 0
    minute = fields.get("MI", 0)
    second = fields.get("SS", 0)
    micro = fields.get("US", fields.get("MS", 0) * 1000)
    for k, digits in (("FF1", 1), ("FF2", 2), ("FF3", 3), ("FF4", 4), ("FF5", 5), ("FF6", 6)):
        if k in fields:
            micro = fields[k] * 10 ** (6 - digits)
    if "SSSS" in fields or "SSSSS" in fields:
        total = fields.get("SSSS", fields.get("SSSSS"))
        hour, rest = divmod(total, 3600)
        minute, second = divmod(rest, 60)
    original = text
    if not 1 <= month <= 12:
        raise SqlError("22008", f'date/time field value out of range: "{original}"')
    try:
        value = dt.datetime(year, month, day, 0, 0, 0)
    except ValueError:
        raise SqlError("22008", f'date/time field value out of range: "{original}"') from None
    if not (0 <= hour <= 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise SqlError("22008", f'date/time field value out of range: "{original}"')
    value += dt.timedelta(hours=hour, minutes=minute, seconds=second, microseconds=micro)
    offset = None
    if "TZH" in fields:
        tzh = fields["TZH"]
        offset = tzh * 3600 + (fields.get("TZM", 0) * 60 * (-1 if tzh < 0 else 1))
    return value, offset


def _followed_by_digits(fmt: str, key: str) -> bool:
    return False


@runtime
def to_timestamp_text(text: str, fmt: str, tz) -> dt.datetime:
    value, offset = parse_datetime(text, fmt, "timestamp")
    if offset is not None:
        return (value - dt.timedelta(seconds=offset)).replace(tzinfo=UTC)
    return local_to_utc(value, tz)


@runtime
def to_date_text(text: str, fmt: str) -> dt.date:
    return parse_datetime(text, fmt, "date")[0].date()


# -------------------------------------------------------------------- to_char / to_number (numbers)


def _roman(n: int) -> str:
    if not 1 <= n <= 3999:
        return "###############"
    values = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
              (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = []
    for v, s in values:
        while n >= v:
            out.append(s)
            n -= v
    return "".join(out)


def format_number(value: Decimal, fmt: str, rounding: str = "ROUND_HALF_UP") -> str:
    """to_char(number, format): the common NUM format features (9 0 . D , G S MI PL SG PR FM
    EEEE L RN V TH). Numerics round half away from zero; floats are given exactly (their
    binary value) with ROUND_HALF_EVEN, as C's printf rounds them."""
    upper = fmt.upper()
    fm = "FM" in upper
    body = re.sub(r"(?i)fm", "", fmt)
    if "RN" in body.upper():
        r = _roman(int(value.to_integral_value()))
        r = r if "RN" in body else r.lower()
        return r if fm else r.rjust(15)
    negative = value < 0
    value = abs(value)
    shift = 0
    v_match = re.search(r"(?i)v(9+)", body)
    if v_match:
        shift = len(v_match.group(1))
        body = body[:v_match.start()] + body[v_match.start() + 1:]
    if shift:
        value = value.scaleb(shift)
    point = next((i for i, c in enumerate(body) if c in ".Dd" and (c == "." or body[i:i + 1] in "Dd")), None)
    int_part = body if point is None else body[:point]
    frac_part = "" if point is None else body[point + 1:]
    frac_digits = sum(1 for c in frac_part if c in "09")
    int_digits = sum(1 for c in int_part if c in "09")
    if "EEEE" in upper:
        # one digit before the point, however many the format has (sprintf's %e)
        exponent = value.adjusted() if value != 0 else 0
        mantissa = value.scaleb(-exponent).quantize(Decimal(1).scaleb(-frac_digits), rounding=rounding)
        if mantissa >= 10:
            exponent += 1
            mantissa = value.scaleb(-exponent).quantize(Decimal(1).scaleb(-frac_digits), rounding=rounding)
        text = f"{mantissa:f}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
        return ("-" if negative else " ") + text if not fm else ("-" if negative else "") + text
    rounded = value.quantize(Decimal(1).scaleb(-frac_digits), rounding=rounding)
    whole, _, fraction = f"{rounded:f}".partition(".")
    whole = whole.lstrip("0")
    overflow = len(whole) > int_digits
    first_zero = next((i for i, c in enumerate(int_part) if c == "0"), None)
    # integer part, right to left
    int_out: list[str] = []
    digits = list(whole)
    positions = [i for i, c in enumerate(int_part)]
    for i in reversed(positions):
        c = int_part[i]
        if c in "09":
            if overflow:
                int_out.append("#")
            elif digits:
                int_out.append(digits.pop())
            elif c == "0" or (first_zero is not None and i >= first_zero):
                int_out.append("0")
            elif not whole and i == max((j for j, ch in enumerate(int_part) if ch in "09"), default=-1) and not frac_digits:
                int_out.append("0")
            else:
                int_out.append(" ")
        elif c in ",Gg" and int_part[i - 1:i + 1].upper() != "SG":     # a group separator, not SG's G
            left_has_digit = bool(digits) or any(ch == "0" for ch in int_part[:i]) or (first_zero is not None and i > first_zero)
            int_out.append("," if overflow or left_has_digit or (first_zero is not None and i > first_zero) else " ")
        elif c in "Ll":
            int_out.append(" ")
        elif c.upper() in ("S", "M", "I", "P", "R", "L", "G", "T", "H"):
            int_out.append("\x00" + c)
        else:
            int_out.append(c)
    int_text = "".join(reversed(int_out))
    int_text = _sign_tokens(int_text)
    frac_out = []
    fdigits = list(fraction)
    for c in frac_part:
        if c in "09":
            frac_out.append("#" if overflow else (fdigits.pop(0) if fdigits else "0"))
        else:
            frac_out.append(c)
    frac_text = "".join(frac_out)
    # a point with no digits after it shows only among the #s of an overflow ('999.' prints ' 100')
    text = int_text + (("." if point is not None and (frac_digits or overflow) else "") + frac_text)
    sign_spec = re.findall(r"(?i)SG|S|MI|PL|PR", body.replace("FM", ""))
    text = re.sub(r"\x00.", "", text)
    text = re.sub(r"(?i)(MI|PL|SG|PR|S)", "", text) if sign_spec else text
    if fm:
        if point is not None:
            stripped = text.rstrip(" ")
            if any(c == "9" for c in frac_part):
                keep = sum(1 for c in frac_part if c == "0")
                head, _, tail = stripped.partition(".")
                tail = tail.rstrip("0") if keep == 0 else tail[:keep] + tail[keep:].rstrip("0")
                stripped = head + ("." + tail if tail else "")
            elif not frac_digits and not overflow:
                stripped = stripped.rstrip(".")
            text = stripped
        text = text.strip(" ")
    spec = [s.upper() for s in sign_spec]
    if not spec:
        core = text.lstrip(" ")
        pad = len(text) - len(core)
        sign = "-" if negative else ("" if fm else " ")
        text = " " * pad + sign + core if not fm else sign + core
    else:
        s = spec[0]
        at_end = re.search(r"(?i)(S|MI|PL|SG|PR)\s*$", body) is not None and not re.match(r"(?i)\s*(S|SG|PL)", body)
        if s == "S":
            core = text.lstrip(" ")
            pad = len(text) - len(core)
            mark = "-" if negative else "+"
            text = (" " * pad + mark + core) if not at_end else (text + mark)
        elif s == "MI":
            text = text + ("-" if negative else ("" if fm else " ")) if at_end else ("-" if negative else " ") + text
        elif s == "PL":
            core = text.lstrip(" ")
            pad = len(text) - len(core)
            if at_end:
                text = " " * pad + ("-" if negative else " ") + core + ("+" if not negative else " ")
            else:
                text = ("+" if not negative else " ") + " " * pad + ("-" if negative else "") + core
        elif s == "SG":
            text = (text + ("-" if negative else "+")) if at_end else (("-" if negative else "+") + text)
        elif s == "PR":
            core = text.lstrip(" ")
            pad = len(text) - len(core)
            text = " " * pad + ("<" + core + ">" if negative else (core if fm else " " + core + " "))
    th = re.search(r"(TH|th)\s*$", body)
    if th:                              # no ordinal suffix on a negative number or on #s
        suffix = "" if negative or overflow else _ordinal(int(rounded), th.group(1) == "TH")
        text = text.replace(th.group(1), "") + suffix
    return text


def _sign_tokens(text: str) -> str:
    return text


_FRACTION = re.compile(r"(?i)([.D])([^.D]*)")


def _float_format(value: float, fmt: str, significant: int) -> str:
    """The format float8_to_char/float4_to_char really apply: no more fraction digits than
    the type's significant digits (DBL_DIG 15, FLT_DIG 6) leave after the integer part."""
    m = _FRACTION.search(fmt)
    if m is None or "EEEE" in fmt.upper():
        return fmt
    integer_digits = len(f"{abs(value):.0f}")
    wanted = sum(1 for c in m.group(2) if c in "09")
    keep = 0 if integer_digits >= significant else min(wanted, significant - integer_digits)
    if keep == wanted:
        return fmt
    fraction, kept = [], 0
    for c in m.group(2):
        if c in "09":
            if kept == keep:
                continue
            kept += 1
        fraction.append(c)
    # the point stays when the #s of an overflow are written (float8_to_char fills "###." then)
    overflow = integer_digits > sum(c in "09" for c in fmt[:m.start()])
    return fmt[:m.start()] + (m.group(1) if keep or overflow else "") + "".join(fraction) + fmt[m.end():]


@runtime
def to_char_number(value: Any, fmt: str, significant: int = 15) -> str:
    if isinstance(value, float):
        if value != value or math.isinf(value):
            return _non_finite_to_char(value, fmt, True)
        return format_number(Decimal(value), _float_format(value, fmt, significant), "ROUND_HALF_EVEN")
    if isinstance(value, Decimal) and not value.is_finite():
        return _non_finite_to_char(value, fmt, False)
    return format_number(Decimal(value), fmt)


def _non_finite_to_char(value: float | Decimal, fmt: str, is_float: bool) -> str:
    """to_char of NaN or +-Infinity as float8_to_char/numeric_to_char write it: the digits of
    the number are the letters of "NaN" or "Infinity"; when the format's digit positions before
    the point are fewer, they are #s; output ends where a digit or point position would follow
    the letters (PostgreSQL writes the string's terminating NUL there)."""
    word = "NaN" if value != value else "Infinity"
    negative = word == "Infinity" and value < 0
    body = re.sub(r"(?i)fm", "", fmt)
    upper = body.upper()
    if "RN" in upper:
        if is_float:                    # (int) rint(NaN) is out of the Roman numerals' range
            return "#" * 15
        raise SqlError("0A000", f"cannot convert {'NaN' if word == 'NaN' else 'infinity'} to integer")
    point = re.search(r"[.Dd]", body)
    before = body if point is None else body[:point.start()]
    after = "" if point is None else body[point.end():]
    if "EEEE" in upper:
        pre, post = sum(c in "09" for c in before), sum(c in "09" for c in after.upper().replace("EEEE", ""))
        return " " + "#" * pre + "." + "#" * (post + 4)
    v_digits = re.search(r"(?i)v(9+)", body)
    shift = len(v_digits.group(1)) if v_digits else 0      # V's digits count as integer digits
    pre = sum(c in "09" for c in before)
    if len(word) > pre:                 # overflow: any number too wide for the format prints the #s
        return format_number(Decimal(-1 if negative else 1).scaleb(pre - shift), fmt)
    if re.search(r"(?i)th", body):
        raise SqlError("22P02", f'"{word}" is not a number')
    # a number as wide as the word (all 1s) is formatted, then its digits become the letters
    text = list(format_number(Decimal(("-" if negative else "") + "1" * len(word)).scaleb(-shift), fmt))
    places = [i for i, c in enumerate(text) if c == "1"][-len(word):]
    for i, letter in zip(places, word):
        text[i] = letter
    return "".join(text[:places[-1] + 1] if point is not None else text)


@runtime
def to_number(text: str, fmt: str) -> Decimal:
    negative = "-" in text or ("<" in text and ">" in text)
    point_index = next((i for i, c in enumerate(fmt) if c in ".Dd"), None)
    frac_digits = sum(1 for c in fmt[point_index + 1:] if c in "09") if point_index is not None else 0
    digits = re.sub(r"[^0-9.]", "", text)
    if digits.count(".") > 1:
        digits = digits.replace(".", "", digits.count(".") - 1)
    if not digits or digits == ".":
        raise SqlError("22P02", 'invalid input syntax for type numeric: " "')
    value = Decimal(digits)
    if point_index is not None and "." in digits:
        value = value.quantize(Decimal(1).scaleb(-frac_digits), rounding="ROUND_DOWN")
    return -value if negative else value


# -------------------------------------------------------------------- signatures

define("now", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("current_timestamp", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("transaction_timestamp", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("statement_timestamp", (), TIMESTAMPTZ, "statement_now(ctx)", strict=False)
define("clock_timestamp", (), TIMESTAMPTZ, "clock_now(ctx)", strict=False, volatile=True)
define("current_date", (), DATE, "current_date(ctx)", strict=False)
define("localtimestamp", (), TIMESTAMP, "local_timestamp(ctx)", strict=False)
define("localtime", (), TIME, "local_timestamp(ctx).time()", strict=False)
define("current_time", (), TIMETZ, "current_timetz(ctx)", strict=False)
define("timeofday", (), TEXT, "clock_now(ctx).strftime('%a %b %d %H:%M:%S.%f %Y UTC')", strict=False, volatile=True)

define("+", (TIMESTAMP, INTERVAL), TIMESTAMP, "ts_add_interval({0}, {1})")
define("+", (INTERVAL, TIMESTAMP), TIMESTAMP, "ts_add_interval({1}, {0})")
define("-", (TIMESTAMP, INTERVAL), TIMESTAMP, "ts_add_interval({0}, -{1})")
define("+", (TIMESTAMPTZ, INTERVAL), TIMESTAMPTZ, "tstz_add_interval({0}, {1}, ctx.timezone)")
define("+", (INTERVAL, TIMESTAMPTZ), TIMESTAMPTZ, "tstz_add_interval({1}, {0}, ctx.timezone)")
define("-", (TIMESTAMPTZ, INTERVAL), TIMESTAMPTZ, "tstz_add_interval({0}, -{1}, ctx.timezone)")
define("-", (TIMESTAMP, TIMESTAMP), INTERVAL, "ts_diff({0}, {1})")
define("-", (TIMESTAMPTZ, TIMESTAMPTZ), INTERVAL, "ts_diff({0}, {1})")
define("+", (DATE, INT4), DATE, "date_add_days({0}, {1})")
define("+", (INT4, DATE), DATE, "date_add_days({1}, {0})")
define("-", (DATE, INT4), DATE, "date_add_days({0}, -{1})")
define("-", (DATE, DATE), INT4, "date_diff({0}, {1})")
define("+", (DATE, INTERVAL), TIMESTAMP, "ts_add_interval(date_timestamp({0}), {1})")
define("+", (INTERVAL, DATE), TIMESTAMP, "ts_add_interval(date_timestamp({1}), {0})")
define("-", (DATE, INTERVAL), TIMESTAMP, "ts_add_interval(date_timestamp({0}), -{1})")
define("+", (DATE, TIME), TIMESTAMP, "date_add_time({0}, {1})")
define("+", (TIME, DATE), TIMESTAMP, "date_add_time({1}, {0})")
define("+", (TIME, INTERVAL), TIME, "time_add_interval({0}, {1})")
define("+", (INTERVAL, TIME), TIME, "time_add_interval({1}, {0})")
define("-", (TIME, INTERVAL), TIME, "time_add_interval({0}, -{1})")
define("-", (TIME, TIME), INTERVAL, "time_diff({0}, {1})")
define("+", (INTERVAL, INTERVAL), INTERVAL, "({0} + {1})")
define("-", (INTERVAL, INTERVAL), INTERVAL, "({0} - {1})")
define("-u", (INTERVAL,), INTERVAL, "(-{0})")
define("*", (INTERVAL, FLOAT8), INTERVAL, "interval_mul({0}, {1})")
define("*", (FLOAT8, INTERVAL), INTERVAL, "interval_mul({1}, {0})")
define("/", (INTERVAL, FLOAT8), INTERVAL, "interval_div({0}, {1})")

define("extract", (TEXT, TIMESTAMP), NUMERIC, "extract_timestamp({0}, {1})")
define("extract", (TEXT, TIMESTAMPTZ), NUMERIC, "extract_timestamptz({0}, {1}, ctx.timezone)")
define("extract", (TEXT, DATE), NUMERIC, "extract_date({0}, {1})")
define("extract", (TEXT, TIME), NUMERIC, "extract_time({0}, {1})")
define("extract", (TEXT, INTERVAL), NUMERIC, "extract_interval({0}, {1})")
define("date_part", (TEXT, TIMESTAMP), FLOAT8, "float_or_null(extract_timestamp({0}, {1}))")
define("date_part", (TEXT, TIMESTAMPTZ), FLOAT8, "float_or_null(extract_timestamptz({0}, {1}, ctx.timezone))")
define("date_part", (TEXT, DATE), FLOAT8, "float_or_null(extract_timestamp({0}, date_timestamp({1})))")
define("date_part", (TEXT, TIME), FLOAT8, "float(extract_time({0}, {1}))")
define("date_part", (TEXT, INTERVAL), FLOAT8, "float(extract_interval({0}, {1}))")
define("date_trunc", (TEXT, TIMESTAMP), TIMESTAMP, "date_trunc_timestamp({0}, {1})")
define("date_trunc", (TEXT, TIMESTAMPTZ), TIMESTAMPTZ, "date_trunc_timestamptz({0}, {1}, ctx.timezone)")
define("date_trunc", (TEXT, TIMESTAMPTZ, TEXT), TIMESTAMPTZ, "date_trunc_timestamptz({0}, {1}, zone_named({2}))")
define("date_trunc", (TEXT, INTERVAL), INTERVAL, "date_trunc_interval({0}, {1})")
define("date_bin", (INTERVAL, TIMESTAMP, TIMESTAMP), TIMESTAMP, "date_bin({0}, {1}, {2})")
define("date_bin", (INTERVAL, TIMESTAMPTZ, TIMESTAMPTZ), TIMESTAMPTZ, "date_bin({0}, {1}, {2})")
for _t in (TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ):
    define("overlaps", (_t, _t, _t, _t), BOOL, "overlaps({0}, {1}, {2}, {3})", strict=False)
define("age", (TIMESTAMP, TIMESTAMP), INTERVAL, "age({0}, {1})")
define("age", (TIMESTAMPTZ, TIMESTAMPTZ), INTERVAL, "age_tz({0}, {1}, ctx.timezone)")
define("age", (TIMESTAMP,), INTERVAL, "age_today({0}, ctx)")
define("age", (TIMESTAMPTZ,), INTERVAL, "age_today(_local({0}, ctx.timezone), ctx)")
define("justify_days", (INTERVAL,), INTERVAL, "justify_days({0})")
define("justify_hours", (INTERVAL,), INTERVAL, "justify_hours({0})")
define("justify_interval", (INTERVAL,), INTERVAL, "justify_interval({0})")
define("make_date", (INT4, INT4, INT4), DATE, "make_date({0}, {1}, {2})")
define("make_time", (INT4, INT4, FLOAT8), TIME, "make_time({0}, {1}, {2})")
define("make_timestamp", (INT4, INT4, INT4, INT4, INT4, FLOAT8), TIMESTAMP, "make_timestamp({0}, {1}, {2}, {3}, {4}, {5})")
define("make_timestamptz", (INT4, INT4, INT4, INT4, INT4, FLOAT8), TIMESTAMPTZ,
       "make_timestamptz({0}, {1}, {2}, {3}, {4}, {5}, None, ctx)")
define("make_timestamptz", (INT4, INT4, INT4, INT4, INT4, FLOAT8, TEXT), TIMESTAMPTZ,
       "make_timestamptz({0}, {1}, {2}, {3}, {4}, {5}, {6}, ctx)")
define("make_interval", (INT4, INT4, INT4, INT4, INT4, INT4, FLOAT8), INTERVAL,
       "make_interval({0}, {1}, {2}, {3}, {4}, {5}, {6})",
       arg_names=("years", "months", "weeks", "days", "hours", "mins", "secs"), defaults=(0, 0, 0, 0, 0, 0, 0.0))
define("timezone", (TEXT, TIMESTAMP), TIMESTAMPTZ, "timestamp_at_zone({1}, {0})")
define("timezone", (TEXT, TIMESTAMPTZ), TIMESTAMP, "timestamptz_at_zone({1}, {0})")
define("timezone", (INTERVAL, TIMESTAMP), TIMESTAMPTZ, "timestamp_at_zone({1}, {0})")
define("timezone", (INTERVAL, TIMESTAMPTZ), TIMESTAMP, "timestamptz_at_zone({1}, {0})")
define("to_char", (TIMESTAMP, TEXT), TEXT, "to_char_timestamp({0}, {1})")
define("to_char", (TIMESTAMPTZ, TEXT), TEXT, "to_char_timestamptz({0}, {1}, ctx.timezone)")
define("to_char", (INTERVAL, TEXT), TEXT, "to_char_interval({0}, {1})")
define("to_char", (NUMERIC, TEXT), TEXT, "to_char_number({0}, {1})")
define("to_char", (INT4, TEXT), TEXT, "to_char_number({0}, {1})")
define("to_char", (INT8, TEXT), TEXT, "to_char_number({0}, {1})")
define("to_char", (FLOAT8, TEXT), TEXT, "to_char_number({0}, {1})")
define("to_char", (FLOAT4, TEXT), TEXT, "to_char_number({0}, {1}, 6)")
define("to_timestamp", (TEXT, TEXT), TIMESTAMPTZ, "to_timestamp_text({0}, {1}, ctx.timezone)")
define("to_timestamp", (FLOAT8,), TIMESTAMPTZ, "to_timestamp_epoch({0})")
define("to_date", (TEXT, TEXT), DATE, "to_date_text({0}, {1})")
define("to_number", (TEXT, TEXT), NUMERIC, "to_number({0}, {1})")
define("isfinite", (DATE,), BOOL, "is_finite({0})")
define("isfinite", (TIMESTAMP,), BOOL, "is_finite({0})")
define("isfinite", (TIMESTAMPTZ,), BOOL, "is_finite({0})")
define("isfinite", (INTERVAL,), BOOL, "True")
define("date", (TIMESTAMP,), DATE, "timestamp_date({0})")
define("date", (TIMESTAMPTZ,), DATE, "timestamp_date(_local({0}, ctx.timezone))")
runtime(zone_named)
runtime(_local)
