"""The live server under random and mutated protocol streams, in every protocol state, and the
classic hostile inputs (HTTP and TLS sent to the port, zero/negative/1 GiB lengths, truncated
messages, messages after Terminate, floods of tiny messages, a client that never reads).

Every exchange must yield only well-formed backend messages and clean errors (never XX000,
never a hang), and a watchdog client must see every one of its queries answered throughout.
The codec alone is fuzzed in tests/protocol/test_protocol_decoder.py; REWINDDB_FUZZ_SCALE
runs these longer (tests/robust/hostile.py).
"""
from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given

from tests.conftest import RunningServer
from tests.robust import hostile as H
from tests.support import wire as W


@pytest.fixture(scope="module")
def trust_server(tmp_path_factory):
    server = RunningServer(tmp_path_factory.mktemp("fuzz") / "data", ("--max-message-size", "1MiB")).start()
    H.prepare_database(server.port)
    yield server
    server.kill()


@pytest.fixture(scope="module")
def scram_server(tmp_path_factory):
    server = RunningServer(tmp_path_factory.mktemp("fuzz-scram") / "data",
                           ("--local-auth", "scram-sha-256", "--password", H.PASSWORD,
                            "--auth-failure-delay", "0")).start()
    H.prepare_database(server.port, H.PASSWORD)
    yield server
    server.kill()


@pytest.fixture(scope="module")
def watched(trust_server):
    with H.Watchdog(trust_server.port) as watchdog:
        yield trust_server, watchdog
    watchdog.check()
    assert "internal error" not in trust_server.log() and "Traceback" not in trust_server.log()


def after(server: RunningServer, watchdog: H.Watchdog) -> None:
    """The server still serves: the watchdog is happy and a fresh connection answers."""
    watchdog.check()
    client = W.RawClient(server.port)
    client.send(W.query("SELECT 42"))
    assert [b for k, b in client.until(b"Z") if k == b"D"] == [b"\x00\x01\x00\x00\x00\x0242"]
    client.close()


# -------------------------------------------------------------------- random streams per state

@pytest.mark.parametrize("state", [s for s in H.STATES if s != "authentication"])
def test_random_streams_in_every_state(watched, state: str) -> None:
    server, watchdog = watched

    @H.fuzz_settings(40)
    @given(data=H.streams(startup=state == "startup"))
    def run(data: bytes) -> None:
        H.exchange(H.open_in_state(server.port, state), data)
    run()
    after(server, watchdog)


def test_random_streams_during_scram_authentication(scram_server) -> None:
    with H.Watchdog(scram_server.port, password=H.PASSWORD) as watchdog:
        @H.fuzz_settings(60)
        @given(data=H.streams())
        def run(data: bytes) -> None:
            replies = H.exchange(H.open_in_state(scram_server.port, "authentication"), data)
            # whatever was sent, nobody got in
            assert not any(kind == b"Z" for kind, _ in replies.messages), data
        run()
    watchdog.check()
    assert "Traceback" not in scram_server.log()


def test_scram_exchange_mutated_mid_way(scram_server) -> None:
    """A valid client-first message, then random client-final messages: always 28P01 or 08P01."""
    first = b"n,,n=,r=" + b"A" * 24

    @H.fuzz_settings(40)
    @given(final=H.st.one_of(H.st.binary(max_size=120),
                             H.st.builds(lambda p, r: b"c=biws,r=" + b"A" * 24 + r + b",p=" + p,
                                         H.st.binary(max_size=50), H.st.binary(max_size=20))))
    def run(final: bytes) -> None:
        sock = H.open_in_state(scram_server.port, "authentication")
        body = H.cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first
        replies = H.exchange(sock, H.frame(b"p", body) + H.frame(b"p", final))
        assert not any(kind == b"Z" for kind, _ in replies.messages)
        assert set(replies.sqlstates) <= {"28P01", "08P01", "22021"}, replies.sqlstates
    run()


# -------------------------------------------------------------------- the classics

CLASSICS = {
    "http_request": H.HTTP_REQUEST,
    "http_post": b"POST /v1/sql HTTP/1.1\r\nContent-Length: 8\r\n\r\nSELECT 1",
    "tls_client_hello": H.TLS_CLIENT_HELLO,
    "zero_length": struct.pack("!i", 0),
    "negative_length": struct.pack("!ii", -1, 196608),
    "length_1gib": struct.pack("!ii", 1 << 30, 196608),
    "startup_truncated": H.startup_packet()[:-3],
    "startup_oversized": struct.pack("!ii", 20000, 196608) + b"a" * 19992,
    "protocol_2": struct.pack("!ii", 8, 2 << 16),
    "ssl_twice": H.SSL_REQUEST + H.SSL_REQUEST,
    "cancel_garbage": struct.pack("!iiii", 16, 80877102, 0, 0),
    "nul_bytes": b"\0" * 64,
}


