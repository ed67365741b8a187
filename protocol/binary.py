"""Binary wire formats of values (PostgreSQL's typsend/typrecv), on stdlib types.

Role: `encode_binary(type_oid, value)` produces the bytes of one DataRow cell
(or Bind parameter) in format 1; `decode_binary(type_oid, data)` reads a Bind
parameter sent in format 1. `binary_supported(type_oid)` tells the server
whether a type can be sent in binary at all (otherwise: text, or refuse).
NULL never reaches this module: it is a -1 length at the message level.

Types and their Python values:

=======================================  ==========================================
bool 16                                  bool
int2 21, int4 23, int8 20                int (range checked)
oid 26, regproc 24, regclass 2205,       int, unsigned 32-bit
regtype 2206
float4 700, float8 701                   float (int accepted on encode)
numeric 1700                             decimal.Decimal incl. NaN, +-Infinity
                                         (int accepted on encode)
text 25, varchar 1043, bpchar 1042,      str
name 19, unknown 705, json 114
jsonb 3802                               str (the wire adds the version byte 1)
bytea 17                                 bytes (any bytes-like on encode)
date 1082                                datetime.date; infinity and -infinity
                                         as float +-inf
time 1083                                datetime.time (naive); 24:00:00 as
                                         timedelta(days=1)
timestamp 1114                           naive datetime.datetime; infinities as
                                         for date
timestamptz 1184                         aware datetime.datetime, decoded in UTC;
                                         infinities as for date
interval 1186                            (months, days, microseconds); any
                                         3-sequence or a datetime.timedelta on
                                         encode, a plain tuple on decode
uuid 2950                                uuid.UUID
void 2278                                None
"char" 18                                str of at most one character
int2vector 22, oidvector 30              list of int (one dimension, no NULLs)
arrays of all of the above but void      list, nested lists for more dimensions
=======================================  ==========================================

Wire formats: integers and floats big-endian; numeric = Int16 ndigits, Int16
weight, UInt16 sign (0x0000 +, 0x4000 -, 0xC000 NaN, 0xD000 +Inf, 0xF000
-Inf), UInt16 dscale, then ndigits base-10000 digits, the first one worth
``10000 ** weight``; date = Int32 days since 2000-01-01 (Int32 max / min:
infinity / -infinity); time = Int64 microseconds since midnight (up to
86,400,000,000 for 24:00:00); timestamp(tz) = Int64 microseconds since
2000-01-01 00:00:00 (UTC) (Int64 max / min: infinity / -infinity); interval = Int64 microseconds, Int32 days, Int32
months; array = Int32 ndim, Int32 has-null flag, UInt32 element OID, (Int32
length, Int32 lower bound) per dimension, then (Int32 length or -1, bytes) per
element in row-major order; record (record_send) = Int32 field count, then per
field UInt32 type OID, Int32 length or -1, bytes.

Row types (a table's, or a record whose fields are known) have no fixed OID:
`record_encoder`/`record_decoder` and `array_encoder` build their codecs from
the fields' (OID, encoder or decoder) pairs (arrays of them are encoded only).

Invariants and limits:

* Round trip: ``decode_binary(t, encode_binary(t, v)) == v`` for every
  supported value (numeric keeps its display scale; arrays come back as
  lists).
* Decoding bytes that are not a valid representation raises
  `ProtocolViolation` (fatal=False) with SQLSTATE 22P03, as PostgreSQL does;
  text that is not valid UTF-8 or contains NUL gives 22021 (PostgreSQL's
  code for it), an array of the wrong element type 42804. The server answers
  with an ERROR and the connection goes on.
* Values PostgreSQL has but Python's datetime does not come as stand-ins:
  ``float('inf')`` / ``float('-inf')`` for infinite dates and timestamps
  (on encode, any object whose ``float()`` is +-inf), ``timedelta(days=1)``
  for time 24:00:00. Other dates and timestamps outside years 1..9999 raise
  ValueError on decode.
  Array lower bounds other than 1 are not kept (decoded lists start at 0, as
  asyncpg and psycopg do); arrays are always sent with lower bound 1.
* Encoding a value that does not fit its type (an int beyond int4, a float
  beyond float4, a string with NUL) raises ValueError; a value of the wrong
  Python type raises TypeError. Both are the caller's fault.
* Inside an array a Python list always means a dimension, so interval
  elements there must be tuples or timedeltas. Sub-lists must be rectangular.
* JSON text is not validated here; the engine parses it as it would text
  input.
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from protocol.errors import ProtocolViolation

__all__ = ["binary_decoder", "binary_encoder", "binary_supported", "decode_binary", "encode_binary"]

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes], Any]

_MAX_DIMENSIONS = 6  # PostgreSQL's MAXDIM
_USECS_PER_DAY = 86_400_000_000
_ONE_DAY = timedelta(days=1)
_EPOCH_ORDINAL = date(2000, 1, 1).toordinal()
_EPOCH = datetime(2000, 1, 1)
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_int32 = struct.Struct("!i")
_uint32 = struct.Struct("!I")
_int64 = struct.Struct("!q")
_array_header = struct.Struct("!iiI")
_dimension = struct.Struct("!ii")
_interval = struct.Struct("!qii")
_numeric_header = struct.Struct("!HhHH")
_NULL_ELEMENT = b"\xff\xff\xff\xff"


def _bad(type_name: str, problem: str, sqlstate: str = "22P03") -> ProtocolViolation:
    return ProtocolViolation(f"invalid binary representation of {type_name}: {problem}", sqlstate, fatal=False)


def _expect_size(type_name: str, data: bytes, size: int) -> None:
    if len(data) != size:
        raise _bad(type_name, f"expected {size} bytes, got {len(data)}")


def _expect_type(type_name: str, value: object, types: type | tuple[type, ...]) -> None:
    if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
        raise TypeError(f"cannot send {type(value).__name__} {value!r} as {type_name}")


# --- bool, integers, floats ------------------------------------------------------------------


def _encode_bool(value: object) -> bytes:
    _expect_type("boolean", value, bool)
    return b"\x01" if value else b"\x00"


def _decode_bool(data: bytes) -> bool:
    _expect_size("boolean", data, 1)
    return data[0] != 0


def _integer_codec(type_name: str, fmt: str, low: int, high: int) -> tuple[Encoder, Decoder]:
    packer = struct.Struct(fmt)
    size = packer.size

    def encode(value: int) -> bytes:
        _expect_type(type_name, value, int)
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range for type {type_name}")
        return packer.pack(value)

    def decode(data: bytes) -> int:
        _expect_size(type_name, data, size)
        number: int = packer.unpack(data)[0]
        return number

    return encode, decode


def _float_codec(type_name: str, fmt: str) -> tuple[Encoder, Decoder]:
    packer = struct.Struct(fmt)
    size = packer.size

    def encode(value: float) -> bytes:
        _expect_type(type_name, value, (float, int))
        try:
            return packer.pack(float(value))
        except OverflowError:
            raise ValueError(f"{value!r} is out of range for type {type_name}") from None

    def decode(data: bytes) -> float:
        _expect_size(type_name, data, size)
        number: float = packer.unpack(data)[0]
        return number

    return encode, decode


# --- numeric ---------------------------------------------------------------------------------

_NUMERIC_POS = 0x0000
_NUMERIC_NEG = 0x4000
_NUMERIC_NAN = 0xC000
_NUMERIC_PINF = 0xD000
_NUMERIC_NINF = 0xF000
_NUMERIC_DSCALE_MAX = 0x3FFF
_NUMERIC_DIGITS_MAX = 3000  # numeric_recv's NUMERIC_MAX_PRECISION + NUMERIC_MAX_RESULT_SCALE
_NUMERIC_SPECIAL = {
    _NUMERIC_NAN: Decimal("NaN"),
    _NUMERIC_PINF: Decimal("Infinity"),
    _NUMERIC_NINF: Decimal("-Infinity"),
}
_NUMERIC_SIGNS = {_NUMERIC_POS, _NUMERIC_NEG, *_NUMERIC_SPECIAL}


def _encode_numeric(value: Decimal | int) -> bytes:
    _expect_type("numeric", value, (Decimal, int))
    if isinstance(value, int):
        value = Decimal(value)
    if not value.is_finite():
        if value.is_snan():
            raise ValueError("numeric has no signaling NaN")
        if value.is_nan():
            sign = _NUMERIC_NAN
        elif value.is_signed():
            sign = _NUMERIC_NINF
        else:
            sign = _NUMERIC_PINF
        return _numeric_header.pack(0, 0, sign, 0)
    negative, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, so never 'n', 'N' or 'F'
    dscale = max(0, -exponent)
    if dscale > _NUMERIC_DSCALE_MAX:
        raise ValueError(f"numeric display scale {dscale} exceeds {_NUMERIC_DSCALE_MAX}")
    decimal_digits = "".join(map(str, digit_tuple))
    if exponent > 0:
        decimal_digits += "0" * exponent
    fraction_digits = dscale + (-dscale) % 4  # pad the fraction to whole base-10000 digits
    decimal_digits += "0" * (fraction_digits - dscale)
    decimal_digits = "0" * (-len(decimal_digits) % 4) + decimal_digits
    digits = [int(decimal_digits[i : i + 4]) for i in range(0, len(decimal_digits), 4)]
    weight = len(digits) - fraction_digits // 4 - 1
    first = 0
    while first < len(digits) and digits[first] == 0:
        first += 1
    weight -= first
    last = len(digits)
    while last > first and digits[last - 1] == 0:
        last -= 1
    digits = digits[first:last]
    if not digits:
        return _numeric_header.pack(0, 0, _NUMERIC_POS, dscale)
    if not -0x8000 <= weight <= 0x7FFF or len(digits) > 0xFFFF:
        raise ValueError(f"{value} is out of range for the numeric wire format")
    sign = _NUMERIC_NEG if negative else _NUMERIC_POS
    return _numeric_header.pack(len(digits), weight, sign, dscale) + struct.pack(f"!{len(digits)}h", *digits)


def _decode_numeric(data: bytes) -> Decimal:
    if len(data) < 8:
        raise _bad("numeric", f"{len(data)} bytes is too short for the header")
    ndigits, weight, sign, dscale = _numeric_header.unpack_from(data)
    if ndigits > _NUMERIC_DIGITS_MAX:
        raise _bad("numeric", f"invalid length {ndigits}")
    _expect_size("numeric", data, 8 + 2 * ndigits)
    if sign not in _NUMERIC_SIGNS:
        raise _bad("numeric", f"invalid sign 0x{sign:04X}")
    if dscale > _NUMERIC_DSCALE_MAX:
        raise _bad("numeric", f"invalid scale {dscale}")
    digits = struct.unpack_from(f"!{ndigits}h", data, 8)
    if any(not 0 <= digit < 10000 for digit in digits):
        raise _bad("numeric", "a digit is outside 0..9999")
    if sign in _NUMERIC_SPECIAL:
        return _NUMERIC_SPECIAL[sign]
    # The value is int(decimal_digits) * 10 ** exponent; show exactly dscale
    # fraction digits, padding with zeros or truncating as numeric_recv does.
    decimal_digits = "".join(f"{digit:04d}" for digit in digits) or "0"
    exponent = 4 * (weight - ndigits + 1)
    if exponent >= -dscale:
        decimal_digits += "0" * (exponent + dscale)
    else:
        decimal_digits = decimal_digits[: exponent + dscale] or "0"
    negative = sign == _NUMERIC_NEG and decimal_digits.strip("0") != ""
    return Decimal(f"{'-' if negative else ''}{decimal_digits}E-{dscale}")


# --- text-like types ---------------------------------------------------------------------------


def _encode_text(value: str) -> bytes:
    _expect_type("text", value, str)
    if "\0" in value:
        raise ValueError(f"text cannot contain NUL: {value!r}")
    return value.encode()


def _decode_text(data: bytes) -> str:
    if b"\0" in data:
        raise _bad("text", 'invalid byte sequence for encoding "UTF8": 0x00', "22021")
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise _bad("text", f'invalid byte sequence for encoding "UTF8": {exc.reason}', "22021") from None


_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: str) -> bytes:
    return _JSONB_VERSION + _encode_text(value)


def _decode_jsonb(data: bytes) -> str:
    if data[:1] != _JSONB_VERSION:
        raise _bad("jsonb", f"unsupported jsonb version number {data[0] if data else 'missing'}")
    return _decode_text(data[1:])


def _encode_bytea(value: bytes | bytearray | memoryview) -> bytes:
    _expect_type("bytea", value, (bytes, bytearray, memoryview))
    return bytes(value)


def _decode_bytea(data: bytes) -> bytes:
    return data


def _encode_uuid(value: uuid.UUID) -> bytes:
    _expect_type("uuid", value, uuid.UUID)
    return value.bytes


def _decode_uuid(data: bytes) -> uuid.UUID:
    _expect_size("uuid", data, 16)
    return uuid.UUID(bytes=data)


def _encode_void(value: None) -> bytes:
    if value is not None:
        raise TypeError(f"void has no value other than None, not {value!r}")
    return b""


def _decode_void(data: bytes) -> None:
    _expect_size("void", data, 0)


# --- date and time ----------------------------------------------------------------------------


def _infinity(type_name: str, value: object, plus: bytes, minus: bytes) -> bytes:
    """The wire form of an infinite date or timestamp (a value whose float() is +-inf)."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        f = 0.0
    if f == math.inf:
        return plus
    if f == -math.inf:
        return minus
    raise TypeError(f"cannot send {type(value).__name__} {value!r} as {type_name}")


