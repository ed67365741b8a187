"""Huge input from one client: a transaction that writes far more than
`transaction_memory_limit` (many rows, or a few huge values, in one statement, many
statements or a COPY) fails with 53200 and is aborted, its writes gone, while the server and
other sessions go on; a statement of megabytes of SQL text is parsed and planned in a worker
thread, so other sessions are answered while it is still being processed (observed as an
order of events on the server, not as durations). E'' escapes in utility statements are in
test_sql_fuzz.py.
"""
from __future__ import annotations

import threading

import psycopg
import pytest

from tests.conftest import RunningServer
from tests.robust import hostile as H

LIMIT = "32MiB"


@pytest.fixture(scope="module")
def budget_server(tmp_path_factory):
    server = RunningServer(tmp_path_factory.mktemp("huge") / "data",
                           ("--transaction-memory-limit", LIMIT)).start()
    H.prepare_database(server.port)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE w (id int, v text)")
        conn.execute("INSERT INTO w VALUES (0, 'kept')")
    with H.Watchdog(server.port) as watchdog:
        yield server, watchdog
    watchdog.check()
    server.kill()
    assert "internal error" not in server.log() and "Traceback" not in server.log()


def _over_budget(error: pytest.ExceptionInfo) -> None:
    assert error.value.sqlstate == "53200"
    assert "transaction_memory_limit" in error.value.diag.message_detail


def _rows(conn) -> int:
    return conn.execute("SELECT count(*) FROM w").fetchone()[0]


@pytest.mark.parametrize("sql", [
    "INSERT INTO w SELECT g, 'row' FROM generate_series(1, 1000000) g",                  # many rows
    "INSERT INTO w SELECT g, repeat('x', 8000000) FROM generate_series(1, 8) g",          # big values
    "INSERT INTO w VALUES (1, 'small first'), (2, repeat('y', 200000000))",              # one huge value
    "UPDATE w SET v = repeat('z', 200000000)",                                           # huge update
], ids=["many_rows", "big_values", "huge_value_after_a_small_one", "huge_update"])
def test_one_statement_writing_beyond_the_budget_fails_alone(budget_server, sql: str) -> None:
    server, watchdog = budget_server
    with psycopg.connect(server.dsn, autocommit=True) as conn, \
            psycopg.connect(server.dsn, autocommit=True) as other:
        other.execute("BEGIN")
        other.execute("INSERT INTO watchdog_t VALUES (100)")        # another session mid-transaction
        with pytest.raises(psycopg.errors.OutOfMemory) as error:
            conn.execute(sql)
        _over_budget(error)
        assert _rows(conn) == 1 and conn.execute("SELECT v FROM w").fetchone() == ("kept",)
        other.execute("ROLLBACK")                                     # it went on unaffected
        assert conn.execute("INSERT INTO w VALUES (3, 'fits') RETURNING id").fetchone() == (3,)
        conn.execute("DELETE FROM w WHERE id = 3")
    watchdog.check()


def test_a_transaction_block_over_the_budget_is_aborted(budget_server) -> None:
    server, watchdog = budget_server
    with psycopg.connect(server.dsn) as conn:
        statements = 0
        with pytest.raises(psycopg.errors.OutOfMemory) as error:
            while True:                                   # each statement fits; their sum does not
                conn.execute("INSERT INTO w SELECT g, 'row' FROM generate_series(1, 20000) g")
                statements += 1
        _over_budget(error)
        assert statements > 1
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert _rows(conn) == 1
    watchdog.check()


def test_rolling_back_to_a_savepoint_gives_the_budget_back(budget_server) -> None:
    server, _ = budget_server
    with psycopg.connect(server.dsn) as conn:
        conn.execute("INSERT INTO w SELECT g, 'before' FROM generate_series(1, 10000) g")
        conn.execute("SAVEPOINT s")
        with pytest.raises(psycopg.errors.OutOfMemory) as error:
            conn.execute("INSERT INTO w SELECT g, 'after' FROM generate_series(1, 1000000) g")
        _over_budget(error)
        conn.execute("ROLLBACK TO SAVEPOINT s")
        for _ in range(3):      # together over the budget, had the failed statement been counted
            conn.execute("INSERT INTO w SELECT g, 'after' FROM generate_series(1, 20000) g")
        conn.commit()
        assert conn.execute("SELECT v, count(*) FROM w GROUP BY v ORDER BY v").fetchall() == [
            ("after", 60000), ("before", 10000), ("kept", 1)]
        conn.execute("DELETE FROM w WHERE id > 0")
        conn.commit()


