"""SQL types: identity (OID, typmod, names), in-memory values, and text input/output.

Every value the engine holds is a plain Python object chosen per type:

    bool -> bool            int2/int4/int8/oid -> int      float4/float8 -> float
    numeric -> Decimal      text/varchar/bpchar/name -> str bytea -> bytes
    date -> date            time -> time                   timestamp -> naive datetime
    timestamptz -> datetime aware in UTC                   interval -> Interval
    'infinity' / '-infinity' dates and timestamps -> INFINITY / MINUS_INFINITY
    time 24:00:00 -> END_OF_DAY    (values Python's datetime lacks; see InfiniteDatetime)
    uuid -> UUID            json/jsonb -> str (jsonb in canonical text form)
    arrays -> tuple (nested tuples for more dimensions), NULL elements are None

SQL NULL is `None` everywhere. Text input (`parse_text`) raises the SQLSTATE PostgreSQL
raises (22P02, 22003, 22007, 22008); text output (`text_formatter`) renders exactly what a
PostgreSQL 15 server with DateStyle=ISO, IntervalStyle=postgres prints, in the session's
TimeZone. Binary wire formats are `protocol.binary`'s business.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import struct
import uuid
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import SqlError, invalid_text

UTC = dt.timezone.utc

# numeric arithmetic is exact up to PostgreSQL's limits (131072 digits before the point,
# 16383 after): every numeric operation uses this context, never Python's 28-digit default
NUMERIC_CONTEXT = Context(prec=200_000, Emax=200_000, Emin=-200_000)
# Decimal arithmetic written with plain operators (sums, averages) gets 1000 significant
# digits instead of Python's default 28 (a larger default would make non-terminating
# divisions slow); the engine runs in one thread, whose context this is.
decimal.DefaultContext.prec = 1000
decimal.DefaultContext.Emax = 200_000
decimal.DefaultContext.Emin = -200_000
decimal.setcontext(decimal.Context(prec=1000, Emax=200_000, Emin=-200_000))


@dataclass(frozen=True, slots=True)
class SqlType:
    """A PostgreSQL type as clients see it: pg_type identity plus a type modifier."""

    name: str                 # pg_type.typname: int4, varchar, _int4, ...
    oid: int
    size: int                 # pg_type.typlen (-1 varlena, -2 cstring)
    category: str             # pg_type.typcategory: N numeric, S string, B bool, D datetime, ...
    typmod: int = -1          # as in pg_attribute.atttypmod
    element: "SqlType | None" = None  # for arrays
    array_oid: int = 0
    # a row type's (name, type) fields: a table's row type (category "C"), or a record whose
    # fields are known (record_of); None for every other type
    fields: "tuple[tuple[str, SqlType], ...] | None" = None

    def with_typmod(self, typmod: int) -> SqlType:
        return SqlType(self.name, self.oid, self.size, self.category, typmod, self.element, self.array_oid, self.fields)

    @property
    def is_array(self) -> bool:
        return self.element is not None

    @property
    def base(self) -> SqlType:
        """The type without its modifier (what operators and functions resolve on); a table's
        row type without its fields' modifiers."""
        if self.category == "C" and self.fields is not None:
            return composite_type(self.name, self.oid, self.array_oid, tuple((n, t.base) for n, t in self.fields))
        if self.element is not None and self.element.category == "C":
            return array_of(self.element.base)
        return TYPES_BY_OID[self.oid] if self.typmod != -1 else self

    def __str__(self) -> str:
        return format_type(self)


def _t(name: str, oid: int, size: int, category: str, array_oid: int) -> SqlType:
    return SqlType(name, oid, size, category, array_oid=array_oid)


BOOL = _t("bool", 16, 1, "B", 1000)
BYTEA = _t("bytea", 17, -1, "U", 1001)
NAME = _t("name", 19, 64, "S", 1003)
INT8 = _t("int8", 20, 8, "N", 1016)
INT2 = _t("int2", 21, 2, "N", 1005)
INT2VECTOR = _t("int2vector", 22, -1, "A", 1006)
INT4 = _t("int4", 23, 4, "N", 1007)
REGPROC = _t("regproc", 24, 4, "N", 1008)
TEXT = _t("text", 25, -1, "S", 1009)
OID = _t("oid", 26, 4, "N", 1028)
OIDVECTOR = _t("oidvector", 30, -1, "A", 1013)
JSON = _t("json", 114, -1, "U", 199)
FLOAT4 = _t("float4", 700, 4, "N", 1021)
FLOAT8 = _t("float8", 701, 8, "N", 1022)
UNKNOWN = _t("unknown", 705, -2, "X", 0)
ACLITEM = _t("aclitem", 1033, 12, "U", 1034)
BPCHAR = _t("bpchar", 1042, -1, "S", 1014)
VARCHAR = _t("varchar", 1043, -1, "S", 1015)
DATE = _t("date", 1082, 4, "D", 1182)
TIME = _t("time", 1083, 8, "D", 1183)
TIMETZ = _t("timetz", 1266, 12, "D", 1270)
TIMESTAMP = _t("timestamp", 1114, 8, "D", 1115)
TIMESTAMPTZ = _t("timestamptz", 1184, 8, "D", 1185)
INTERVAL = _t("interval", 1186, 16, "T", 1187)
NUMERIC = _t("numeric", 1700, -1, "N", 1231)
REGCLASS = _t("regclass", 2205, 4, "N", 2210)
REGTYPE = _t("regtype", 2206, 4, "N", 2211)
UUID = _t("uuid", 2950, 16, "U", 2951)
VOID = _t("void", 2278, 4, "P", 0)
RECORD = _t("record", 2249, -1, "P", 2287)
ANY = _t("any", 2276, 4, "P", 0)
JSONB = _t("jsonb", 3802, -1, "U", 3807)
CHAR = _t("char", 18, 1, "Z", 1002)  # the internal one-byte "char"
XID = _t("xid", 28, 4, "U", 1011)
PG_NODE_TREE = _t("pg_node_tree", 194, -1, "Z", 0)   # catalog expressions (we keep their SQL text)
REGPROCEDURE = _t("regprocedure", 2202, 4, "N", 2207)
REGNAMESPACE = _t("regnamespace", 4089, 4, "N", 4090)
REGROLE = _t("regrole", 4096, 4, "N", 4097)
REGOPER = _t("regoper", 2203, 4, "N", 2208)
REGOPERATOR = _t("regoperator", 2204, 4, "N", 2209)
TRIGGER = _t("trigger", 2279, 4, "P", 0)      # pseudo-types psql's queries name (rewinddb has no triggers)
EVENT_TRIGGER = _t("event_trigger", 3838, 4, "P", 0)
CSTRING = _t("cstring", 2275, -2, "P", 1263)
ANYARRAY = _t("anyarray", 2277, -1, "P", 0)
ANYELEMENT = _t("anyelement", 2283, 4, "P", 0)
INTERNAL = _t("internal", 2281, 8, "P", 0)

SCALAR_TYPES = (
    BOOL, BYTEA, NAME, INT8, INT2, INT4, REGPROC, TEXT, OID, JSON, FLOAT4, FLOAT8, UNKNOWN,
    BPCHAR, VARCHAR, DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC, REGCLASS, REGTYPE,
    UUID, JSONB, CHAR, INT2VECTOR, OIDVECTOR, ACLITEM, VOID, RECORD, XID, PG_NODE_TREE,
    REGPROCEDURE, REGNAMESPACE, REGROLE, CSTRING, ANYARRAY, ANYELEMENT, INTERNAL, ANY,
    REGOPER, REGOPERATOR, TRIGGER, EVENT_TRIGGER,
)
# reg* types: an oid that prints as the name of the object it identifies (see NamedOid)
REG_TYPES = frozenset((REGCLASS.oid, REGTYPE.oid, REGPROC.oid, REGPROCEDURE.oid, REGNAMESPACE.oid, REGROLE.oid,
                       REGOPER.oid, REGOPERATOR.oid))


class NamedOid(int):
    """The value of a reg* type (regclass, regtype, ...): an oid that prints as its object's name.

    It compares, hashes and sorts as the oid (as in PostgreSQL); its text output is `label`,
    which resolving the oid against the statement's catalog produced."""

    def __new__(cls, oid: int, label: str) -> NamedOid:
        value = super().__new__(cls, oid)
        value.label = label
        return value

    def __str__(self) -> str:
        return self.label



