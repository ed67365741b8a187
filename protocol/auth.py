"""Server side of password authentication, sans-IO: MD5 and SCRAM-SHA-256.

Role: the arithmetic and message parsing of PostgreSQL's password methods.
The server sends the Authentication* messages (`backend`), receives each
`PasswordMessage`, and passes its body here:

* cleartext (AuthenticationCleartextPassword): `parse_password(body)` gives
  the password; compare it with whatever the server stores.
* MD5 (AuthenticationMD5Password with a random 4-byte salt):
  `parse_password(body)` gives ``"md5" + hex``; check it with
  `check_md5_response(stored, salt, response)`, where `stored` is
  `md5_password_hash(user, password)`.
* SCRAM-SHA-256 (RFC 5802 / RFC 7677, as PostgreSQL implements it): offer the
  mechanisms with `backend.authentication_sasl`; the first body is a
  SASLInitialResponse, `parse_sasl_initial_response(body)` -> (mechanism,
  client-first-message); `ScramExchange.start()` answers it
  (AuthenticationSASLContinue); the second body *is* the client-final-message,
  `ScramExchange.finish()` answers it (AuthenticationSASLFinal, then
  AuthenticationOk) or raises `AuthenticationFailed`.

Invariants: no I/O and no clock; randomness only from `secrets` (nonces,
salts) unless a test injects it. Secrets are compared in constant time. An
unknown user runs the same SCRAM exchange against a fake verifier whose salt
is derived from a server secret and the user name, so it is stable per user
and indistinguishable from a real one; it fails only at the last step, with
the same `AuthenticationFailed` as a wrong password. Malformed client messages
raise `ProtocolViolation` (SQLSTATE 08P01; the server sends it as FATAL and
closes); `AuthenticationFailed` maps to FATAL 28P01 "password authentication
failed for user ...". Stored values that do not parse (our own data) raise
ValueError; calling `start`/`finish` out of order raises RuntimeError.

Verifier format (PostgreSQL's pg_authid.rolpassword):
``SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from protocol.decoder import read_cstring
from protocol.errors import ProtocolViolation

__all__ = [
    "SCRAM_SHA_256",
    "SCRAM_SHA_256_PLUS",
    "AuthenticationFailed",
    "ScramExchange",
    "ScramVerifier",
    "check_md5_response",
    "make_scram_verifier",
    "md5_password_hash",
    "parse_password",
    "parse_sasl_initial_response",
    "parse_scram_verifier",
]

SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS"
TLS_SERVER_END_POINT = "tls-server-end-point"

_DEFAULT_ITERATIONS = 4096  # PostgreSQL's scram_iterations default
_SALT_LENGTH = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN
_NONCE_LENGTH = 18  # PostgreSQL's SCRAM_RAW_NONCE_LEN
_KEY_LENGTH = 32  # SHA-256
_PROCESS_MOCK_SECRET = secrets.token_bytes(32)


class AuthenticationFailed(Exception):
    """The client did not prove knowledge of the password (or the user does not exist).

    Send FATAL 28P01 "password authentication failed for user ..." and close.
    """

    sqlstate = "28P01"


# --- cleartext and MD5 --------------------------------------------------------------------


def parse_password(data: bytes) -> str:
    """The password (or MD5 response) in a PasswordMessage body: exactly one NUL-terminated string."""
    try:
        password, end = read_cstring(data, 0, len(data))
    except ProtocolViolation as exc:
        raise ProtocolViolation(f"invalid password packet: {exc.message}", exc.sqlstate) from None
    if end != len(data):
        raise ProtocolViolation("invalid password packet size")
    return password


def md5_password_hash(user: str, password: str) -> str:
    """PostgreSQL's stored MD5 form: ``"md5" + md5(password + user)`` in hex."""
    return "md5" + hashlib.md5(password.encode() + user.encode()).hexdigest()


