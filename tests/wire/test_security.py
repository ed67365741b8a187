"""TLS and authentication with psql, psycopg and asyncpg: SSLRequest answered S or N,
sslmode=require and verify-full, SCRAM-SHA-256 (with channel binding over TLS), md5,
cleartext, trust; roles as events; one answer for a wrong password and an unknown user."""
from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys

import asyncpg
import psycopg
import pytest

from server.auth import AuthConfig, is_loopback
from tests.conftest import ROOT, RunningServer

PASSWORD = "s3cret pass"      # with a space: conninfo quoting matters


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    out = subprocess.run([sys.executable, "-m", "server", "cert", "--out-dir", str(directory)], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert oct((directory / "server.key").stat().st_mode & 0o777) == "0o600"
    return directory


@pytest.fixture(scope="module")
def tls_server(certs, tmp_path_factory):
    server = RunningServer(tmp_path_factory.mktemp("tls") / "data",
                           ("--tls-cert", str(certs / "server.crt"), "--tls-key", str(certs / "server.key"),
                            "--local-auth", "scram-sha-256", "--password", PASSWORD)).start()
    yield server
    server.kill()


def dsn(server, **params) -> str:
    base = {"host": "127.0.0.1", "port": server.port, "user": "postgres", "dbname": "postgres"}
    base.update(params)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in base.items()})


def psql(conninfo: str, sql: str, password: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("PGPASSWORD", None)
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(["psql", "-X", "-A", "-t", "-w", "-d", conninfo, "-c", sql], capture_output=True,
                          text=True, timeout=60, env=env)


def test_psql_sslmode_require_and_verify_full(tls_server, certs):
    out = psql(dsn(tls_server, sslmode="require"), "SELECT 1", PASSWORD)
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr
    for host in ("localhost", "127.0.0.1"):
        out = psql(dsn(tls_server, host=host, sslmode="verify-full", sslrootcert=certs / "server.crt"),
                   "SELECT 2", PASSWORD)
        assert out.returncode == 0 and out.stdout.strip() == "2", out.stderr


def test_psycopg_scram_with_channel_binding_over_tls(tls_server, certs):
    with psycopg.connect(dsn(tls_server, sslmode="verify-full", sslrootcert=certs / "server.crt",
                             channel_binding="require", password=PASSWORD)) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    with psycopg.connect(dsn(tls_server, sslmode="disable", password=PASSWORD)) as conn:   # SCRAM without TLS
        assert not conn.pgconn.ssl_in_use


def test_asyncpg_over_tls_with_scram(tls_server, certs):
    async def main():
        context = ssl.create_default_context(cafile=str(certs / "server.crt"))
        conn = await asyncpg.connect(host="localhost", port=tls_server.port, user="postgres", password=PASSWORD,
                                     database="postgres", ssl=context)
        try:
            assert await conn.fetchval("SELECT 40 + 2") == 42
        finally:
            await conn.close()
    asyncio.run(main())


def test_wrong_password_and_unknown_user_get_the_same_answer(tls_server):
    answers = []
    for user, password in (("postgres", "wrong"), ("nobody", PASSWORD)):
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(dsn(tls_server, user=user, password=password, sslmode="disable"))
        answers.append(str(info.value).replace(user, "<user>"))
    assert answers[0] == answers[1]
    assert 'password authentication failed for user "<user>"' in answers[0]


def test_roles_are_created_altered_and_dropped(tls_server):
    with psycopg.connect(dsn(tls_server, password=PASSWORD), autocommit=True) as admin:
        admin.execute("CREATE ROLE alice LOGIN PASSWORD 'wonderland'")
        admin.execute("CREATE USER bob")
        admin.execute("CREATE ROLE reader")                   # NOLOGIN by default
        with pytest.raises(psycopg.errors.DuplicateObject):
            admin.execute("CREATE ROLE alice")
    with psycopg.connect(dsn(tls_server, user="alice", password="wonderland"), autocommit=True) as alice:
        assert alice.execute("SELECT current_user, current_setting('is_superuser')").fetchone() == ("alice", "off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            alice.execute("CREATE ROLE mallory")
        alice.execute("ALTER ROLE alice PASSWORD 'looking glass'")       # one's own password
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            alice.execute("ALTER ROLE bob PASSWORD 'x'")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn(tls_server, user="alice", password="wonderland"))
    psycopg.connect(dsn(tls_server, user="alice", password="looking glass")).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(tls_server, user="bob", password="anything"))     # bob has no password
    with psycopg.connect(dsn(tls_server, password=PASSWORD), autocommit=True) as admin:
        admin.execute("ALTER ROLE reader LOGIN PASSWORD 'r'")
        admin.execute("DROP ROLE alice, bob")
        admin.execute("DROP ROLE IF EXISTS alice")
        with pytest.raises(psycopg.errors.UndefinedObject):
            admin.execute("DROP ROLE alice")
        with pytest.raises(psycopg.errors.ObjectInUse):
            admin.execute("DROP ROLE postgres")                 # oneself
        admin.execute("CREATE ROLE root2 SUPERUSER LOGIN PASSWORD 'r2'")
    with psycopg.connect(dsn(tls_server, user="root2", password="r2"), autocommit=True) as other:
        with pytest.raises(psycopg.errors.DependentObjectsStillExist):
            other.execute("DROP ROLE postgres")                 # the bootstrap superuser
    psycopg.connect(dsn(tls_server, user="reader", password="r")).close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn(tls_server, user="alice", password="looking glass"))
    # roles are events: they survive a restart (replayed from the log)
    tls_server.restart()
    psycopg.connect(dsn(tls_server, user="reader", password="r")).close()