class Vector(tuple):
    """An int2vector or oidvector value (pg_index.indkey, pg_proc.proargtypes): a tuple whose
    subscripts start at 0, as the lower bound of these types does in PostgreSQL."""

    __slots__ = ()


def record_of(fields: list[tuple[str, SqlType]] | tuple[tuple[str, SqlType], ...]) -> SqlType:
    """An anonymous record type whose fields are known (ROW(...), a set-returning function's
    row), so `(value).field` binds and the value has a binary form: PostgreSQL's "blessed"
    records. On the wire it is plain `record`."""
    return SqlType(RECORD.name, RECORD.oid, RECORD.size, RECORD.category, array_oid=RECORD.array_oid,
                   fields=tuple(fields))


def composite_type(name: str, oid: int, array_oid: int, fields: tuple[tuple[str, SqlType], ...]) -> SqlType:
    """A table's (or view's) row type: pg_type's composite `name` with its array type `_name`."""
    return SqlType(name, oid, -1, "C", array_oid=array_oid, fields=fields)


def record_fields(t: SqlType) -> tuple[tuple[str, SqlType], ...] | None:
    """The (name, type) fields of a row type (record_of, composite_type), None for any other type."""
    return t.fields


def array_of(element: SqlType) -> SqlType:
    """The array type of `element` (an array of arrays is the same array type: int[][] is int[])."""
    if element.element is not None:
        return element.base
    if element.category == "C":
        return SqlType("_" + element.name, element.array_oid, -1, "A", element=element)
    base = element.base
    return ARRAY_TYPES_BY_ELEMENT[base.oid]


ARRAY_TYPES_BY_ELEMENT: dict[int, SqlType] = {
    t.oid: SqlType("_" + t.name, t.array_oid, -1, "A", element=t)
    for t in SCALAR_TYPES
    if t.array_oid and t.category != "A"
}
TYPES_BY_OID: dict[int, SqlType] = {t.oid: t for t in SCALAR_TYPES}
TYPES_BY_OID.update({t.oid: t for t in ARRAY_TYPES_BY_ELEMENT.values()})
TYPES_BY_NAME: dict[str, SqlType] = {t.name: t for t in TYPES_BY_OID.values()}

INTEGER_TYPES = (INT2, INT4, INT8)
NUMERIC_PRECEDENCE = {INT2.oid: 0, INT4.oid: 1, INT8.oid: 2, NUMERIC.oid: 3, FLOAT4.oid: 4, FLOAT8.oid: 5}
STRING_TYPES = frozenset((TEXT.oid, VARCHAR.oid, BPCHAR.oid, NAME.oid))
INT_RANGES = {INT2.oid: (-(1 << 15), (1 << 15) - 1), INT4.oid: (-(1 << 31), (1 << 31) - 1),
              INT8.oid: (-(1 << 63), (1 << 63) - 1), OID.oid: (0, (1 << 32) - 1), XID.oid: (0, (1 << 32) - 1)}

# ---------------------------------------------------------------- names and typmods

_NAME_ALIASES = {
    "int": INT4, "integer": INT4, "int4": INT4, "serial": INT4, "serial4": INT4,
    "smallint": INT2, "int2": INT2, "smallserial": INT2, "serial2": INT2,
    "bigint": INT8, "int8": INT8, "bigserial": INT8, "serial8": INT8,
    "real": FLOAT4, "float4": FLOAT4, "double precision": FLOAT8, "float8": FLOAT8, "float": FLOAT8,
    "double": FLOAT8,
    "numeric": NUMERIC, "decimal": NUMERIC,
    "text": TEXT, "varchar": VARCHAR, "character varying": VARCHAR, "char": BPCHAR,
    "character": BPCHAR, "bpchar": BPCHAR, "name": NAME, '"char"': CHAR,
    "boolean": BOOL, "bool": BOOL,
    "date": DATE, "time": TIME, "time without time zone": TIME, "timetz": TIMETZ,
    "time with time zone": TIMETZ,
    "timestamp": TIMESTAMP, "timestamp without time zone": TIMESTAMP,
    "timestamptz": TIMESTAMPTZ, "timestamp with time zone": TIMESTAMPTZ,
    "interval": INTERVAL, "bytea": BYTEA, "uuid": UUID, "json": JSON, "jsonb": JSONB,
    "oid": OID, "regclass": REGCLASS, "regtype": REGTYPE, "regproc": REGPROC,
    "unknown": UNKNOWN, "void": VOID, "record": RECORD, "int2vector": INT2VECTOR,
    "oidvector": OIDVECTOR, "aclitem": ACLITEM, "xid": XID, "pg_node_tree": PG_NODE_TREE,
    "regprocedure": REGPROCEDURE, "regnamespace": REGNAMESPACE, "regrole": REGROLE, "cstring": CSTRING,
    "regoper": REGOPER, "regoperator": REGOPERATOR, "trigger": TRIGGER, "event_trigger": EVENT_TRIGGER,
    "anyarray": ANYARRAY, "anyelement": ANYELEMENT, "internal": INTERNAL,
}
SERIAL_NAMES = {"serial": INT4, "serial4": INT4, "bigserial": INT8, "serial8": INT8,
                "smallserial": INT2, "serial2": INT2}


# PostgreSQL 15's built-in types rewinddb does not have (a missing feature, not a missing type)
_NOT_SUPPORTED_TYPES = frozenset(
    "money point line lseg box path polygon circle inet cidr macaddr macaddr8 bit varbit tsvector tsquery xml "
    "int4range int8range numrange tsrange tstzrange daterange int4multirange int8multirange nummultirange "
    "tsmultirange tstzmultirange datemultirange pg_lsn txid_snapshot pg_snapshot".split()) | {"bit varying"}


def type_from_name(name: str, modifiers: tuple[int, ...] = ()) -> SqlType:
    """Resolve a type name as written in SQL (any alias, with typmod arguments)."""
    key = " ".join(name.lower().split())
    array_depth = 0
    while key.endswith("[]"):
        key = key[:-2].rstrip()
        array_depth += 1
    for schema in ("pg_catalog.", '"pg_catalog".'):
        if key.startswith(schema):
            key = key[len(schema):]
    if key.startswith('"') and key.endswith('"') and key != '"char"':
        key = key[1:-1]                # "int4" (asyncpg quotes the names it sends)
    t = _NAME_ALIASES.get(key) or TYPES_BY_NAME.get(key)
    if t is None:
        if key in _NOT_SUPPORTED_TYPES:
            raise SqlError("0A000", f"type {key} is not supported")
        raise SqlError("42704", f'type "{name}" does not exist')
    if t is FLOAT8 and key == "float" and modifiers:
        t = FLOAT4 if modifiers[0] <= 24 else FLOAT8
        modifiers = ()
    t = t.with_typmod(typmod_for(t, modifiers)) if modifiers else t
    if t is BPCHAR and not modifiers and key in ("char", "character"):
        t = t.with_typmod(1 + 4)
    for _ in range(array_depth):
        t = array_of(t)
    return t


def numeric_typmod(typmod: int) -> tuple[int, int]:
    """(precision, scale) of a numeric typmod; the scale may be negative (PostgreSQL 15)."""
    mod = typmod - 4
    scale = mod & 0x7FF
    return (mod >> 16) & 0xFFFF, scale - 0x800 if scale & 0x400 else scale


def typmod_for(t: SqlType, modifiers: tuple[int, ...]) -> int:
    if t.oid in (VARCHAR.oid, BPCHAR.oid):
        if len(modifiers) != 1 or modifiers[0] < 1:
            raise SqlError("22023", f"length for type {t.name} must be at least 1")
        return modifiers[0] + 4
    if t.oid == NUMERIC.oid:
        precision = modifiers[0]
        scale = modifiers[1] if len(modifiers) > 1 else 0
        if not 1 <= precision <= 1000:
            raise SqlError("22023", f"NUMERIC precision {precision} must be between 1 and 1000")
        if not -1000 <= scale <= 1000:
            raise SqlError("22023", f"NUMERIC scale {scale} must be between -1000 and 1000")
        return ((precision << 16) | (scale & 0x7FF)) + 4      # an 11-bit scale, as numeric.c packs it
    if t.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid, TIME.oid, TIMETZ.oid, INTERVAL.oid):
        if not 0 <= modifiers[0]:
            raise SqlError("22023", f"{format_type(t)}({modifiers[0]}) precision must not be negative")
        return min(modifiers[0], 6)
    raise SqlError("42601", f"type modifier is not allowed for type \"{t.name}\"")