_DATE_INFINITY, _DATE_MINUS_INFINITY = _int32.pack(_INT32_MAX), _int32.pack(_INT32_MIN)
_TIMESTAMP_INFINITY, _TIMESTAMP_MINUS_INFINITY = _int64.pack(_INT64_MAX), _int64.pack(_INT64_MIN)


def _encode_date(value: date) -> bytes:
    if not isinstance(value, date) or isinstance(value, datetime):
        return _infinity("date", value, _DATE_INFINITY, _DATE_MINUS_INFINITY)
    return _int32.pack(value.toordinal() - _EPOCH_ORDINAL)


def _decode_date(data: bytes) -> date | float:
    _expect_size("date", data, 4)
    (days,) = _int32.unpack(data)
    if days in (_INT32_MIN, _INT32_MAX):
        return math.inf if days == _INT32_MAX else -math.inf
    try:
        return date.fromordinal(_EPOCH_ORDINAL + days)
    except (ValueError, OverflowError):
        raise ValueError(f"date {days} days from 2000-01-01 is outside years 1..9999") from None


def _encode_time(value: time) -> bytes:
    if isinstance(value, timedelta) and value == _ONE_DAY:
        return _int64.pack(_USECS_PER_DAY)
    _expect_type("time", value, time)
    if value.tzinfo is not None:
        raise ValueError(f"time without time zone needs a naive time, not {value!r}")
    seconds = (value.hour * 60 + value.minute) * 60 + value.second
    return _int64.pack(seconds * 1_000_000 + value.microsecond)


