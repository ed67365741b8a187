"""Engine values <-> wire formats, one converter per column or parameter type.

Text goes through the engine's own output functions (`engine.types`; input is
`engine.types.text_parser` itself), binary
through `protocol.binary`'s codecs; the adapters here bridge the two value models: the
engine keeps arrays (and int2vector/oidvector) as tuples and intervals as
`engine.types.Interval`, the codecs take and give lists and (months, days, micros) tuples;
the engine's infinite dates and timestamps (`engine.types.INFINITY`, `MINUS_INFINITY`) are
the codecs' float +-inf, and its time 24:00:00 (`END_OF_DAY`) their `timedelta(days=1)`.

Every converter is built once per column (or parameter) and then called per value; NULL
never reaches them. Errors: a value the client sent that does not decode is a `SqlError`
(the codec's SQLSTATE, e.g. 22P03; 22008 for a date or time PostgreSQL has and Python has
not, 22003 for other out-of-range values); a type with no binary form answers 42883 as in
PostgreSQL ("no binary output function available for type ...").
"""
from __future__ import annotations

from typing import Any, Callable

from engine.errors import SqlError
import datetime as dt
import math

from engine.types import (END_OF_DAY, INFINITY, INT2VECTOR, INTERVAL, MINUS_INFINITY, OIDVECTOR, TIME, OutputSettings,
                          SqlType, Interval, format_type, text_formatter)
from protocol.binary import array_encoder, binary_decoder, binary_encoder, binary_supported, record_decoder, record_encoder
from protocol.errors import ProtocolViolation

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes], Any]

_DATETIME_OIDS = frozenset({1082, 1083, 1114, 1184, 1182, 1183, 1115, 1185})
_VERBATIM_TEXT_OIDS = frozenset({25, 1043, 1042, 19, 705, 114, 3802, 18})


_ONE_DAY = dt.timedelta(days=1)
_FROM_STAND_IN = {math.inf: INFINITY, -math.inf: MINUS_INFINITY}


def _to_codec(value: Any) -> Any:
    """Engine value -> what the binary codec takes (inside arrays: lists and interval tuples)."""
    if isinstance(value, tuple):
        return [None if v is None else _to_codec(v) for v in value]
    if isinstance(value, Interval):
        return (value.months, value.days, value.micros)
    if value is END_OF_DAY:
        return _ONE_DAY
    return value


def _from_codec(value: Any, interval: bool, datetime: bool) -> Any:
    if isinstance(value, list):
        return tuple(None if v is None else _from_codec(v, interval, datetime) for v in value)
    if interval:
        return Interval(*value)
    return _from_stand_in(value) if datetime else value


def _from_stand_in(value: Any) -> Any:
    """A codec's stand-in for a value Python's datetime lacks -> the engine's value."""
    if value.__class__ is float:
        return _FROM_STAND_IN[value]
    if value.__class__ is dt.timedelta:
        return END_OF_DAY
    return value


def binary_value_encoder(t: SqlType) -> Encoder:
    """Non-NULL engine value of type t -> its binary wire bytes."""
    oid = t.oid
    if t.fields is not None:            # a row value: a tuple of its fields' engine values
        return record_encoder([(ft.oid, binary_value_encoder(ft)) for _, ft in t.fields])
    if t.element is not None and t.element.fields is not None:
        encode_array = array_encoder(t.element.oid, binary_value_encoder(t.element))
        return lambda v: encode_array(list(v))
    if not binary_supported(oid):
        raise SqlError("42883", f"no binary output function available for type {format_type(t)}")
    encode = binary_encoder(oid)
    if t.element is not None or oid in (INT2VECTOR.oid, OIDVECTOR.oid):
        return lambda v: encode(_to_codec(v))
    if oid == INTERVAL.oid:
        return lambda v: encode((v.months, v.days, v.micros))
    if oid == TIME.oid:
        return lambda v: encode(_ONE_DAY if v is END_OF_DAY else v)
    return encode


def text_value_encoder(t: SqlType, settings: OutputSettings) -> Encoder:
    """Non-NULL engine value of type t -> its text wire bytes (the type's output function)."""
    text = text_formatter(t, settings)
    if text is str:
        return str.encode if t.oid in _VERBATIM_TEXT_OIDS else _str_encode
    return lambda v: text(v).encode()


def _str_encode(v: Any) -> bytes:
    return str(v).encode()


def binary_value_decoder(t: SqlType) -> Decoder:
    """Binary wire bytes of a value of type t (a Bind parameter, a binary COPY field) -> engine value."""
    oid = t.oid
    if t.fields is not None:
        decode_record = record_decoder(format_type(t), [(ft.oid, binary_value_decoder(ft)) for _, ft in t.fields])

        def convert_record(data: bytes) -> tuple:
            try:
                return decode_record(data)
            except ProtocolViolation as e:
                raise SqlError(e.sqlstate, e.message) from None
        return convert_record
    if not binary_supported(oid):
        raise SqlError("42883", f"no binary input function available for type {format_type(t)}")
    decode = binary_decoder(oid)
    interval = oid == INTERVAL.oid or (t.element is not None and t.element.oid == INTERVAL.oid)
    arrayish = t.element is not None or oid in (INT2VECTOR.oid, OIDVECTOR.oid)
    type_name = format_type(t)
    datetime = oid in _DATETIME_OIDS

    def convert(data: bytes) -> Any:
        try:
            value = decode(data)
        except ProtocolViolation as e:
            raise SqlError(e.sqlstate, e.message) from None
        except ValueError as e:
            code = "22008" if oid in _DATETIME_OIDS else "22003"
            raise SqlError(code, f"{type_name} out of range: {e}") from None
        if arrayish or interval:
            return _from_codec(value, interval, datetime)
        if datetime:
            return _from_stand_in(value)
        return value

    return convert

