"""The event model: what one committed transaction says happened, and its byte encoding.

A log record's payload is one `Transaction`: who committed it and an ordered list of
past-tense events. Schema events carry catalog definitions; row events name the row by its
table id and row id (a per-table number assigned at insert that never changes, so updates
of the primary key and schema changes replay correctly).

Row values travel in their storage form: msgpack-native values, converted per column type
by `RowCodec` (numeric as text, dates as ordinal days, timestamps as microseconds since
1970, times as microseconds since midnight, ...). The values Python's datetime lacks use
numbers no real value can have, so every log written before them decodes as it did:
'infinity' / '-infinity' are INT32 max / min as a date and INT64 max / min as a timestamp
(as in PostgreSQL's binary form), and time 24:00:00 is 86,400,000,000 microseconds.
Encoding is msgspec msgpack; decoding is typed, so a payload either decodes into these
structs or fails loudly.
"""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Callable, Union

import msgspec

from engine.catalog.model import ColumnDef, IndexDef, RoleDef, SequenceDef, TableDef, ViewDef
from engine.types import (DATE, INFINITY, INTERVAL, MINUS_INFINITY, NUMERIC, TIME, TIMESTAMP, TIMESTAMPTZ, UTC, UUID,
                          InfiniteDatetime, Interval, SqlType, time_from_micros, time_micros)


class Event(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Base of every event. Events form no reference cycles, so the cyclic garbage collector
    need not track them (gc=False): cheaper to make, a million at a time in replay."""


# -------------------------------------------------------------------- schema events

class SchemaCreated(Event):
    name: str


class SchemaDropped(Event):
    name: str


class TableCreated(Event):
    table: TableDef


class TableDropped(Event):
    table_id: int


class TableRenamed(Event):
    table_id: int
    name: str
    schema: str | None = None


class ColumnAdded(Event):
    table_id: int
    column: ColumnDef
    fill: Any = None                 # storage-form value every existing row gets


class ColumnDropped(Event):
    table_id: int
    slot: int


class ColumnRenamed(Event):
    table_id: int
    slot: int
    name: str


class ColumnAltered(Event):
    """A column's definition changed (type, default, NOT NULL, identity, comment).

    When the type changes the column moves to a new slot whose values were converted; the
    converted values come as RowUpdated events in the same transaction."""
    table_id: int
    slot: int
    column: ColumnDef


class TableAltered(Event):
    """Constraints or the table comment changed; carries the new table definition."""
    table: TableDef


class IndexCreated(Event):
    index: IndexDef


class IndexDropped(Event):
    index_id: int


class SequenceCreated(Event):
    sequence: SequenceDef


class SequenceDropped(Event):
    seq_id: int


class SequenceAltered(Event):
    sequence: SequenceDef


class SequenceAdvanced(Event):
    """nextval handed out values up to `value` (the sequence never goes back), or setval
    put it at `value` exactly (`reset`)."""
    seq_id: int
    value: int
    is_called: bool = True
    reset: bool = False


class ViewCreated(Event):
    view: ViewDef


class ViewDropped(Event):
    view_id: int


class RoleCreated(Event):
    role: RoleDef


class RoleAltered(Event):
    role: RoleDef


class RoleDropped(Event):
    name: str


# -------------------------------------------------------------------- row events

class RowInserted(Event):
    table_id: int
    rowid: int
    values: list[Any]


class RowUpdated(Event):
    table_id: int
    rowid: int
    values: list[Any]


class RowDeleted(Event):
    table_id: int
    rowid: int


class TableTruncated(Event):
    table_id: int


class Notified(Event):
    """NOTIFY channel, payload: delivered to listeners when the transaction commits."""
    channel: str
    payload: str


AnyEvent = Union[
    SchemaCreated, SchemaDropped, TableCreated, TableDropped, TableRenamed, ColumnAdded,
    ColumnDropped, ColumnRenamed, ColumnAltered, TableAltered, IndexCreated, IndexDropped,
    SequenceCreated, SequenceDropped, SequenceAltered, SequenceAdvanced, ViewCreated,
    ViewDropped, RoleCreated, RoleAltered, RoleDropped, RowInserted, RowUpdated, RowDeleted,
    TableTruncated, Notified,
]

ROW_EVENTS = (RowInserted, RowUpdated, RowDeleted, TableTruncated)


class Transaction(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One log record's payload: a committed transaction."""
    user: str
    application_name: str
    client_addr: str
    reason: str | None
    events: list[AnyEvent]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Transaction)


def encode_transaction(txn: Transaction) -> bytes:
    return _encoder.encode(txn)


def decode_transaction(payload: bytes) -> Transaction:
    return _decoder.decode(payload)


# -------------------------------------------------------------------- row values

_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_TZ = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = dt.timedelta(microseconds=1)
_timedelta = dt.timedelta  # positional (days, seconds, microseconds) is the fast form


_DATE_INFINITIES = {INFINITY: 2**31 - 1, MINUS_INFINITY: -2**31}
_TIMESTAMP_INFINITIES = {INFINITY: 2**63 - 1, MINUS_INFINITY: -2**63}
_INFINITIES_STORED = {stored: value for infinities in (_DATE_INFINITIES, _TIMESTAMP_INFINITIES)
                      for value, stored in infinities.items()}


def _date_to_storage(v: dt.date | InfiniteDatetime) -> int:
    return _DATE_INFINITIES[v] if v.__class__ is InfiniteDatetime else v.toordinal()


def _timestamp_to_storage(epoch: dt.datetime) -> Callable[[Any], int]:
    def to_storage(v: dt.datetime | InfiniteDatetime) -> int:
        return _TIMESTAMP_INFINITIES[v] if v.__class__ is InfiniteDatetime else (v - epoch) // _ONE_US
    return to_storage