def _decode_time(data: bytes) -> time | timedelta:
    _expect_size("time", data, 8)
    (micros,) = _int64.unpack(data)
    if micros == _USECS_PER_DAY:
        return _ONE_DAY
    if not 0 <= micros < _USECS_PER_DAY:
        raise ValueError(f"time of {micros} microseconds is outside 00:00:00..24:00:00")
    seconds, microsecond = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, microsecond)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _encode_timestamp(value: datetime) -> bytes:
    if not isinstance(value, datetime):
        return _infinity("timestamp", value, _TIMESTAMP_INFINITY, _TIMESTAMP_MINUS_INFINITY)
    if value.tzinfo is not None:
        raise ValueError(f"timestamp without time zone needs a naive datetime, not {value!r}")
    return _int64.pack(_micros(value - _EPOCH))


def _encode_timestamptz(value: datetime) -> bytes:
    if not isinstance(value, datetime):
        return _infinity("timestamptz", value, _TIMESTAMP_INFINITY, _TIMESTAMP_MINUS_INFINITY)
    if value.utcoffset() is None:
        raise ValueError(f"timestamp with time zone needs an aware datetime, not {value!r}")
    return _int64.pack(_micros(value - _EPOCH_UTC))


def _timestamp_decoder(type_name: str, epoch: datetime) -> Decoder:
    def decode(data: bytes) -> datetime | float:
        _expect_size(type_name, data, 8)
        (micros,) = _int64.unpack(data)
        if micros in (_INT64_MIN, _INT64_MAX):
            return math.inf if micros == _INT64_MAX else -math.inf
        try:
            return epoch + timedelta(microseconds=micros)
        except OverflowError:
            raise ValueError(f"{type_name} {micros} microseconds from 2000-01-01 is outside years 1..9999") from None

    return decode