_DISPLAY = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean", "varchar": "character varying",
    "bpchar": "character", "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone", "time": "time without time zone",
    "timetz": "time with time zone",
    "char": '"char"',
}


def format_type(t: SqlType) -> str:
    """What pg_catalog.format_type(oid, typmod) prints."""
    if t.element is not None:
        return format_type(t.element) + "[]"
    name = _DISPLAY.get(t.name, t.name)
    if t.typmod == -1:
        return name
    if t.oid in (VARCHAR.oid, BPCHAR.oid):
        return f"{name}({t.typmod - 4})"
    if t.oid == NUMERIC.oid:
        precision, scale = numeric_typmod(t.typmod)
        return f"numeric({precision},{scale})"
    if t.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid, TIME.oid, TIMETZ.oid):
        base, _, rest = name.partition(" ")
        return f"{base}({t.typmod}) {rest}".strip()
    return name


# ---------------------------------------------------------------- values Python's datetime lacks


class _SpecialValue:
    """A value one of Python's date/time types cannot hold, ordered against the values of
    that type by `_rank` and equal only to itself (each is a module constant)."""

    __slots__ = ()

    def _rank(self, other: object) -> int | None:
        """other's order against self: -1 before, 0 same, 1 after; None when not comparable."""
        raise NotImplementedError

    def __lt__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else rank > 0

    def __le__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else rank >= 0

    def __gt__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else rank < 0

    def __ge__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else rank <= 0

    def __eq__(self, other: object) -> bool:
        return other is self

    def __ne__(self, other: object) -> bool:
        return other is not self


class InfiniteDatetime(_SpecialValue):
    """'infinity' or '-infinity' as a date, timestamp or timestamptz value (Python's dates
    stop at 9999-12-31): one of the two module constants `INFINITY` and `MINUS_INFINITY`.

    Invariants: it is later (earlier) than every date and datetime, naive or aware, equal only
    to itself, and hashes alike wherever it appears, so comparisons, sorts, indexes, hash joins
    and grouping treat it as PostgreSQL treats its infinite values. The same two objects serve
    all three types (a cast between them keeps the object). Its text form is `str()`, its
    float is +-inf (what extract(epoch ...) answers). Storage (engine.events) keeps them as
    PostgreSQL's binary form does, INT32/INT64 max and min; the server sends them as those too.
    """

    __slots__ = ("sign",)

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def _rank(self, other: object) -> int | None:
        """other's order against self: -1 before, 0 same, 1 after; None when not comparable."""
        if other is self:
            return 0
        if other.__class__ is InfiniteDatetime:
            return -self.sign
        if isinstance(other, dt.date):
            return -self.sign
        return None

    def __hash__(self) -> int:
        return 0x1F1F1F1F * self.sign

    def __float__(self) -> float:
        return math.inf * self.sign

    def __str__(self) -> str:
        return "infinity" if self.sign > 0 else "-infinity"

    __repr__ = __str__

    def __reduce__(self) -> str:
        return "INFINITY" if self.sign > 0 else "MINUS_INFINITY"     # pickles as the constant


INFINITY = InfiniteDatetime(1)
MINUS_INFINITY = InfiniteDatetime(-1)


class EndOfDay(_SpecialValue):
    """The time 24:00:00, which PostgreSQL's time type has and datetime.time has not: the
    single value `END_OF_DAY`.

    Invariants: later than every datetime.time and equal only to itself. It has the fields a
    naive time has (hour 24, minute, second, microsecond 0, no tzinfo), so code that reads a
    time by its fields (microseconds since midnight: 86,400,000,000; text '24:00:00') needs
    no case for it; code that calls datetime methods on a time must."""

    __slots__ = ()
    hour, minute, second, microsecond, tzinfo = 24, 0, 0, 0, None

    def _rank(self, other: object) -> int | None:
        if other is self:
            return 0
        if isinstance(other, dt.time):
            return -1
        return None

    def __hash__(self) -> int:
        return 0x24002400

    def __str__(self) -> str:
        return "24:00:00"

    def __repr__(self) -> str:
        return "END_OF_DAY"

    def __reduce__(self) -> str:
        return "END_OF_DAY"


END_OF_DAY = EndOfDay()
USECS_PER_DAY = 86_400_000_000


