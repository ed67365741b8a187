"""Hostile clients for the robustness tests: raw byte streams sent in every protocol state,
a watchdog client that runs queries throughout, and the check that only clean protocol
errors ever come back.

* `open_in_state(server, state)` opens a socket and walks it into one protocol state
  (before startup, mid-authentication, idle, mid extended-query pipeline, awaiting Sync
  after an error, COPY in, COPY out with the result unread, after Terminate).
* `messages()` is a hypothesis strategy for frontend messages (valid framing, random
  content); `streams()` concatenates them and mutates the bytes (flips, insertions,
  deletions, truncation, lengths overwritten with 0, -1, 3, 1 GiB, 2^31-1).
* `exchange(sock, data)` sends the bytes, half-closes, and reads every reply until the server
  closes; `check_replies` parses them as backend messages and fails on anything but clean
  errors: an unknown message type, a torn frame, an ErrorResponse without a proper SQLSTATE
  or with XX000 (internal error). A server that does not close within STALL_SECONDS after
  the client's EOF has hung on the input.
* `Watchdog` runs simple queries (and reconnects now and then) on its own thread for the
  whole test; a query that fails or gets no answer within STALL_SECONDS is a failure.

Scale: REWINDDB_FUZZ_SCALE multiplies every fuzz test's number of examples (default 1,
which keeps the fuzzers to tens of seconds in CI); `REWINDDB_FUZZ_SCALE=50 python -m pytest
tests/robust` runs them longer on demand.
"""
from __future__ import annotations

import os
import socket
import struct
import threading
import time

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.support import wire as W

SCALE = max(1, int(os.environ.get("REWINDDB_FUZZ_SCALE", "1")))
STALL_SECONDS = 60.0            # no answer for this long = a hung server (not a timing assertion)
PASSWORD = "fuzz pass"


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


# -------------------------------------------------------------------- frontend bytes

def frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def startup_packet(user: str = "postgres", **params: str) -> bytes:
    body = struct.pack("!i", 196608) + cstr("user") + cstr(user) + cstr("database") + cstr("postgres")
    body += b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\0"
    return struct.pack("!i", len(body) + 4) + body


SSL_REQUEST = struct.pack("!ii", 8, 80877103)
GSSENC_REQUEST = struct.pack("!ii", 8, 80877104)
TERMINATE = frame(b"X", b"")
COPY_DONE = frame(b"c", b"")

# a TLS 1.2 ClientHello as browsers send it to a port (record header, handshake header, random, suites)
TLS_CLIENT_HELLO = bytes.fromhex(
    "16030100a5010000a10303" + "11" * 32 + "00" + "0020" + "c02bc02fc02cc030cca9cca8c013c014009c009d002f0035000a"
    "0100005400000014001200000f7777772e6578616d706c652e636f6d000a00080006001d00170018000b00020100000d0012"
    "001004030804040105030805050108060601ff01000100")
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"

SQL_SAMPLES = ("SELECT 1", "SELECT $1::int", "SELECT * FROM fuzz_t", "INSERT INTO fuzz_t VALUES ($1, $2)",
               "BEGIN", "COMMIT", "ROLLBACK", "SELEC", "SELECT 1/0", "COPY fuzz_t FROM STDIN",
               "COPY fuzz_t TO STDOUT", "SELECT pg_sleep(0.01)", "SELECT g FROM generate_series(1, 3000) g",
               "", ";", "SET statement_timeout = 1000", "SELECT repeat('x', 100000)")

names = st.sampled_from(["", "s1", "p1", "x" * 70])
texts = st.one_of(st.sampled_from(SQL_SAMPLES),
                  st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40))