def _date_from_storage(v: int) -> dt.date | InfiniteDatetime:
    try:
        return _fromordinal(v)
    except ValueError:          # only the infinities lie outside 0001-01-01..9999-12-31
        return _INFINITIES_STORED[v]


def _timestamp_from_storage(epoch: dt.datetime) -> Callable[[int], Any]:
    def from_storage(v: int) -> dt.datetime | InfiniteDatetime:
        try:
            return epoch + _timedelta(0, 0, v)
        except OverflowError:   # only the infinities lie outside years 1..9999
            return _INFINITIES_STORED[v]
    return from_storage


_fromordinal = dt.date.fromordinal


def _to_storage(t: SqlType) -> Callable[[Any], Any] | None:
    """Value -> msgpack-native storage form, or None when the value is already native."""
    oid = t.oid
    if t.element is not None:
        inner = _to_storage(t.element)
        if inner is None:
            return lambda v: _nested_list(v, lambda x: x)
        return lambda v: _nested_list(v, inner)
    if oid == NUMERIC.oid:
        return str
    if oid == DATE.oid:
        return _date_to_storage
    if oid == TIMESTAMP.oid:
        return _timestamp_to_storage(_EPOCH)
    if oid == TIMESTAMPTZ.oid:
        return _timestamp_to_storage(_EPOCH_TZ)
    if oid == TIME.oid:
        return time_micros
    if oid == INTERVAL.oid:
        return lambda v: [v.months, v.days, v.micros]
    if oid == UUID.oid:
        return lambda v: v.bytes
    return None


def _from_storage(t: SqlType) -> Callable[[Any], Any] | None:
    oid = t.oid
    if t.element is not None:
        if t.element.oid == INTERVAL.oid:
            return _nested_intervals
        inner = _from_storage(t.element) or (lambda x: x)
        return lambda v: _nested_tuple(v, inner)
    if oid == NUMERIC.oid:
        return Decimal
    if oid == DATE.oid:
        return _date_from_storage
    if oid == TIMESTAMP.oid:
        return _timestamp_from_storage(_EPOCH)
    if oid == TIMESTAMPTZ.oid:
        return _timestamp_from_storage(_EPOCH_TZ)
    if oid == TIME.oid:
        return time_from_micros
    if oid == INTERVAL.oid:
        return lambda v: Interval(*v)
    if oid == UUID.oid:
        return lambda v: uuid.UUID(bytes=v)
    return None


def _nested_list(v: Any, inner: Callable[[Any], Any]) -> Any:
    return [(_nested_list(x, inner) if isinstance(x, tuple) else (None if x is None else inner(x))) for x in v]


def _nested_tuple(v: Any, inner: Callable[[Any], Any]) -> Any:
    return tuple((_nested_tuple(x, inner) if isinstance(x, list) else (None if x is None else inner(x))) for x in v)


def _nested_intervals(v: list) -> tuple:
    """An interval array: an interval's storage form is itself a list, [months, days, micros]
    (ints first), where a dimension's list starts with a list or a NULL."""
    return tuple(None if x is None else (Interval(*x) if isinstance(x[0], int) else _nested_intervals(x)) for x in v)


class RowCodec:
    """Converts one table shape's row tuples to and from their storage form.

    Both directions are compiled into one Python function per table shape (a tuple or
    list display with the per-column conversions inlined), so converting a row costs one
    call instead of a loop over its slots: replay decodes every row event through here."""

    __slots__ = ("width", "encode", "decode", "converts")

    def __init__(self, table: TableDef) -> None:
        self.width = table.width
        to_storage = {c.slot: f for c in table.columns if (f := _to_storage(c.type)) is not None}
        self.converts = bool(to_storage)    # False: a row's storage form is its values as they are
        self.encode: Callable[[tuple], list] = _row_function(table.width, to_storage, "list")
        self.decode: Callable[[list], tuple] = _row_function(
            table.width, {c.slot: f for c in table.columns if (f := _from_storage(c.type)) is not None}, "tuple")


def _row_function(width: int, converters: dict[int, Callable[[Any], Any]], kind: str) -> Callable[[Any], Any]:
    """`row -> list|tuple` of `width` values, `converters[slot]` applied to non-NULL ones.

    A shorter row (from before a column was added) is padded with NULLs; slots beyond
    `width` (from a newer shape) pass through unconverted."""
    if converters:
        items = [f"(None if (x := v[{slot}]) is None else f{slot}(x))" if slot in converters else f"v[{slot}]"
                 for slot in range(width)]
        display = ", ".join(items) + ("," if width == 1 and kind == "tuple" else "")
        body = f"[{display}]" if kind == "list" else f"({display})"
    else:
        body = f"{kind}(v)"     # one C call, faster than a display of the slots
    source = (f"def convert(v):\n"
              f"    if len(v) != {width}:\n"
              f"        if len(v) > {width}:\n"
              f"            return convert(v[:{width}]) + {kind}(v[{width}:])\n"
              f"        v = list(v) + [None] * ({width} - len(v))\n"
              f"    return {body}\n")
    namespace: dict[str, Any] = {f"f{slot}": f for slot, f in converters.items()}
    exec(compile(source, f"<row codec, {width} slots>", "exec"), namespace)
    return namespace["convert"]


def storage_value(t: SqlType, value: Any) -> Any:
    """One value in storage form (for ColumnAdded.fill and SequenceAdvanced-like uses)."""
    if value is None:
        return None
    f = _to_storage(t)
    return f(value) if f is not None else value


def value_from_storage(t: SqlType, value: Any) -> Any:
    if value is None:
        return None
    f = _from_storage(t)
    return f(value) if f is not None else value