def time_from_micros(micros: int) -> dt.time | EndOfDay:
    """Microseconds since midnight (0..86,400,000,000) -> a time value."""
    if micros == USECS_PER_DAY:
        return END_OF_DAY
    s, us = divmod(micros, 1_000_000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return dt.time(h, m, s, us)


def time_micros(t: dt.time | EndOfDay) -> int:
    """A time value -> microseconds since midnight."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


# ---------------------------------------------------------------- interval


class Interval:
    """PostgreSQL interval: months, days and microseconds, kept apart as PostgreSQL does.

    Comparison and hashing use PostgreSQL's normalisation (1 month = 30 days, 1 day = 24 h),
    so '1 month' = '30 days' is true, as in PostgreSQL.
    """

    __slots__ = ("months", "days", "micros")

    def __init__(self, months: int = 0, days: int = 0, micros: int = 0) -> None:
        self.months = months
        self.days = days
        self.micros = micros

    def _key(self) -> int:
        return (self.months * 30 + self.days) * 86_400_000_000 + self.micros

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interval) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Interval) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Interval) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Interval) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Interval) -> bool:
        return self._key() >= other._key()

    def __neg__(self) -> Interval:
        return Interval(-self.months, -self.days, -self.micros)

    def __add__(self, other: Interval) -> Interval:
        return Interval(self.months + other.months, self.days + other.days, self.micros + other.micros)

    def __sub__(self, other: Interval) -> Interval:
        return Interval(self.months - other.months, self.days - other.days, self.micros - other.micros)

    def __iter__(self):
        return iter((self.months, self.days, self.micros))

    def __repr__(self) -> str:
        return f"Interval({self.months}, {self.days}, {self.micros})"


# ---------------------------------------------------------------- text input


_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def _parse_int(t: SqlType) -> Callable[[str], int]:
    lo, hi = INT_RANGES[t.oid]
    label = _DISPLAY.get(t.name, t.name)

    def parse(text: str) -> int:
        s = text.strip()
        if not _INTEGER_TEXT.fullmatch(s):
            raise invalid_text(label, text)
        v = int(s)
        if not lo <= v <= hi:
            raise SqlError("22003", f'value "{text}" is out of range for type {label}')
        return v

    return parse


def _parse_numeric(text: str) -> Decimal:
    s = text.strip()
    low = s.lower()
    if low in ("nan",):
        return Decimal("NaN")
    if low in ("infinity", "+infinity", "inf", "+inf"):
        return Decimal("Infinity")
    if low in ("-infinity", "-inf"):
        return Decimal("-Infinity")
    if not re.fullmatch(r"[+-]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s):
        raise invalid_text("numeric", text)
    try:
        d = Decimal(s.replace("_", ""))
    except InvalidOperation:
        raise invalid_text("numeric", text) from None
    return scale_at_least_zero(d)


def scale_at_least_zero(d: Decimal) -> Decimal:
    """1E+3 as 1000: numeric values never have a negative display scale (numeric_in reads
    1e3 as 1000, and numeric(3,-2) rounds 12345 to 12300)."""
    sign, digits, exponent = d.as_tuple()
    if isinstance(exponent, int) and exponent > 0:
        return Decimal((sign, digits + (0,) * exponent, 0))
    return d


def _parse_float(t: SqlType) -> Callable[[str], float]:
    label = _DISPLAY[t.name]

    def parse(text: str) -> float:
        s = text.strip().lower()
        if s in ("nan",):
            return math.nan
        if s in ("infinity", "+infinity", "inf", "+inf"):
            return math.inf
        if s in ("-infinity", "-inf"):
            return -math.inf
        try:
            if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?", s):
                raise ValueError
            v = float(s)
        except ValueError:
            raise invalid_text(label, text) from None
        out_of_range = SqlError("22003", f'"{text.strip()}" is out of range for type {label}')
        if math.isinf(v) or (v == 0 and re.search(r"[1-9]", s.partition("e")[0])):
            raise out_of_range                  # overflow, or underflow to zero
        if t is FLOAT4:
            try:
                narrowed = struct.unpack("f", struct.pack("f", v))[0]
            except OverflowError:
                raise out_of_range from None
            if narrowed == 0 and v != 0:
                raise out_of_range
            v = narrowed
        return v

    return parse


_TRUE = {"t", "true", "y", "yes", "on", "1"}
_FALSE = {"f", "false", "n", "no", "off", "0"}


def _parse_bool(text: str) -> bool:
    s = text.strip().lower()
    if s in _TRUE or (len(s) > 1 and any(w.startswith(s) for w in ("true", "yes"))) or s == "on":
        return True
    if s in _FALSE or (len(s) > 1 and any(w.startswith(s) for w in ("false", "no"))) or s in ("of", "off"):
        return False
    raise invalid_text("boolean", text)


_DATE_RE = re.compile(r"(\d{4,})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)")      # year first: 2024-01-05, 2024/1/5, 2024.01.05
_DAY_OF_YEAR_RE = re.compile(r"(\d{4})[-.](\d{3})(?![\d.:-])")              # 1999.008, 2024-001
_MONTH_FIRST_RE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?![\d.:])")  # DateStyle MDY: 01/05/2024, 5.1.24
_TIME_RE = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?")
_ZONE_RE = re.compile(r"(?:(Z)|([+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?)|([A-Za-z][A-Za-z0-9_/+-]*))$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}

# the time zone abbreviations of PostgreSQL's "Default" set that are in everyday use
_ABBREVIATIONS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "ZULU": 0, "WET": 0, "WEST": 3600, "BST": 3600, "CET": 3600,
    "CEST": 7200, "MET": 3600, "MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800, "IST": 7200,
    "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600,
    "PST": -28800, "PDT": -25200, "AKST": -32400, "AKDT": -28800, "HST": -36000, "AST": -14400,
    "ADT": -10800, "NST": -12600, "NDT": -9000, "JST": 32400, "KST": 32400, "HKT": 28800, "SGT": 28800,
    "AWST": 28800, "ACST": 34200, "ACDT": 37800, "AEST": 36000, "AEDT": 39600, "NZST": 43200,
    "NZDT": 46800,
}


def timezone_abbreviation(name: str) -> dt.tzinfo | None:
    """A time zone abbreviation (EST, CEST, ...) as a fixed offset, or None."""
    seconds = _ABBREVIATIONS.get(name.upper())
    if seconds is None:
        return None
    return UTC if seconds == 0 else dt.timezone(dt.timedelta(seconds=seconds))


def _date_part(s: str, label: str, text: str) -> tuple[dt.date, str]:
    m = _DATE_RE.match(s)
    day_of_year = _DAY_OF_YEAR_RE.match(s) if m is None else None
    if m:
        y, mo, d = int(m.group(1)), int(m.group(3)), int(m.group(4))
        rest = s[m.end():]
    elif day_of_year:
        y, n = int(day_of_year.group(1)), int(day_of_year.group(2))
        if not 1 <= n <= 366:
            raise SqlError("22008", f'date/time field value out of range: "{text}"')
        first = dt.date(y, 1, 1) + dt.timedelta(days=n - 1)
        y, mo, d = first.year, first.month, first.day
        rest = s[day_of_year.end():]
    else:
        m2 = _MONTH_FIRST_RE.match(s)
        m3 = re.match(r"(\d{1,2})[- ]([a-z]{3})[a-z]*[- ](\d{4})", s, re.IGNORECASE)
        m4 = re.match(r"([a-z]{3})[a-z]*\.?[- ](\d{1,2}),?[- ](\d{4})", s, re.IGNORECASE)
        m5 = re.match(r"(\d{4})(\d{2})(\d{2})(?!\d)", s)
        m6 = re.match(r"(\d{4})-([a-z]{3})[a-z]*-(\d{1,2})", s, re.IGNORECASE)
        if m2:
            mo, d, y = int(m2.group(1)), int(m2.group(3)), int(m2.group(4))
            if len(m2.group(4)) == 2:
                y += 2000 if y < 70 else 1900
            rest = s[m2.end():]
        elif m3 and m3.group(2).lower() in _MONTHS:
            d, mo, y = int(m3.group(1)), _MONTHS[m3.group(2).lower()], int(m3.group(3))
            rest = s[m3.end():]
        elif m4 and m4.group(1).lower() in _MONTHS:
            mo, d, y = _MONTHS[m4.group(1).lower()], int(m4.group(2)), int(m4.group(3))
            rest = s[m4.end():]
        elif m6 and m6.group(2).lower() in _MONTHS:
            y, mo, d = int(m6.group(1)), _MONTHS[m6.group(2).lower()], int(m6.group(3))
            rest = s[m6.end():]
        elif m5:
            y, mo, d = int(m5.group(1)), int(m5.group(2)), int(m5.group(3))
            rest = s[m5.end():]
        else:
            raise SqlError("22007", f'invalid input syntax for type {label}: "{text}"')
    if re.match(r"\s*(BC|B\.C\.)\b", rest, re.IGNORECASE) or re.search(r"\s(BC|B\.C\.)$", rest, re.IGNORECASE):
        raise SqlError("0A000", "dates before the Christian era (BC) are not supported")
    rest = re.sub(r"(?i)\s*\b(AD|A\.D\.)$", "", rest)
    if not (1 <= mo <= 12 and 1 <= d <= 31) or not 1 <= y <= 9999:
        raise SqlError("22008", f'date/time field value out of range: "{text}"')
    try:
        return dt.date(y, mo, d), rest
    except ValueError:
        raise SqlError("22008", f'date/time field value out of range: "{text}"') from None


def _time_part(s: str, text: str, label: str = "time") -> tuple[dt.time, bool, str]:
    """(time, is 24:00:00 i.e. the next day, rest of the text)."""
    m = _TIME_RE.match(s)
    if not m:
        raise SqlError("22007", f'invalid input syntax for type {label}: "{text}"')
    h, mi = int(m.group(1)), int(m.group(2))
    sec = int(m.group(3) or 0)
    frac = m.group(4) or ""
    micro = round(int((frac + "000000")[:7]) / 10) if frac else 0
    rest = s[m.end():]
    ampm = re.match(r"\s*([ap])\.?m\.?(?![a-z])", rest, re.IGNORECASE)
    if ampm:
        if not 1 <= h <= 12:
            raise SqlError("22008", f'date/time field value out of range: "{text}"')
        h = h % 12 + (12 if ampm.group(1).lower() == "p" else 0)
        rest = rest[ampm.end():]
    if not (0 <= h <= 24 and 0 <= mi < 60 and 0 <= sec < 61):
        raise SqlError("22008", f'date/time field value out of range: "{text}"')
    total = ((h * 60 + mi) * 60 + min(sec, 60)) * 1_000_000 + micro
    if total > 86_400_000_000:
        raise SqlError("22008", f'date/time field value out of range: "{text}"')
    if total == 86_400_000_000:
        return dt.time(0), True, rest
    s_, us = divmod(total, 1_000_000)
    m_, s_ = divmod(s_, 60)
    h_, m_ = divmod(m_, 60)
    return dt.time(h_, m_, s_, us), False, rest


def _zone(text: str, whole: str, label: str) -> dt.tzinfo:
    """A time zone written in a date/time literal: Z, ±hh[:mm[:ss]], an abbreviation or a name."""
    z = text.strip()
    if z.upper() in ("Z", "ZULU"):
        return UTC
    if z[:1] in "+-":
        sign = -1 if z[0] == "-" else 1
        digits = z[1:].replace(":", "")
        if not digits.isdigit() or len(digits) > 6:
            raise SqlError("22007", f'invalid input syntax for type {label}: "{whole}"')
        if len(digits) <= 2:
            h, m, sec = int(digits), 0, 0
        elif len(digits) <= 4:
            h, m, sec = int(digits[:-2]), int(digits[-2:]), 0
        else:
            h, m, sec = int(digits[:-4]), int(digits[-4:-2]), int(digits[-2:])
        if h > 15 or m > 59 or sec > 59:
            raise SqlError("22008", f'time zone displacement out of range: "{whole}"')
        return dt.timezone(sign * dt.timedelta(hours=h, minutes=m, seconds=sec))
    abbreviation = timezone_abbreviation(z)
    if abbreviation is not None:
        return abbreviation
    try:
        return ZoneInfo(z)
    except (ZoneInfoNotFoundError, ValueError):
        raise SqlError("22023", f'time zone "{z}" not recognized') if "/" in z else \
            SqlError("22007", f'invalid input syntax for type {label}: "{whole}"') from None


def _split_zone(rest: str) -> tuple[str, str]:
    """Separate a trailing time zone from the time text: (time text, zone text)."""
    rest = rest.strip()
    m = re.search(r"(?:(?<=\d)|\s)(Z|[+-]\d{1,2}(?::?\d{2}){0,2}|[A-Za-z][A-Za-z0-9_/+-]*)$", rest)
    if m is None or m.start(1) == 0 and _TIME_RE.match(rest):
        return rest, ""
    if re.fullmatch(r"[ap]\.?m\.?", m.group(1), re.IGNORECASE):
        return rest, ""
    return rest[:m.start(1)].strip(), m.group(1)


def parse_timestamp(text: str, with_tz: bool, session_tz: dt.tzinfo) -> dt.datetime | InfiniteDatetime:
    label = "timestamp with time zone" if with_tz else "timestamp without time zone"
    s = text.strip()
    low = s.lower()
    if low in _INFINITIES:
        return _INFINITIES[low]
    special = _special_timestamp(low, session_tz)
    if special is not None:
        return special.astimezone(UTC) if with_tz else special.replace(tzinfo=None)
    d, rest = _date_part(s, label, text)
    rest = rest.strip()
    if rest[:1] in ("T", "t") and rest[1:2].isdigit():
        rest = rest[1:]
    time_text, zone_text = _split_zone(rest)
    t = dt.time(0)
    next_day = False
    if time_text:
        t, next_day, tail = _time_part(time_text, text, label)
        if tail.strip():
            raise SqlError("22007", f'invalid input syntax for type {label}: "{text}"')
    value = dt.datetime.combine(d, t)
    if next_day:
        value += dt.timedelta(days=1)
    tzinfo = _zone(zone_text, text, label) if zone_text else None
    if not with_tz:
        return value
    if tzinfo is None:
        tzinfo = session_tz
    aware = value.replace(tzinfo=tzinfo)
    if isinstance(tzinfo, ZoneInfo):
        back = aware.astimezone(UTC).astimezone(tzinfo).replace(tzinfo=None)
        if back != value:   # a wall-clock time skipped by a DST change: PostgreSQL uses the earlier offset
            before = (value - dt.timedelta(hours=3)).replace(tzinfo=tzinfo).utcoffset()
            return (value - before).replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _special_timestamp(low: str, session_tz: dt.tzinfo) -> dt.datetime | None:
    if low == "epoch":
        return dt.datetime(1970, 1, 1, tzinfo=UTC)
    if low in ("now", "today", "tomorrow", "yesterday"):
        now = dt.datetime.now(UTC).astimezone(session_tz)
        if low == "now":
            return now
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return day + dt.timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[low])
    return None


_INFINITIES = {"infinity": INFINITY, "-infinity": MINUS_INFINITY}


def parse_date(text: str, session_tz: dt.tzinfo = UTC) -> dt.date | InfiniteDatetime:
    s = text.strip()
    low = s.lower()
    if low in _INFINITIES:
        return _INFINITIES[low]
    special = _special_timestamp(low, session_tz)
    if special is not None:
        return special.date()
    d, rest = _date_part(s, "date", text)
    rest = rest.strip()
    if rest[:1] in ("T", "t") and rest[1:2].isdigit():
        rest = rest[1:]
    if rest:
        # "2020-02-11 +00" (the JDBC driver's setDate): a zone right after the date
        time_text, zone_text = ("", rest) if rest[:1] in "+-" else _split_zone(rest)
        if time_text:
            _time_part(time_text, text, "date")
        if zone_text:
            _zone(zone_text, text, "date")
    return d


def parse_time(text: str) -> dt.time | EndOfDay:
    s = text.strip()
    if s.lower() == "allballs":
        return dt.time(0)
    m = re.match(r"\d{4}-\d{1,2}-\d{1,2}[ T]", s)
    if m:
        s = s[m.end():]
    time_text, zone_text = _split_zone(s)
    t, next_day, rest = _time_part(time_text, text, "time without time zone")
    if next_day:
        t = END_OF_DAY
    if rest.strip():
        raise SqlError("22007", f'invalid input syntax for type time without time zone: "{text}"')
    if zone_text:
        _zone(zone_text, text, "time without time zone")
    return t


def parse_timetz(text: str, session_tz: dt.tzinfo = UTC) -> dt.time:
    s = text.strip()
    time_text, zone_text = _split_zone(s)
    t, next_day, rest = _time_part(time_text, text, "time with time zone")
    if rest.strip() or next_day:
        raise SqlError("22007", f'invalid input syntax for type time with time zone: "{text}"')
    tz = _zone(zone_text, text, "time with time zone") if zone_text else session_tz
    offset = dt.datetime.combine(dt.date.today(), t, tzinfo=tz).utcoffset() or dt.timedelta(0)
    return t.replace(tzinfo=dt.timezone(offset))


# interval units: (field, multiplier); field "mon" counts months, "day" days, "us" microseconds
_INTERVAL_UNITS = {}
for _names, _field, _factor, _kind in (
        ("microsecond microseconds us usec usecs usecond useconds", "us", 1, "us"),
        ("millisecond milliseconds ms msec msecs msecond mseconds", "us", 1000, "ms"),
        ("second seconds sec secs s", "us", 1_000_000, "second"),
        ("minute minutes min mins m", "us", 60_000_000, "minute"),
        ("hour hours hr hrs h", "us", 3_600_000_000, "hour"),
        ("day days d", "day", 1, "day"),
        ("week weeks w", "day", 7, "week"),
        ("month months mon mons", "mon", 1, "month"),
        ("year years y yr yrs", "mon", 12, "year"),
        ("decade decades dec decs", "mon", 120, "decade"),
        ("century centuries c cent", "mon", 1200, "century"),
        ("millennium millennia mil mils millenniums", "mon", 12000, "millennium")):
    for _n in _names.split():
        _INTERVAL_UNITS[_n] = (_field, _factor, _kind)

_INTERVAL_SCAN = re.compile(
    r"\s*(?:(?P<time>[+-]?\d+:\d+(?::\d+)?(?:\.\d*)?)"
    r"|(?P<ym>[+-]?\d+-\d+)(?![\d:])"
    r"|(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?P<unit>[a-z]+)?"
    r"|(?P<word>[a-z]+))", re.IGNORECASE)


def parse_interval(text: str) -> Interval:
    """Interval input as PostgreSQL's DecodeInterval reads it (postgres, SQL standard and
    ISO 8601 forms): each field carries its own sign, fractions cascade to smaller units."""
    s = text.strip().lower()
    bad = SqlError("22007", f'invalid input syntax for type interval: "{text}"')
    if s.startswith("@"):
        s = s[1:].strip()
    if s.startswith("p"):
        return _parse_iso_interval(s, text)
    if re.search(r"\d-\d+-", s):
        raise bad                               # a date (2024-01-05) is no year-month field
    months = days = 0
    micros = 0.0
    seen: set[str] = set()
    ago = False
    pos = 0
    pending_days: int | None = None

    def use(kind: str) -> None:
        if kind in seen:
            raise bad
        seen.add(kind)

    while pos < len(s):
        m = _INTERVAL_SCAN.match(s, pos)
        if m is None or m.end() == pos:
            if s[pos:].strip() == "":
                break
            raise bad
        pos = m.end()
        if m.group("time"):
            for kind in ("hour", "minute", "second"):
                use(kind)
            field = m.group("time")
            sign = -1 if field.startswith("-") else 1
            parts = field.lstrip("+-").split(":")
            if len(parts) == 2 and "." in parts[1]:
                value = int(parts[0]) * 60_000_000 + float(parts[1]) * 1_000_000
            else:
                value = int(parts[0]) * 3_600_000_000 + int(parts[1].split(".")[0]) * 60_000_000
                if len(parts) == 3:
                    value += float(parts[2]) * 1_000_000
            micros += sign * value
            if pending_days is not None:
                use("day")
                days += pending_days
                pending_days = None
            continue
        if m.group("ym"):
            use("year")
            use("month")
            field = m.group("ym")
            sign = -1 if field.startswith("-") else 1
            y, mo = field.lstrip("+-").split("-")
            months += sign * (int(y) * 12 + int(mo))
            continue
        if m.group("word"):
            if m.group("word") == "ago" and s[pos:].strip() == "":
                ago = True
                continue
            raise bad
        if pending_days is not None:
            use("second")
            micros += pending_days * 1_000_000
            pending_days = None
        number_text = m.group("num")
        unit = m.group("unit")
        if unit is None:
            if "." in number_text:
                use("second")
                micros += float(number_text) * 1_000_000
            else:
                pending_days = int(number_text)
            continue
        if unit not in _INTERVAL_UNITS:
            if unit == "ago" and s[pos:].strip() == "":
                use("second")
                micros += float(number_text) * 1_000_000
                ago = True
                continue
            raise bad
        field, factor, kind = _INTERVAL_UNITS[unit]
        use(kind)
        whole_text, _, frac_text = number_text.partition(".")
        sign = -1 if number_text.startswith("-") else 1
        whole = int(whole_text) if whole_text.lstrip("+-") else 0
        frac = sign * float("0." + frac_text) if frac_text else 0.0
        if field == "mon":
            months += whole * factor
            if factor >= 12:
                months += round(frac * factor)
            else:
                frac_days = frac * 30
                days += int(frac_days)
                micros += (frac_days - int(frac_days)) * 86_400_000_000
        elif field == "day":
            days += whole * factor
            frac_days = frac * factor
            days += int(frac_days)
            micros += (frac_days - int(frac_days)) * 86_400_000_000
        else:
            micros += (whole + frac) * factor
    if pending_days is not None:
        use("second")
        micros += pending_days * 1_000_000
    if not seen:
        raise bad
    result = Interval(months, days, int(round(micros)))
    return -result if ago else result


def _parse_iso_interval(s: str, text: str) -> Interval:
    m = re.fullmatch(r"p(?:([\d.]+)y)?(?:([\d.]+)m)?(?:([\d.]+)w)?(?:([\d.]+)d)?(?:t(?:([\d.]+)h)?(?:([\d.]+)m)?(?:([\d.]+)s)?)?", s)
    if not m or s in ("p", "pt"):
        raise SqlError("22007", f'invalid input syntax for type interval: "{text}"')
    y, mo, w, d, h, mi, sec = (float(g) if g else 0.0 for g in m.groups())
    months_f = y * 12 + mo
    months = int(months_f)
    days_f = w * 7 + d + (months_f - months) * 30
    days = int(days_f)
    micros = int(round(((days_f - days) * 86400 + h * 3600 + mi * 60 + sec) * 1_000_000))
    return Interval(months, days, micros)


def _parse_bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        digits = "".join(text[2:].split())
        if len(digits) % 2:
            raise SqlError("22023", "invalid hexadecimal data: odd number of digits")
        bad = next((c for c in digits if c not in "0123456789abcdefABCDEF"), None)
        if bad is not None:
            raise SqlError("22023", f'invalid hexadecimal digit: "{bad}"')
        return bytes.fromhex(digits)
    return parse_bytea_escape(text)


def parse_bytea_escape(text: str) -> bytes:
    r"""bytea's escape format: \\ is a backslash, \ooo an octal byte, anything else itself."""
    out = bytearray()
    i = 0
    raw = text.encode()
    while i < len(raw):
        c = raw[i]
        if c == 0x5C:
            if raw[i + 1:i + 2] == b"\\":
                out.append(0x5C)
                i += 2
            elif re.fullmatch(rb"[0-3][0-7]{2}", raw[i + 1:i + 4] or b""):
                out.append(int(raw[i + 1:i + 4], 8))
                i += 4
            else:
                raise SqlError("22P02", "invalid input syntax for type bytea")
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _parse_uuid(text: str) -> uuid.UUID:
    try:
        s = text.strip()
        if s.startswith("{") and s.endswith("}"):
            s = s[1:-1]
        if len(s.replace("-", "")) != 32:
            raise ValueError
        return uuid.UUID(s)
    except ValueError:
        raise invalid_text("uuid", text) from None