def check_md5_response(stored_md5: str, salt: bytes, response: str) -> bool:
    """Whether `response` is ``"md5" + md5(stored hex digest + salt)``, compared in constant time."""
    if len(stored_md5) != 35 or not stored_md5.startswith("md5"):
        raise ValueError("stored_md5 must be the output of md5_password_hash()")
    if len(salt) != 4:
        raise ValueError(f"the MD5 salt must be 4 bytes, not {len(salt)}")
    expected = "md5" + hashlib.md5(stored_md5[3:].encode() + bytes(salt)).hexdigest()
    return hmac.compare_digest(expected.encode(), response.encode())


# --- SASL framing ----------------------------------------------------------------------------


def parse_sasl_initial_response(data: bytes) -> tuple[str, bytes]:
    """(mechanism, initial response) from a SASLInitialResponse body.

    An absent initial response (length -1) comes back as ``b""``; the server
    then sends ``authentication_sasl_continue(b"")`` and reads the
    client-first-message from the next PasswordMessage.
    """
    try:
        mechanism, pos = read_cstring(data, 0, len(data))
    except ProtocolViolation as exc:
        raise ProtocolViolation(f"malformed SASLInitialResponse: {exc.message}", exc.sqlstate) from None
    if len(data) - pos < 4:
        raise ProtocolViolation("malformed SASLInitialResponse: missing the response length")
    size = int.from_bytes(data[pos : pos + 4], "big", signed=True)
    pos += 4
    if size == -1:
        size = 0
    if size < 0 or pos + size != len(data):
        raise ProtocolViolation(f"malformed SASLInitialResponse: length {size} for {len(data) - pos} bytes")
    return mechanism, bytes(data[pos:])


# --- SCRAM-SHA-256 verifiers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScramVerifier:
    """What the server stores instead of the password."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    def __str__(self) -> str:
        return f"{SCRAM_SHA_256}${self.iterations}:{_b64(self.salt)}${_b64(self.stored_key)}:{_b64(self.server_key)}"


def make_scram_verifier(password: str, *, iterations: int = _DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The string PostgreSQL stores for `password`; a random 16-byte salt unless given."""
    if iterations < 1:
        raise ValueError(f"iterations must be positive, not {iterations}")
    if salt is None:
        salt = secrets.token_bytes(_SALT_LENGTH)
    salted = hashlib.pbkdf2_hmac("sha256", _normalize_password(password), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    server_key = _hmac(salted, b"Server Key")
    return str(ScramVerifier(iterations, bytes(salt), hashlib.sha256(client_key).digest(), server_key))


def parse_scram_verifier(s: str) -> ScramVerifier:
    """Parse a stored verifier; ValueError if it is not one."""
    try:
        method, iterations_salt, keys_text = s.split("$")
        iterations_text, salt_text = iterations_salt.split(":")
        stored_text, server_text = keys_text.split(":")
        if method != SCRAM_SHA_256 or not iterations_text.isdigit():
            raise ValueError
        verifier = ScramVerifier(
            int(iterations_text),
            base64.b64decode(salt_text, validate=True),
            base64.b64decode(stored_text, validate=True),
            base64.b64decode(server_text, validate=True),
        )
    except (ValueError, binascii.Error):
        raise ValueError(f"not a SCRAM-SHA-256 verifier: {s!r}") from None
    keys = (verifier.stored_key, verifier.server_key)
    if verifier.iterations < 1 or not verifier.salt or any(len(key) != _KEY_LENGTH for key in keys):
        raise ValueError(f"not a SCRAM-SHA-256 verifier: {s!r}")
    return verifier


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


# SASLprep (RFC 4013) tables: the non-ASCII spaces map to SPACE, the B.1
# characters to nothing; these categories are prohibited.
_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


def _normalize_password(password: str) -> bytes:
    """SASLprep the password, or use it unchanged if that fails, as PostgreSQL and libpq do."""
    raw = password.encode("utf-8", "surrogatepass")
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c))
    prepared = unicodedata.normalize("NFKC", mapped)
    if any(check(c) for c in prepared for check in _PROHIBITED):
        return raw
    if any(stringprep.in_table_d1(c) for c in prepared):
        if any(stringprep.in_table_d2(c) for c in prepared):
            return raw
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            return raw
    return prepared.encode()


