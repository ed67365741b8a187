"""Encoders for backend (server -> client) messages of PostgreSQL protocol 3.0.

Role: each function returns the complete bytes of one message (type byte,
Int32 length counting itself, body), ready to be written to the socket;
several can simply be concatenated into one write. Formats follow
https://www.postgresql.org/docs/15/protocol-message-formats.html.

Invariants:

* Pure functions of their arguments; constant messages are precomputed.
* Strings are encoded as UTF-8 and NUL-terminated; a string that contains NUL
  cannot be framed and raises ValueError. Integers that do not fit their wire
  field raise ValueError. Both are the caller's fault, never the peer's.
* OIDs, process ids and secret keys are unsigned 32-bit (0 .. 2**32-1), as
  the decoder reads them back.
* `data_row` is the hot path (one call per result row); it trusts its input
  to be a sequence of bytes-like cells or None and only checks the sizes.

`SSL_ACCEPTED` / `SSL_REFUSED` are the single-byte answers to SSLRequest and
GSSENCRequest; they are not messages.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

__all__ = [
    "SSL_ACCEPTED",
    "SSL_REFUSED",
    "FieldDescription",
    "authentication_cleartext_password",
    "authentication_md5_password",
    "authentication_ok",
    "authentication_sasl",
    "authentication_sasl_continue",
    "authentication_sasl_final",
    "backend_key_data",
    "bind_complete",
    "close_complete",
    "command_complete",
    "copy_data",
    "copy_done",
    "copy_in_response",
    "copy_out_response",
    "data_row",
    "empty_query_response",
    "error_response",
    "negotiate_protocol_version",
    "no_data",
    "notice_response",
    "notification_response",
    "parameter_description",
    "parameter_status",
    "parse_complete",
    "portal_suspended",
    "ready_for_query",
    "row_description",
]

SSL_ACCEPTED = b"S"
SSL_REFUSED = b"N"

_P = ParamSpec("_P")
_R = TypeVar("_R")

_int16 = struct.Struct("!h").pack
_uint16 = struct.Struct("!H").pack
_int32 = struct.Struct("!i").pack
_uint32 = struct.Struct("!I").pack
_header = struct.Struct("!ci").pack  # type byte, length
_header_count = struct.Struct("!cih").pack  # type byte, length, Int16 count
_field = struct.Struct("!IhIhih").pack  # RowDescription: table OID .. format code
_NULL = b"\xff\xff\xff\xff"
_LENGTHS = [_int32(n) for n in range(1024)]  # length prefixes of small DataRow cells
_SQLSTATE = re.compile(r"[0-9A-Z]{5}")
_ERROR_SEVERITIES = frozenset({"ERROR", "FATAL", "PANIC"})
_NOTICE_SEVERITIES = frozenset({"WARNING", "NOTICE", "DEBUG", "INFO", "LOG"})


def _message(type_byte: bytes, body: bytes) -> bytes:
    return _header(type_byte, len(body) + 4) + body


def _cstring(value: str, what: str) -> bytes:
    data = value.encode()
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL character and cannot be sent: {value!r}")
    return data + b"\0"


def _sizes_checked(encoder: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn struct's complaint about a number that does not fit its field into ValueError."""

    @wraps(encoder)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return encoder(*args, **kwargs)
        except struct.error as exc:
            raise ValueError(f"{encoder.__name__}: a number does not fit its wire field: {exc}") from None

    return checked


# --- authentication and startup ---------------------------------------------------------

_AUTHENTICATION_OK = _message(b"R", _int32(0))
_AUTHENTICATION_CLEARTEXT_PASSWORD = _message(b"R", _int32(3))


def authentication_ok() -> bytes:
    return _AUTHENTICATION_OK


def authentication_cleartext_password() -> bytes:
    return _AUTHENTICATION_CLEARTEXT_PASSWORD


def authentication_md5_password(salt: bytes) -> bytes:
    if len(salt) != 4:
        raise ValueError(f"the MD5 salt must be 4 bytes, not {len(salt)}")
    return _message(b"R", _int32(5) + bytes(salt))


def authentication_sasl(mechanisms: Sequence[str]) -> bytes:
    """Offer SASL mechanisms, e.g. ``["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]`` (preferred first)."""
    if not mechanisms or not all(mechanisms):
        raise ValueError(f"need at least one non-empty mechanism name, got {mechanisms!r}")
    names = b"".join(_cstring(name, "SASL mechanism name") for name in mechanisms)
    return _message(b"R", _int32(10) + names + b"\0")


