"""FrontendDecoder: every message whole, byte by byte and followed by more bytes;
every malformation refused with ProtocolViolation, and garbage never anything else."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.decoder import FrontendDecoder
from protocol.errors import ProtocolViolation
from protocol.messages import (
    Bind,
    CancelRequest,
    Close,
    CopyData,
    CopyDone,
    CopyFail,
    Describe,
    Execute,
    Flush,
    FrontendMessage,
    FunctionCall,
    GSSENCRequest,
    Parse,
    PasswordMessage,
    Query,
    SSLRequest,
    StartupMessage,
    Sync,
    Terminate,
)

# A minimal StartupMessage: length 18, protocol 3.0, user=bob.
STARTUP = b"\x00\x00\x00\x12\x00\x03\x00\x00user\x00bob\x00\x00"

# Startup-phase packets, written out byte by byte from the protocol documentation.
STARTUP_FIXTURES: list[tuple[bytes, FrontendMessage]] = [
    (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", SSLRequest()),
    (b"\x00\x00\x00\x08\x04\xd2\x16\x30", GSSENCRequest()),
    (b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x30\x39\xde\xad\xbe\xef", CancelRequest(12345, 0xDEADBEEF)),
    (STARTUP, StartupMessage(196608, {"user": "bob"})),
    (
        b"\x00\x00\x00\x26\x00\x03\x00\x02user\x00bob\x00database\x00db\x00_pq_.x\x00\x00\x00",
        StartupMessage(196610, {"user": "bob", "database": "db", "_pq_.x": ""}),
    ),
    (
        # asyncpg's quoted client_encoding arrives verbatim; a repeated key keeps its last value
        b"\x00\x00\x00\x2f\x00\x03\x00\x00client_encoding\x00'utf-8'\x00user\x00a\x00user\x00b\x00\x00",
        StartupMessage(196608, {"client_encoding": "'utf-8'", "user": "b"}),
    ),
]

# Regular-phase messages (after the StartupMessage).
REGULAR_FIXTURES: list[tuple[bytes, FrontendMessage]] = [
    (b"Q\x00\x00\x00\x0dSELECT 1\x00", Query("SELECT 1")),
    (b"Q\x00\x00\x00\x05\x00", Query("")),
    (b"Q\x00\x00\x00\x0a\xc3\xa9t\xc3\xa9\x00", Query("\u00e9t\u00e9")),
    (b"P\x00\x00\x00\x08\x00\x00\x00\x00", Parse("", "", ())),
    (
        b"P\x00\x00\x00\x1bs1\x00SELECT $1\x00\x00\x02\x00\x00\x00\x17\x00\x00\x00\x00",
        Parse("s1", "SELECT $1", (23, 0)),
    ),
    (b"P\x00\x00\x00\x0c\x00\x00\x00\x01\xff\xff\xff\xff", Parse("", "", (0xFFFFFFFF,))),
    (b"B\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x00", Bind("", "", (), (), ())),
    (
        b"B\x00\x00\x00\x20p\x00s\x00\x00\x01\x00\x01\x00\x02\x00\x00\x00\x04\x00\x00\x00\x07"
        b"\xff\xff\xff\xff\x00\x02\x00\x00\x00\x01",
        Bind("p", "s", (1,), (b"\x00\x00\x00\x07", None), (0, 1)),
    ),
    (
        b"B\x00\x00\x00\x19\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01x\x00\x00",
        Bind("", "", (0, 1), (b"", b"x"), ()),
    ),
    (b"D\x00\x00\x00\x06S\x00", Describe("S", "")),
    (b"D\x00\x00\x00\x08Pp1\x00", Describe("P", "p1")),
    (b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00", Execute("", 0)),
    (b"E\x00\x00\x00\x0bp1\x00\x00\x00\x00\x64", Execute("p1", 100)),
    (b"E\x00\x00\x00\x09\x00\xff\xff\xff\xff", Execute("", -1)),
    (b"C\x00\x00\x00\x08Ss1\x00", Close("S", "s1")),
    (b"C\x00\x00\x00\x06P\x00", Close("P", "")),
    (b"S\x00\x00\x00\x04", Sync()),
    (b"H\x00\x00\x00\x04", Flush()),
    (b"X\x00\x00\x00\x04", Terminate()),
    (b"d\x00\x00\x00\x0b1\t\\N\n\x00\xff", CopyData(b"1\t\\N\n\x00\xff")),
    (b"d\x00\x00\x00\x04", CopyData(b"")),
    (b"c\x00\x00\x00\x04", CopyDone()),
    (b"f\x00\x00\x00\x09oops\x00", CopyFail("oops")),
    (b"p\x00\x00\x00\x0bsecret\x00", PasswordMessage(b"secret\x00")),
    (b"F\x00\x00\x00\x06\x00\x01", FunctionCall(b"\x00\x01")),
]


def regular_decoder(max_message_size: int = 64 * 1024 * 1024) -> FrontendDecoder:
    decoder = FrontendDecoder(max_message_size)
    decoder.feed(STARTUP)
    assert decoder.next_message() == StartupMessage(196608, {"user": "bob"})
    return decoder


def drain(decoder: FrontendDecoder) -> list[FrontendMessage]:
    messages = []
    while (message := decoder.next_message()) is not None:
        messages.append(message)
    return messages


def frame(type_byte: bytes, body: bytes) -> bytes:
    return type_byte + struct.pack("!i", len(body) + 4) + body


ALL_FIXTURES = [(False, data, message) for data, message in STARTUP_FIXTURES] + [
    (True, data, message) for data, message in REGULAR_FIXTURES
]


@pytest.mark.parametrize(("regular", "data", "expected"), ALL_FIXTURES)
def test_whole(regular: bool, data: bytes, expected: FrontendMessage) -> None:
    decoder = regular_decoder() if regular else FrontendDecoder()
    decoder.feed(data)
    assert decoder.next_message() == expected
    assert decoder.next_message() is None
    assert decoder.pending() == 0


@pytest.mark.parametrize(("regular", "data", "expected"), ALL_FIXTURES)
def test_byte_by_byte(regular: bool, data: bytes, expected: FrontendMessage) -> None:
    decoder = regular_decoder() if regular else FrontendDecoder()
    for i in range(len(data) - 1):
        decoder.feed(data[i : i + 1])
        assert decoder.next_message() is None
        assert decoder.pending() == i + 1
    decoder.feed(data[-1:])
    assert decoder.next_message() == expected
    assert decoder.next_message() is None


@pytest.mark.parametrize(("regular", "data", "expected"), ALL_FIXTURES)
def test_trailing_bytes_stay_buffered(regular: bool, data: bytes, expected: FrontendMessage) -> None:
    decoder = regular_decoder() if regular else FrontendDecoder()
    decoder.feed(data + b"Q\x00\x00")  # the start of a Query, or of a startup packet
    assert decoder.next_message() == expected
    assert decoder.pending() == 3
    assert decoder.next_message() is None
    assert decoder.pending() == 3


def test_messages_are_frozen_and_typed() -> None:
    message = regular_decoder()
    message.feed(REGULAR_FIXTURES[7][0])
    bind = message.next_message()
    assert isinstance(bind, Bind)
    assert isinstance(bind.params[0], bytes)
    with pytest.raises(AttributeError):
        bind.portal = "x"  # type: ignore[misc]
    hash(bind)


def test_phases() -> None:
    decoder = FrontendDecoder()
    assert decoder.in_startup
    decoder.feed(STARTUP_FIXTURES[0][0] + STARTUP_FIXTURES[1][0])
    assert decoder.next_message() == SSLRequest()
    assert decoder.in_startup
    assert decoder.next_message() == GSSENCRequest()
    assert decoder.in_startup
    decoder.feed(STARTUP + b"Q\x00\x00\x00\x0dSELECT 1\x00" + b"S\x00\x00\x00\x04")
    assert decoder.next_message() == StartupMessage(196608, {"user": "bob"})
    assert not decoder.in_startup
    assert drain(decoder) == [Query("SELECT 1"), Sync()]


def test_pending_reports_unencrypted_bytes_after_ssl_request() -> None:
    decoder = FrontendDecoder()
    decoder.feed(STARTUP_FIXTURES[0][0] + STARTUP)
    assert decoder.next_message() == SSLRequest()
    assert decoder.pending() == len(STARTUP)  # the server must refuse these (CVE-2021-23214)


def test_many_messages_in_one_feed_and_buffer_reuse() -> None:
    decoder = regular_decoder()
    batch = b"".join(data for data, _ in REGULAR_FIXTURES)
    expected = [message for _, message in REGULAR_FIXTURES]
    for _ in range(3):
        decoder.feed(batch[:-1])
        assert drain(decoder) == expected[:-1]
        decoder.feed(batch[-1:])
        assert drain(decoder) == expected[-1:]
        assert decoder.pending() == 0


def test_large_message_split_in_chunks() -> None:
    decoder = regular_decoder()
    payload = bytes(range(256)) * 4096
    data = frame(b"d", payload)
    for i in range(0, len(data), 65536):
        assert decoder.next_message() is None
        decoder.feed(memoryview(data)[i : i + 65536])
    assert decoder.next_message() == CopyData(payload)


# --- violations --------------------------------------------------------------------------------

GIB = 1 << 30

STARTUP_VIOLATIONS: list[tuple[bytes, str]] = [
    (b"\x00\x00\x00\x00", "invalid length 0 of startup packet"),
    (b"\xff\xff\xff\xfc", "invalid length -4 of startup packet"),
    (b"\x00\x00\x00\x07", "invalid length 7 of startup packet"),
    (b"\x40\x00\x00\x00", f"invalid length {GIB} of startup packet"),
    (b"\x00\x00\x27\x15", "invalid length 10005 of startup packet"),
    (b"\x00\x00\x00\x0c\x04\xd2\x16\x2f\x00\x00\x00\x00", "invalid length 12 of SSLRequest"),
    (b"\x00\x00\x00\x0c\x04\xd2\x16\x30\x00\x00\x00\x00", "invalid length 12 of GSSENCRequest"),
    (b"\x00\x00\x00\x0c\x04\xd2\x16\x2e\x00\x00\x00\x01", "invalid length 12 of CancelRequest"),
    (b"\x00\x00\x00\x08\x04\xd2\x16\x2f" * 2, "SSLRequest sent twice"),
    (b"\x00\x00\x00\x08\x04\xd2\x16\x30" * 2, "GSSENCRequest sent twice"),
    (b"\x00\x00\x00\x08\x00\x02\x00\x00", "unsupported frontend protocol 2.0"),
    (b"\x00\x00\x00\x08\x00\x04\x00\x00", "unsupported frontend protocol 4.0"),
    (b"\x00\x00\x00\x08\x04\xd2\x16\x31", "unsupported frontend protocol 1234.5681"),
    (b"\x00\x00\x00\x08\x00\x03\x00\x00", "missing its NUL terminator"),
    (b"\x00\x00\x00\x0d\x00\x03\x00\x00user\x00", "missing its NUL terminator"),
    (b"\x00\x00\x00\x0e\x00\x03\x00\x00user\x00x", "missing its NUL terminator"),
    (b"\x00\x00\x00\x0a\x00\x03\x00\x00\x00\x00", "1 unexpected bytes"),
    (b"\x00\x00\x00\x0c\x00\x03\x00\x00\xff\x00a\x00", "UTF8"),
]


@pytest.mark.parametrize(("data", "fragment"), STARTUP_VIOLATIONS)
def test_startup_violations(data: bytes, fragment: str) -> None:
    decoder = FrontendDecoder()
    decoder.feed(data)
    with pytest.raises(ProtocolViolation) as caught:
        drain(decoder)
    assert fragment in caught.value.message
    assert caught.value.fatal and caught.value.severity == "FATAL"
    expected_state = {"unsupported": "0A000", "UTF8": "22021"}
    assert caught.value.sqlstate == next((code for key, code in expected_state.items() if key in fragment), "08P01")


def test_startup_limit_is_postgresqls() -> None:
    body = b"user\x00" + b"x" * (10004 - 8 - 7) + b"\x00\x00"
    decoder = FrontendDecoder()
    decoder.feed(struct.pack("!ii", 8 + len(body), 196608) + body)
    assert decoder.next_message() == StartupMessage(196608, {"user": "x" * 9989})


REGULAR_VIOLATIONS: list[tuple[bytes, str]] = [
    (b"Q\x00\x00\x00\x00", "invalid length 0 of Query"),
    (b"Q\x00\x00\x00\x03", "invalid length 3 of Query"),
    (b"Q\xff\xff\xff\xff", "invalid length -1 of Query"),
    (b"Q\x80\x00\x00\x00", "invalid length -2147483648 of Query"),
    (b"Q\x40\x00\x00\x00", f"invalid length {GIB} of Query"),
    (b"Q\x04\x00\x00\x01", f"invalid length {64 * 1024 * 1024 + 1} of Query"),
    (b"S\x00\x00\x27\x11", "invalid length 10001 of Sync"),
    (b"p\x00\x01\x00\x00", "invalid length 65536 of PasswordMessage"),
    (b"A", "invalid frontend message type 65"),
    (b"\x00", "invalid frontend message type 0"),
    (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", "invalid frontend message type 0"),  # SSLRequest too late
    (b"Q\x00\x00\x00\x04", "missing its NUL terminator"),
    (b"Q\x00\x00\x00\x0cSELECT 1", "missing its NUL terminator"),
    (b"Q\x00\x00\x00\x0eSELECT 1\x00x", "1 unexpected bytes"),
    (b"Q\x00\x00\x00\x06\xff\x00", "UTF8"),
    (b"Q\x00\x00\x00\x07\xc3\x28\x00", "UTF8"),
    (b"P\x00\x00\x00\x06\x00\x00", "Int16 count"),
    (b"P\x00\x00\x00\x08\x00\x00\xff\xff", "count of 65535 parameter types overruns"),
    (b"P\x00\x00\x00\x0c\x00\x00\x00\x02\x00\x00\x00\x17", "overruns"),
    (b"P\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00", "2 unexpected bytes"),
    (b"B\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00", "Int16 count"),
    (b"B\x00\x00\x00\x0c\x00\x00\xff\xff\x00\x00\x00\x00", "Int16 values overruns"),
    (b"B\x00\x00\x00\x0c\x00\x00\x00\x03\x00\x00\x00\x00", "Int16 values overruns"),
    (b"B\x00\x00\x00\x0c\x00\x00\x00\x00\x80\x00\x00\x00", "count of 32768 parameters overruns"),
    (b"B\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x01\x00\x00", "overruns"),
    (b"B\x00\x00\x00\x0e\x00\x00\x00\x00\x00\x01\xff\xff\xff\xfe", "invalid parameter length -2"),
    (b"B\x00\x00\x00\x0e\x00\x00\x00\x00\x00\x01\x00\x00\x00\x05", "overruns"),
    (b"B\x00\x00\x00\x0e\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "2 unexpected bytes"),
    (
        b"B\x00\x00\x00\x14\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\x00\x00",
        "2 parameter formats for 1 parameters",
    ),
    (b"B\x00\x00\x00\x04", "missing its NUL terminator"),
    (b"D\x00\x00\x00\x04", "expected 'S' or 'P'"),
    (b"D\x00\x00\x00\x06X\x00", "invalid subtype 88"),
    (b"D\x00\x00\x00\x05S", "missing its NUL terminator"),
    (b"C\x00\x00\x00\x06s\x00", "invalid subtype 115"),
    (b"C\x00\x00\x00\x07S\x00\x00", "1 unexpected bytes"),
    (b"E\x00\x00\x00\x05\x00", "row limit"),
    (b"E\x00\x00\x00\x08\x00\x00\x00\x00", "row limit"),
    (b"E\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00", "1 unexpected bytes"),
    (b"E\x00\x00\x00\x08abcd", "row limit"),
    (b"S\x00\x00\x00\x05\x00", "1 unexpected bytes"),
    (b"H\x00\x00\x00\x06\x00\x00", "2 unexpected bytes"),
    (b"X\x00\x00\x00\x05x", "1 unexpected bytes"),
    (b"c\x00\x00\x00\x05x", "1 unexpected bytes"),
    (b"f\x00\x00\x00\x05x", "missing its NUL terminator"),
]


@pytest.mark.parametrize(("data", "fragment"), REGULAR_VIOLATIONS)
def test_regular_violations(data: bytes, fragment: str) -> None:
    decoder = regular_decoder()
    decoder.feed(data)
    with pytest.raises(ProtocolViolation) as caught:
        drain(decoder)
    assert fragment in caught.value.message
    assert caught.value.sqlstate == ("22021" if fragment == "UTF8" else "08P01")


@pytest.mark.parametrize(("data", "fragment"), REGULAR_VIOLATIONS)
def test_regular_violations_byte_by_byte(data: bytes, fragment: str) -> None:
    decoder = regular_decoder()
    with pytest.raises(ProtocolViolation) as caught:
        for i in range(len(data)):
            decoder.feed(data[i : i + 1])
            drain(decoder)
    assert fragment in caught.value.message


@pytest.mark.parametrize("length", [0, 3, -1, GIB, 64 * 1024 * 1024 + 1])
def test_bad_length_refused_from_the_header_alone(length: int) -> None:
    decoder = regular_decoder()
    header = b"Q" + struct.pack("!i", length)
    decoder.feed(header[:4])
    assert decoder.next_message() is None  # short input: no verdict yet
    decoder.feed(header[4:])
    with pytest.raises(ProtocolViolation, match="invalid length"):
        decoder.next_message()


def test_unknown_type_refused_from_its_first_byte() -> None:
    decoder = regular_decoder()
    decoder.feed(b"Z")
    with pytest.raises(ProtocolViolation, match="invalid frontend message type 90"):
        decoder.next_message()


def test_configured_limit_is_inclusive() -> None:
    body = b"x" * 95 + b"\x00"
    decoder = regular_decoder(max_message_size=100)
    decoder.feed(frame(b"Q", body))
    assert decoder.next_message() == Query("x" * 95)
    decoder.feed(frame(b"Q", b"x" + body))
    with pytest.raises(ProtocolViolation, match="invalid length 101 of Query"):
        decoder.next_message()


def test_small_messages_obey_a_smaller_configured_limit() -> None:
    decoder = regular_decoder(max_message_size=6)
    decoder.feed(b"D\x00\x00\x00\x07Px\x00")
    with pytest.raises(ProtocolViolation, match="invalid length 7 of Describe"):
        decoder.next_message()


def test_bad_max_message_size_is_our_mistake() -> None:
    with pytest.raises(ValueError):
        FrontendDecoder(3)
    with pytest.raises(ValueError):
        FrontendDecoder(2**31)


def test_failure_is_permanent() -> None:
    decoder = regular_decoder()
    decoder.feed(b"Q\x00\x00\x00\x05\x00" + b"A\x00\x00\x00\x04")
    assert decoder.next_message() == Query("")
    with pytest.raises(ProtocolViolation) as first:
        decoder.next_message()
    for call in (decoder.next_message, lambda: decoder.feed(b"S\x00\x00\x00\x04")):
        with pytest.raises(ProtocolViolation) as again:
            call()
        assert again.value is first.value
    assert decoder.pending() == 0


# --- fuzzing -----------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_in_chunks(decoder: FrontendDecoder, data: bytes, cuts: list[int]) -> list[FrontendMessage]:
    """Feed `data` split at `cuts`; decode everything; only ProtocolViolation may escape."""
    messages: list[FrontendMessage] = []
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for start, stop in itertools.pairwise(bounds):
        decoder.feed(data[start:stop])
        messages.extend(drain(decoder))
    return messages


@FUZZ
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200), max_size=6), regular=st.booleans())
def test_garbage_only_raises_protocol_violation(data: bytes, cuts: list[int], regular: bool) -> None:
    decoder = regular_decoder() if regular else FrontendDecoder()
    try:
        feed_in_chunks(decoder, data, cuts)
    except ProtocolViolation as exc:
        assert exc.fatal
        with pytest.raises(ProtocolViolation):
            decoder.next_message()


VALID_STREAM = STARTUP + b"".join(data for data, _ in REGULAR_FIXTURES)


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, len(VALID_STREAM) - 1), st.integers(0, 255)), min_size=1, max_size=4),
    truncate=st.integers(0, len(VALID_STREAM)),
    cuts=st.lists(st.integers(0, len(VALID_STREAM)), max_size=6),
)
def test_mutated_valid_stream_only_raises_protocol_violation(
    edits: list[tuple[int, int]], truncate: int, cuts: list[int]
) -> None:
    data = bytearray(VALID_STREAM)
    for index, value in edits:
        data[index] = value
    decoder = FrontendDecoder()
    try:
        messages = feed_in_chunks(decoder, bytes(data[:truncate]), cuts)
    except ProtocolViolation:
        return
    assert all(isinstance(message, FrontendMessage) for message in messages)


names = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
cells = st.one_of(st.none(), st.binary(max_size=12))


@st.composite
def frontend_messages(draw: st.DrawFn) -> tuple[bytes, FrontendMessage]:
    """A random regular-phase message and its encoding, built independently of the decoder."""
    kind = draw(st.sampled_from("QPBDECSHXdcfpF"))

    def cstr(text: str) -> bytes:
        return text.encode() + b"\x00"

    if kind == "Q":
        sql = draw(names)
        return frame(b"Q", cstr(sql)), Query(sql)
    if kind == "P":
        name, sql = draw(names), draw(names)
        oids = tuple(draw(st.lists(st.integers(0, 2**32 - 1), max_size=40)))
        body = cstr(name) + cstr(sql) + struct.pack(f"!h{len(oids)}I", len(oids), *oids)
        return frame(b"P", body), Parse(name, sql, oids)
    if kind == "B":
        portal, statement = draw(names), draw(names)
        params = tuple(draw(st.lists(cells, max_size=5)))
        formats = tuple(draw(st.lists(st.integers(0, 1), min_size=len(params), max_size=len(params))))
        formats = draw(st.sampled_from([(), formats[:1], formats]))
        results = tuple(draw(st.lists(st.integers(0, 1), max_size=40)))
        body = cstr(portal) + cstr(statement) + struct.pack(f"!h{len(formats)}h", len(formats), *formats)
        body += struct.pack("!h", len(params))
        for param in params:
            body += b"\xff\xff\xff\xff" if param is None else struct.pack("!i", len(param)) + param
        body += struct.pack(f"!h{len(results)}h", len(results), *results)
        return frame(b"B", body), Bind(portal, statement, formats, params, results)
    if kind in "DC":
        sub, name = draw(st.sampled_from("SP")), draw(names)
        message_type = Describe if kind == "D" else Close
        return frame(kind.encode(), sub.encode() + cstr(name)), message_type(sub, name)
    if kind == "E":
        portal, rows = draw(names), draw(st.integers(-(2**31), 2**31 - 1))
        return frame(b"E", cstr(portal) + struct.pack("!i", rows)), Execute(portal, rows)
    if kind == "f":
        text = draw(names)
        return frame(b"f", cstr(text)), CopyFail(text)
    if kind in "dpF":
        raw = draw(st.binary(max_size=30))
        return frame(kind.encode(), raw), {"d": CopyData, "p": PasswordMessage, "F": FunctionCall}[kind](raw)
    return frame(kind.encode(), b""), {"S": Sync(), "H": Flush(), "X": Terminate(), "c": CopyDone()}[kind]


@FUZZ
@given(stream=st.lists(frontend_messages(), max_size=6), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_random_valid_streams_decode_exactly(stream: list[tuple[bytes, FrontendMessage]], cuts: list[int]) -> None:
    decoder = regular_decoder()
    data = b"".join(encoded for encoded, _ in stream)
    assert feed_in_chunks(decoder, data, cuts) == [message for _, message in stream]
    assert decoder.pending() == 0