@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_classic_garbage_before_startup(watched, name: str) -> None:
    server, watchdog = watched
    replies = H.exchange(H.connect(server.port), CLASSICS[name])
    # like PostgreSQL, a bad startup packet may just close the connection (and the error, when
    # one is sent, can be lost to the reset caused by the rest of the client's bytes)
    assert replies.sqlstates in ([], ["0A000" if name == "protocol_2" else "08P01"]), replies.sqlstates
    after(server, watchdog)


REGULAR_CLASSICS = {         # bytes sent after startup -> the SQLSTATE that must come back (None: no error)
    "zero_length": (b"Q" + struct.pack("!i", 0), "08P01"),
    "negative_length": (b"Q" + struct.pack("!i", -5), "08P01"),
    # (refused from the header alone: a body sent after it would only race the close with a reset)
    "length_1gib": (b"Q" + struct.pack("!i", 1 << 30), "08P01"),
    "length_over_max_message_size": (b"P" + struct.pack("!i", 2 << 20), "08P01"),
    "truncated_query": (W.query("SELECT 1")[:-2], None),
    "unknown_type": (H.frame(b"!", b""), "08P01"),
    "after_terminate": (H.TERMINATE + W.query("SELECT 1") + W.SYNC, None),
    "invalid_utf8": (H.frame(b"Q", b"SELECT '\xff\xfe'\0"), "22021"),
    "startup_again": (H.startup_packet(), "08P01"),
    "bind_param_count_lies": (H.frame(b"B", b"\0\0\0\0\x7f\xff"), "08P01"),
    "copy_data_when_idle": (H.frame(b"d", b"1\tx\n") + H.COPY_DONE + W.query("SELECT 1"), None),
    "execute_missing_portal": (W.execute("nope") + W.SYNC, "34000"),
    "text_parameter_with_nul": (W.parse("", "SELECT $1::int", (23,)) + W.bind("", "", (b"1\x00",)) + W.SYNC,
                                "22021"),
}


@pytest.mark.parametrize("name", sorted(REGULAR_CLASSICS))
def test_classic_garbage_after_startup(watched, name: str) -> None:
    server, watchdog = watched
    data, expected = REGULAR_CLASSICS[name]
    replies = H.exchange(H.open_in_state(server.port, "idle"), data)
    assert replies.sqlstates == ([expected] if expected else []), replies.sqlstates
    if name == "after_terminate":
        assert replies.messages == []          # nothing after Terminate is even looked at
    after(server, watchdog)


def test_a_client_that_half_closes_still_gets_its_answers(watched) -> None:
    """EOF after a pipeline (`printf ... | nc -N`): every message before it is answered, a
    statement still running when it arrives included, and then the server closes."""
    server, watchdog = watched
    replies = H.exchange(H.open_in_state(server.port, "idle"),
                         W.query("SELECT count(*) FROM generate_series(1, 3000000)") + W.query("SELECT 2")
                         + H.frame(b"!", b""))
    rows = [body for kind, body in replies.messages if kind == b"D"]
    assert rows == [b"\x00\x01\x00\x00\x00\x073000000", b"\x00\x01\x00\x00\x00\x012"], replies.messages
    assert replies.sqlstates == ["08P01"]
    after(server, watchdog)


def test_flood_of_tiny_messages(watched) -> None:
    """100,000 Syncs and Flushes in one burst: each Sync answered, nothing else disturbed."""
    server, watchdog = watched
    replies = H.exchange(H.open_in_state(server.port, "idle"),
                         (W.SYNC + W.FLUSH) * 50_000 + W.query("SELECT 1") + H.TERMINATE, half_close=False)
    assert sum(1 for kind, _ in replies.messages if kind == b"Z") == 50_001
    after(server, watchdog)


def test_pipelined_flood_is_read_with_back_pressure(watched) -> None:
    """A client pipelining 20 MB of queries behind a slow statement: the server stops reading
    (TCP pushes back) instead of buffering it all, then answers every query."""
    server, watchdog = watched
    sock = H.open_in_state(server.port, "idle")
    burst = W.query("SELECT pg_sleep(0.5)") + W.query("SELECT 1 -- " + "x" * 1000) * 20_000 + H.TERMINATE
    replies = H.exchange(sock, burst, half_close=False)
    assert sum(1 for kind, _ in replies.messages if kind == b"Z") == 20_001
    after(server, watchdog)


def test_client_that_never_reads_its_results(watched) -> None:
    """Big results nobody reads: the server waits on the socket (it buffers a bounded amount),
    serves everyone else meanwhile, and cleans up when the client goes away."""
    server, watchdog = watched
    socks = []
    for _ in range(4):
        sock = H.open_in_state(server.port, "idle")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(W.query("SELECT g, repeat('y', 200) FROM generate_series(1, 2000000) g"))
        socks.append(sock)
    copy_out = H.open_in_state(server.port, "copy_out")
    for _ in range(20):
        after(server, watchdog)
    rss = _rss_kib(server)
    assert rss < 1024 * 1024, f"server RSS {rss} KiB with unread results: output is buffered without bound"
    for sock in [*socks, copy_out]:
        sock.close()
    after(server, watchdog)


def _rss_kib(server: RunningServer) -> int:
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")