def _encode_interval(value: Any) -> bytes:
    if isinstance(value, timedelta):
        months, days, micros = 0, value.days, value.seconds * 1_000_000 + value.microseconds
    else:
        months, days, micros = value
    for part in (months, days, micros):
        _expect_type("interval part", part, int)
    if not (_INT32_MIN <= months <= _INT32_MAX and _INT32_MIN <= days <= _INT32_MAX):
        raise ValueError(f"interval months/days {months}/{days} do not fit Int32")
    if not _INT64_MIN <= micros <= _INT64_MAX:
        raise ValueError(f"interval of {micros} microseconds does not fit Int64")
    return _interval.pack(micros, days, months)


def _decode_interval(data: bytes) -> tuple[int, int, int]:
    _expect_size("interval", data, 16)
    micros, days, months = _interval.unpack(data)
    return (months, days, micros)


# --- arrays --------------------------------------------------------------------------------------


def _array_codec(element_oid: int, element_name: str,
                 element_codec: tuple[Encoder, Decoder] | None = None) -> tuple[Encoder, Decoder]:
    encode_element, decode_element = element_codec or _CODECS[element_oid]
    type_name = f"{element_name}[]"

    def encode(value: list[Any]) -> bytes:
        if not isinstance(value, list):
            raise TypeError(f"an array value must be a list, not {type(value).__name__}")
        dimensions: list[int] = []
        probe: Any = value
        while isinstance(probe, list):
            dimensions.append(len(probe))
            if not probe:
                break
            probe = probe[0]
        if len(dimensions) > _MAX_DIMENSIONS:
            raise ValueError(f"arrays have at most {_MAX_DIMENSIONS} dimensions, not {len(dimensions)}")
        elements: list[Any] = []
        _flatten(value, dimensions, 0, elements)
        if not elements:
            return _array_header.pack(0, 0, element_oid)
        parts = [b""]
        has_null = 0
        for element in elements:
            if element is None:
                has_null = 1
                parts.append(_NULL_ELEMENT)
            else:
                data = encode_element(element)
                parts.append(_int32.pack(len(data)))
                parts.append(data)
        dims = b"".join(_dimension.pack(length, 1) for length in dimensions)
        parts[0] = _array_header.pack(len(dimensions), has_null, element_oid) + dims
        return b"".join(parts)

    def decode(data: bytes) -> list[Any]:
        if len(data) < 12:
            raise _bad(type_name, f"{len(data)} bytes is too short for the header")
        ndim, flags, oid = _array_header.unpack_from(data)
        if not 0 <= ndim <= _MAX_DIMENSIONS:
            raise _bad(type_name, f"invalid number of dimensions {ndim}")
        if flags not in (0, 1):
            raise _bad(type_name, f"invalid array flags {flags}")
        if oid != element_oid:
            raise _bad(type_name, f"wrong element type {oid} (expected {element_oid})", "42804")
        pos = 12 + 8 * ndim
        if len(data) < pos:
            raise _bad(type_name, "the data ends inside the dimensions")
        dimensions = [_dimension.unpack_from(data, 12 + 8 * i)[0] for i in range(ndim)]
        count = 1
        for length in dimensions:
            if length < 0:
                raise _bad(type_name, f"negative dimension {length}")
            count *= length
        if not ndim or not count:
            if pos != len(data):
                raise _bad(type_name, "unexpected bytes after an empty array")
            return []
        if count > (len(data) - pos) // 4:
            raise _bad(type_name, f"{count} elements do not fit in {len(data) - pos} bytes")
        elements: list[Any] = []
        append = elements.append
        for _ in range(count):
            if pos + 4 > len(data):
                raise _bad(type_name, "the data ends inside an element length")
            (size,) = _int32.unpack_from(data, pos)
            pos += 4
            if size == -1:
                append(None)
                continue
            if size < 0 or pos + size > len(data):
                raise _bad(type_name, f"invalid element length {size}")
            append(decode_element(data[pos : pos + size]))
            pos += size
        if pos != len(data):
            raise _bad(type_name, f"{len(data) - pos} unexpected bytes after the last element")
        for length in reversed(dimensions[1:]):
            elements = [elements[i : i + length] for i in range(0, len(elements), length)]
        return elements

    return encode, decode