def authentication_sasl_continue(data: bytes) -> bytes:
    return _message(b"R", _int32(11) + bytes(data))


def authentication_sasl_final(data: bytes) -> bytes:
    return _message(b"R", _int32(12) + bytes(data))


def parameter_status(name: str, value: str) -> bytes:
    return _message(b"S", _cstring(name, "parameter name") + _cstring(value, "parameter value"))


@_sizes_checked
def backend_key_data(process_id: int, secret_key: int) -> bytes:
    return _message(b"K", _uint32(process_id) + _uint32(secret_key))


@_sizes_checked
def negotiate_protocol_version(newest_minor: int, unrecognized: Sequence[str]) -> bytes:
    """Newest minor version of protocol 3 we support, and the ``_pq_.`` options we ignored."""
    names = b"".join(_cstring(name, "protocol option name") for name in unrecognized)
    return _message(b"v", _int32(newest_minor) + _int32(len(unrecognized)) + names)


# --- query results ------------------------------------------------------------------------

_READY_FOR_QUERY = {status: _message(b"Z", status.encode()) for status in ("I", "T", "E")}


def ready_for_query(status: str) -> bytes:
    """``I`` idle, ``T`` in a transaction block, ``E`` in a failed transaction block."""
    try:
        return _READY_FOR_QUERY[status]
    except KeyError:
        raise ValueError(f"transaction status must be 'I', 'T' or 'E', not {status!r}") from None


@dataclass(frozen=True, slots=True)
class FieldDescription:
    """One column of a RowDescription.

    `type_size` is the pg_type.typlen (-1 varlena, -2 C string), `type_modifier`
    the atttypmod (-1 if none), `table_oid`/`column_attnum` identify a plain
    table column (0 otherwise), `format` is 0 (text) or 1 (binary).
    """

    name: str
    type_oid: int
    type_size: int = -1
    type_modifier: int = -1
    table_oid: int = 0
    column_attnum: int = 0
    format: int = 0


@_sizes_checked
def row_description(fields: Sequence[FieldDescription]) -> bytes:
    parts = [_int16(len(fields))]
    for field in fields:
        parts.append(_cstring(field.name, "column name"))
        parts.append(
            _field(
                field.table_oid,
                field.column_attnum,
                field.type_oid,
                field.type_size,
                field.type_modifier,
                field.format,
            )
        )
    return _message(b"T", b"".join(parts))


def data_row(cells: Sequence[bytes | None]) -> bytes:
    """One result row; each cell is the value's bytes in the column's format, or None for NULL."""
    parts = [b""]
    append = parts.append
    total = 6
    try:
        for cell in cells:
            if cell is None:
                append(_NULL)
                total += 4
            else:
                size = len(cell)
                append(_LENGTHS[size] if size < 1024 else _int32(size))
                append(cell)
                total += size + 4
        parts[0] = _header_count(b"D", total, len(cells))
    except struct.error:
        raise ValueError(f"a DataRow of {len(cells)} cells and {total} bytes does not fit the protocol") from None
    return b"".join(parts)


def command_complete(tag: str) -> bytes:
    """E.g. ``SELECT 3``, ``INSERT 0 1``, ``UPDATE 2``, ``BEGIN``."""
    return _message(b"C", _cstring(tag, "command tag"))


_EMPTY_QUERY_RESPONSE = _message(b"I", b"")
_PARSE_COMPLETE = _message(b"1", b"")
_BIND_COMPLETE = _message(b"2", b"")
_CLOSE_COMPLETE = _message(b"3", b"")
_NO_DATA = _message(b"n", b"")
_PORTAL_SUSPENDED = _message(b"s", b"")
_COPY_DONE = _message(b"c", b"")


def empty_query_response() -> bytes:
    return _EMPTY_QUERY_RESPONSE


def parse_complete() -> bytes:
    return _PARSE_COMPLETE


def bind_complete() -> bytes:
    return _BIND_COMPLETE


def close_complete() -> bytes:
    return _CLOSE_COMPLETE


def no_data() -> bytes:
    return _NO_DATA


def portal_suspended() -> bytes:
    return _PORTAL_SUSPENDED


@_sizes_checked
def parameter_description(type_oids: Sequence[int]) -> bytes:
    return _message(b"t", _uint16(len(type_oids)) + b"".join(map(_uint32, type_oids)))