def test_ssl_refused_without_a_certificate_and_trust_on_loopback(server):
    out = psql(dsn(server, sslmode="require"), "SELECT 1", None)
    assert out.returncode != 0 and "server does not support SSL" in out.stderr
    out = psql(dsn(server, sslmode="prefer"), "SELECT 1", None)          # falls back to clear text
    assert out.returncode == 0, out.stderr
    with pytest.raises(psycopg.OperationalError, match='role "ghost" does not exist'):
        psycopg.connect(dsn(server, user="ghost"))


@pytest.mark.parametrize("method", ["md5", "password"])
def test_md5_and_cleartext_methods(method, tmp_path):
    server = RunningServer(tmp_path / "data", ("--local-auth", method, "--password", PASSWORD)).start()
    try:
        out = psql(dsn(server), "CREATE ROLE carol LOGIN PASSWORD 'c4rol'", PASSWORD)
        assert out.returncode == 0, out.stderr
        out = psql(dsn(server, user="carol"), "SELECT current_user", "c4rol")   # md5 falls back to SCRAM
        assert out.returncode == 0 and out.stdout.strip() == "carol", out.stderr
        out = psql(dsn(server), "SELECT 1", "nope")
        assert out.returncode != 0 and "password authentication failed" in out.stderr
    finally:
        server.kill()


def _outside_address() -> str:
    """This machine's address on its default route (not loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))              # no packet is sent: this only picks a route
        address = s.getsockname()[0]
    assert not is_loopback(address), "the test needs a network interface besides loopback"
    return address


def test_clients_off_loopback_need_a_password_by_default(tmp_path):
    assert AuthConfig().method_for("192.0.2.7") == "scram-sha-256"
    assert AuthConfig().method_for("127.0.0.1") == "trust" and AuthConfig().method_for("::1") == "trust"
    server = RunningServer(tmp_path / "data", ("--host", "0.0.0.0", "--password", PASSWORD)).start()  # the last --host wins
    try:
        outside = f"host={_outside_address()} port={server.port} user=postgres dbname=postgres sslmode=disable"
        out = psql(outside, "SELECT 1", None)
        assert out.returncode != 0 and "password" in out.stderr
        out = psql(outside, "SELECT 1", PASSWORD)
        assert out.returncode == 0, out.stderr
        out = psql(dsn(server), "SELECT 1", None)                      # loopback: trust
        assert out.returncode == 0, out.stderr
    finally:
        server.kill()


def test_bytes_sent_in_clear_after_an_ssl_request_are_refused(tls_server):
    """CVE-2021-23214: what follows SSLRequest in the same packet was not encrypted."""
    import struct
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as sock:
        startup = struct.pack("!ii", 8, 80877103)
        body = struct.pack("!i", 196608) + b"user\0postgres\0\0"
        sock.sendall(startup + struct.pack("!i", len(body) + 4) + body)
        reply = sock.recv(1024)
    assert reply[:1] == b"E" and b"received unencrypted data after SSL request" in reply