def canonical_jsonb(value: Any) -> str:
    """jsonb's output form: keys sorted by (length, bytes), ', ' and ': ' separators."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {canonical_jsonb(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(canonical_jsonb(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return "0" if value == 0 and value.is_signed() and value.as_tuple().exponent == 0 else format(value, "f")
    if isinstance(value, float):
        return _format_json_number(value)
    return json.dumps(value, ensure_ascii=False)


def _format_json_number(v: float) -> str:
    return format(Decimal(repr(v)), "f") if abs(v) < 1e16 else repr(v)


def parse_json_text(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise SqlError("22P02", "invalid input syntax for type json", detail=f"Token \"{text[:40]}\" is invalid.") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _parse_jsonb(text: str) -> str:
    return canonical_jsonb(parse_json_text(text))


def _parse_json(text: str) -> str:
    parse_json_text(text)
    return text


def _parse_varchar(t: SqlType) -> Callable[[str], str]:
    return lambda text: text


def parse_text(t: SqlType, text: str, session_tz: dt.tzinfo = UTC) -> Any:
    """Convert the text form of a value to its in-memory value, as the type's input function."""
    return text_parser(t, session_tz)(text)


def text_parser(t: SqlType, session_tz: dt.tzinfo = UTC) -> Callable[[str], Any]:
    oid = t.oid
    if t.element is not None:
        element_parser = text_parser(t.element, session_tz)
        return lambda text: parse_array_text(text, element_parser, t.element)
    if oid in INT_RANGES:
        return _parse_int(t)
    if oid in REG_TYPES:
        return _parse_int(OID)
    if oid == NUMERIC.oid:
        return _parse_numeric
    if oid in (FLOAT4.oid, FLOAT8.oid):
        return _parse_float(t)
    if oid == BOOL.oid:
        return _parse_bool
    if oid in STRING_TYPES or oid == UNKNOWN.oid:
        return lambda text: text
    if oid == CHAR.oid:
        return lambda text: text[:1]          # "char" keeps the first character
    if oid == DATE.oid:
        return lambda text: parse_date(text, session_tz)
    if oid == TIME.oid:
        return parse_time
    if oid == TIMETZ.oid:
        return lambda text: parse_timetz(text, session_tz)
    if oid == TIMESTAMP.oid:
        return lambda text: parse_timestamp(text, False, session_tz)
    if oid == TIMESTAMPTZ.oid:
        return lambda text: parse_timestamp(text, True, session_tz)
    if oid == INTERVAL.oid:
        return parse_interval
    if oid == BYTEA.oid:
        return _parse_bytea
    if oid == UUID.oid:
        return _parse_uuid
    if oid == JSONB.oid:
        return _parse_jsonb
    if oid == JSON.oid:
        return _parse_json
    if t.fields is not None and oid != RECORD.oid:
        field_parsers = tuple(text_parser(ft, session_tz) for _, ft in t.fields)
        return lambda text: tuple(None if f is None else parse(f)
                                  for parse, f in zip(field_parsers, parse_record_text(text, len(field_parsers))))
    if oid == RECORD.oid:
        raise SqlError("0A000", "input of anonymous composite types is not implemented")
    raise SqlError("0A000", f"input of type {format_type(t)} is not supported")


