"""FOR SYSTEM_TIME and rewind.as_of end to end: psycopg against the real server.

Each test works on tables of its own in the module's shared server and learns the LSNs of
its transactions from the history itself (`_tx`), so tests don't depend on each other.
"""
from __future__ import annotations

import os
import subprocess

import psycopg
import pytest


@pytest.fixture
def conn(server):
    with psycopg.connect(server.dsn, autocommit=True) as c:
        yield c


def rows(conn, sql, params=None):
    return conn.execute(sql, params).fetchall()


def last_tx(conn, table):
    return rows(conn, f"SELECT max(_tx) FROM {table} FOR SYSTEM_TIME ALL")[0][0]


def test_as_of_transaction_sees_each_committed_state(conn):
    conn.execute("CREATE TABLE tt_acc (id int PRIMARY KEY, balance int)")
    conn.execute("INSERT INTO tt_acc VALUES (1, 100), (2, 50)")
    t1 = last_tx(conn, "tt_acc")
    conn.execute("UPDATE tt_acc SET balance = 70 WHERE id = 1")
    t2 = last_tx(conn, "tt_acc")
    conn.execute("DELETE FROM tt_acc WHERE id = 2")
    t3 = last_tx(conn, "tt_acc")
    assert t1 < t2 < t3
    q = "SELECT id, balance FROM tt_acc FOR SYSTEM_TIME AS OF TRANSACTION %s ORDER BY id"
    assert rows(conn, q, (t1,)) == [(1, 100), (2, 50)]
    assert rows(conn, q, (t2,)) == [(1, 70), (2, 50)]
    assert rows(conn, q, (t3,)) == [(1, 70)]
    assert rows(conn, q, (t1 - 1,)) == []
    # the simple protocol (literals lifted into a shared plan) answers the same
    for t, expected in ((t1, [(1, 100), (2, 50)]), (t3, [(1, 70)]), (t2, [(1, 70), (2, 50)])):
        assert rows(conn, f"SELECT id, balance FROM tt_acc FOR SYSTEM_TIME AS OF TRANSACTION {t} ORDER BY id") == expected


def test_as_of_timestamp_and_expressions(conn):
    conn.execute("CREATE TABLE tt_ts (id int PRIMARY KEY, v text)")
    conn.execute("INSERT INTO tt_ts VALUES (1, 'old')")
    (before,) = rows(conn, "SELECT clock_timestamp()")[0]
    conn.execute("UPDATE tt_ts SET v = 'new' WHERE id = 1")
    assert rows(conn, "SELECT v FROM tt_ts FOR SYSTEM_TIME AS OF %s", (before,)) == [("old",)]
    assert rows(conn, "SELECT v FROM tt_ts FOR SYSTEM_TIME AS OF now()") == [("new",)]
    assert rows(conn, "SELECT v FROM tt_ts FOR SYSTEM_TIME AS OF now() + interval '1 day'") == [("new",)]
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT v FROM tt_ts FOR SYSTEM_TIME AS OF '2000-01-01 00:00:00+00'")


def test_history_ranges_carry_system_columns(conn):
    conn.execute("CREATE TABLE tt_hist (id int PRIMARY KEY, v text)")
    conn.execute("INSERT INTO tt_hist VALUES (1, 'a'), (2, 'b')")
    t1 = last_tx(conn, "tt_hist")
    conn.execute("UPDATE tt_hist SET v = 'a2' WHERE id = 1")
    t2 = last_tx(conn, "tt_hist")
    conn.execute("DELETE FROM tt_hist WHERE id = 2")
    t3 = last_tx(conn, "tt_hist")
    conn.execute("UPDATE tt_hist SET v = 'a3' WHERE id = 1")
    t4 = last_tx(conn, "tt_hist")
    everything = rows(conn, "SELECT id, v, _tx, _op, _user, _valid_to IS NULL FROM tt_hist FOR SYSTEM_TIME ALL ORDER BY _tx, id")
    assert everything == [(1, "a", t1, "insert", "postgres", False), (2, "b", t1, "insert", "postgres", False),
                          (1, "a2", t2, "update", "postgres", False), (2, "b", t3, "delete", "postgres", False),
                          (1, "a3", t4, "update", "postgres", True)]
    # validity intervals chain: each version ends when the next one begins
    chain = rows(conn, "SELECT _valid_from, _valid_to FROM tt_hist FOR SYSTEM_TIME ALL WHERE id = 1 ORDER BY _tx")
    assert chain[0][1] == chain[1][0] and chain[1][1] == chain[2][0] and chain[2][1] is None
    between = rows(conn, "SELECT id, v, _op FROM tt_hist FOR SYSTEM_TIME BETWEEN TRANSACTION %s AND TRANSACTION %s ORDER BY _tx, id", (t2, t3))
    assert between == [(2, "b", "insert"), (1, "a2", "update"), (2, "b", "delete")]
    from_to = rows(conn, "SELECT id, v, _op FROM tt_hist FOR SYSTEM_TIME FROM TRANSACTION %s TO TRANSACTION %s ORDER BY _tx, id", (t2, t3))
    assert from_to == [(2, "b", "insert"), (1, "a2", "update")]
    # system columns are hidden from *
    cols = [d.name for d in conn.execute("SELECT * FROM tt_hist FOR SYSTEM_TIME ALL").description]
    assert cols == ["id", "v"]