# --- errors, notices, notifications -------------------------------------------------------


def _error_or_notice(
    type_byte: bytes,
    severities: frozenset[str],
    severity: str,
    code: str,
    message: str,
    optional: tuple[tuple[bytes, str | None], ...],
) -> bytes:
    if severity not in severities:
        raise ValueError(f"severity must be one of {sorted(severities)}, not {severity!r}")
    if not _SQLSTATE.fullmatch(code):
        raise ValueError(f"SQLSTATE must be 5 digits or capital letters, not {code!r}")
    severity_field = _cstring(severity, "severity")
    parts = [b"S", severity_field, b"V", severity_field, b"C", code.encode() + b"\0"]
    parts += [b"M", _cstring(message, "message")]
    for field_type, value in optional:
        if value is not None:
            parts.append(field_type)
            parts.append(_cstring(value, f"field {field_type.decode()}"))
    parts.append(b"\0")
    return _message(type_byte, b"".join(parts))


def _position(position: int | None) -> str | None:
    if position is None:
        return None
    if position < 1:
        raise ValueError(f"an error position counts characters from 1, not {position!r}")
    return str(position)


def error_response(
    severity: str,
    code: str,
    message: str,
    *,
    detail: str | None = None,
    hint: str | None = None,
    position: int | None = None,
    schema: str | None = None,
    table: str | None = None,
    column: str | None = None,
    constraint: str | None = None,
    where: str | None = None,
) -> bytes:
    """ErrorResponse with fields S, V, C, M, then D, H, P, W, s, t, c, n when given.

    `severity` is ERROR, FATAL or PANIC; `position` is a 1-based character
    index into the query text; `where` is the CONTEXT (e.g. the line of a COPY).
    """
    optional = (
        (b"D", detail),
        (b"H", hint),
        (b"P", _position(position)),
        (b"W", where),
        (b"s", schema),
        (b"t", table),
        (b"c", column),
        (b"n", constraint),
    )
    return _error_or_notice(b"E", _ERROR_SEVERITIES, severity, code, message, optional)


def notice_response(
    severity: str,
    code: str,
    message: str,
    *,
    detail: str | None = None,
    hint: str | None = None,
    position: int | None = None,
    schema: str | None = None,
    table: str | None = None,
    column: str | None = None,
    constraint: str | None = None,
) -> bytes:
    """NoticeResponse, fields as in `error_response`; severity WARNING, NOTICE, DEBUG, INFO or LOG."""
    optional = (
        (b"D", detail),
        (b"H", hint),
        (b"P", _position(position)),
        (b"s", schema),
        (b"t", table),
        (b"c", column),
        (b"n", constraint),
    )
    return _error_or_notice(b"N", _NOTICE_SEVERITIES, severity, code, message, optional)


@_sizes_checked
def notification_response(process_id: int, channel: str, payload: str) -> bytes:
    """Asynchronous NOTIFY delivery; `process_id` is the notifying backend's."""
    return _message(b"A", _uint32(process_id) + _cstring(channel, "channel") + _cstring(payload, "payload"))


# --- COPY ------------------------------------------------------------------------------------


def _copy_response(type_byte: bytes, format: int, column_formats: Sequence[int]) -> bytes:
    if format not in (0, 1) or any(f not in (0, 1) for f in column_formats):
        raise ValueError(f"format codes must be 0 or 1, got {format!r} and {list(column_formats)!r}")
    if format == 0 and any(column_formats):
        raise ValueError("a textual COPY must have every column format 0")
    if len(column_formats) > 0x7FFF:
        raise ValueError(f"{len(column_formats)} columns do not fit an Int16 count")
    body = bytes((format,)) + _int16(len(column_formats)) + b"".join(map(_int16, column_formats))
    return _message(type_byte, body)


def copy_in_response(format: int, column_formats: Sequence[int]) -> bytes:
    """Start COPY FROM STDIN: overall format 0 (text/CSV) or 1 (binary), one code per column."""
    return _copy_response(b"G", format, column_formats)


def copy_out_response(format: int, column_formats: Sequence[int]) -> bytes:
    """Start COPY TO STDOUT: overall format 0 (text/CSV) or 1 (binary), one code per column."""
    return _copy_response(b"H", format, column_formats)


def copy_data(data: bytes) -> bytes:
    return _message(b"d", bytes(data))


def copy_done() -> bytes:
    return _COPY_DONE