def parse_record_text(text: str, width: int) -> list[str | None]:
    """A row value's text form, (1,"a b",), split into its `width` field texts (None: NULL),
    with record_in's rules: an empty unquoted field is NULL, "" quotes and \\ escapes."""
    def malformed(detail: str) -> SqlError:
        return SqlError("22P02", f'malformed record literal: "{text}"', detail=detail)
    i, n = 0, len(text)
    while i < n and text[i].isspace():
        i += 1
    if i >= n or text[i] != "(":
        raise malformed("Missing left parenthesis.")
    i += 1
    fields: list[str | None] = []
    while True:
        if len(fields) == width:
            raise malformed("Too many columns.")
        chars: list[str] = []
        quoted = False
        in_quotes = False
        while True:
            if i >= n:
                raise malformed("Unexpected end of input.")
            c = text[i]
            if in_quotes:
                if c == "\\" and i + 1 < n:
                    chars.append(text[i + 1])
                    i += 2
                    continue
                if c == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        chars.append('"')
                        i += 2
                        continue
                    in_quotes = False
                else:
                    chars.append(c)
                i += 1
                continue
            if c in ",)":
                break
            if c == '"':
                in_quotes = quoted = True
            elif c == "\\" and i + 1 < n:
                chars.append(text[i + 1])
                i += 1
            else:
                chars.append(c)
            i += 1
        fields.append("".join(chars) if chars or quoted else None)
        i += 1
        if text[i - 1] == ")":
            break
    if len(fields) < width:
        raise malformed("Too few columns.")
    if text[i:].strip():
        raise malformed("Junk after right parenthesis.")
    return fields


