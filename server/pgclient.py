"""A minimal blocking PostgreSQL client: what `rewinddb shell --connect` needs, nothing more.

Connects over TCP, authenticates (trust, cleartext, MD5 or SCRAM-SHA-256), sends simple Query
messages and collects, per statement, the columns (name, type OID), the rows as text cells, the
command tag or the error; notices go to a callback. COPY is refused (CopyFail). TLS is not
offered (the shell talks to local or trusted servers).

DSNs: `postgresql://user:password@host:port/dbname` URIs or libpq keyword strings
(`host=... port=... user=... password=... dbname=...`); PGHOST, PGPORT, PGUSER, PGPASSWORD
and PGDATABASE fill what the DSN leaves out.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import socket
import struct
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import unquote, urlsplit


class ClientError(Exception):
    """The connection failed or the server broke the protocol."""


@dataclass(frozen=True, slots=True)
class ServerError:
    severity: str
    sqlstate: str
    message: str
    detail: str | None = None
    hint: str | None = None


@dataclass(slots=True)
class StatementResult:
    """One statement's answer: columns and text rows for a query, its tag, or its error."""
    columns: list[tuple[str, int]] | None = None
    rows: list[list[str | None]] = field(default_factory=list)
    tag: str = ""
    error: ServerError | None = None


def parse_dsn(dsn: str, environ: dict[str, str] | os._Environ = os.environ) -> dict[str, str]:
    params = {"host": environ.get("PGHOST", "127.0.0.1"), "port": environ.get("PGPORT", "5432"),
              "user": environ.get("PGUSER", "postgres"), "dbname": environ.get("PGDATABASE", "")}
    if "PGPASSWORD" in environ:
        params["password"] = environ["PGPASSWORD"]
    if dsn.startswith(("postgresql://", "postgres://")):
        url = urlsplit(dsn)
        for key, value in (("host", url.hostname), ("port", url.port and str(url.port)),
                           ("user", url.username and unquote(url.username)),
                           ("password", url.password and unquote(url.password)),
                           ("dbname", unquote(url.path.lstrip("/")))):
            if value:
                params[key] = value
    else:
        for part in dsn.split():
            key, sep, value = part.partition("=")
            if not sep:
                raise ClientError(f"invalid connection string element {part!r} (expected key=value)")
            params[key] = value.strip("'")
    params["dbname"] = params["dbname"] or params["user"]
    return params


