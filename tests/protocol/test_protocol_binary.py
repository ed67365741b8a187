"""Binary value formats: byte-exact against known PostgreSQL encodings,
table-driven and property-based round trips, and bad input refused with the
right error."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.binary import binary_supported, decode_binary, encode_binary
from protocol.errors import ProtocolViolation

U = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")

# (type OID, Python value, PostgreSQL's binary encoding as hex)
KNOWN: list[tuple[int, Any, str]] = [
    (16, True, "01"),
    (16, False, "00"),
    (21, 1, "0001"),
    (21, -32768, "8000"),
    (23, -1, "ffffffff"),
    (23, 2147483647, "7fffffff"),
    (20, 2**40, "0000010000000000"),
    (26, 4294967295, "ffffffff"),
    (2205, 1259, "000004eb"),
    (700, 1.5, "3fc00000"),
    (701, 1.5, "3ff8000000000000"),
    (701, -0.0, "8000000000000000"),
    (701, math.inf, "7ff0000000000000"),
    # numeric: ndigits, weight, sign, dscale, base-10000 digits
    (1700, Decimal("12345.678"), "0003 0001 0000 0003 0001 0929 1a7c"),
    (1700, Decimal("-0.0001"), "0001 ffff 4000 0004 0001"),
    (1700, Decimal("NaN"), "0000 0000 c000 0000"),
    (1700, Decimal("Infinity"), "0000 0000 d000 0000"),
    (1700, Decimal("-Infinity"), "0000 0000 f000 0000"),
    (1700, Decimal("0"), "0000 0000 0000 0000"),
    (1700, Decimal("0.00"), "0000 0000 0000 0002"),
    (1700, Decimal("10000"), "0001 0001 0000 0000 0001"),
    (1700, Decimal("1.5"), "0002 0000 0000 0001 0001 1388"),
    (1700, Decimal("-123456789.000000001"), "0006 0002 4000 0009 0001 0929 1a85 0000 0000 03e8"),
    (25, "h\u00e9llo", "68 c3a9 6c6c6f"),
    (1043, "", ""),
    (17, b"\x00\xff", "00ff"),
    (114, '{"a": 1}', "7b2261223a20317d"),
    (3802, '{"a": 1}', "01 7b2261223a20317d"),
    (2950, U, "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
    (1082, date(2000, 1, 1), "00000000"),
    (1082, date(1999, 12, 31), "ffffffff"),
    (1082, date(2000, 1, 2), "00000001"),
    (1083, time(0, 0, 1), "00000000000f4240"),
    (1083, time(23, 59, 59, 999999), "000000141dd75fff"),
    (1114, datetime(2000, 1, 1), "0000000000000000"),
    (1114, datetime(2000, 1, 1, 0, 0, 1), "00000000000f4240"),
    (1114, datetime(1970, 1, 1), "fffca2fec4c82000"),
    (1184, datetime(2000, 1, 1, tzinfo=UTC), "0000000000000000"),
    (1186, (1, 2, 3), "0000000000000003 00000002 00000001"),
    (2278, None, ""),
    # arrays: ndim, has-null, element OID, (length, lower bound) per dimension, elements
    (1007, [1, 2], "00000001 00000000 00000017 00000002 00000001 00000004 00000001 00000004 00000002"),
    (1009, [None, "a"], "00000001 00000001 00000019 00000002 00000001 ffffffff 00000001 61"),
    (1007, [], "00000000 00000000 00000017"),
    (
        1007,
        [[1], [2]],
        "00000002 00000000 00000017 00000002 00000001 00000001 00000001 00000004 00000001 00000004 00000002",
    ),
    (3807, ["{}"], "00000001 00000000 00000eda 00000001 00000001 00000003 01 7b7d"),
]


def same(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN, also inside lists."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (float, Decimal)) and isinstance(b, (float, Decimal)) and a != a and b != b:
        return True
    return bool(a == b)


@pytest.mark.parametrize(("oid", "value", "wire"), KNOWN)
def test_known_encodings(oid: int, value: Any, wire: str) -> None:
    data = bytes.fromhex(wire)
    assert encode_binary(oid, value) == data
    decoded = decode_binary(oid, data)
    assert same(decoded, value)
    if isinstance(value, Decimal) and value.is_finite():
        assert decoded.as_tuple() == value.as_tuple()  # the display scale survives


ROUND_TRIPS: list[tuple[int, Any]] = [
    (16, True),
    (21, 32767),
    (23, -(2**31)),
    (20, -(2**63)),
    (20, 2**63 - 1),
    (24, 0),
    (2206, 25),
    (700, 0.25),
    (701, 1e308),
    (1700, Decimal("0.000000000000000000001")),
    (1700, Decimal("-99999999999999999999.9999")),
    (1700, Decimal("1" + "0" * 100)),
    (1700, Decimal("3.14159265358979323846264338327950288")),
    (19, "pg_class"),
    (1042, "ab  "),
    (705, "unknown literal"),
    (25, "\U0001f600 emoji"),
    (17, bytes(range(256))),
    (1082, date(1, 1, 1)),
    (1082, date(9999, 12, 31)),
    (1083, time(0, 0)),
    (1114, datetime(1, 1, 1)),
    (1114, datetime(9999, 12, 31, 23, 59, 59, 999999)),
    (1114, datetime(2024, 2, 29, 12, 30, 15, 123456)),
    (1184, datetime(2024, 2, 29, 12, 30, 15, 123456, tzinfo=UTC)),
    (1186, (-1, -2, -(2**63))),
    (1186, (2**31 - 1, 2**31 - 1, 2**63 - 1)),
    (2950, uuid.UUID(int=0)),
    (1000, [True, None, False]),
    (1001, [b"", None, b"\x00"]),
    (1003, ["a"]),
    (1005, [[1, 2], [3, None]]),
    (1016, [[[1]], [[2]]]),
    (1028, [1, 2]),
    (1008, [24]),
    (2210, [1259]),
    (2211, [23]),
    (199, ["[]", None]),
    (1021, [0.5, -2.0]),
    (1022, [1e-300]),
    (1014, ["x "]),
    (1015, ["y"]),
    (1182, [date(2000, 1, 1), None]),
    (1183, [time(12, 0)]),
    (1115, [datetime(2020, 1, 1)]),
    (1185, [datetime(2020, 1, 1, tzinfo=UTC)]),
    (1187, [(1, 2, 3), None]),
    (1231, [Decimal("1.10"), Decimal("NaN"), None]),
    (2951, [U]),
    (3807, ['{"k": [1, 2]}']),
    (1007, [[[[[[1]]]]]]),
]


@pytest.mark.parametrize(("oid", "value"), ROUND_TRIPS)
def test_round_trip(oid: int, value: Any) -> None:
    assert binary_supported(oid)
    assert same(decode_binary(oid, encode_binary(oid, value)), value)


def test_conversions_on_encode() -> None:
    assert decode_binary(1184, encode_binary(1184, datetime(2000, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))) == (
        datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert decode_binary(1186, encode_binary(1186, timedelta(days=-1, microseconds=5))) == (0, -1, 5)
    assert decode_binary(1186, encode_binary(1186, [1, 2, 3])) == (1, 2, 3)
    assert decode_binary(1700, encode_binary(1700, 12)) == Decimal(12)
    assert decode_binary(1700, encode_binary(1700, Decimal("1.2E+3"))) == Decimal(1200)
    assert decode_binary(1700, encode_binary(1700, Decimal("-0.00"))).as_tuple() == Decimal("0.00").as_tuple()
    assert decode_binary(701, encode_binary(701, 3)) == 3.0
    assert decode_binary(17, encode_binary(17, memoryview(b"ab"))) == b"ab"
    assert decode_binary(23, bytearray(b"\x00\x00\x00\x07")) == 7
    assert decode_binary(1007, encode_binary(1007, [[], []])) == []
    assert decode_binary(1187, encode_binary(1187, [timedelta(seconds=1)])) == [(0, 0, 1_000_000)]


def test_numeric_decode_follows_postgresql() -> None:
    # digits beyond the display scale are truncated, as numeric_recv does
    assert decode_binary(1700, bytes.fromhex("0002 0000 0000 0001 0001 1388")) == Decimal("1.5")
    assert str(decode_binary(1700, bytes.fromhex("0002 0000 0000 0000 0001 1388"))) == "1"
    assert str(decode_binary(1700, bytes.fromhex("0001 fffe 4000 0002 0001"))) == "0.00"
    # digits of special values are read and ignored
    assert decode_binary(1700, bytes.fromhex("0001 0000 c000 0000 0001")).is_nan()


def test_array_lower_bounds_are_dropped() -> None:
    data = bytes.fromhex("00000001 00000000 00000017 00000002 00000000 00000004 00000001 00000004 00000002")
    assert decode_binary(1007, data) == [1, 2]


def test_supported_types() -> None:
    for oid in (16, 17, 19, 20, 21, 23, 25, 26, 114, 700, 701, 705, 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1700):
        assert binary_supported(oid)
    for oid in (2950, 3802, 2278, 1000, 1001, 1003, 1016, 1005, 1007, 1009, 1028, 199, 1231, 3807, 1021, 1022):
        assert binary_supported(oid)
    for oid in (1014, 1015, 1182, 1183, 1115, 1185, 1187, 2951):
        assert binary_supported(oid)
    assert not binary_supported(1033)  # aclitem
    assert not binary_supported(0)
    with pytest.raises(ValueError):
        encode_binary(1033, "x")
    with pytest.raises(ValueError):
        decode_binary(1033, b"x")


BAD_WIRE: list[tuple[int, str, str]] = [
    (16, "", "22P03"),
    (16, "0101", "22P03"),
    (21, "000000", "22P03"),
    (23, "000000", "22P03"),
    (20, "00000000000000", "22P03"),
    (26, "00", "22P03"),
    (700, "0000000000", "22P03"),
    (701, "00000000", "22P03"),
    (1700, "000000000000", "22P03"),
    (1700, "0001 0000 0000 0000", "22P03"),
    (1700, "0000 0000 0000 0000 0000", "22P03"),
    (1700, "0000 0000 1000 0000", "22P03"),
    (1700, "0000 0000 0000 4000", "22P03"),
    (1700, "0001 0000 0000 0000 2710", "22P03"),
    (1700, "0001 0000 0000 0000 ffff", "22P03"),
    (1700, "0bb9 0000 0000 0000", "22P03"),
    (25, "ff", "22021"),
    (25, "c328", "22021"),
    (25, "6100", "22021"),
    (114, "ed a0 80", "22021"),
    (3802, "", "22P03"),
    (3802, "02 7b7d", "22P03"),
    (2950, "00" * 15, "22P03"),
    (1082, "000000", "22P03"),
    (1083, "00", "22P03"),
    (1114, "00000000", "22P03"),
    (1184, "00" * 9, "22P03"),
    (1186, "00" * 15, "22P03"),
    (2278, "00", "22P03"),
    (1007, "0000000000000000000000", "22P03"),
    (1007, "00000007 00000000 00000017", "22P03"),
    (1007, "ffffffff 00000000 00000017", "22P03"),
    (1007, "00000000 00000002 00000017", "22P03"),
    (1007, "00000000 00000000 00000019", "42804"),
    (1007, "00000000 00000000 00000017 00", "22P03"),
    (1007, "00000001 00000000 00000017 00000001", "22P03"),
    (1007, "00000001 00000000 00000017 ffffffff 00000001", "22P03"),
    (1007, "00000001 00000000 00000017 7fffffff 00000001 00000004 00000001", "22P03"),
    (1007, "00000002 00000000 00000017 00010000 00000001 00010000 00000001 ffffffff", "22P03"),
    (1007, "00000001 00000000 00000017 00000002 00000001 00000004 00000001", "22P03"),
    (1007, "00000001 00000000 00000017 00000001 00000001 fffffffe", "22P03"),
    (1007, "00000001 00000000 00000017 00000001 00000001 00000005 0000000001", "22P03"),
    (1007, "00000001 00000000 00000017 00000001 00000001 00000004 00000001 00", "22P03"),
    (1007, "00000001 00000000 00000017 00000001 00000001 00000003 000001", "22P03"),
    (1009, "00000001 00000000 00000019 00000001 00000001 00000001 ff", "22021"),
]


@pytest.mark.parametrize(("oid", "wire", "sqlstate"), BAD_WIRE)
def test_bad_wire_data(oid: int, wire: str, sqlstate: str) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        decode_binary(oid, bytes.fromhex(wire))
    assert caught.value.sqlstate == sqlstate
    assert not caught.value.fatal and caught.value.severity == "ERROR"


STAND_INS: list[tuple[int, str, Any]] = [
    (1082, "7fffffff", math.inf),  # infinity
    (1082, "80000000", -math.inf),  # -infinity
    (1114, "7fffffffffffffff", math.inf),
    (1114, "8000000000000000", -math.inf),
    (1184, "7fffffffffffffff", math.inf),
    (1184, "8000000000000000", -math.inf),
    (1083, "000000141dd76000", timedelta(days=1)),  # 24:00:00
]


@pytest.mark.parametrize(("oid", "wire", "value"), STAND_INS)
def test_values_python_lacks_have_stand_ins(oid: int, wire: str, value: Any) -> None:
    assert decode_binary(oid, bytes.fromhex(wire)) == value
    assert encode_binary(oid, value) == bytes.fromhex(wire)


def test_anything_whose_float_is_infinite_encodes_as_infinity() -> None:
    class Forever:
        def __float__(self) -> float:
            return math.inf
    assert encode_binary(1114, Forever()) == bytes.fromhex("7fffffffffffffff")
    assert encode_binary(1082, Forever()) == bytes.fromhex("7fffffff")
    with pytest.raises(TypeError):
        encode_binary(1114, 1.5)
    with pytest.raises(TypeError):
        encode_binary(1082, "2024-01-01")


UNREPRESENTABLE: list[tuple[int, str]] = [
    (1082, "002cd7c4"),  # 10000-01-01 (ISO), beyond Python's years
    (1082, "fff4dbf8"),  # 0001-12-31 BC, the day before 0001-01-01
    (1114, "0400000000000000"),  # about year 11133
    (1083, "000000141dd76001"),  # just after 24:00:00
    (1083, "ffffffffffffffff"),
]


@pytest.mark.parametrize(("oid", "wire"), UNREPRESENTABLE)
def test_values_python_cannot_hold_raise_value_error(oid: int, wire: str) -> None:
    with pytest.raises(ValueError):
        decode_binary(oid, bytes.fromhex(wire))


BAD_VALUES: list[tuple[int, Any, type[Exception]]] = [
    (21, 32768, ValueError),
    (23, 2**31, ValueError),
    (23, -(2**31) - 1, ValueError),
    (20, 2**63, ValueError),
    (26, -1, ValueError),
    (26, 2**32, ValueError),
    (23, True, TypeError),
    (23, 1.0, TypeError),
    (23, "1", TypeError),
    (16, 1, TypeError),
    (700, 1e39, ValueError),
    (701, "1.0", TypeError),
    (1700, Decimal("sNaN"), ValueError),
    (1700, Decimal("1E-16384"), ValueError),
    (1700, Decimal("1E+131072"), ValueError),
    (1700, 1.5, TypeError),
    (25, "a\0b", ValueError),
    (25, b"bytes", TypeError),
    (17, "str", TypeError),
    (2950, str(U), TypeError),
    (1082, datetime(2000, 1, 1), TypeError),
    (1083, time(1, tzinfo=UTC), ValueError),
    (1114, datetime(2000, 1, 1, tzinfo=UTC), ValueError),
    (1184, datetime(2000, 1, 1), ValueError),
    (1186, (1, 2), ValueError),
    (1186, (2**31, 0, 0), ValueError),
    (1186, (0, 0, 2**63), ValueError),
    (1186, (0, 0, 1.5), TypeError),
    (2278, 0, TypeError),
    (1007, (1, 2), TypeError),
    (1007, [1, [2]], ValueError),
    (1007, [[1], 2], ValueError),
    (1007, [[1], [2, 3]], ValueError),
    (1007, [[], [1]], ValueError),
    (1007, [[[[[[[1]]]]]]], ValueError),
    (1007, [2**31], ValueError),
    (1187, [[1, 2, 3]], TypeError),  # inside arrays a list is a dimension, not an interval
]


@pytest.mark.parametrize(("oid", "value", "error"), BAD_VALUES)
def test_bad_values_are_the_callers_fault(oid: int, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_binary(oid, value)


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None)

texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
zones = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-15), max_value=timedelta(hours=15)))
scalars = st.one_of(
    st.tuples(st.just(16), st.booleans()),
    st.tuples(st.just(21), st.integers(-(2**15), 2**15 - 1)),
    st.tuples(st.just(23), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(20), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(26), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(701), st.floats(allow_nan=False)),
    st.tuples(st.just(700), st.floats(width=32, allow_nan=False)),
    st.tuples(st.just(25), texts),
    st.tuples(st.just(3802), texts),
    st.tuples(st.just(17), st.binary()),
    st.tuples(st.just(1082), st.dates()),
    st.tuples(st.just(1083), st.times()),
    st.tuples(st.just(1114), st.datetimes()),
    st.tuples(
        st.just(1184),
        st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1), timezones=zones),
    ),
    st.tuples(
        st.just(1186),
        st.tuples(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1), st.integers(-(2**63), 2**63 - 1)),
    ),
    st.tuples(st.just(2950), st.uuids()),
)


@PROPERTY
@given(scalars)
def test_scalar_round_trip_property(case: tuple[int, Any]) -> None:
    oid, value = case
    assert decode_binary(oid, encode_binary(oid, value)) == value


@PROPERTY
@given(
    negative=st.booleans(),
    coefficient=st.integers(0, 10**60),
    exponent=st.integers(-60, 60),
)
def test_numeric_round_trip_property(negative: bool, coefficient: int, exponent: int) -> None:
    value = Decimal(f"{'-' if negative else ''}{coefficient}E{exponent}")
    decoded = decode_binary(1700, encode_binary(1700, value))
    assert decoded == value
    if exponent <= 0:
        assert decoded.as_tuple().exponent == exponent


@PROPERTY
@given(
    st.one_of(
        st.tuples(st.just(1007), st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)))),
        st.tuples(st.just(1009), st.lists(st.one_of(st.none(), texts), max_size=5)),
        st.tuples(
            st.just(1016),
            st.integers(1, 4).flatmap(
                lambda width: st.lists(st.lists(st.integers(-5, 5), min_size=width, max_size=width), min_size=1)
            ),
        ),
    )
)
def test_array_round_trip_property(case: tuple[int, list[Any]]) -> None:
    oid, value = case
    assert decode_binary(oid, encode_binary(oid, value)) == value


FUZZ_OIDS = [16, 21, 23, 20, 26, 700, 701, 1700, 25, 3802, 17, 1082, 1083, 1114, 1184, 1186, 2950, 2278]
FUZZ_OIDS += [1007, 1009, 1231, 1115, 1187, 3807]


@settings(max_examples=300, deadline=None)
@given(oid=st.sampled_from(FUZZ_OIDS), data=st.binary(max_size=64))
def test_garbage_raises_only_documented_errors(oid: int, data: bytes) -> None:
    try:
        decode_binary(oid, data)
    except ProtocolViolation as exc:
        assert exc.sqlstate in ("22P03", "22021", "42804")
        assert not exc.fatal
    except ValueError as exc:
        assert oid in (1082, 1083, 1114, 1184, 1115), exc  # dates and times Python cannot hold


@settings(max_examples=300, deadline=None)
@given(
    oid=st.sampled_from([1007, 1009, 1231, 1187]),
    header=st.sampled_from(["00000001 00000001", "00000002 00000000"]),
    rest=st.binary(max_size=48),
)
def test_array_garbage_after_a_valid_header(oid: int, header: str, rest: bytes) -> None:
    element = {1007: 23, 1009: 25, 1231: 1700, 1187: 1186}[oid]
    try:
        decode_binary(oid, bytes.fromhex(header) + element.to_bytes(4, "big") + rest)
    except ProtocolViolation as exc:
        assert not exc.fatal