def _random_nonce() -> str:
    return _b64(secrets.token_bytes(_NONCE_LENGTH))


def _printable(text: str) -> bool:
    """RFC 5802's ``printable``: %x21-2B / %x2D-7E (no comma)."""
    return bool(text) and all("!" <= c <= "~" and c != "," for c in text)


def _malformed(detail: str) -> ProtocolViolation:
    return ProtocolViolation(f"malformed SCRAM message: {detail}")


def _attribute(part: str, name: str) -> str:
    if not part.startswith(name + "="):
        raise _malformed(f"expected attribute {name!r}, found {part[:2]!r}")
    return part[2:]


def _scram_text(data: bytes) -> str:
    try:
        return bytes(data).decode()
    except UnicodeDecodeError:
        raise _malformed("not valid UTF-8") from None


class ScramExchange:
    """The server's side of one SCRAM-SHA-256(-PLUS) exchange: `start`, then `finish`.

    `verifier` is the stored `make_scram_verifier` string, or None for an
    unknown user (the exchange then fails at `finish`, like a wrong password;
    pass `username` and a persistent `mock_secret` so the fake salt is stable
    across attempts and restarts).

    `channel_binding_data` is the tls-server-end-point hash of the server
    certificate; pass it exactly when the connection uses TLS and the server
    advertised SCRAM-SHA-256-PLUS. Then a client sending the ``y`` flag ("I
    could bind but you cannot") is refused as a downgrade. `mechanism`, if
    given, is the name the client chose: PLUS requires channel binding, the
    plain mechanism forbids it.
    """

    def __init__(
        self,
        verifier: str | None,
        *,
        channel_binding_data: bytes | None = None,
        nonce_factory: Callable[[], str] = _random_nonce,
        mechanism: str | None = None,
        username: str = "",
        mock_secret: bytes | None = None,
    ) -> None:
        if mechanism not in (None, SCRAM_SHA_256, SCRAM_SHA_256_PLUS):
            raise ValueError(f"unknown SCRAM mechanism {mechanism!r}")
        if mechanism == SCRAM_SHA_256_PLUS and channel_binding_data is None:
            raise ValueError("SCRAM-SHA-256-PLUS needs channel_binding_data")
        if verifier is None:
            secret = _PROCESS_MOCK_SECRET if mock_secret is None else mock_secret
            salt = hashlib.sha256(secret + username.encode()).digest()[:_SALT_LENGTH]
            keys = secrets.token_bytes(2 * _KEY_LENGTH)
            self._verifier = ScramVerifier(_DEFAULT_ITERATIONS, salt, keys[:_KEY_LENGTH], keys[_KEY_LENGTH:])
        else:
            self._verifier = parse_scram_verifier(verifier)
        self._known_user = verifier is not None
        self._channel_binding_data = channel_binding_data
        self._nonce_factory = nonce_factory
        self._mechanism = mechanism
        self._state = "new"
        self._channel_binding_input = b""
        self._nonce = ""
        self._client_first_bare = ""
        self._server_first = ""

    def start(self, client_first: bytes) -> bytes:
        """Answer the client-first-message with the server-first-message."""
        self._advance("new", "start")
        text = _scram_text(client_first)
        flag = text[:1]
        if flag in ("n", "y"):
            if text[1:2] != ",":
                raise _malformed("expected ',' after the channel binding flag")
            pos = 2
        elif flag == "p":
            comma = text.find(",")
            if comma < 0:
                raise _malformed("the channel binding type is not terminated")
            binding_type = _attribute(text[:comma], "p")
            if binding_type != TLS_SERVER_END_POINT:
                raise ProtocolViolation(f"unsupported SCRAM channel-binding type {binding_type!r}")
            pos = comma + 1
        else:
            raise _malformed(f"unexpected channel binding flag {flag!r}")
        self._check_channel_binding_flag(flag)
        if text[pos : pos + 1] == "a":
            raise ProtocolViolation("client uses authorization identity, but it is not supported")
        if text[pos : pos + 1] != ",":
            raise _malformed("expected ',' after the GS2 header")
        gs2_header = text[: pos + 1]
        bare = text[pos + 1 :]
        parts = bare.split(",")
        if parts[0].startswith("m="):
            raise ProtocolViolation("client requires an unsupported SCRAM extension")
        if len(parts) < 2:
            raise _malformed("the client-first-message has no nonce")
        _attribute(parts[0], "n")  # the user name; PostgreSQL uses the startup packet's instead
        client_nonce = _attribute(parts[1], "r")
        if not _printable(client_nonce):
            raise _malformed("the client nonce is empty or not printable")
        server_nonce = self._nonce_factory()
        if not _printable(server_nonce):
            raise ValueError(f"nonce_factory returned an unusable nonce {server_nonce!r}")
        self._channel_binding_input = gs2_header.encode()
        if flag == "p":
            assert self._channel_binding_data is not None  # checked by _check_channel_binding_flag
            self._channel_binding_input += self._channel_binding_data
        self._nonce = client_nonce + server_nonce
        self._client_first_bare = bare
        verifier = self._verifier
        self._server_first = f"r={self._nonce},s={_b64(verifier.salt)},i={verifier.iterations}"
        self._state = "started"
        return self._server_first.encode()

    def finish(self, client_final: bytes) -> bytes:
        """Check the client's proof; return the server-final-message or raise AuthenticationFailed."""
        self._advance("started", "finish")
        text = _scram_text(client_final)
        parts = text.split(",")
        if len(parts) < 3:
            raise _malformed("the client-final-message needs c=, r= and p=")
        try:
            binding = base64.b64decode(_attribute(parts[0], "c"), validate=True)
            proof = base64.b64decode(_attribute(parts[-1], "p"), validate=True)
        except binascii.Error:
            raise _malformed("invalid base64") from None
        if binding != self._channel_binding_input:
            raise ProtocolViolation("SCRAM channel binding check failed")
        if _attribute(parts[1], "r") != self._nonce:
            raise _malformed("the nonce does not match")
        if len(proof) != _KEY_LENGTH:
            raise _malformed("the proof has the wrong length")
        without_proof = ",".join(parts[:-1])
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        verifier = self._verifier
        client_signature = _hmac(verifier.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        proven = hmac.compare_digest(hashlib.sha256(client_key).digest(), verifier.stored_key)
        if not (proven and self._known_user):
            raise AuthenticationFailed("password authentication failed")
        self._state = "done"
        return b"v=" + base64.b64encode(_hmac(verifier.server_key, auth_message))

    def _advance(self, expected: str, step: str) -> None:
        if self._state != expected:
            raise RuntimeError(f"ScramExchange.{step}() called in state {self._state!r}")
        self._state = "failed"  # until the step succeeds; a failed exchange cannot be resumed

    def _check_channel_binding_flag(self, flag: str) -> None:
        server_can_bind = self._channel_binding_data is not None
        if self._mechanism == SCRAM_SHA_256_PLUS and flag != "p":
            raise ProtocolViolation(
                "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data."
            )
        if flag == "p" and (self._mechanism == SCRAM_SHA_256 or not server_can_bind):
            raise ProtocolViolation(
                "The client selected SCRAM-SHA-256 without channel binding, "
                "but the SCRAM message includes channel binding data."
            )
        if flag == "y" and server_can_bind:
            raise ProtocolViolation(
                "SCRAM channel binding negotiation error: the client supports channel binding "
                "but thinks the server does not; this server does."
            )
