"""Rebuilding a past state older than the history window happens in a worker thread for
every statement that reads the past — queries, INSERT ... SELECT and CREATE TABLE AS — so
other sessions are served meanwhile.

How the ordering is observed: the statement's AS OF bound releases an advisory lock the
session holds (point bounds are evaluated before the rebuild), and the statement runs in
an open transaction so its answer needs no commit. Another session waits until it can take
that lock — the statement has begun — then runs a query and only then looks whether the
statement has answered: the rebuild replays a few hundred thousand rows from the start of
the log, so a loop that kept serving answers that session long before."""
from __future__ import annotations

import threading

import psycopg
import pytest

from tests.conftest import RunningServer

ROWS = 300_000


@pytest.fixture(scope="module")
def past_server(tmp_path_factory):
    """A server whose table `big` held ROWS rows at transaction `point` (returned), then
    changed; each test restarts it, so that a read at `point` needs a state rebuilt from the
    log (no snapshot is older than `point`, and none is cached)."""
    server = RunningServer(tmp_path_factory.mktemp("past") / "data", ("--history-window", "3")).start()
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE small (id int)")
        for start in range(0, ROWS, 100_000):
            conn.execute("INSERT INTO big SELECT g, 'v' || g FROM generate_series(%s, %s) g",
                         (start + 1, start + 100_000))
        point = conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0]
        conn.execute("DELETE FROM big WHERE id % 2 = 0")
        for i in range(5):
            conn.execute("INSERT INTO small VALUES (%s)", (i,))
        conn.execute("CHECKPOINT")
    try:
        yield server, point
    finally:
        server.kill()


def _other_session_served_meanwhile(server: RunningServer, statement: str, point: int) -> tuple[bool, psycopg.Connection]:
    """Run `statement` (`{point}` in it the AS OF point) in an open transaction of one session
    while another waits for it to begin; whether the other session was served before the
    statement answered, and the first session's connection (its transaction still open)."""
    first = psycopg.connect(server.dsn)
    first.execute("SELECT pg_advisory_lock(7)")
    answered = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            first.execute(statement.format(point=point))
        except BaseException as error:      # reported by the main thread
            failures.append(error)
        answered.set()

    with psycopg.connect(server.dsn, autocommit=True) as other:
        worker = threading.Thread(target=run)
        worker.start()
        while not other.execute("SELECT pg_try_advisory_lock(7)").fetchone()[0]:
            assert not answered.is_set(), failures
        assert other.execute("SELECT count(*) FROM small").fetchone() == (5,)
        served_first = not answered.is_set()
        worker.join()
    assert not failures, failures
    return served_first, first


_BOUND = "FOR SYSTEM_TIME AS OF TRANSACTION ({point} + 0 * pg_advisory_unlock(7)::int)"


@pytest.mark.parametrize("statement, check", [
    (f"CREATE TABLE restored AS SELECT * FROM big {_BOUND}", "SELECT count(*), sum(id) FROM restored"),
    (f"INSERT INTO small SELECT id FROM big {_BOUND}", "SELECT count(*) - 5, sum(id) - 10 FROM small"),
    (f"SELECT count(*), sum(id) FROM big {_BOUND}", "SELECT count(*), sum(id) FROM big FOR SYSTEM_TIME AS OF TRANSACTION %s"),
])
def test_rebuilding_the_past_does_not_stall_other_sessions(past_server, statement, check):
    server, point = past_server
    server.restart()
    served_first, first = _other_session_served_meanwhile(server, statement, point)
    try:
        assert first.execute(check, (point,) if "%s" in check else None).fetchone() == (ROWS, ROWS * (ROWS + 1) // 2)
        first.rollback()
    finally:
        first.close()
    assert served_first
