"""Authentication: which method a client must use, and running it over the connection.

Settings (`AuthConfig`, built from server/config.py's `local_auth`, `auth`, `superuser` and
`password`: flags, REWINDDB_* variables or the TOML file):

* `--local-auth METHOD`: the method for loopback clients (127.0.0.0/8, ::1); default `trust`.
* `--auth METHOD`: the method for every other client; default `scram-sha-256`, so a server
  listening on a public address never lets anyone in without a password.
* `--superuser NAME` (default `postgres`) and `--password`: the bootstrap superuser, which
  exists before any CREATE ROLE, and its password. Once `ALTER ROLE` changes that role, the
  catalog's version wins.

METHOD is one of PostgreSQL's pg_hba.conf names: `trust`, `password` (cleartext; use it only
over TLS), `md5`, `scram-sha-256`. As in PostgreSQL, `md5` runs SCRAM-SHA-256 for a role
whose stored password is a SCRAM verifier (every role but a bootstrap superuser whose
password comes from the configuration), and for an unknown user (as PostgreSQL does, so the
challenge does not tell whether a user exists). Over TLS, SCRAM-SHA-256-PLUS (channel binding to
the server certificate) is offered first.

Answers: an unknown user and a wrong password both fail with FATAL 28P01 "password
authentication failed for user ..." (the SCRAM exchange runs against a fake verifier with a
stable per-user salt, a cleartext password is checked against a fake verifier at the same
cost, and every comparison is constant-time, so the two are indistinguishable, in content
and in timing); every failure is answered after `auth_failure_delay` seconds; with `trust`, an unknown user gets 28000 "role ... does
not exist"; a role without LOGIN gets 28000 after authenticating.

Roles live in the catalog (CREATE/ALTER/DROP ROLE are events; engine/session.py); passwords
are stored only as SCRAM-SHA-256 verifiers (`password_verifier`).
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from engine.catalog.model import RoleDef
from protocol import auth as A
from protocol import backend as B
from protocol import messages as M
from protocol.errors import ProtocolViolation

@dataclass(frozen=True, slots=True)
class AuthConfig:
    local_method: str = "trust"
    remote_method: str = "scram-sha-256"
    superuser: str = "postgres"
    password: str | None = None

    def method_for(self, peer: str) -> str:
        return self.local_method if is_loopback(peer) else self.remote_method

    def bootstrap_role(self) -> RoleDef:
        return RoleDef(self.superuser, superuser=True, login=True, createdb=True, createrole=True,
                       password=password_verifier(self.password) if self.password else None)


class AuthError(Exception):
    """Authentication failed: send FATAL with this SQLSTATE and message, then close."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


def is_loopback(peer: str) -> bool:
    if peer == "local":
        return True
    try:
        ip = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)       # ::ffff:127.0.0.1 on a dual-stack listener
    return (mapped or ip).is_loopback


def password_verifier(password: str) -> str:
    """What a role stores for a password: a SCRAM-SHA-256 verifier."""
    return A.make_scram_verifier(password)


def password_matches(verifier: str | None, password: str) -> bool:
    """Whether a cleartext password is the one behind a stored verifier."""
    if verifier is None:
        return False
    stored = A.parse_scram_verifier(verifier)
    computed = A.make_scram_verifier(password, iterations=stored.iterations, salt=stored.salt)
    return hmac.compare_digest(computed.encode(), verifier.encode())


_FAKE_VERIFIER: list[str] = []


def _fake_verifier() -> str:
    """A verifier no password matches, derived like a real one (its check costs the same)."""
    if not _FAKE_VERIFIER:
        _FAKE_VERIFIER.append(password_verifier(secrets.token_hex(32)))
    return _FAKE_VERIFIER[0]


Send = Callable[[bytes], None]
Receive = Callable[[], Awaitable[Any]]


async def authenticate(config: AuthConfig, method: str, user: str, role: RoleDef | None, *,
                       send: Send, receive: Receive, channel_binding: bytes | None,
                       bootstrap: bool) -> None:
    """Run `method` for `user` (None role: unknown user); raise AuthError if it fails.

    `send` queues and flushes a message, `receive` returns the next frontend message;
    `channel_binding` is the TLS server end point data (None without TLS); `bootstrap` says
    that `role` is the configuration's superuser (whose cleartext password is known)."""
    failed = AuthError("28P01", f'password authentication failed for user "{user}"')
    if method == "trust":
        if role is None:
            raise AuthError("28000", f'role "{user}" does not exist')
    elif method == "password":
        send(B.authentication_cleartext_password())
        password = A.parse_password((await _password_message(receive)).data)
        # an unknown user (or one without a password) costs the same key derivation as a known one
        verifier = role.password if role is not None and role.password is not None else _fake_verifier()
        if not password_matches(verifier, password) or role is None or role.password is None:
            raise failed
    elif method == "md5" and bootstrap and config.password is not None:
        salt = secrets.token_bytes(4)
        send(B.authentication_md5_password(salt))
        response = A.parse_password((await _password_message(receive)).data)
        if not A.check_md5_response(A.md5_password_hash(user, config.password), salt, response):
            raise failed
    else:
        await _scram(user, role, send, receive, channel_binding, failed)
    if role is not None and not role.login:
        raise AuthError("28000", f'role "{user}" is not permitted to log in')


async def _scram(user: str, role: RoleDef | None, send: Send, receive: Receive,
                 channel_binding: bytes | None, failed: AuthError) -> None:
    mechanisms = [A.SCRAM_SHA_256_PLUS, A.SCRAM_SHA_256] if channel_binding is not None else [A.SCRAM_SHA_256]
    send(B.authentication_sasl(mechanisms))
    mechanism, first = A.parse_sasl_initial_response((await _password_message(receive)).data)
    if mechanism not in mechanisms:
        raise ProtocolViolation("client selected an invalid SASL authentication mechanism")
    exchange = A.ScramExchange(role.password if role is not None else None, channel_binding_data=channel_binding,
                               mechanism=mechanism, username=user)
    if not first:
        send(B.authentication_sasl_continue(b""))
        first = (await _password_message(receive)).data
    send(B.authentication_sasl_continue(exchange.start(first)))
    try:
        final = exchange.finish((await _password_message(receive)).data)
    except A.AuthenticationFailed:
        raise failed from None
    send(B.authentication_sasl_final(final))


async def _password_message(receive: Receive) -> M.PasswordMessage:
    msg = await receive()
    if not isinstance(msg, M.PasswordMessage):
        raise ProtocolViolation(f"expected password response, got message type {type(msg).__name__}")
    return msg