def test_copy_beyond_the_budget_fails(budget_server) -> None:
    server, watchdog = budget_server
    line = b"7\t" + b"c" * 1000 + b"\n"
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.OutOfMemory) as error:
            with conn.cursor().copy("COPY w FROM STDIN") as copy:
                for _ in range(200):
                    copy.write(line * 1000)
        _over_budget(error)
        assert _rows(conn) == 1
    watchdog.check()


# -------------------------------------------------------------------- huge statements

ROWS = 30_000      # about 1 MB of SQL: seconds of parsing and planning


@pytest.mark.parametrize("protocol", ["simple", "extended", "script", "in_list"])
def test_other_sessions_are_served_while_a_huge_statement_is_processed(tmp_path, protocol: str) -> None:
    """In one transaction block, the huge INSERT's session advances the sequence `started` (in
    a statement without result rows: a result's rows are streamed with yields between them),
    runs the INSERT, then advances `finished` (sequences move for everyone at once), all in one
    message (simple protocol, or a script of many small INSERTs) or one pipeline (extended). A
    second session asks, repeatedly, whether each sequence moved: the answer "started, not
    finished" was given while the huge statement was being processed, which a server busy with
    it on the event loop could not have given (no commit, and so no fsync wait, lies between).
    "in_list" is a query that takes seconds to parse and plan but runs in microseconds: only
    planning off the event loop lets the answer in; "script" needs the yields between
    statements; the INSERTs get both and the yields of a long write."""
    server = RunningServer(tmp_path / "data").start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE big (a int, b text)")
            conn.execute("CREATE SEQUENCE started")
            conn.execute("CREATE TABLE marks (n int)")
            conn.execute("CREATE SEQUENCE finished")
        answers: list[tuple] = []
        done = threading.Event()

        def huge() -> None:
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                if protocol == "simple":
                    values = ", ".join(f"({i}, 'row {i}')" for i in range(ROWS))
                    conn.execute(f"BEGIN; INSERT INTO marks VALUES (nextval('started')); INSERT INTO big VALUES {values}; "
                                 "SELECT nextval('finished'); COMMIT")
                elif protocol == "in_list":
                    items = ", ".join(map(str, range(2 * ROWS)))
                    conn.execute(f"BEGIN; INSERT INTO marks VALUES (nextval('started')); SELECT count(*) FROM big WHERE a IN ({items}); "
                                 "SELECT nextval('finished'); COMMIT")
                elif protocol == "script":
                    inserts = "".join(f"INSERT INTO big VALUES ({i}, 'row {i}');" for i in range(ROWS))
                    conn.execute(f"BEGIN; INSERT INTO marks VALUES (nextval('started'));{inserts}SELECT nextval('finished'); COMMIT")
                else:
                    params = [v for i in range(ROWS) for v in (i, f"row {i}")]
                    conn.autocommit = False
                    with conn.pipeline():
                        conn.execute("INSERT INTO marks VALUES (nextval('started'))")
                        conn.execute("INSERT INTO big VALUES " + ", ".join(["(%s, %s)"] * ROWS), params)
                        conn.execute("SELECT nextval('finished')")
                    conn.commit()
            done.set()

        worker = threading.Thread(target=huge)
        worker.start()
        with psycopg.connect(server.dsn, autocommit=True) as watcher:
            while not done.is_set():
                answers.append(watcher.execute(
                    "SELECT (SELECT is_called FROM started), (SELECT is_called FROM finished)").fetchone())
            worker.join()
            assert (True, False) in answers, answers[-5:]
            if protocol != "in_list":
                assert watcher.execute("SELECT count(*), count(DISTINCT b) FROM big").fetchone() == (ROWS, ROWS)
    finally:
        server.kill()
    assert "Traceback" not in server.log()