def parse_array_text(text: str, element_parser: Callable[[str], Any], element: SqlType) -> tuple:
    s = text.strip()
    if s.startswith("["):
        if "=" not in s:
            raise SqlError("22P02", f'malformed array literal: "{text}"',
                           detail='"[" must introduce explicitly-specified array dimensions.')
        s = s[s.index("=") + 1:].strip()
    if not s.startswith("{"):
        raise SqlError("22P02", f'malformed array literal: "{text}"', detail='Array value must start with "{" or dimension information.')
    pos = 0

    def parse_level() -> tuple:
        nonlocal pos
        assert s[pos] == "{"
        pos += 1
        items: list[Any] = []
        while True:
            while pos < len(s) and s[pos].isspace():
                pos += 1
            if pos >= len(s):
                raise SqlError("22P02", f'malformed array literal: "{text}"')
            c = s[pos]
            if c == "}" and not items:
                pos += 1
                return tuple(items)
            if c == "{":
                items.append(parse_level())
            elif c == '"':
                pos += 1
                buf = []
                while pos < len(s) and s[pos] != '"':
                    if s[pos] == "\\":
                        pos += 1
                    buf.append(s[pos])
                    pos += 1
                pos += 1
                items.append(element_parser("".join(buf)))
            else:
                start = pos
                while pos < len(s) and s[pos] not in ",}":
                    pos += 1
                raw = s[start:pos].strip()
                if not raw:
                    raise SqlError("22P02", f'malformed array literal: "{text}"')
                items.append(None if raw.upper() == "NULL" else element_parser(raw))
            while pos < len(s) and s[pos].isspace():
                pos += 1
            if pos >= len(s):
                raise SqlError("22P02", f'malformed array literal: "{text}"')
            if s[pos] == ",":
                pos += 1
                continue
            if s[pos] == "}":
                pos += 1
                return tuple(items)
            raise SqlError("22P02", f'malformed array literal: "{text}"')

    value = parse_level()
    if s[pos:].strip():
        raise SqlError("22P02", f'malformed array literal: "{text}"', detail="Junk after closing right brace.")
    if not _rectangular(value):
        raise SqlError("22P02", f'malformed array literal: "{text}"',
                       detail="Multidimensional arrays must have sub-arrays with matching dimensions.")
    return value


def _rectangular(value: tuple) -> bool:
    """Whether every sub-array of each dimension has the same length (and nesting)."""
    subs = [x for x in value if isinstance(x, tuple)]
    if not subs:
        return True
    if len(subs) != len(value) or len({len(x) for x in subs}) != 1:
        return False
    return all(_rectangular(x) for x in subs) and len({_depth(x) for x in subs}) == 1


def _depth(value: Any) -> int:
    return 1 + _depth(value[0]) if isinstance(value, tuple) and value else (1 if isinstance(value, tuple) else 0)


# ---------------------------------------------------------------- text output


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """The session settings that change how values print."""

    timezone: dt.tzinfo = UTC
    extra_float_digits: int = 1
    bytea_output: str = "hex"
    interval_style: str = "postgres"


def format_float8(v: float, extra_float_digits: int = 1) -> str:
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "Infinity" if v > 0 else "-Infinity"
    if extra_float_digits <= 0:
        r = f"{v:.{15 + extra_float_digits}g}"
        return _pg_float_style(r, 15 + extra_float_digits)
    return _pg_float_style(repr(v), 15)


def format_float4(v: float, extra_float_digits: int = 1) -> str:
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "Infinity" if v > 0 else "-Infinity"
    if extra_float_digits <= 0:
        return _pg_float_style(f"{v:.{6 + extra_float_digits}g}", 6 + extra_float_digits)
    for digits in range(1, 10):
        r = f"{v:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(r)))[0] == v and not _float4_tie(r, v):
            return _pg_float_style(r, 6)
    return _pg_float_style(f"{v:.9g}", 6)


def _float4_tie(r: str, v: float) -> bool:
    """Whether the decimal r lies exactly halfway between float4 v and its neighbour: it reads
    back as v (ties to even), but PostgreSQL's shortest output does not take such a bound."""
    d = float(r)
    if d == v or v == 0:
        return False
    bits = struct.unpack("<i", struct.pack("<f", v))[0]
    neighbour = struct.unpack("<f", struct.pack("<i", bits + (1 if (d > v) == (v > 0) else -1)))[0]
    return d == (v + neighbour) / 2 and Decimal(r) == Decimal(d)


def _pg_float_style(r: str, fixed_limit: int) -> str:
    """Render shortest digits the way PostgreSQL does: fixed for -4 <= exponent < limit."""
    if r in ("0", "-0", "0.0", "-0.0"):
        return r.removesuffix(".0")
    mantissa, _, exp = r.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    mantissa = mantissa.lstrip("-")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    exponent = int(exp or 0) + len(int_part) - 1
    if int_part.strip("0") == "":
        lead = len(frac_part) - len(frac_part.lstrip("0"))
        exponent = int(exp or 0) - lead - 1
    digits = digits.rstrip("0") or "0"
    if -4 <= exponent < fixed_limit:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            frac = digits[exponent + 1:]
        else:
            whole = "0"
            frac = "0" * (-exponent - 1) + digits
        return sign + whole + ("." + frac if frac else "")
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def format_numeric(v: Decimal) -> str:
    if v.is_nan():
        return "NaN"
    if v.is_infinite():
        return "Infinity" if v > 0 else "-Infinity"
    if v.is_signed() and v.is_zero():
        v = v.copy_abs()                 # numeric has no negative zero
    return format(v, "f")


def format_date(v: dt.date | InfiniteDatetime) -> str:
    if v.__class__ is InfiniteDatetime:
        return str(v)
    return v.isoformat() if v.year >= 1000 else f"{v.year:04d}-{v.month:02d}-{v.day:02d}"


def format_timestamp(v: dt.datetime | InfiniteDatetime) -> str:
    if v.__class__ is InfiniteDatetime:
        return str(v)
    s = v.strftime("%Y-%m-%d %H:%M:%S") if v.year >= 1000 else f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        s += f".{v.microsecond:06d}".rstrip("0")
    return s


def format_timestamptz(v: dt.datetime | InfiniteDatetime, tz: dt.tzinfo) -> str:
    if v.__class__ is InfiniteDatetime:
        return str(v)
    local = v.astimezone(tz)
    offset = local.utcoffset() or dt.timedelta(0)
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    h, rem = divmod(total, 3600)
    m, sec = divmod(rem, 60)
    zone = f"{sign}{h:02d}" + (f":{m:02d}" if m or sec else "") + (f":{sec:02d}" if sec else "")
    return format_timestamp(local.replace(tzinfo=None)) + zone


def format_time(v: dt.time | EndOfDay) -> str:
    s = f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        s += f".{v.microsecond:06d}".rstrip("0")
    return s


def format_interval(v: Interval) -> str:
    """IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.5", each part signed on its own."""
    years = abs(v.months) // 12 * (1 if v.months >= 0 else -1)
    months = v.months - years * 12
    parts: list[str] = []
    previous_negative = False
    for value, unit in ((years, "year"), (months, "mon"), (v.days, "day")):
        if value == 0:
            continue
        plus = "+" if parts and previous_negative and value > 0 else ""
        parts.append(f"{plus}{value} {unit}{'' if value == 1 else 's'}")
        previous_negative = value < 0
    if not parts or v.micros:
        micros = abs(v.micros)
        h, rem = divmod(micros, 3_600_000_000)
        m, rem = divmod(rem, 60_000_000)
        sec, us = divmod(rem, 1_000_000)
        sign = "-" if v.micros < 0 else ("+" if parts and previous_negative else "")
        t = f"{sign}{h:02d}:{m:02d}:{sec:02d}"
        if us:
            t += f".{us:06d}".rstrip("0")
        parts.append(t)
    return " ".join(parts)


def _interval_fields(v: Interval) -> tuple[int, int, int, int, int, int, int]:
    """(years, months, days, hours, minutes, seconds, microseconds), each with the sign of the
    part it comes from (months, days or time), as PostgreSQL's interval2itm splits them."""
    def split(value: int, unit: int) -> tuple[int, int]:
        q = abs(value) // unit
        return (q, abs(value) - q * unit) if value >= 0 else (-q, -(abs(value) - q * unit))
    years, months = split(v.months, 12)
    hours, rest = split(v.micros, 3_600_000_000)
    minutes, rest = split(rest, 60_000_000)
    seconds, micros = split(rest, 1_000_000)
    return years, months, v.days, hours, minutes, seconds, micros


