"""Owners and comments are schema events like any other: the role that created a table,
view or sequence and the comments on indexes, sequences and constraints survive a restart
(replayed from the log), and the catalog of a past point shows them as they were then.
Their live behaviour against PostgreSQL is the psql golden case `comments_owners`."""
from __future__ import annotations

import psycopg


def _connect(server, user: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port={server.port} user={user} dbname=postgres", autocommit=True)


def _snapshot(conn: psycopg.Connection) -> tuple:
    owners = conn.execute("SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
                          "WHERE relname LIKE 'own%' ORDER BY 1").fetchall()
    comments = conn.execute(
        "SELECT obj_description('own_t_v_idx'::regclass, 'pg_class'), obj_description('own_s'::regclass, 'pg_class'), "
        "(SELECT obj_description(oid, 'pg_constraint') FROM pg_constraint WHERE conname = 'own_t_pkey')").fetchone()
    return owners, comments


def test_owners_and_comments_survive_a_restart_and_time_travel(fresh_server):
    with _connect(fresh_server) as conn:
        conn.execute("CREATE ROLE owner_role SUPERUSER LOGIN")
    with _connect(fresh_server, "owner_role") as conn:
        conn.execute("CREATE TABLE own_t (id int PRIMARY KEY, v text)")
        conn.execute("CREATE INDEX own_t_v_idx ON own_t (v)")
        conn.execute("CREATE VIEW own_v AS SELECT id FROM own_t")
    with _connect(fresh_server) as conn:
        conn.execute("CREATE SEQUENCE own_s")
        before = conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0]
        conn.execute("COMMENT ON INDEX own_t_v_idx IS 'by value'")
        conn.execute("COMMENT ON SEQUENCE own_s IS 'numbers'")
        conn.execute("COMMENT ON CONSTRAINT own_t_pkey ON own_t IS 'the key'")
        live = _snapshot(conn)
    assert live == ([("own_s", "postgres"), ("own_t", "owner_role"), ("own_t_pkey", "owner_role"),
                     ("own_t_v_idx", "owner_role"), ("own_v", "owner_role")],
                    ("by value", "numbers", "the key"))

    fresh_server.restart()
    with _connect(fresh_server) as conn:
        assert _snapshot(conn) == live
        conn.execute(f"SET rewind.as_of = 'tx:{before}'")
        owners, comments = _snapshot(conn)
        assert owners == live[0] and comments == (None, None, None)
        conn.execute("RESET rewind.as_of")
        error = None
        try:
            conn.execute("DROP ROLE owner_role")
        except psycopg.Error as e:
            error = e
        assert error is not None and error.sqlstate == "2BP01"
        assert error.diag.message_detail == "owner of table own_t\nowner of view own_v"
