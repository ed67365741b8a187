"""The catalogs as drivers read them, end to end against the real server: psycopg's type
introspection, reg* values in both directions, and catalog rows following DDL."""
from __future__ import annotations

import psycopg
import pytest
from psycopg.types import TypeInfo


def test_psycopg_typeinfo_finds_builtin_types_and_not_unknown_ones(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for name, oid, array_oid in (("int4", 23, 1007), ("text", 25, 1009), ("varchar", 1043, 1015),
                                     ("character varying", 1043, 1015), ("numeric", 1700, 1231),
                                     ("uuid", 2950, 2951), ("jsonb", 3802, 3807), ("timestamptz", 1184, 1185)):
            info = TypeInfo.fetch(conn, name)
            assert (info.oid, info.array_oid) == (oid, array_oid), name
        assert TypeInfo.fetch(conn, "hstore") is None
        assert TypeInfo.fetch(conn, "no_such_type") is None


def test_reg_values_print_names_and_compare_as_oids(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE reg_t (id int PRIMARY KEY, v text)")
        oid = conn.execute("SELECT oid FROM pg_class WHERE relname = 'reg_t'").fetchone()[0]
        assert oid >= 16384
        row = conn.execute("SELECT %s::oid::regclass::text, 'reg_t'::regclass::oid, "
                           "'reg_t'::regclass = %s::oid", (oid, oid)).fetchone()
        assert row == ("reg_t", oid, True)
        # a parameter (not a constant) resolves at run time through the same catalog
        assert conn.execute("SELECT %s::text::regclass::oid", ("public.reg_t",)).fetchone()[0] == oid
        assert conn.execute("SELECT to_regclass(%s)", ("nope",)).fetchone()[0] is None
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT %s::text::regclass", ("nope",))


def test_catalog_rows_follow_ddl_in_the_same_transaction(server):
    with psycopg.connect(server.dsn) as conn:
        conn.execute("CREATE TABLE ddl_t (a int)")
        names = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'ddl_t'::regclass "
                             "AND attnum > 0 ORDER BY attnum").fetchall()
        assert names == [("a",)]
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'ddl_t'").fetchone()[0] == 0



def test_catalog_of_a_session_reading_the_past(server):
    """Under rewind.as_of the catalogs show the schema of that point: tables dropped since are
    listed, tables created since are not (so psql's \\dt and BI tools see the past schema)."""
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE past_kept (id int PRIMARY KEY, note text DEFAULT 'then')")
        conn.execute("CREATE TABLE past_dropped (id int)")
        point = conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0]
        conn.execute("DROP TABLE past_dropped")
        conn.execute("CREATE TABLE past_new (id int)")
        names = "SELECT relname FROM pg_class WHERE relname LIKE 'past%' AND relkind = 'r' ORDER BY 1"
        assert conn.execute(names).fetchall() == [("past_kept",), ("past_new",)]
        conn.execute(f"SET rewind.as_of = 'tx:{point}'")
        assert conn.execute(names).fetchall() == [("past_dropped",), ("past_kept",)]
        columns = conn.execute("SELECT column_name, column_default FROM information_schema.columns "
                               "WHERE table_name = 'past_kept' ORDER BY ordinal_position").fetchall()
        assert columns == [("id", None), ("note", "'then'::text")]
        assert conn.execute("SELECT 'past_dropped'::regclass::text").fetchone()[0] == "past_dropped"
        conn.execute("RESET rewind.as_of")
        assert conn.execute("SELECT to_regclass('past_dropped')").fetchone()[0] is None


def test_sessions_share_plans_only_where_they_would_plan_alike(server):
    """A plan another session made is reused only with the same catalog, search path and
    output settings: a new table shows at once, and a session in another time zone prints
    its own times."""
    query = "SELECT count(*) FROM pg_class WHERE relname = 'shared_t'"
    stamp = "SELECT '2024-01-01 00:00:00+00'::timestamptz::text"
    with psycopg.connect(server.dsn, autocommit=True) as a, psycopg.connect(server.dsn, autocommit=True) as b:
        assert a.execute(query).fetchone()[0] == 0
        assert b.execute(query).fetchone()[0] == 0
        b.execute("CREATE TABLE shared_t (id int)")
        assert a.execute(query).fetchone()[0] == 1
        assert a.execute(stamp).fetchone()[0] == "2024-01-01 00:00:00+00"
        b.execute("SET TimeZone = 'Asia/Tokyo'")
        assert b.execute(stamp).fetchone()[0] == "2024-01-01 09:00:00+09"
        assert a.execute(stamp).fetchone()[0] == "2024-01-01 00:00:00+00"
