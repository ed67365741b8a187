"""Incremental decoder for the frontend (client -> server) byte stream.

Role: `FrontendDecoder` turns bytes read from a client connection into
`messages` values. The server calls `feed(data)` with whatever the socket
returned, then `next_message()` until it returns None (more bytes needed).
Nothing here blocks, reads a socket or looks at a clock.

Two framings follow each other on one connection:

* Startup phase (from the first byte): packets without a type byte,
  ``Int32 length (counting itself) | Int32 code | body``. Code 80877103 is
  SSLRequest, 80877104 GSSENCRequest, 80877102 CancelRequest, and ``3 << 16 |
  minor`` a StartupMessage (a minor above 0 is accepted and reported in
  `StartupMessage.protocol_version`, so the server can answer with
  NegotiateProtocolVersion). SSLRequest and GSSENCRequest keep the decoder in
  this phase (each may come at most once); a StartupMessage ends it. The
  length must lie in 8..10004, PostgreSQL's limit (10000 bytes after the
  length word), and fixed-size packets must have exactly their size.
* Regular phase: ``Byte1 type | Int32 length (counting itself) | body``.

Invariants:

* Short input never raises: `next_message()` returns None until a whole
  message is buffered. Everything that can be judged early is judged early:
  an unknown type byte as soon as it arrives, the length as soon as the
  5-byte header is there (so a 1 GiB length is refused before any body
  arrives). Length limits: `max_message_size` for Query, Parse, Bind,
  CopyData and FunctionCall; 10000 for the small control messages (Close,
  Describe, Execute, Flush, Sync, Terminate, CopyDone, CopyFail) and 65535 for
  PasswordMessage, as PostgreSQL has them.
* A body must parse exactly: every string NUL-terminated and valid UTF-8, no
  count that overruns the body (counts are unsigned Int16, up to 65535, as PostgreSQL
  reads them), no trailing bytes; Bind has
  0, 1 or one-per-parameter parameter format codes.
* Any breach raises `ProtocolViolation` (fatal; SQLSTATE 08P01, 22021 for
  invalid UTF-8, 0A000 for an unsupported protocol version). The decoder then
  stays failed: every later `feed`/`next_message` raises the same exception.
  The server sends that error and closes the connection.
* One bytearray buffer plus a read offset; consumed bytes are dropped at the
  next `feed`, so each byte is copied into the buffer once and moved at most
  once more.

The TLS/GSS hand-over is the server's business, with one duty: after
answering SSLRequest (or GSSENCRequest) with ``S``, `pending()` must be 0,
since bytes that arrived before the handshake were sent in clear text and
must be refused (PostgreSQL: "received unencrypted data after SSL request",
CVE-2021-23214). The decrypted stream is then fed to the same decoder.

`read_cstring` is also used by `auth` to parse PasswordMessage bodies.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NoReturn

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

__all__ = [
    "CANCEL_REQUEST_CODE",
    "GSSENC_REQUEST_CODE",
    "SSL_REQUEST_CODE",
    "STARTUP_PACKET_MAX",
    "FrontendDecoder",
    "read_cstring",
]

SSL_REQUEST_CODE = 80877103  # 1234 << 16 | 5679
GSSENC_REQUEST_CODE = 80877104  # 1234 << 16 | 5680
CANCEL_REQUEST_CODE = 80877102  # 1234 << 16 | 5678
PROTOCOL_MAJOR = 3

STARTUP_PACKET_MAX = 10004  # PostgreSQL's MAX_STARTUP_PACKET_LENGTH (10000) + the length word
_SMALL_MESSAGE_MAX = 10000  # PostgreSQL's PQ_SMALL_MESSAGE_LIMIT, counting the length word
_PASSWORD_MESSAGE_MAX = 65535  # PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH
_LENGTH_WORD_MAX = 2**31 - 1

_uint16 = struct.Struct("!H").unpack_from
_int32 = struct.Struct("!i").unpack_from
_uint32 = struct.Struct("!I").unpack_from
_uint32_pair = struct.Struct("!II").unpack_from
_SMALL_ARRAY = 32  # arrays shorter than this are read by a precompiled Struct
_int16_arrays = [struct.Struct(f"!{n}h").unpack_from for n in range(_SMALL_ARRAY)]
_uint32_arrays = [struct.Struct(f"!{n}I").unpack_from for n in range(_SMALL_ARRAY)]

_SYNC = Sync()
_FLUSH = Flush()
_TERMINATE = Terminate()
_COPY_DONE = CopyDone()
_SSL_REQUEST = SSLRequest()
_GSSENC_REQUEST = GSSENCRequest()


# --- body readers: (buffer, position, end of body) -> (value, next position) ---------


def read_cstring(buf: bytes | bytearray, pos: int, end: int) -> tuple[str, int]:
    """Read a NUL-terminated UTF-8 string from ``buf[pos:end]``; return it and the next position."""
    nul = buf.find(0, pos, end)
    if nul < 0:
        _raise_bad_string(buf, pos, end)
    return _utf8(buf[pos:nul]), nul + 1


def _utf8(data: bytes | bytearray) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolViolation(f'invalid byte sequence for encoding "UTF8": {exc.reason}', "22021") from None


def _raise_bad_string(buf: bytes | bytearray, pos: int, end: int) -> NoReturn:
    """Explain why ``buf[pos:end]`` is not exactly one NUL-terminated string."""
    nul = buf.find(0, pos, end)
    if nul < 0:
        raise ProtocolViolation("a string is missing its NUL terminator")
    _utf8(buf[pos:nul])
    raise ProtocolViolation(f"{end - nul - 1} unexpected bytes after the last field")


def _read_count(buf: bytearray, pos: int, end: int) -> tuple[int, int]:
    if pos + 2 > end:
        raise ProtocolViolation("the body ends inside an Int16 count")
    (count,) = _uint16(buf, pos)
    return count, pos + 2


def _read_int16_array(buf: bytearray, pos: int, end: int) -> tuple[tuple[int, ...], int]:
    if pos + 2 > end:
        raise ProtocolViolation("the body ends inside an Int16 count")
    (count,) = _uint16(buf, pos)
    pos += 2
    if not count:
        return (), pos
    stop = pos + 2 * count
    if stop > end:
        raise ProtocolViolation(f"a count of {count} Int16 values overruns the body")
    if count < _SMALL_ARRAY:
        return _int16_arrays[count](buf, pos), stop
    return struct.unpack_from(f"!{count}h", buf, pos), stop


def _expect_end(pos: int, end: int) -> None:
    if pos != end:
        raise ProtocolViolation(f"{end - pos} unexpected bytes after the last field")


def _read_kind(buf: bytearray, pos: int, end: int) -> str:
    if pos >= end:
        raise ProtocolViolation("the body is empty; expected 'S' or 'P'")
    kind = buf[pos]
    if kind == 0x53:
        return "S"
    if kind == 0x50:
        return "P"
    raise ProtocolViolation(f"invalid subtype {kind}; expected 'S' or 'P'")


# --- one parser per message type: (buffer, body start, body end) -> message ----------


def _parse_query(buf: bytearray, pos: int, end: int) -> Query:
    if buf.find(0, pos, end) != end - 1:
        _raise_bad_string(buf, pos, end)
    return Query(_utf8(buf[pos : end - 1]))


def _parse_parse(buf: bytearray, pos: int, end: int) -> Parse:
    statement, pos = read_cstring(buf, pos, end)
    sql, pos = read_cstring(buf, pos, end)
    count, pos = _read_count(buf, pos, end)
    stop = pos + 4 * count
    if stop > end:
        raise ProtocolViolation(f"a count of {count} parameter types overruns the body")
    _expect_end(stop, end)
    if count < _SMALL_ARRAY:
        return Parse(statement, sql, _uint32_arrays[count](buf, pos))
    return Parse(statement, sql, struct.unpack_from(f"!{count}I", buf, pos))


def _parse_bind(buf: bytearray, pos: int, end: int) -> Bind:
    nul = buf.find(0, pos, end)
    if nul < 0:
        _raise_bad_string(buf, pos, end)
    portal = _utf8(buf[pos:nul]) if nul > pos else ""
    pos = nul + 1
    nul = buf.find(0, pos, end)
    if nul < 0:
        _raise_bad_string(buf, pos, end)
    statement = _utf8(buf[pos:nul]) if nul > pos else ""
    pos = nul + 1
    param_formats, pos = _read_int16_array(buf, pos, end)
    count, pos = _read_count(buf, pos, end)
    params: list[bytes | None] = []
    append = params.append
    for _ in range(count):
        if pos + 4 > end:
            raise ProtocolViolation(f"a count of {count} parameters overruns the body")
        (size,) = _int32(buf, pos)
        pos += 4
        if size < 0:
            if size != -1:
                raise ProtocolViolation(f"invalid parameter length {size}")
            append(None)
        else:
            stop = pos + size
            if stop > end:
                raise ProtocolViolation(f"a parameter of {size} bytes overruns the body")
            append(bytes(buf[pos:stop]))
            pos = stop
    result_formats, pos = _read_int16_array(buf, pos, end)
    if pos != end:
        _expect_end(pos, end)
    if len(param_formats) > 1 and len(param_formats) != count:
        raise ProtocolViolation(f"{len(param_formats)} parameter formats for {count} parameters")
    return Bind(portal, statement, param_formats, tuple(params), result_formats)


def _parse_describe(buf: bytearray, pos: int, end: int) -> Describe:
    kind = _read_kind(buf, pos, end)
    name, pos = read_cstring(buf, pos + 1, end)
    _expect_end(pos, end)
    return Describe(kind, name)


def _parse_close(buf: bytearray, pos: int, end: int) -> Close:
    kind = _read_kind(buf, pos, end)
    name, pos = read_cstring(buf, pos + 1, end)
    _expect_end(pos, end)
    return Close(kind, name)


def _parse_execute(buf: bytearray, pos: int, end: int) -> Execute:
    nul = buf.find(0, pos, end)
    if nul != end - 5:
        if nul < 0 or nul > end - 5:
            raise ProtocolViolation("expected a NUL-terminated portal name and an Int32 row limit")
        _expect_end(nul + 5, end)
    return Execute(_utf8(buf[pos:nul]) if nul > pos else "", _int32(buf, nul + 1)[0])


def _parse_copy_fail(buf: bytearray, pos: int, end: int) -> CopyFail:
    message, pos = read_cstring(buf, pos, end)
    _expect_end(pos, end)
    return CopyFail(message)


def _parse_copy_data(buf: bytearray, pos: int, end: int) -> CopyData:
    return CopyData(bytes(buf[pos:end]))


def _parse_password(buf: bytearray, pos: int, end: int) -> PasswordMessage:
    return PasswordMessage(bytes(buf[pos:end]))


def _parse_function_call(buf: bytearray, pos: int, end: int) -> FunctionCall:
    return FunctionCall(bytes(buf[pos:end]))


def _empty(message: FrontendMessage) -> Callable[[bytearray, int, int], FrontendMessage]:
    def parse(buf: bytearray, pos: int, end: int) -> FrontendMessage:
        _expect_end(pos, end)
        return message

    return parse


_Parser = Callable[[bytearray, int, int], FrontendMessage]
_COPY_DATA = ord("d")

# type byte -> (message name, length limit or None for max_message_size, parser)
_REGULAR: dict[int, tuple[str, int | None, _Parser]] = {
    ord("Q"): ("Query", None, _parse_query),
    ord("P"): ("Parse", None, _parse_parse),
    ord("B"): ("Bind", None, _parse_bind),
    ord("D"): ("Describe", _SMALL_MESSAGE_MAX, _parse_describe),
    ord("E"): ("Execute", _SMALL_MESSAGE_MAX, _parse_execute),
    ord("C"): ("Close", _SMALL_MESSAGE_MAX, _parse_close),
    ord("S"): ("Sync", _SMALL_MESSAGE_MAX, _empty(_SYNC)),
    ord("H"): ("Flush", _SMALL_MESSAGE_MAX, _empty(_FLUSH)),
    ord("X"): ("Terminate", _SMALL_MESSAGE_MAX, _empty(_TERMINATE)),
    ord("d"): ("CopyData", None, _parse_copy_data),
    ord("c"): ("CopyDone", _SMALL_MESSAGE_MAX, _empty(_COPY_DONE)),
    ord("f"): ("CopyFail", _SMALL_MESSAGE_MAX, _parse_copy_fail),
    ord("p"): ("PasswordMessage", _PASSWORD_MESSAGE_MAX, _parse_password),
    ord("F"): ("FunctionCall", None, _parse_function_call),
}


def _parse_startup_parameters(buf: bytearray, pos: int, end: int) -> dict[str, str]:
    parameters: dict[str, str] = {}
    while True:
        name, pos = read_cstring(buf, pos, end)
        if not name:
            break
        value, pos = read_cstring(buf, pos, end)
        parameters[name] = value
    _expect_end(pos, end)
    return parameters


class FrontendDecoder:
    """Bytes from one client connection in, `FrontendMessage` values out."""

    __slots__ = ("_buf", "_error", "_pos", "_seen_gssenc", "_seen_ssl", "_startup", "_table")

    def __init__(self, max_message_size: int = 64 * 1024 * 1024) -> None:
        if not 4 <= max_message_size <= _LENGTH_WORD_MAX:
            raise ValueError(f"max_message_size must lie in 4..{_LENGTH_WORD_MAX}, not {max_message_size}")
        self._buf = bytearray()
        self._pos = 0
        self._startup = True
        self._seen_ssl = False
        self._seen_gssenc = False
        self._error: ProtocolViolation | None = None
        self._table = {
            code: (name, max_message_size if limit is None else min(limit, max_message_size), parse)
            for code, (name, limit, parse) in _REGULAR.items()
        }

    @property
    def in_startup(self) -> bool:
        """True until a StartupMessage has been decoded (packets have no type byte)."""
        return self._startup

    def pending(self) -> int:
        """The number of bytes buffered but not yet returned as messages."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes received from the client."""
        if self._error is not None:
            raise self._error
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_message(self) -> FrontendMessage | None:
        """The next complete message, or None if more bytes are needed."""
        if self._error is not None:
            raise self._error
        if self._startup:
            return self._next_startup_packet()
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if not available:
            return None
        entry = self._table.get(buf[pos])
        if entry is None:
            raise self._fail(f"invalid frontend message type {buf[pos]} ({chr(buf[pos])!r})")
        if available < 5:
            return None
        name, limit, parse = entry
        (length,) = _int32(buf, pos + 1)
        if length < 4 or length > limit:
            raise self._fail(f"invalid length {length} of {name} message (allowed: 4 to {limit})")
        end = pos + 1 + length
        if end > len(buf):
            return None
        try:
            message = parse(buf, pos + 5, end)
        except ProtocolViolation as exc:
            raise self._fail(f"malformed {name} message: {exc.message}", exc.sqlstate) from None
        self._pos = end
        return message

    def copy_data(self) -> bytes:
        """The payloads of the complete CopyData messages at the head of the buffer, joined.

        A bulk read for COPY FROM STDIN, where clients may send one CopyData per row
        (pgbench, psql): b"" when the next message is not a complete CopyData, which
        `next_message` then returns. Lengths are checked exactly as `next_message` checks them."""
        if self._error is not None:
            raise self._error
        if self._startup:
            return b""
        buf = self._buf
        pos = self._pos
        n = len(buf)
        limit = self._table[_COPY_DATA][1]
        parts = []
        while pos + 5 <= n and buf[pos] == _COPY_DATA:
            (length,) = _int32(buf, pos + 1)
            if length < 4 or length > limit:
                raise self._fail(f"invalid length {length} of CopyData message (allowed: 4 to {limit})")
            end = pos + 1 + length
            if end > n:
                break
            parts.append(buf[pos + 5:end])
            pos = end
        self._pos = pos
        return b"".join(parts)

    def _next_startup_packet(self) -> FrontendMessage | None:
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < 4:
            return None
        (length,) = _int32(buf, pos)
        if length < 8 or length > STARTUP_PACKET_MAX:
            raise self._fail(f"invalid length {length} of startup packet (allowed: 8 to {STARTUP_PACKET_MAX})")
        end = pos + length
        if end > len(buf):
            return None
        (code,) = _uint32(buf, pos + 4)
        message: FrontendMessage
        if code == SSL_REQUEST_CODE:
            self._check_encryption_request("SSLRequest", length, self._seen_ssl)
            self._seen_ssl = True
            message = _SSL_REQUEST
        elif code == GSSENC_REQUEST_CODE:
            self._check_encryption_request("GSSENCRequest", length, self._seen_gssenc)
            self._seen_gssenc = True
            message = _GSSENC_REQUEST
        elif code == CANCEL_REQUEST_CODE:
            if length != 16:
                raise self._fail(f"invalid length {length} of CancelRequest (must be 16)")
            process_id, secret_key = _uint32_pair(buf, pos + 8)
            message = CancelRequest(process_id, secret_key)
        elif code >> 16 == PROTOCOL_MAJOR:
            try:
                parameters = _parse_startup_parameters(buf, pos + 8, end)
            except ProtocolViolation as exc:
                raise self._fail(f"invalid StartupMessage: {exc.message}", exc.sqlstate) from None
            message = StartupMessage(code, parameters)
            self._startup = False
        else:
            raise self._fail(
                f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0", "0A000"
            )
        self._pos = end
        return message

    def _check_encryption_request(self, name: str, length: int, seen: bool) -> None:
        if length != 8:
            raise self._fail(f"invalid length {length} of {name} (must be 8)")
        if seen:
            raise self._fail(f"{name} sent twice")

    def _fail(self, message: str, sqlstate: str = "08P01") -> ProtocolViolation:
        self._error = ProtocolViolation(message, sqlstate)
        self._buf.clear()
        self._pos = 0
        return self._error
