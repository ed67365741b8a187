"""`rewinddb shell` with piped input, in both modes, and on a terminal (a pseudo-terminal).

The aligned output is checked against psql itself: the same script goes through psql and
through `rewinddb shell --connect` against one server, and stdout must be identical.
"""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import psycopg

from tests.conftest import ROOT, RunningServer

SCRIPT = """\
create table t (id int primary key, name text, n numeric, f float8, b bool, d date);
insert into t values (1, 'Alice', 1.5, 0.25, true, '2024-01-02'), (22, NULL, -3, -1e10, false, NULL),
  (333, 'a
b
c', 100.125, 3, NULL, '1999-12-31');
select * from t order by id;
select id as "a very long column name", name from t where id > 1 order by id;
select count(*) from t where false;
select 'x;y' as "x", '' as e, 'it''s' as q from t where id = 1; -- a comment; with a semicolon
update t set name = 'z' where id = 1;
delete from t where id = 333;
begin;
insert into t (id) values (5);
commit;
select * from t where id < 0;
/* a block comment; */ select 1 as one;
drop table t;
"""


def shell(*args: str, stdin: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the shell; libpq's PG* variables of the caller's environment are left out."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run([sys.executable, "-m", "server", "shell", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env={**base, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=120)


def test_connected_shell_prints_what_psql_prints(server):
    psql = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-f", "-"],
                          input=SCRIPT, capture_output=True, text=True, timeout=120)
    assert psql.returncode == 0 and psql.stderr == "", psql.stderr
    ours = shell("--connect", f"postgresql://postgres@127.0.0.1:{server.port}/postgres", stdin=SCRIPT)
    assert (ours.returncode, ours.stderr) == (0, "")
    assert ours.stdout == psql.stdout
    assert " 333 | a    +| 100.125 |" in ours.stdout


def test_data_directory_shell_runs_in_process_and_persists(tmp_path):
    data = tmp_path / "data"
    result = shell("--data-dir", str(data), stdin=SCRIPT.replace("drop table t;", ""))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("CREATE TABLE\nINSERT 0 3\n id  | name  |    n    |")
    server = RunningServer(data).start()
    try:
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT id, name FROM t ORDER BY id").fetchall() == [(1, "z"), (5, None), (22, None)]
        locked = shell("--data-dir", str(data), stdin="select 1;\n")
        assert locked.returncode == 2
        assert "a server is running on data directory" in locked.stderr and "--connect" in locked.stderr
    finally:
        server.stop()


def test_first_error_stops_with_status_1(tmp_path):
    result = shell("--data-dir", str(tmp_path / "d"),
                   stdin="create table e (id int primary key);\nselect 1/0;\ninsert into e values (1);\n")
    assert result.returncode == 1
    assert result.stdout == "CREATE TABLE\n"
    assert result.stderr == "ERROR:  division by zero\n"


def test_unterminated_last_statement_runs_and_timing_reports(tmp_path):
    result = shell("--data-dir", str(tmp_path / "d"), stdin="\\timing on\nselect 41 + 1 as answer")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:5] == ["Timing is on.", " answer ", "--------", "     42", "(1 row)"]
    assert lines[6].startswith("Time: ") and lines[6].endswith(" ms")


def test_connect_errors_are_reported(tmp_path):
    result = shell("--connect", "host=127.0.0.1 port=1", stdin="select 1;\n")
    assert result.returncode == 2 and "could not connect" in result.stderr


def test_interactive_shell_keeps_readline_history(tmp_path):
    """On a terminal: prompts, a statement over two lines, \\q, and ~/.rewinddb_history."""
    main, child = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-m", "server", "shell", "--data-dir", str(tmp_path / "d")],
                            stdin=child, stdout=child, stderr=child, cwd=ROOT, env=env)
    os.close(child)
    output = b""

    def read_until(marker: bytes) -> None:
        nonlocal output
        deadline = time.monotonic() + 60
        while marker not in output:
            assert time.monotonic() < deadline, output
            ready, _, _ = select.select([main], [], [], 1)
            if ready:
                output += os.read(main, 4096)

    try:
        read_until(b"rewinddb=> ")
        os.write(main, b"select 6 * 7\r")
        read_until(b"rewinddb-> ")
        os.write(main, b"as answer;\r")
        read_until(b"(1 row)")
        os.write(main, b"\\q\r")
        assert proc.wait(60) == 0
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    assert b"     42" in output
    history = (tmp_path / ".rewinddb_history").read_text()
    assert "select 6 * 7" in history and "\\q" in history


def test_connected_shell_authenticates_with_each_password_method(tmp_path):
    for method in ("scram-sha-256", "md5", "password"):
        server = RunningServer(tmp_path / method, ("--local-auth", method, "--password", "s3cret")).start()
        try:
            ok = shell("--connect", f"postgresql://postgres:s3cret@127.0.0.1:{server.port}/postgres",
                       stdin="select current_user;\n")
            assert (ok.returncode, ok.stdout.splitlines()[2]) == (0, " postgres"), (method, ok.stderr)
            from_env = shell("--connect", f"host=127.0.0.1 port={server.port} user=postgres",
                             stdin="select 1;\n", env={"PGPASSWORD": "s3cret"})
            assert from_env.returncode == 0, (method, from_env.stderr)
            wrong = shell("--connect", f"postgresql://postgres:nope@127.0.0.1:{server.port}/postgres",
                          stdin="select 1;\n")
            assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr, (method, wrong.stderr)
            missing = shell("--connect", f"host=127.0.0.1 port={server.port}", stdin="select 1;\n")
            assert missing.returncode == 2 and "asks for a password" in missing.stderr, (method, missing.stderr)
        finally:
            server.stop()