def test_join_of_tables_at_different_points_and_subqueries(conn):
    conn.execute("CREATE TABLE tt_j (id int PRIMARY KEY, v int)")
    conn.execute("INSERT INTO tt_j VALUES (1, 10), (2, 20)")
    t1 = last_tx(conn, "tt_j")
    conn.execute("UPDATE tt_j SET v = v + 1")
    got = rows(conn, "SELECT now_.id, now_.v, then_.v FROM tt_j now_ JOIN tt_j FOR SYSTEM_TIME AS OF TRANSACTION %s then_ "
                     "ON now_.id = then_.id ORDER BY 1", (t1,))
    assert got == [(1, 11, 10), (2, 21, 20)]
    got = rows(conn, "SELECT id FROM tt_j WHERE v - 1 IN (SELECT v FROM tt_j FOR SYSTEM_TIME AS OF TRANSACTION %s) ORDER BY id", (t1,))
    assert got == [(1,), (2,)]
    got = rows(conn, "SELECT (SELECT sum(v) FROM tt_j FOR SYSTEM_TIME AS OF TRANSACTION %s), sum(v) FROM tt_j", (t1,))
    assert got == [(30, 32)]


def test_dropped_table_comes_back_in_the_past(conn):
    conn.execute("CREATE TABLE tt_gone (id int PRIMARY KEY, v text)")
    conn.execute("INSERT INTO tt_gone VALUES (1, 'keep me')")
    t1 = last_tx(conn, "tt_gone")
    conn.execute("DROP TABLE tt_gone")
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT * FROM tt_gone")
    assert rows(conn, "SELECT * FROM tt_gone FOR SYSTEM_TIME AS OF TRANSACTION %s", (t1,)) == [(1, "keep me")]
    assert rows(conn, "SELECT id, _op FROM tt_gone FOR SYSTEM_TIME ALL") == [(1, "insert")]


def test_writes_to_the_past_are_refused(conn):
    conn.execute("CREATE TABLE tt_w (id int PRIMARY KEY)")
    with pytest.raises(psycopg.errors.SyntaxError):
        conn.execute("UPDATE tt_w FOR SYSTEM_TIME AS OF TRANSACTION 1 SET id = 2")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT * FROM tt_w FOR SYSTEM_TIME AS OF TRANSACTION 999999")
    with pytest.raises(psycopg.errors.DatatypeMismatch):
        conn.execute("SELECT * FROM tt_w FOR SYSTEM_TIME AS OF 5")


def test_session_as_of_reads_the_past_and_refuses_writes(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE tt_sess (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO tt_sess VALUES (1, 'then')")
        t1 = last_tx(conn, "tt_sess")
        conn.execute("UPDATE tt_sess SET v = 'now' WHERE id = 1")
        conn.execute(f"SET rewind.as_of = 'tx:{t1}'")
        assert rows(conn, "SELECT v FROM tt_sess") == [("then",)]
        assert rows(conn, "SHOW rewind.as_of") == [(f"tx:{t1}",)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO tt_sess VALUES (2, 'x')")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE tt_sess2 (id int)")
        conn.execute("RESET rewind.as_of")
        assert rows(conn, "SELECT v FROM tt_sess") == [("now",)]
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET rewind.as_of = 'tx:99999999'")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET rewind.as_of = 'yesterday-ish'")
        assert rows(conn, "SHOW rewind.as_of") == [("",)]
        assert rows(conn, "SELECT v FROM tt_sess") == [("now",)]
    # as a startup option, for tools that cannot change their SQL
    with psycopg.connect(server.dsn + f" options='-c rewind.as_of=tx:{t1}'", autocommit=True) as conn:
        assert rows(conn, "SELECT v FROM tt_sess") == [("then",)]
        assert rows(conn, "SELECT v FROM tt_sess WHERE id = %s", (1,)) == [("then",)]


def test_psql_browses_the_past_unchanged(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE tt_psql_old (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO tt_psql_old VALUES (1, 'from the past')")
        then = last_tx(conn, "tt_psql_old")
        conn.execute("DROP TABLE tt_psql_old")
        conn.execute("CREATE TABLE tt_psql_new (id int)")
    env = {**os.environ, "PGOPTIONS": f"-c rewind.as_of=tx:{then}"}
    args = ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-d", "postgres"]
    listed = subprocess.run(args + ["-c", r"\dt"], env=env, capture_output=True, text=True, check=True).stdout
    assert "tt_psql_old" in listed and "tt_psql_new" not in listed
    rows_then = subprocess.run(args + ["-c", "SELECT note FROM tt_psql_old"], env=env, capture_output=True, text=True,
                               check=True).stdout
    assert rows_then.strip() == "from the past"
    now = subprocess.run(args + ["-c", r"\dt"], env=os.environ, capture_output=True, text=True, check=True).stdout
    assert "tt_psql_new" in now and "tt_psql_old" not in now


def test_schema_statements_take_no_parameters(conn):
    """CREATE TABLE AS and CREATE VIEW reading the past with a bound parameter answer 42P02
    (PostgreSQL's answer for CREATE VIEW; it binds CREATE TABLE AS's, docs/sql.md)."""
    conn.execute("CREATE TABLE pr (x int)")
    conn.execute("INSERT INTO pr VALUES (1)")
    point = last_tx(conn, "pr")
    for sql in ("CREATE TABLE pr_copy AS SELECT * FROM pr FOR SYSTEM_TIME AS OF TRANSACTION %s",
                "CREATE VIEW pr_then AS SELECT * FROM pr FOR SYSTEM_TIME AS OF TRANSACTION %s",
                "CREATE TABLE pr_copy AS SELECT x + %s AS y FROM pr"):
        with pytest.raises(psycopg.errors.UndefinedParameter, match=r"there is no parameter \$1"):
            conn.execute(sql, (point,))
    conn.execute(f"CREATE TABLE pr_copy AS SELECT * FROM pr FOR SYSTEM_TIME AS OF TRANSACTION {point}")
    assert rows(conn, "SELECT * FROM pr_copy") == [(1,)]