cells = st.one_of(st.none(), st.binary(max_size=12), st.sampled_from([b"1", b"42", b"\x00\x00\x00\x01", b"abc"]))
int16 = st.one_of(st.integers(-3, 3), st.sampled_from([-32768, 32767, 1000]))


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """One frontend message, framed correctly, with random (often wrong) content."""
    kind = draw(st.sampled_from("QQQPPBBDESSHXdcfpF?"))
    if kind == "Q":
        return frame(b"Q", cstr(draw(texts)))
    if kind == "P":
        oids = draw(st.lists(st.sampled_from([0, 23, 25, 17, 1700, 2**32 - 1]), max_size=3))
        return frame(b"P", cstr(draw(names)) + cstr(draw(texts)) + struct.pack(f"!h{len(oids)}I", len(oids), *oids))
    if kind == "B":
        params = draw(st.lists(cells, max_size=3))
        formats = draw(st.lists(int16, max_size=3))
        results = draw(st.lists(int16, max_size=3))
        body = cstr(draw(names)) + cstr(draw(names)) + struct.pack(f"!h{len(formats)}h", len(formats), *formats)
        body += struct.pack("!h", len(params))
        for p in params:
            body += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
        return frame(b"B", body + struct.pack(f"!h{len(results)}h", len(results), *results))
    if kind == "D":
        return frame(b"D", draw(st.sampled_from([b"S", b"P", b"Z"])) + cstr(draw(names)))
    if kind == "E":
        return frame(b"E", cstr(draw(names)) + struct.pack("!i", draw(st.sampled_from([0, 1, 2, -1, 2**31 - 1]))))
    if kind in "SHXc":
        return frame(kind.encode(), b"")
    if kind == "f":
        return frame(b"f", cstr(draw(texts)))
    if kind in "dpF":
        return frame(kind.encode(), draw(st.binary(max_size=40)))
    return frame(draw(st.binary(min_size=1, max_size=1)), draw(st.binary(max_size=20)))


BAD_LENGTHS = (0, -1, 3, 1 << 30, 2**31 - 1, 0x7fffff00)


@st.composite
def streams(draw: st.DrawFn, startup: bool = False) -> bytes:
    """A few messages (after startup packets when `startup`), then a few mutations."""
    parts = []
    if startup:
        parts += draw(st.lists(st.sampled_from([SSL_REQUEST, GSSENC_REQUEST, startup_packet(),
                                                startup_packet(draw(st.sampled_from(["nobody", "", "x" * 300]))),
                                                startup_packet(options="-c statement_timeout=5"),
                                                struct.pack("!iiii", 16, 80877102, 1, 2),
                                                struct.pack("!ii", 8, 196608 + 7), TLS_CLIENT_HELLO,
                                                HTTP_REQUEST]), min_size=1, max_size=2))
    parts += draw(st.lists(messages(), max_size=8))
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "length"]))
        if how == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif how == "truncate":
            del data[at:]
        else:
            data[at:at + 4] = struct.pack("!i", draw(st.sampled_from(BAD_LENGTHS)))
    return bytes(data)


# -------------------------------------------------------------------- protocol states

STATES = ("startup", "authentication", "idle", "pipeline", "awaiting_sync", "copy_in", "copy_out", "terminated")


def _read_until(sock: socket.socket, kinds: bytes) -> bytes:
    """Backend bytes up to and including the first message whose type is in `kinds`."""
    data = b""
    pos = 0
    while True:
        while len(data) - pos >= 5:
            (length,) = struct.unpack_from("!i", data, pos + 1)
            if len(data) - pos < 1 + length:
                break
            kind = data[pos:pos + 1]
            if kind == b"E":
                raise ConnectionError(f"error while the test set up a state: {W.fields(data[pos + 5:pos + 1 + length])}")
            pos += 1 + length
            if kind in kinds:
                return data[:pos]
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection while the test set up a state")
        data += chunk


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=STALL_SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def open_in_state(port: int, state: str, user: str = "postgres") -> socket.socket:
    """A connection walked into `state` (see STATES); `authentication` needs a SCRAM server."""
    sock = connect(port)
    if state == "startup":
        return sock
    sock.sendall(startup_packet(user))
    if state == "authentication":
        _read_until(sock, b"R")             # AuthenticationSASL: the fuzz bytes answer it
        return sock
    _read_until(sock, b"Z")
    if state == "pipeline":
        sock.sendall(W.parse("", "SELECT $1::int + 1", (23,)) + W.bind("", "", (b"1",)) + W.describe("P", ""))
    elif state == "awaiting_sync":
        sock.sendall(W.parse("", "SELEC broken") + W.bind("", ""))
    elif state == "copy_in":
        sock.sendall(W.query("COPY fuzz_t FROM STDIN"))
        _read_until(sock, b"G")
        sock.sendall(frame(b"d", b"1\tone\n"))
    elif state == "copy_out":
        sock.sendall(W.query("COPY (SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g) TO STDOUT"))
    elif state == "terminated":
        sock.sendall(TERMINATE)
    return sock


# -------------------------------------------------------------------- replies

BACKEND_TYPES = frozenset(b"RSKZTDCIEGHWdcnN123stAvV")
SINGLE_BYTE_ANSWERS = frozenset(b"NS")          # to SSLRequest / GSSENCRequest


