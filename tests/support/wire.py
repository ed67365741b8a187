"""A bare-bones PostgreSQL frontend over a socket, for tests of protocol details that real
drivers do not let a test steer (Execute row limits, Flush without Sync, odd format codes).

It writes frontend messages byte by byte as the protocol documentation lays them out and
reads backend messages back as (type, body) pairs; `fields` decodes an ErrorResponse.
"""
from __future__ import annotations

import socket
import struct


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def parse(statement: str, sql: str, oids: tuple[int, ...] = ()) -> bytes:
    return _message(b"P", _cstr(statement) + _cstr(sql) + struct.pack(f"!h{len(oids)}I", len(oids), *oids))


def bind(portal: str, statement: str, params: tuple[bytes | None, ...] = (), param_formats: tuple[int, ...] = (),
         result_formats: tuple[int, ...] = ()) -> bytes:
    body = _cstr(portal) + _cstr(statement)
    body += struct.pack(f"!h{len(param_formats)}h", len(param_formats), *param_formats)
    body += struct.pack("!h", len(params))
    for p in params:
        body += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
    body += struct.pack(f"!h{len(result_formats)}h", len(result_formats), *result_formats)
    return _message(b"B", body)


def describe(kind: str, name: str) -> bytes:
    return _message(b"D", kind.encode() + _cstr(name))


def execute(portal: str, max_rows: int = 0) -> bytes:
    return _message(b"E", _cstr(portal) + struct.pack("!i", max_rows))


def close(kind: str, name: str) -> bytes:
    return _message(b"C", kind.encode() + _cstr(name))


def query(sql: str) -> bytes:
    return _message(b"Q", _cstr(sql))


SYNC = _message(b"S", b"")
FLUSH = _message(b"H", b"")


def fields(body: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse or NoticeResponse body, by their one-letter codes."""
    out = {}
    for part in body.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode()
    return out


def data_row(body: bytes) -> list[bytes | None]:
    (count,) = struct.unpack_from("!h", body)
    pos, cells = 2, []
    for _ in range(count):
        (size,) = struct.unpack_from("!i", body, pos)
        pos += 4
        if size < 0:
            cells.append(None)
        else:
            cells.append(body[pos:pos + size])
            pos += size
    return cells


class RawClient:
    def __init__(self, port: int, user: str = "postgres", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        params = _cstr("user") + _cstr(user) + _cstr("database") + _cstr("postgres") + b"\0"
        body = struct.pack("!i", 196608) + params
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self.until(b"Z")

    def send(self, *messages: bytes) -> None:
        self.sock.sendall(b"".join(messages))

    def read(self) -> tuple[bytes, bytes]:
        while len(self.buffer) < 5 or len(self.buffer) < 1 + struct.unpack_from("!i", self.buffer, 1)[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        (length,) = struct.unpack_from("!i", self.buffer, 1)
        kind, body = self.buffer[:1], self.buffer[5:1 + length]
        self.buffer = self.buffer[1 + length:]
        return kind, body

    def until(self, kind: bytes) -> list[tuple[bytes, bytes]]:
        """Messages up to and including the first of type `kind`."""
        out = []
        while True:
            message = self.read()
            out.append(message)
            if message[0] == kind:
                return out

    def close(self) -> None:
        self.sock.sendall(_message(b"X", b""))
        self.sock.close()
