"""Password authentication: MD5 against PostgreSQL's known values, SCRAM-SHA-256
against the RFC 7677 test vector and a client written here, channel binding,
unknown users, and malformed client messages."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from protocol.auth import (
    AuthenticationFailed,
    ScramExchange,
    ScramVerifier,
    check_md5_response,
    make_scram_verifier,
    md5_password_hash,
    parse_password,
    parse_sasl_initial_response,
    parse_scram_verifier,
)
from protocol.errors import ProtocolViolation

# --- cleartext and MD5 ---------------------------------------------------------------------


def test_parse_password() -> None:
    assert parse_password(b"secret\x00") == "secret"
    assert parse_password(b"\x00") == ""
    for bad in (b"", b"secret", b"a\x00b\x00", b"\xff\x00"):
        with pytest.raises(ProtocolViolation):
            parse_password(bad)


def test_md5_stored_form_matches_postgresql() -> None:
    # SELECT 'md5' || md5('postgres' || 'postgres') in PostgreSQL
    assert md5_password_hash("postgres", "postgres") == "md53175bce1d3201d16594cebf9d7eb3f9d"


def client_md5_response(user: str, password: str, salt: bytes) -> str:
    """What libpq sends: md5(md5(password + user) hex + salt), prefixed with 'md5'."""
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


def test_md5_response() -> None:
    stored = md5_password_hash("alice", "wonderland")
    salt = b"\x01\x02\x03\x04"
    assert check_md5_response(stored, salt, client_md5_response("alice", "wonderland", salt))
    assert not check_md5_response(stored, salt, client_md5_response("alice", "wrong", salt))
    assert not check_md5_response(stored, b"\x00\x00\x00\x00", client_md5_response("alice", "wonderland", salt))
    assert not check_md5_response(stored, salt, "")
    assert not check_md5_response(stored, salt, "\u00e9")
    with pytest.raises(ValueError):
        check_md5_response("plaintext", salt, "md5x")
    with pytest.raises(ValueError):
        check_md5_response(stored, b"123", "md5x")


# --- SASL framing --------------------------------------------------------------------------


def test_parse_sasl_initial_response() -> None:
    body = b"SCRAM-SHA-256\x00\x00\x00\x00\x05n,,xy"
    assert parse_sasl_initial_response(body) == ("SCRAM-SHA-256", b"n,,xy")
    assert parse_sasl_initial_response(b"SCRAM-SHA-256\x00\xff\xff\xff\xff") == ("SCRAM-SHA-256", b"")
    assert parse_sasl_initial_response(b"X\x00\x00\x00\x00\x00") == ("X", b"")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"SCRAM-SHA-256",
        b"SCRAM-SHA-256\x00\x00\x00",
        b"SCRAM-SHA-256\x00\x00\x00\x00\x06n,,xy",
        b"SCRAM-SHA-256\x00\x00\x00\x00\x04n,,xy",
        b"SCRAM-SHA-256\x00\xff\xff\xff\xfen",
        b"SCRAM-SHA-256\x00\xff\xff\xff\xffx",
    ],
)
def test_parse_sasl_initial_response_refuses_malformed(body: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        parse_sasl_initial_response(body)


# --- SCRAM-SHA-256 -------------------------------------------------------------------------

RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"


def test_rfc7677_vector() -> None:
    verifier = make_scram_verifier("pencil", iterations=4096, salt=RFC_SALT)
    exchange = ScramExchange(verifier, nonce_factory=lambda: RFC_SERVER_NONCE)
    server_first = exchange.start(f"n,,n=user,r={RFC_CLIENT_NONCE}".encode())
    assert server_first == f"r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".encode()
    client_final = f"c=biws,r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    assert exchange.finish(client_final.encode()) == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_verifier_format() -> None:
    text = make_scram_verifier("pencil", salt=RFC_SALT)
    assert text.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    parsed = parse_scram_verifier(text)
    assert parsed == ScramVerifier(4096, RFC_SALT, parsed.stored_key, parsed.server_key)
    assert str(parsed) == text
    random_salted = parse_scram_verifier(make_scram_verifier("pencil", iterations=1))
    assert random_salted.iterations == 1 and len(random_salted.salt) == 16
    assert random_salted.salt != parse_scram_verifier(make_scram_verifier("pencil", iterations=1)).salt


@pytest.mark.parametrize(
    "text",
    [
        "",
        "md5abc",
        "SCRAM-SHA-256$4096:c2FsdA==$a:b",
        "SCRAM-SHA-1$4096:c2FsdA==$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$0:c2FsdA==$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$x:c2FsdA==$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$4096:$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$4096:!!$" + "A" * 43 + "=:" + "A" * 43 + "=",
    ],
)
def test_parse_scram_verifier_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_scram_verifier(text)


class ScramClient:
    """A SCRAM-SHA-256 client, written from RFC 5802 independently of the server code."""

    def __init__(self, password: str, *, gs2_header: str = "n,,", binding_data: bytes = b"") -> None:
        self.password = password
        self.gs2_header = gs2_header
        self.binding_data = binding_data
        self.nonce = "fyko+d2lbbFgONRv9qkxdawL"
        self.first_bare = f"n=,r={self.nonce}"

    def first(self) -> bytes:
        return (self.gs2_header + self.first_bare).encode()

    def final(self, server_first: bytes, *, extra: str = "") -> bytes:
        attributes = dict(part.split("=", 1) for part in server_first.decode().split(","))
        salt, iterations = base64.b64decode(attributes["s"]), int(attributes["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        binding = base64.b64encode(self.gs2_header.encode() + self.binding_data).decode()
        without_proof = f"c={binding},r={attributes['r']}{extra}"
        auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self.expected_server_final = b"v=" + base64.b64encode(hmac.digest(server_key, auth_message, "sha256"))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


VERIFIER = make_scram_verifier("correct horse", iterations=64)
CERT_HASH = hashlib.sha256(b"server certificate").digest()


def run(exchange: ScramExchange, client: ScramClient, *, extra: str = "") -> bytes:
    server_first = exchange.start(client.first())
    assert server_first.startswith(f"r={client.nonce}".encode())
    return exchange.finish(client.final(server_first, extra=extra))


def test_full_exchange() -> None:
    client = ScramClient("correct horse")
    assert run(ScramExchange(VERIFIER), client) == client.expected_server_final


def test_full_exchange_with_extensions_and_default_nonces() -> None:
    client = ScramClient("correct horse")
    client.first_bare += ",x=ignored"
    assert run(ScramExchange(VERIFIER), client, extra=",y=also") == client.expected_server_final
    nonce = ScramExchange(VERIFIER).start(client.first()).split(b",")[0]
    assert len(nonce) == len(b"r=" + client.nonce.encode()) + 24  # 18 random bytes in base64


def test_wrong_password_fails_at_the_end() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        run(ScramExchange(VERIFIER), ScramClient("battery staple"))
    assert caught.value.sqlstate == "28P01"


def test_unknown_user_looks_like_a_wrong_password() -> None:
    def server_first(username: str, secret: bytes) -> bytes:
        return ScramExchange(None, username=username, mock_secret=secret, nonce_factory=lambda: "N").start(b"n,,n=,r=c")

    assert server_first("ghost", b"k") == server_first("ghost", b"k")  # stable salt per user
    assert server_first("ghost", b"k") != server_first("phantom", b"k")
    assert server_first("ghost", b"k") != server_first("ghost", b"other secret")
    assert b",i=4096" in server_first("ghost", b"k")
    assert ScramExchange(None).start(b"n,,n=,r=c").count(b",") == 2
    for password in ("", "correct horse"):
        with pytest.raises(AuthenticationFailed):
            run(ScramExchange(None, username="ghost"), ScramClient(password))


def test_saslprep_is_applied_to_passwords() -> None:
    salt = b"0123456789abcdef"

    def verifier(password: str) -> str:
        return make_scram_verifier(password, iterations=1, salt=salt)

    assert verifier("I\u00adX") == verifier("IX")  # soft hyphen maps to nothing
    assert verifier("a\u00a0b") == verifier("a b")  # non-ASCII space maps to SPACE
    assert verifier("\u2168") == verifier("IX")  # NFKC
    assert verifier("\u00aa") == verifier("a")
    # prohibited or bidi-invalid input is used unchanged, as libpq and PostgreSQL do
    assert verifier("a\u0007") == make_scram_verifier("a\u0007", iterations=1, salt=salt)
    raw = parse_scram_verifier(verifier("\u0627\u0031")).stored_key
    salted = hashlib.pbkdf2_hmac("sha256", "\u0627\u0031".encode(), salt, 1)
    assert raw == hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()


def test_channel_binding() -> None:
    client = ScramClient("correct horse", gs2_header="p=tls-server-end-point,,", binding_data=CERT_HASH)
    exchange = ScramExchange(VERIFIER, channel_binding_data=CERT_HASH, mechanism="SCRAM-SHA-256-PLUS")
    assert run(exchange, client) == client.expected_server_final


def test_channel_binding_mismatch() -> None:
    client = ScramClient("correct horse", gs2_header="p=tls-server-end-point,,", binding_data=b"another certificate")
    with pytest.raises(ProtocolViolation, match="channel binding check failed"):
        run(ScramExchange(VERIFIER, channel_binding_data=CERT_HASH), client)


def test_client_without_binding_over_tls_with_plain_mechanism() -> None:
    client = ScramClient("correct horse")
    exchange = ScramExchange(VERIFIER, channel_binding_data=CERT_HASH, mechanism="SCRAM-SHA-256")
    assert run(exchange, client) == client.expected_server_final


@pytest.mark.parametrize(
    ("client_first", "kwargs", "fragment"),
    [
        (b"y,,n=,r=abc", {"channel_binding_data": CERT_HASH}, "negotiation error"),
        (b"p=tls-server-end-point,,n=,r=abc", {}, "includes channel binding data"),
        (
            b"p=tls-server-end-point,,n=,r=abc",
            {"channel_binding_data": CERT_HASH, "mechanism": "SCRAM-SHA-256"},
            "includes channel binding data",
        ),
        (
            b"n,,n=,r=abc",
            {"channel_binding_data": CERT_HASH, "mechanism": "SCRAM-SHA-256-PLUS"},
            "does not include channel binding data",
        ),
        (b"p=tls-unique,,n=,r=abc", {"channel_binding_data": CERT_HASH}, "unsupported SCRAM channel-binding type"),
        (b"n,a=admin,n=,r=abc", {}, "authorization identity"),
        (b"n,,m=ext,n=,r=abc", {}, "unsupported SCRAM extension"),
        (b"", {}, "channel binding flag"),
        (b"x,,n=,r=abc", {}, "channel binding flag"),
        (b"n", {}, "expected ','"),
        (b"p=tls-server-end-point", {"channel_binding_data": CERT_HASH}, "not terminated"),
        (b"n,x", {}, "after the GS2 header"),
        (b"n,,n=", {}, "no nonce"),
        (b"n,,r=abc,n=x", {}, "expected attribute 'n'"),
        (b"n,,n=,x=abc", {}, "expected attribute 'r'"),
        (b"n,,n=,r=", {}, "not printable"),
        (b"n,,n=,r=a b", {}, "not printable"),
        (b"n,,n=,r=\xff", {}, "UTF-8"),
    ],
)
def test_malformed_client_first(client_first: bytes, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        ScramExchange(VERIFIER, **kwargs).start(client_first)
    assert fragment in caught.value.message
    assert caught.value.sqlstate == "08P01"


@pytest.mark.parametrize(
    ("mangle", "fragment"),
    [
        (lambda final: final.replace(b"c=biws", b"c=eSws"), "channel binding check failed"),
        (lambda final: final.replace(b"c=biws", b"c=b!ws"), "invalid base64"),
        (lambda final: final.replace(b"c=biws,", b""), "needs c=, r= and p="),
        (lambda final: final.replace(b"c=", b"x="), "expected attribute 'c'"),
        (lambda final: final.replace(b",r=fyko", b",r=fyk0"), "nonce does not match"),
        (lambda final: final.replace(b",p=", b",q="), "expected attribute 'p'"),
        (lambda final: final[: final.index(b",p=") + 3] + b"AAAA", "wrong length"),
        (lambda final: final + b",x=1", "expected attribute 'p'"),
        (lambda final: final + b"\xff", "UTF-8"),
    ],
)
def test_malformed_client_final(mangle, fragment: str) -> None:  # type: ignore[no-untyped-def]
    client = ScramClient("correct horse")
    exchange = ScramExchange(VERIFIER)
    final = client.final(exchange.start(client.first()))
    with pytest.raises(ProtocolViolation, match=fragment):
        exchange.finish(mangle(final))


def test_steps_in_order_only() -> None:
    exchange = ScramExchange(VERIFIER)
    with pytest.raises(RuntimeError):
        exchange.finish(b"c=biws,r=x,p=x")
    client = ScramClient("correct horse")
    server_first = exchange.start(client.first())
    with pytest.raises(RuntimeError):
        exchange.start(client.first())
    exchange.finish(client.final(server_first))
    with pytest.raises(RuntimeError, match="'done'"):
        exchange.finish(client.final(server_first))
    failed = ScramExchange(VERIFIER)
    with pytest.raises(ProtocolViolation):
        failed.start(b"garbage")
    with pytest.raises(RuntimeError, match="'failed'"):
        failed.start(client.first())


def test_misuse() -> None:
    with pytest.raises(ValueError):
        ScramExchange(VERIFIER, mechanism="SCRAM-SHA-1")
    with pytest.raises(ValueError):
        ScramExchange(VERIFIER, mechanism="SCRAM-SHA-256-PLUS")
    with pytest.raises(ValueError):
        ScramExchange("not a verifier")
    with pytest.raises(ValueError):
        make_scram_verifier("x", iterations=0)
    with pytest.raises(ValueError):
        ScramExchange(VERIFIER, nonce_factory=lambda: "a,b").start(b"n,,n=,r=abc")