def array_encoder(element_oid: int, encode_element: Encoder) -> Encoder:
    """The encoder of arrays (lists) of a type that has no codec of its own here (a row type)."""
    def no_decoder(data: bytes) -> Any:
        raise ValueError(f"arrays of type OID {element_oid} are encoded only")
    return _array_codec(element_oid, str(element_oid), (encode_element, no_decoder))[0]


def record_encoder(fields: list[tuple[int, Encoder]]) -> Encoder:
    """The encoder of a row value (a sequence, None for NULL fields) whose fields have these
    (type OID, encoder) pairs: record_send's format."""
    count = _int32.pack(len(fields))
    heads = [_uint32.pack(oid) for oid, _ in fields]

    def encode(value: Any) -> bytes:
        parts = [count]
        for head, (_, encode_field), v in zip(heads, fields, value):
            parts.append(head)
            if v is None:
                parts.append(_NULL_ELEMENT)
            else:
                data = encode_field(v)
                parts.append(_int32.pack(len(data)))
                parts.append(data)
        return b"".join(parts)
    return encode


def record_decoder(type_name: str, fields: list[tuple[int, Decoder]]) -> Decoder:
    """The decoder of a row value whose fields have these (type OID, decoder) pairs: a tuple,
    None for NULL fields. A field of another type is 42804, as in record_recv."""
    def decode(data: bytes) -> tuple:
        if len(data) < 4:
            raise _bad(type_name, f"{len(data)} bytes is too short for the field count")
        (count,) = _int32.unpack_from(data)
        if count != len(fields):
            raise _bad(type_name, f"wrong number of columns: {count}, expected {len(fields)}", "42804")
        pos = 4
        out: list[Any] = []
        for oid, decode_field in fields:
            if pos + 8 > len(data):
                raise _bad(type_name, "the data ends inside a field header")
            (field_oid,) = _uint32.unpack_from(data, pos)
            (size,) = _int32.unpack_from(data, pos + 4)
            pos += 8
            if field_oid != oid:
                raise _bad(type_name, f"wrong data type: {field_oid}, expected {oid}", "42804")
            if size == -1:
                out.append(None)
                continue
            if size < 0 or pos + size > len(data):
                raise _bad(type_name, f"invalid field length {size}")
            out.append(decode_field(data[pos:pos + size]))
            pos += size
        if pos != len(data):
            raise _bad(type_name, f"{len(data) - pos} unexpected bytes after the last field")
        return tuple(out)
    return decode


