"""Authentication hardening: no user enumeration (an unknown user gets the same challenge and
the same answer as a wrong password, whatever the method), a delay after a failed login,
passwords stored only as SCRAM verifiers, and no secrets in the server log (failed logins,
CREATE/ALTER ROLE ... PASSWORD in every quoting, the slow-statement log)."""
from __future__ import annotations

import struct
import time

import psycopg
import pytest

from tests.conftest import RunningServer
from tests.robust import hostile as H


def first_challenge(port: int, user: str) -> int:
    """The authentication request code the server answers a StartupMessage with."""
    sock = H.connect(port)
    sock.sendall(H.startup_packet(user))
    data = b""
    while len(data) < 9:
        chunk = sock.recv(64)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data[:1] == b"R", data
    return struct.unpack_from("!i", data, 5)[0]


@pytest.mark.parametrize("method", ["md5", "scram-sha-256", "password"])
def test_unknown_user_and_wrong_password_look_the_same(tmp_path, method: str) -> None:
    server = RunningServer(tmp_path / "data", ("--local-auth", method, "--password", "boot secret",
                                               "--auth-failure-delay", "0")).start()
    try:
        with psycopg.connect(server.dsn, password="boot secret", autocommit=True) as conn:
            conn.execute("CREATE ROLE alice LOGIN PASSWORD 'alice secret'")
        # the first challenge does not depend on whether the user exists
        assert first_challenge(server.port, "alice") == first_challenge(server.port, "nobody")
        answers = []
        for user in ("alice", "nobody"):
            with pytest.raises(psycopg.OperationalError) as info:
                psycopg.connect(f"{server.dsn} user={user}", password="wrong")
            answers.append(str(info.value).replace(user, "USER"))
        assert answers[0] == answers[1] and "password authentication failed" in answers[0]
        with psycopg.connect(f"{server.dsn} user=alice", password="alice secret") as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("alice",)
    finally:
        server.kill()


def test_a_failed_login_waits_before_it_is_answered(tmp_path) -> None:
    server = RunningServer(tmp_path / "data", ("--local-auth", "scram-sha-256", "--password", "pw",
                                               "--auth-failure-delay", "1")).start()
    try:
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(server.dsn, password="guess")
        assert time.monotonic() - started >= 0.9          # the configured delay is a lower bound
        with psycopg.connect(server.dsn, password="pw") as conn:   # no delay for a good login
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.kill()


SECRETS = ("plainsecret1", "escapedsecret2", "dollarsecret3", "taggedsecret4", "loginsecret5", "wrongsecret6",
           "failedsecret7")


def test_no_secrets_in_the_log(tmp_path) -> None:
    server = RunningServer(tmp_path / "data", ("--local-auth", "scram-sha-256", "--password", "bootpass",
                                               "--log-min-duration-statement", "0", "--log-level", "debug",
                                               "--auth-failure-delay", "0")).start()
    try:
        with psycopg.connect(server.dsn, password="bootpass", autocommit=True) as conn:
            conn.execute("CREATE ROLE r1 LOGIN PASSWORD 'plainsecret1'")
            conn.execute("ALTER ROLE r1 PASSWORD E'escaped\\\\secret2'")
            conn.execute("CREATE ROLE r2 LOGIN PASSWORD 'x'")
            conn.execute("ALTER ROLE r2 WITH ENCRYPTED PASSWORD 'y'")
            for failing in ("CREATE ROLE r1 PASSWORD 'failedsecret7'",          # already exists
                            "CREATE ROLE r3 LOGIN PASSWORD $$dollarsecret3$$",
                            "ALTER ROLE r2 WITH ENCRYPTED PASSWORD $t$taggedsecret4$t$"):
                with pytest.raises(psycopg.Error):
                    conn.execute(failing)
            stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname IN ('r1', 'r2')").fetchall()
            assert stored and all(p.startswith("SCRAM-SHA-256$4096:") for (p,) in stored), stored
            conn.execute("ALTER ROLE r1 PASSWORD 'loginsecret5'")
        with psycopg.connect(f"{server.dsn} user=r1", password="loginsecret5") as conn:
            conn.execute("SELECT 1")
        for user in ("r1", "nobody"):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(f"{server.dsn} user={user}", password="wrongsecret6")
        server.stop()
        log = server.log()
        assert "CREATE ROLE r1 LOGIN PASSWORD '********'" in log       # statements are logged, masked
        for secret in (*SECRETS, "bootpass"):
            assert secret not in log, secret
        assert "escaped" not in log
    finally:
        if server.proc is not None:
            server.kill()
