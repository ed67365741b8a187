"""Frontend (client -> server) messages of PostgreSQL protocol 3.0, as values.

Role: the closed set of things a client can say. `decoder.FrontendDecoder`
produces them from bytes; the server consumes them. They carry the wire content
verbatim (no normalization, no defaults filled in): interpreting it, e.g.
unquoting asyncpg's ``client_encoding='utf-8'`` or deciding what a
`PasswordMessage` body means in the current authentication state, is the
server's job.

Invariants: every message is a frozen, slotted dataclass; sequences are tuples,
so a message is immutable and hashable (except `StartupMessage.parameters`,
a dict in arrival order; a key sent twice keeps its last value, as in
PostgreSQL). Strings have been decoded from UTF-8 and contain no NUL. Integers
are within the range of their wire field: OIDs, process ids and secret keys are
unsigned 32-bit, `Execute.max_rows` is signed 32-bit (<= 0 means "all rows").
Messages without fields are singletons in practice but compare equal anyway.

Grouped by protocol phase, as the messages arrive:
startup (`SSLRequest`, `GSSENCRequest`, `CancelRequest`, `StartupMessage`),
authentication (`PasswordMessage`), simple query (`Query`), extended query
(`Parse`, `Bind`, `Describe`, `Execute`, `Close`, `Sync`, `Flush`), copy
(`CopyData`, `CopyDone`, `CopyFail`), and the rest (`Terminate`,
`FunctionCall`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "Bind",
    "CancelRequest",
    "Close",
    "CopyData",
    "CopyDone",
    "CopyFail",
    "Describe",
    "Execute",
    "Flush",
    "FrontendMessage",
    "FunctionCall",
    "GSSENCRequest",
    "Parse",
    "PasswordMessage",
    "Query",
    "SSLRequest",
    "StartupMessage",
    "Sync",
    "Terminate",
]

# --- startup phase: packets without a type byte -------------------------------


@dataclass(frozen=True, slots=True)
class SSLRequest:
    """Asks for TLS. Answer with `backend.SSL_ACCEPTED` or `backend.SSL_REFUSED`."""


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    """Asks for GSSAPI encryption. Answer `backend.SSL_REFUSED` (a single ``N``)."""


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """Sent on a fresh connection: cancel the query of the backend with this key.

    No reply is ever sent; the server closes the connection afterwards.
    """

    process_id: int
    secret_key: int


@dataclass(frozen=True, slots=True)
class StartupMessage:
    """Protocol version (``3 << 16 | minor``) and the client's parameters verbatim."""

    protocol_version: int
    parameters: dict[str, str]


# --- authentication ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordMessage:
    """The raw body of a ``p`` message.

    Its meaning depends on the authentication state: a NUL-terminated password
    (cleartext, MD5; see `auth.parse_password`), a SASLInitialResponse (see
    `auth.parse_sasl_initial_response`), or a SASLResponse (the body is the
    SASL data itself).
    """

    data: bytes


# --- simple and extended query ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    """Prepare `sql` as `statement` ("" = unnamed); an OID of 0 means "infer"."""

    statement: str
    sql: str
    param_type_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    """Bind parameters to `statement`, creating `portal` ("" = unnamed).

    `param_formats` has 0 entries (all text), 1 (applies to all) or one per
    parameter; the decoder guarantees this. `params` holds each value's raw
    bytes, None for NULL. `result_formats` likewise has 0, 1 or one per result
    column (only the server knows the column count, so it checks that). Format
    code values are passed through unchecked: anything but 0 (text) or 1
    (binary) deserves an ERROR with SQLSTATE 22023, as PostgreSQL sends.
    """

    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    """`kind` is ``"S"`` (prepared statement) or ``"P"`` (portal)."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    """Run `portal`; `max_rows` <= 0 means no limit (PortalSuspended otherwise)."""

    portal: str
    max_rows: int


@dataclass(frozen=True, slots=True)
class Close:
    """`kind` is ``"S"`` (prepared statement) or ``"P"`` (portal)."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


# --- COPY FROM STDIN ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyData:
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class CopyFail:
    message: str


# --- legacy ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """The legacy fast-path call, body unparsed. Refuse it with SQLSTATE 0A000."""

    data: bytes


FrontendMessage: TypeAlias = (
    SSLRequest
    | GSSENCRequest
    | CancelRequest
    | StartupMessage
    | PasswordMessage
    | Query
    | Parse
    | Bind
    | Describe
    | Execute
    | Close
    | Sync
    | Flush
    | Terminate
    | CopyData
    | CopyDone
    | CopyFail
    | FunctionCall
)