def _flatten(value: list[Any], dimensions: list[int], depth: int, out: list[Any]) -> None:
    if len(value) != dimensions[depth]:
        raise ValueError("multidimensional arrays must have sub-arrays with matching dimensions")
    innermost = depth + 1 == len(dimensions)
    for item in value:
        if isinstance(item, list) == innermost:
            raise ValueError("multidimensional arrays must have sub-arrays with matching dimensions")
        if innermost:
            out.append(item)
        else:
            _flatten(item, dimensions, depth + 1, out)


# --- the table --------------------------------------------------------------------------------------

_CODECS: dict[int, tuple[Encoder, Decoder]] = {
    16: (_encode_bool, _decode_bool),
    17: (_encode_bytea, _decode_bytea),
    19: (_encode_text, _decode_text),
    20: _integer_codec("bigint", "!q", _INT64_MIN, _INT64_MAX),
    21: _integer_codec("smallint", "!h", -(2**15), 2**15 - 1),
    23: _integer_codec("integer", "!i", _INT32_MIN, _INT32_MAX),
    24: _integer_codec("regproc", "!I", 0, 2**32 - 1),
    25: (_encode_text, _decode_text),
    26: _integer_codec("oid", "!I", 0, 2**32 - 1),
    114: (_encode_text, _decode_text),
    700: _float_codec("real", "!f"),
    701: _float_codec("double precision", "!d"),
    705: (_encode_text, _decode_text),
    1042: (_encode_text, _decode_text),
    1043: (_encode_text, _decode_text),
    1082: (_encode_date, _decode_date),
    1083: (_encode_time, _decode_time),
    1114: (_encode_timestamp, _timestamp_decoder("timestamp", _EPOCH)),
    1184: (_encode_timestamptz, _timestamp_decoder("timestamptz", _EPOCH_UTC)),
    1186: (_encode_interval, _decode_interval),
    1700: (_encode_numeric, _decode_numeric),
    2205: _integer_codec("regclass", "!I", 0, 2**32 - 1),
    2206: _integer_codec("regtype", "!I", 0, 2**32 - 1),
    2278: (_encode_void, _decode_void),
    2950: (_encode_uuid, _decode_uuid),
    3802: (_encode_jsonb, _decode_jsonb),
}