class Replies:
    """What came back on one connection: the backend messages and the SQLSTATEs of its errors."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.messages: list[tuple[bytes, bytes]] = []
        self.sqlstates: list[str] = []


def exchange(sock: socket.socket, data: bytes, half_close: bool = True) -> Replies:
    """Send `data` (from a thread, reading meanwhile, as a pipelining client must), half-close
    (EOF), and read until the server closes the connection."""
    def send() -> None:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass                        # the server already refused and closed: fine
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            raise AssertionError(f"the server neither answered nor closed within {STALL_SECONDS}s after "
                                 f"{len(data)} bytes: {data[:200]!r}") from None
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    sender.join(STALL_SECONDS)
    sock.close()
    return check_replies(bytes(received), data)


def check_replies(data: bytes, sent: bytes = b"") -> Replies:
    """Parse backend messages; anything but well-formed messages and clean errors fails."""
    replies = Replies(data)
    pos = 0
    before_auth = True
    while pos < len(data):
        kind = data[pos]
        if before_auth and kind in SINGLE_BYTE_ANSWERS and (pos + 1 == len(data) or data[pos + 1] != 0):
            pos += 1
            continue
        assert kind in BACKEND_TYPES, f"unknown backend message type {bytes([kind])!r} at {pos} for {sent[:200]!r}"
        assert len(data) - pos >= 5, f"torn frame at the end of the replies to {sent[:200]!r}"
        (length,) = struct.unpack_from("!i", data, pos + 1)
        assert 4 <= length and pos + 1 + length <= len(data), f"bad frame length {length} for {sent[:200]!r}"
        body = data[pos + 5:pos + 1 + length]
        replies.messages.append((bytes([kind]), body))
        if kind in b"RE":
            before_auth = False
        if kind == ord("E"):
            fields = W.fields(body)
            code = fields.get("C", "")
            assert len(code) == 5 and code.isalnum() and code.upper() == code, f"bad SQLSTATE {code!r}"
            assert code != "XX000", f"internal error {fields.get('M')!r} for {sent[:300]!r}"
            assert fields.get("S") in ("ERROR", "FATAL"), f"severity {fields.get('S')!r}"
            replies.sqlstates.append(code)
        pos += 1 + length
    return replies


# -------------------------------------------------------------------- the watchdog

class Watchdog:
    """Queries the server from its own thread throughout a test; any error or stall is kept
    and raised by `check()`. It reconnects every RECONNECT_EVERY queries, so new
    connections are watched too."""

    RECONNECT_EVERY = 50

    def __init__(self, port: int, user: str = "postgres", password: str | None = None) -> None:
        self.port = port
        self.user = user
        self.password = password
        self.queries = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(STALL_SECONDS * 2)

    def check(self) -> None:
        assert not self.failures, f"the watchdog saw: {self.failures[:5]}"
        assert self._stop.is_set() or self._thread.is_alive(), "the watchdog stopped"

    def _connect(self):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                               password=self.password, autocommit=True, connect_timeout=int(STALL_SECONDS))

    def _run(self) -> None:
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None or self.queries % self.RECONNECT_EVERY == 0:
                    if conn is not None:
                        conn.close()
                    conn = self._connect()
                    # the server cancels a query it cannot answer in time: a stall becomes an error
                    conn.execute(f"SET statement_timeout = {int(STALL_SECONDS * 1000)}")
                started = time.monotonic()
                n = self.queries
                row = conn.execute("SELECT %s::int + 1, count(*) FROM watchdog_t", (n,)).fetchone()
                if row != (n + 1, 3):
                    self.failures.append(f"wrong answer {row!r}")
                if time.monotonic() - started > STALL_SECONDS:
                    self.failures.append(f"a query took {time.monotonic() - started:.1f}s")
                self.queries += 1
            except Exception as e:      # noqa: BLE001 - every failure is the finding
                self.failures.append(f"{type(e).__name__}: {e}")
                conn = None
                self._stop.wait(0.5)
            self._stop.wait(0.01)
        if conn is not None:
            conn.close()


def prepare_database(port: int, password: str | None = None) -> None:
    """The tables the states and the watchdog use."""
    import psycopg
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", password=password,
                         autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS fuzz_t (a int, b text)")
        conn.execute("CREATE TABLE IF NOT EXISTS watchdog_t (a int PRIMARY KEY)")
        if conn.execute("SELECT count(*) FROM watchdog_t").fetchone() == (0,):
            conn.execute("INSERT INTO watchdog_t VALUES (1), (2), (3)")
