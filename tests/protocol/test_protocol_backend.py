"""Backend encoders: byte-exact against messages written out by hand from
https://www.postgresql.org/docs/15/protocol-message-formats.html, and our own
mistakes refused with ValueError."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocol import backend as b
from protocol.backend import FieldDescription

FIXTURES: list[tuple[Callable[[], bytes], bytes]] = [
    (b.authentication_ok, b"R\x00\x00\x00\x08\x00\x00\x00\x00"),
    (b.authentication_cleartext_password, b"R\x00\x00\x00\x08\x00\x00\x00\x03"),
    (lambda: b.authentication_md5_password(b"\x01\x02\x03\x04"), b"R\x00\x00\x00\x0c\x00\x00\x00\x05\x01\x02\x03\x04"),
    (lambda: b.authentication_sasl(["SCRAM-SHA-256"]), b"R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00"),
    (
        lambda: b.authentication_sasl(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]),
        b"R\x00\x00\x00\x2a\x00\x00\x00\x0aSCRAM-SHA-256-PLUS\x00SCRAM-SHA-256\x00\x00",
    ),
    (lambda: b.authentication_sasl_continue(b"r=abc"), b"R\x00\x00\x00\x0d\x00\x00\x00\x0br=abc"),
    (lambda: b.authentication_sasl_final(b"v=xyz"), b"R\x00\x00\x00\x0d\x00\x00\x00\x0cv=xyz"),
    (lambda: b.parameter_status("server_version", "15.4"), b"S\x00\x00\x00\x18server_version\x0015.4\x00"),
    (lambda: b.parameter_status("application_name", ""), b"S\x00\x00\x00\x16application_name\x00\x00"),
    (lambda: b.backend_key_data(1234, 0xDEADBEEF), b"K\x00\x00\x00\x0c\x00\x00\x04\xd2\xde\xad\xbe\xef"),
    (lambda: b.ready_for_query("I"), b"Z\x00\x00\x00\x05I"),
    (lambda: b.ready_for_query("T"), b"Z\x00\x00\x00\x05T"),
    (lambda: b.ready_for_query("E"), b"Z\x00\x00\x00\x05E"),
    (
        lambda: b.negotiate_protocol_version(0, ["_pq_.x"]),
        b"v\x00\x00\x00\x13\x00\x00\x00\x00\x00\x00\x00\x01_pq_.x\x00",
    ),
    (lambda: b.negotiate_protocol_version(0, []), b"v\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x00"),
    (lambda: b.row_description([]), b"T\x00\x00\x00\x06\x00\x00"),
    (
        lambda: b.row_description([FieldDescription("a", 23, 4, -1, 16384, 1, 0)]),
        b"T\x00\x00\x00\x1a\x00\x01a\x00\x00\x00\x40\x00\x00\x01\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00",
    ),
    (
        lambda: b.row_description(
            [FieldDescription("n", 1700, type_modifier=(10 << 16 | 2) + 4), FieldDescription("x", 25, format=1)]
        ),
        b"T\x00\x00\x00\x2e\x00\x02"
        b"n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x06\xa4\xff\xff\x00\x0a\x00\x06\x00\x00"
        b"x\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x01",
    ),
    (lambda: b.data_row([]), b"D\x00\x00\x00\x06\x00\x00"),
    (
        lambda: b.data_row([b"1", None, b""]),
        b"D\x00\x00\x00\x13\x00\x03\x00\x00\x00\x011\xff\xff\xff\xff\x00\x00\x00\x00",
    ),
    (
        lambda: b.data_row([bytearray(b"ab"), memoryview(b"c")]),
        b"D\x00\x00\x00\x11\x00\x02\x00\x00\x00\x02ab\x00\x00\x00\x01c",
    ),
    (lambda: b.command_complete("SELECT 1"), b"C\x00\x00\x00\x0dSELECT 1\x00"),
    (lambda: b.command_complete("INSERT 0 5"), b"C\x00\x00\x00\x0fINSERT 0 5\x00"),
    (b.empty_query_response, b"I\x00\x00\x00\x04"),
    (b.parse_complete, b"1\x00\x00\x00\x04"),
    (b.bind_complete, b"2\x00\x00\x00\x04"),
    (b.close_complete, b"3\x00\x00\x00\x04"),
    (b.no_data, b"n\x00\x00\x00\x04"),
    (b.portal_suspended, b"s\x00\x00\x00\x04"),
    (lambda: b.parameter_description([]), b"t\x00\x00\x00\x06\x00\x00"),
    (lambda: b.parameter_description([23, 25]), b"t\x00\x00\x00\x0e\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19"),
    (
        lambda: b.error_response("ERROR", "42P01", 'relation "t" does not exist', position=15),
        b'E\x00\x00\x00\x3bSERROR\x00VERROR\x00C42P01\x00Mrelation "t" does not exist\x00P15\x00\x00',
    ),
    (
        lambda: b.error_response(
            "FATAL", "28P01", "m", detail="d", hint="h", position=1, schema="s", table="t", column="c", constraint="n"
        ),
        b"E\x00\x00\x00\x32SFATAL\x00VFATAL\x00C28P01\x00Mm\x00Dd\x00Hh\x00P1\x00ss\x00tt\x00cc\x00nn\x00\x00",
    ),
    (
        lambda: b.error_response("ERROR", "23505", "dup", constraint="t_pkey", table="t"),
        b"E\x00\x00\x00\x2aSERROR\x00VERROR\x00C23505\x00Mdup\x00tt\x00nt_pkey\x00\x00",
    ),
    (
        lambda: b.notice_response("NOTICE", "00000", "skipping"),
        b"N\x00\x00\x00\x26SNOTICE\x00VNOTICE\x00C00000\x00Mskipping\x00\x00",
    ),
    (
        lambda: b.notice_response("WARNING", "01000", "w", hint="h"),
        b"N\x00\x00\x00\x24SWARNING\x00VWARNING\x00C01000\x00Mw\x00Hh\x00\x00",
    ),
    (lambda: b.notification_response(42, "ch", "hi"), b"A\x00\x00\x00\x0e\x00\x00\x00\x2ach\x00hi\x00"),
    (lambda: b.copy_in_response(0, [0, 0]), b"G\x00\x00\x00\x0b\x00\x00\x02\x00\x00\x00\x00"),
    (lambda: b.copy_in_response(1, []), b"G\x00\x00\x00\x07\x01\x00\x00"),
    (lambda: b.copy_out_response(1, [1]), b"H\x00\x00\x00\x09\x01\x00\x01\x00\x01"),
    (lambda: b.copy_data(b"1\tx\n"), b"d\x00\x00\x00\x081\tx\n"),
    (b.copy_done, b"c\x00\x00\x00\x04"),
]


@pytest.mark.parametrize(("encode", "expected"), FIXTURES)
def test_byte_exact(encode: Callable[[], bytes], expected: bytes) -> None:
    data = encode()
    assert type(data) is bytes
    assert data == expected


def test_ssl_answers_are_single_bytes() -> None:
    assert (b.SSL_ACCEPTED, b.SSL_REFUSED) == (b"S", b"N")


def test_utf8_strings() -> None:
    assert b.command_complete("\u00e9") == b"C\x00\x00\x00\x07\xc3\xa9\x00"


def test_data_row_large_cells() -> None:
    cell = b"x" * 5000
    assert b.data_row([cell]) == b"D\x00\x00\x13\x92\x00\x01\x00\x00\x13\x88" + cell


MISUSE: list[Callable[[], bytes]] = [
    lambda: b.ready_for_query("X"),
    lambda: b.command_complete("a\0b"),
    lambda: b.parameter_status("a", "\0"),
    lambda: b.authentication_md5_password(b"123"),
    lambda: b.authentication_sasl([]),
    lambda: b.authentication_sasl([""]),
    lambda: b.backend_key_data(-1, 0),
    lambda: b.backend_key_data(0, 2**32),
    lambda: b.parameter_description([-1]),
    lambda: b.row_description([FieldDescription("a", 2**32)]),
    lambda: b.row_description([FieldDescription("a", 23, type_size=40000)]),
    lambda: b.row_description([FieldDescription("a\0", 23)]),
    lambda: b.data_row([b""] * 32768),
    lambda: b.error_response("NOTICE", "00000", "m"),
    lambda: b.notice_response("ERROR", "00000", "m"),
    lambda: b.error_response("ERROR", "4201", "m"),
    lambda: b.error_response("ERROR", "42p01", "m"),
    lambda: b.error_response("ERROR", "42P01", "m", position=0),
    lambda: b.error_response("ERROR", "42P01", "a\0b"),
    lambda: b.error_response("ERROR", "42P01", "m", detail="\0"),
    lambda: b.notification_response(2**32, "c", "p"),
    lambda: b.copy_in_response(2, []),
    lambda: b.copy_in_response(0, [1]),
    lambda: b.copy_out_response(1, [2]),
]


@pytest.mark.parametrize("encode", MISUSE)
def test_misuse_raises_value_error(encode: Callable[[], bytes]) -> None:
    with pytest.raises(ValueError):
        encode()
