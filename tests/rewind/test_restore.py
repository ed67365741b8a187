"""`rewinddb restore`: a new database equal to the source as of a point (restore equals AS OF),
with the same history and digest, made while the source server keeps running."""
from __future__ import annotations

import subprocess
import sys

import psycopg

from tests.conftest import ROOT, RunningServer


def restore(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", "restore", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def table(conn, sql: str, params=None) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def test_restore_equals_as_of_and_keeps_history_and_digest(fresh_server, tmp_path):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE acc (id int PRIMARY KEY, owner text, balance numeric)")
        conn.execute("CREATE TABLE other (x int)")
        conn.execute("INSERT INTO acc VALUES (1, 'ann', 10.5), (2, 'bob', 20), (3, 'cy', 30)")
        conn.execute("INSERT INTO other VALUES (1)")
        conn.execute("UPDATE acc SET balance = balance * 2 WHERE id = 1")
        point = table(conn, "SELECT max(lsn) FROM rewind.transactions")[0][0]
        (point_time,) = table(conn, "SELECT clock_timestamp()")[0]
        conn.execute("DELETE FROM acc WHERE id = 2")
        conn.execute("DROP TABLE other")
        conn.execute("INSERT INTO acc VALUES (4, 'dee', 40)")
        as_of = {t: table(conn, f"SELECT * FROM {t} FOR SYSTEM_TIME AS OF TRANSACTION {point} ORDER BY 1")
                 for t in ("acc", "other")}
        history = table(conn, "SELECT * FROM rewind.changes WHERE lsn <= %s ORDER BY lsn", (point,))

        by_lsn = restore("--data-dir", str(fresh_server.data_dir), "--to", str(point), "--into", str(tmp_path / "copy"))
        assert by_lsn.returncode == 0, by_lsn.stderr
        assert f"transaction {point}" in by_lsn.stdout
        by_time = restore("--data-dir", str(fresh_server.data_dir), "--to", point_time.isoformat(),
                          "--into", str(tmp_path / "copy2"))
        assert by_time.returncode == 0, by_time.stderr

        for copy in ("copy", "copy2"):
            forked = RunningServer(tmp_path / copy).start()
            try:
                with psycopg.connect(forked.dsn, autocommit=True) as fork:
                    assert {t: table(fork, f"SELECT * FROM {t} ORDER BY 1") for t in ("acc", "other")} == as_of
                    assert table(fork, "SELECT * FROM rewind.changes ORDER BY lsn") == history
                    lsn, digest = table(fork, "SELECT lsn, digest FROM rewind.log_digest()")[0]
                    assert lsn == point and digest in by_lsn.stdout
                    fork.execute("INSERT INTO acc VALUES (5, 'fork', 1)")      # the fork is a database of its own
            finally:
                forked.kill()
        assert table(conn, "SELECT rewind.verify_digest(%s, %s)", (point, digest)) == [(True,)]
        assert table(conn, "SELECT count(*) FROM acc WHERE id = 5") == [(0,)]


def test_restore_refuses_what_it_cannot_do(fresh_server, tmp_path):
    with psycopg.connect(fresh_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    cases = [("--to", "999", "--into", str(tmp_path / "a")),
             ("--to", "not a time", "--into", str(tmp_path / "b")),
             ("--to", "1", "--into", str(tmp_path / "busy"))]
    for args in cases:
        done = restore("--data-dir", str(fresh_server.data_dir), *args)
        assert done.returncode == 1 and done.stderr.startswith("rewinddb restore:"), done
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert restore("--data-dir", str(tmp_path / "nothing"), "--to", "1", "--into", str(tmp_path / "c")).returncode == 1
