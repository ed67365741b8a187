"""COPY FROM STDIN / TO STDOUT in text, CSV and binary with their options, through psql's
\\copy and psycopg, compared with what PostgreSQL 15 reads and writes."""
from __future__ import annotations

import subprocess

import psycopg
import pytest


def psql(server, *commands: str, input: str | None = None) -> subprocess.CompletedProcess:
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"]
    for command in commands:
        args += ["-c", command]
    return subprocess.run(args, input=input, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def db(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, city varchar(20), "
                     "born date, score numeric(6,2) DEFAULT 0)")
    return server


def rows(server, sql: str) -> list[tuple]:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_psql_copy_csv_with_header_both_ways(db, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text('id,name,city,born\n1,"Smith, Ann",Oslo,1990-05-01\n2,Bob,,\n3,"He said ""hi""","",2000-01-02\n')
    out = psql(db, f"\\copy people (id, name, city, born) FROM '{source}' WITH (FORMAT csv, HEADER)")
    assert out.returncode == 0, out.stderr
    assert rows(db, "SELECT id, name, city, born::text, score FROM people ORDER BY id") == [
        (1, "Smith, Ann", "Oslo", "1990-05-01", 0), (2, "Bob", None, None, 0), (3, 'He said "hi"', "", "2000-01-02", 0)]
    target = tmp_path / "out.csv"
    out = psql(db, f"\\copy (SELECT id, name, city FROM people ORDER BY id) TO '{target}' WITH CSV HEADER")
    assert out.returncode == 0, out.stderr
    assert target.read_text() == 'id,name,city\n1,"Smith, Ann",Oslo\n2,Bob,\n3,"He said ""hi""",""\n'


def test_text_format_escapes_nulls_and_the_end_marker(db):
    data = "10\tTab\\there\t\\N\t\\N\t1.5\n11\tback\\\\slash\tx\t2001-02-03\t\\N\n\\.\nignored after the end marker\n"
    out = psql(db, "\\copy people FROM STDIN", input=data)
    assert out.returncode == 0, out.stderr
    assert rows(db, "SELECT id, name, city, score FROM people WHERE id >= 10 ORDER BY id") == [
        (10, "Tab\there", None, 1.5), (11, "back\\slash", "x", None)]
    text = psql(db, "COPY (SELECT id, name, city FROM people WHERE id >= 10 ORDER BY id) TO STDOUT").stdout
    assert text == "10\tTab\\there\t\\N\n11\tback\\\\slash\tx\n"


def test_csv_options_delimiter_null_quote_force(db):
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE opts (a text, b text, c text)")
        with conn.cursor().copy("COPY opts FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'NULL', QUOTE '''', "
                                "ESCAPE '\\', FORCE_NOT_NULL (b), FORCE_NULL (c))") as copy:
            copy.write(b"x;NULL;'NULL'\n'it\\'s';;''\n")
        assert conn.execute("SELECT a, b, c FROM opts ORDER BY a").fetchall() == [("it's", "", ""), ("x", "NULL", None)]
        with conn.cursor().copy("COPY opts TO STDOUT (FORMAT csv, FORCE_QUOTE (a), NULL 'nil')") as copy:
            text = b"".join(bytes(c) for c in copy).decode()
        assert text == '"x",NULL,nil\n"it\'s",,\n'


def test_copy_errors_carry_postgresql_sqlstates(db):
    cases = {
        "COPY people FROM STDIN (FORMAT xml)": "22023",
        "COPY people FROM STDIN (DELIMITER '||')": "0A000",
        "COPY people FROM STDIN (QUOTE '\"')": "0A000",
        "COPY people TO STDOUT (FORCE_NOT_NULL (name))": "0A000",
        "COPY people (nope) FROM STDIN": "42703",
        "COPY people FROM '/etc/passwd'": "0A000",
        "COPY no_such_table FROM STDIN": "42P01",
    }
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for sql, sqlstate in cases.items():
            with pytest.raises(psycopg.Error) as info:
                with conn.cursor().copy(sql):
                    pass
            assert info.value.sqlstate == sqlstate, sql
        for data, sqlstate in ((b"20\tonly two\n", "22P04"), (b"21\tx\ty\t2000-01-01\t1\textra\n", "22P04"),
                               (b"x\tname\t\\N\t\\N\t\\N\n", "22P02"), (b"22\t\\N\t\\N\t\\N\t\\N\n", "23502"),
                               (b"1\tdup\t\\N\t\\N\t\\N\n", "23505"), (b"23\tn\t\\N\t\\N\t10000\n", "22003")):
            with pytest.raises(psycopg.Error) as info:
                with conn.cursor().copy("COPY people FROM STDIN") as copy:
                    copy.write(data)
            assert info.value.sqlstate == sqlstate, data
            if sqlstate in ("22P04", "22P02"):
                assert info.value.diag.context.startswith("COPY people, line 1"), data
        assert conn.execute("SELECT count(*) FROM people WHERE id >= 20").fetchone() == (0,)


def test_a_failed_copy_rolls_back_and_the_session_goes_on(db):
    with psycopg.connect(db.dsn) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            with conn.cursor().copy("COPY people (id, name) FROM STDIN") as copy:
                copy.write(b"30\tthirty\n")
                raise psycopg.errors.QueryCanceled("client gave up")     # psycopg sends CopyFail
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM people WHERE id = 30").fetchone() == (0,)
        with conn.cursor().copy("COPY people (id, name) FROM STDIN") as copy:
            copy.write(b"31\tthirty-one\n")
        conn.commit()
        assert conn.execute("SELECT name FROM people WHERE id = 31").fetchone() == ("thirty-one",)


def test_copy_into_a_table_with_a_key_checks_every_row(db):
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE keyed (k int PRIMARY KEY, v text)")
        lines = "".join(f"{i}\tv{i}\n" for i in range(1, 20001)).encode()
        with conn.cursor().copy("COPY keyed FROM STDIN") as copy:
            copy.write(lines)
        assert conn.execute("SELECT count(*), max(k) FROM keyed").fetchone() == (20000, 20000)
        with pytest.raises(psycopg.errors.UniqueViolation):
            with conn.cursor().copy("COPY keyed FROM STDIN") as copy:
                copy.write(b"20001\tnew\n20002\tnew\n20001\tagain\n")
        assert conn.execute("SELECT v FROM keyed WHERE k = 7").fetchone() == ("v7",)


def test_text_lines_crlf_empty_lines_and_width_errors_by_line(db):
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE words (w text)")
        with conn.cursor().copy("COPY words FROM STDIN") as copy:
            copy.write(b"one\r\ntwo\r\n\r")              # CR LF line ends; an empty line is an empty string
            copy.write(b"\n\\.\r\nafter the end marker\r\n")
        with conn.cursor().copy("COPY words FROM STDIN") as copy:
            copy.write(b"three\n\n\\.\n")
        assert conn.execute("SELECT w FROM words").fetchall() == [("one",), ("two",), ("",), ("three",), ("",)]
        for sql, data, message, line in (
                ("COPY people (id, name) FROM STDIN", b"40\ta\n41\tb\n42\n", 'missing data for column "name"', 3),
                ("COPY people FROM STDIN", b"40\ta\tb\t2000-01-01\t1\n41\tb\tc\td\te\tf\n",
                 "extra data after last expected column", 2)):
            with pytest.raises(psycopg.errors.BadCopyFileFormat) as info:
                with conn.cursor().copy(sql) as copy:
                    copy.write(data)
            assert info.value.diag.message_primary == message
            assert info.value.diag.context.startswith(f"COPY people, line {line}"), info.value.diag.context


def test_copy_before_and_after_a_savepoint(db):
    with psycopg.connect(db.dsn) as conn:
        conn.execute("CREATE TABLE staged (n int)")
        with conn.cursor().copy("COPY staged FROM STDIN") as copy:
            copy.write(b"1\n2\n")
        conn.execute("SAVEPOINT s")
        with conn.cursor().copy("COPY staged FROM STDIN") as copy:
            copy.write(b"3\n4\n")
        assert conn.execute("SELECT count(*) FROM staged").fetchone() == (4,)
        conn.execute("ROLLBACK TO SAVEPOINT s")
        with conn.cursor().copy("COPY staged FROM STDIN") as copy:
            copy.write(b"5\n")
        conn.commit()
        assert conn.execute("SELECT n FROM staged ORDER BY n").fetchall() == [(1,), (2,), (5,)]