def _seconds_text(seconds: int, micros: int, zero_padded: bool) -> str:
    text = f"{abs(seconds):02d}" if zero_padded else str(abs(seconds))
    return text + (f".{abs(micros):06d}".rstrip("0") if micros else "")


def format_interval_style(v: Interval, style: str) -> str:
    """IntervalStyle sql_standard, iso_8601 and postgres_verbose (PostgreSQL's EncodeInterval)."""
    year, mon, mday, hour, minute, sec, fsec = _interval_fields(v)
    fields = (year, mon, mday, hour, minute, sec, fsec)
    if style == "iso_8601":
        if not any(fields):
            return "PT0S"
        out = "P" + "".join(f"{n}{u}" for n, u in ((year, "Y"), (mon, "M"), (mday, "D")) if n)
        if hour or minute or sec or fsec:
            out += "T" + "".join(f"{n}{u}" for n, u in ((hour, "H"), (minute, "M")) if n)
            if sec or fsec:
                out += ("-" if sec < 0 or fsec < 0 else "") + _seconds_text(sec, fsec, False) + "S"
        return out
    if style == "sql_standard":
        negative = any(n < 0 for n in fields)
        positive = any(n > 0 for n in fields)
        year_month, day_time = bool(year or mon), bool(mday or hour or minute or sec or fsec)
        standard = not (negative and positive) and not (year_month and day_time)
        if not negative and not positive:
            return "0"
        if not standard:
            year_sign = "-" if year < 0 or mon < 0 else "+"
            day_sign = "-" if mday < 0 else "+"
            sec_sign = "-" if hour < 0 or minute < 0 or sec < 0 or fsec < 0 else "+"
            return (f"{year_sign}{abs(year)}-{abs(mon)} {day_sign}{abs(mday)} "
                    f"{sec_sign}{abs(hour)}:{abs(minute):02d}:{_seconds_text(sec, fsec, True)}")
        sign = "-" if negative else ""
        if year_month:
            return f"{sign}{abs(year)}-{abs(mon)}"
        clock = f"{abs(hour)}:{abs(minute):02d}:{_seconds_text(sec, fsec, True)}"
        return f"{sign}{abs(mday)} {clock}" if mday else sign + clock
    # postgres_verbose
    out = "@"
    is_zero, is_negative = True, False
    for value, unit in ((year, "year"), (mon, "mon"), (mday, "day"), (hour, "hour"), (minute, "min")):
        if value == 0:
            continue
        if is_zero:
            is_negative, value = value < 0, abs(value)
        elif is_negative:
            value = -value
        out += f" {value} {unit}{'' if value == 1 else 's'}"
        is_zero = False
    if sec or fsec:
        out += " "
        if sec < 0 or (sec == 0 and fsec < 0):
            if is_zero:
                is_negative = True
            elif not is_negative:
                out += "-"
        elif is_negative:
            out += "-"
        out += _seconds_text(sec, fsec, False) + (" sec" if abs(sec) == 1 and not fsec else " secs")
        is_zero = False
    if is_zero:
        out += " 0"
    return out + (" ago" if is_negative else "")


def format_timetz(v: dt.time) -> str:
    offset = v.utcoffset() or dt.timedelta(0)
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    h, rem = divmod(abs(total), 3600)
    m, sec = divmod(rem, 60)
    zone = f"{sign}{h:02d}" + (f":{m:02d}" if m or sec else "") + (f":{sec:02d}" if sec else "")
    return format_time(v) + zone


def format_bytea(v: bytes) -> str:
    return "\\x" + v.hex()


def format_bytea_escape(v: bytes) -> str:
    """bytea_output = escape: printable ASCII as itself, \\\\ for a backslash, \\ooo otherwise."""
    out = []
    for b in v:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def format_record(v: tuple, formatters: tuple[Callable[[Any], str], ...] | None = None) -> str:
    """A row value's text form, (1,"a b",), each field by its type's output function
    (`formatters`, when the fields' types are known) or in its natural text form."""
    def field(x: Any, i: int) -> str:
        if x is None:
            return ""
        if formatters is not None:
            s = formatters[i](x)
        elif isinstance(x, bool):
            s = "t" if x else "f"
        elif isinstance(x, float):
            s = format_float8(x)
        elif isinstance(x, Decimal):
            s = format_numeric(x)
        elif isinstance(x, tuple):
            s = format_record(x)
        else:
            s = str(x)
        if s == "" or any(c in s for c in '(),"\\ \t\n'):
            return '"' + s.replace("\\", "\\\\").replace('"', '""') + '"'
        return s
    return "(" + ",".join(field(x, i) for i, x in enumerate(v)) + ")"


def format_bool(v: bool) -> str:
    return "t" if v else "f"


def format_array(v: tuple, element_formatter: Callable[[Any], str], element: SqlType) -> str:
    delim = ","

    def fmt(item: Any) -> str:
        if item is None:
            return "NULL"
        if isinstance(item, tuple) and element.fields is None and element.oid not in (INT2VECTOR.oid, RECORD.oid):   # records are tuples too
            return "{" + delim.join(fmt(x) for x in item) + "}"
        s = element_formatter(item)
        if s == "" or s.upper() == "NULL" or any(c in s for c in '{},"\\ \t\n\r\v\f'):
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return s

    return "{" + delim.join(fmt(x) for x in v) + "}"


def text_formatter(t: SqlType, settings: OutputSettings = OutputSettings()) -> Callable[[Any], str]:
    """The type's output function for these session settings: non-NULL value -> text."""
    oid = t.oid
    if t.element is not None:
        element_format = text_formatter(t.element, settings)
        return lambda v: format_array(v, element_format, t.element)
    if oid in INT_RANGES or oid in REG_TYPES:
        return str
    if oid in STRING_TYPES or oid in (UNKNOWN.oid, JSON.oid, JSONB.oid, CHAR.oid, ACLITEM.oid, PG_NODE_TREE.oid, CSTRING.oid):
        return str
    if oid == BOOL.oid:
        return format_bool
    if oid == NUMERIC.oid:
        return format_numeric
    if oid == FLOAT8.oid:
        efd = settings.extra_float_digits
        return lambda v: format_float8(v, efd)
    if oid == FLOAT4.oid:
        efd = settings.extra_float_digits
        return lambda v: format_float4(v, efd)
    if oid == DATE.oid:
        return format_date
    if oid == TIMESTAMP.oid:
        return format_timestamp
    if oid == TIMESTAMPTZ.oid:
        tz = settings.timezone
        return lambda v: format_timestamptz(v, tz)
    if oid == TIME.oid:
        return format_time
    if oid == TIMETZ.oid:
        return format_timetz
    if oid == INTERVAL.oid:
        if settings.interval_style == "postgres":
            return format_interval
        style = settings.interval_style
        return lambda v: format_interval_style(v, style)
    if oid == BYTEA.oid:
        return format_bytea_escape if settings.bytea_output == "escape" else format_bytea
    if t.fields is not None:
        formatters = tuple(text_formatter(ft, settings) for _, ft in t.fields)
        return lambda v: format_record(v, formatters)
    if oid == RECORD.oid:
        return format_record
    if oid == UUID.oid:
        return str
    if oid in (INT2VECTOR.oid, OIDVECTOR.oid):
        return lambda v: " ".join(str(x) for x in v)
    if oid == VOID.oid:
        return lambda v: ""
    return str


def timezone_named(name: str) -> dt.tzinfo:
    """A session TimeZone setting -> tzinfo (IANA names, UTC aliases, fixed offsets)."""
    n = name.strip()
    if n.upper() in ("UTC", "GMT", "Z", "ETC/UTC", "UCT", "ZULU", "UNIVERSAL"):
        return ZoneInfo("UTC") if n.upper() != "ETC/UTC" else ZoneInfo("Etc/UTC")
    if re.fullmatch(r"[+-]?\d{1,2}(:\d{2})?", n):
        # POSIX-style numeric zones: PostgreSQL treats "+5" as 5 hours WEST of Greenwich? No:
        # a bare number in SET TIME ZONE is hours EAST of UTC.
        sign = -1 if n.startswith("-") else 1
        hh, _, mm = n.lstrip("+-").partition(":")
        return dt.timezone(sign * dt.timedelta(hours=int(hh), minutes=int(mm or 0)))
    try:
        return ZoneInfo(n)
    except (ZoneInfoNotFoundError, ValueError):
        raise SqlError("22023", f'invalid value for parameter "TimeZone": "{name}"') from None