class Connection:
    def __init__(self, dsn: str, application_name: str = "rewinddb-shell") -> None:
        self.params = parse_dsn(dsn)
        self.on_notice: Callable[[ServerError], None] = lambda notice: None
        try:
            self.sock = socket.create_connection((self.params["host"], int(self.params["port"])))
        except (OSError, ValueError) as e:
            raise ClientError(f"could not connect to {self.params['host']}:{self.params['port']}: {e}") from None
        self.buffer = b""
        startup = {"user": self.params["user"], "database": self.params["dbname"],
                   "application_name": application_name, "client_encoding": "UTF8"}
        body = struct.pack("!i", 196608) + b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                                                    for k, v in startup.items()) + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._authenticate()
        while True:
            kind, data = self._read()
            if kind == b"Z":
                return
            if kind == b"E":
                raise ClientError(_fields(data).message)
            if kind == b"N":
                self.on_notice(_fields(data))

    def close(self) -> None:
        try:
            self.sock.sendall(b"X\0\0\0\4")
        except OSError:
            pass
        self.sock.close()

    # ---------------------------------------------------------------- wire

    def _send(self, kind: bytes, body: bytes) -> None:
        self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    def _read(self) -> tuple[bytes, bytes]:
        while True:
            if len(self.buffer) >= 5:
                length = struct.unpack("!i", self.buffer[1:5])[0]
                if len(self.buffer) >= length + 1:
                    kind, data = self.buffer[:1], self.buffer[5:length + 1]
                    self.buffer = self.buffer[length + 1:]
                    return kind, data
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ClientError("the server closed the connection")
            self.buffer += chunk

    # ---------------------------------------------------------------- authentication

    def _password(self) -> bytes:
        password = self.params.get("password")
        if password is None:
            raise ClientError("the server asks for a password: give it in the DSN or PGPASSWORD")
        return password.encode()

    def _authenticate(self) -> None:
        scram: _Scram | None = None
        while True:
            kind, data = self._read()
            if kind == b"E":
                raise ClientError(_fields(data).message)
            if kind != b"R":
                raise ClientError(f"unexpected message {kind!r} during authentication")
            code = struct.unpack("!i", data[:4])[0]
            if code == 0:
                return
            if code == 3:
                self._send(b"p", self._password() + b"\0")
            elif code == 5:
                user = self.params["user"].encode()
                inner = hashlib.md5(self._password() + user).hexdigest().encode()
                self._send(b"p", b"md5" + hashlib.md5(inner + data[4:8]).hexdigest().encode() + b"\0")
            elif code == 10:
                mechanisms = data[4:].split(b"\0")
                if b"SCRAM-SHA-256" not in mechanisms:
                    raise ClientError("the server offers no SASL mechanism this client supports")
                scram = _Scram(self._password())
                first = scram.first()
                self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
            elif code == 11 and scram is not None:
                self._send(b"p", scram.final(data[4:]))
            elif code == 12 and scram is not None:
                scram.verify(data[4:])
            else:
                raise ClientError(f"unsupported authentication request {code}")

    # ---------------------------------------------------------------- queries

    def execute(self, sql: str) -> list[StatementResult]:
        """Send one simple Query; the result of each statement it ran, in order."""
        self._send(b"Q", sql.encode() + b"\0")
        results: list[StatementResult] = []
        current = StatementResult()
        while True:
            kind, data = self._read()
            if kind == b"T":
                current.columns = _row_description(data)
            elif kind == b"D":
                current.rows.append(_data_row(data))
            elif kind in (b"C", b"I"):
                current.tag = data[:-1].decode() if kind == b"C" else ""
                results.append(current)
                current = StatementResult()
            elif kind == b"E":
                current.error = _fields(data)
                results.append(current)
                current = StatementResult()
            elif kind == b"N":
                self.on_notice(_fields(data))
            elif kind == b"G":
                self._send(b"f", b"COPY FROM STDIN is not supported by rewinddb shell\0")
            elif kind == b"Z":
                return results


class _Scram:
    """The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding."""

    def __init__(self, password: bytes) -> None:
        self.password = password
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.server_signature = b""

    def first(self) -> bytes:
        return f"n,,{self.first_bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        attrs = dict(part.split("=", 1) for part in server_first.decode().split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ClientError("the server's SCRAM nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        without_proof = f"c=biws,r={attrs['r']}"
        message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_signature = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), message, "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        if server_final.decode() != "v=" + base64.b64encode(self.server_signature).decode():
            raise ClientError("the server's SCRAM signature is wrong")


def _fields(data: bytes) -> ServerError:
    fields: dict[str, str] = {}
    for part in data.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return ServerError(fields.get("S", "ERROR"), fields.get("C", "XX000"), fields.get("M", ""),
                       fields.get("D"), fields.get("H"))


def _row_description(data: bytes) -> list[tuple[str, int]]:
    count = struct.unpack("!h", data[:2])[0]
    pos = 2
    out = []
    for _ in range(count):
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        type_oid = struct.unpack("!i", data[end + 7:end + 11])[0]
        out.append((name, type_oid))
        pos = end + 19
    return out


def _data_row(data: bytes) -> list[str | None]:
    count = struct.unpack("!h", data[:2])[0]
    pos = 2
    out: list[str | None] = []
    for _ in range(count):
        length = struct.unpack("!i", data[pos:pos + 4])[0]
        pos += 4
        if length < 0:
            out.append(None)
        else:
            out.append(data[pos:pos + length].decode())
            pos += length
    return out