# array OID -> (element OID, element type name)
_ARRAYS = {
    1000: (16, "boolean"),
    1001: (17, "bytea"),
    1003: (19, "name"),
    1016: (20, "bigint"),
    1005: (21, "smallint"),
    1007: (23, "integer"),
    1008: (24, "regproc"),
    1009: (25, "text"),
    1028: (26, "oid"),
    199: (114, "json"),
    1021: (700, "real"),
    1022: (701, "double precision"),
    1014: (1042, "character"),
    1015: (1043, "character varying"),
    1182: (1082, "date"),
    1183: (1083, "time"),
    1115: (1114, "timestamp"),
    1185: (1184, "timestamptz"),
    1187: (1186, "interval"),
    1231: (1700, "numeric"),
    2210: (2205, "regclass"),
    2211: (2206, "regtype"),
    2951: (2950, "uuid"),
    3807: (3802, "jsonb"),
}
_CODECS.update({oid: _array_codec(element, name) for oid, (element, name) in _ARRAYS.items()})


def _encode_char(value: str) -> bytes:
    """The internal one-byte "char": always exactly one byte, a zero byte for the empty string
    (as PostgreSQL's charsend; SQLAlchemy's asyncpg reflection tests pg_attribute.attgenerated
    against b"\\x00")."""
    _expect_type('"char"', value, str)
    return value.encode()[:1] or b"\x00"


def _decode_char(data: bytes) -> str:
    if len(data) != 1:
        raise _bad('"char"', f"expected 1 byte, got {len(data)}")
    return "" if data == b"\x00" else data.decode("latin-1")


def _vector_codec(element_oid: int, element_name: str) -> tuple[Encoder, Decoder]:
    """int2vector / oidvector: one-dimensional arrays of int2 / oid, without NULLs."""
    encode_array, decode_array = _array_codec(element_oid, element_name)

    def decode(data: bytes) -> list[Any]:
        values = decode_array(data)
        if any(isinstance(v, list) or v is None for v in values):
            raise _bad(f"{element_name}vector", "must be one-dimensional without NULLs")
        return values

    return encode_array, decode


_CODECS[18] = (_encode_char, _decode_char)
_CODECS[1002] = _array_codec(18, '"char"')
_CODECS[22] = _vector_codec(21, "int2")
_CODECS[30] = _vector_codec(26, "oid")
# the catalogs' other identifiers: unsigned 32-bit like oid; pg_node_tree is text
for _oid, _name in ((28, "xid"), (2202, "regprocedure"), (2203, "regoper"), (2204, "regoperator"), (4089, "regnamespace"),
                    (4096, "regrole")):
    _CODECS[_oid] = _integer_codec(_name, "!I", 0, 2**32 - 1)
_CODECS[194] = (_encode_text, _decode_text)
_CODECS[1011] = _array_codec(28, "xid")


def binary_supported(type_oid: int) -> bool:
    """Whether values of this type can be sent and received in binary format."""
    return type_oid in _CODECS


def encode_binary(type_oid: int, value: Any) -> bytes:
    """The binary representation of a non-NULL `value` of type `type_oid`."""
    try:
        encode = _CODECS[type_oid][0]
    except KeyError:
        raise ValueError(f"type OID {type_oid} has no binary format here (check binary_supported)") from None
    return encode(value)


def binary_encoder(type_oid: int) -> Encoder:
    """`encode_binary` for one type, looked up once (for encoding many values)."""
    try:
        return _CODECS[type_oid][0]
    except KeyError:
        raise ValueError(f"type OID {type_oid} has no binary format here (check binary_supported)") from None


def binary_decoder(type_oid: int) -> Decoder:
    """`decode_binary` for one type, looked up once; takes bytes."""
    try:
        return _CODECS[type_oid][1]
    except KeyError:
        raise ValueError(f"type OID {type_oid} has no binary format here (check binary_supported)") from None


def decode_binary(type_oid: int, data: bytes | bytearray | memoryview) -> Any:
    """The value of a non-NULL binary parameter of type `type_oid`."""
    try:
        decode = _CODECS[type_oid][1]
    except KeyError:
        raise ValueError(f"type OID {type_oid} has no binary format here (check binary_supported)") from None
    return decode(data if isinstance(data, bytes) else bytes(data))
