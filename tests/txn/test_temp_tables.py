"""Temporary tables with real clients: what one session cannot show (the golden case
temp_tables covers the single-session behaviour). A temporary table is its session's alone:
another session neither sees it nor is blocked by it and may have its own of the same name;
it never reaches the log (a transaction writing only temporary tables commits no record, and
the change feed and rewind.changes never mention one); it is gone when its session ends and
after a restart; COPY, extended-protocol parameters and SQLAlchemy's TEMPORARY prefix work;
FOR SYSTEM_TIME and rewind.diff on it answer 0A000."""
from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from tests.conftest import RunningServer


def _connect(server: RunningServer, **kw) -> psycopg.Connection:
    return psycopg.connect(server.dsn, autocommit=True, **kw)


def _last_lsn(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(lsn), 0) FROM rewind.transactions").fetchone()[0]


def test_other_sessions_do_not_see_it_and_have_their_own(server):
    with _connect(server) as a, _connect(server) as b:
        a.execute("CREATE TEMP TABLE mine (id int PRIMARY KEY, v text)")
        a.execute("INSERT INTO mine VALUES (1, 'a')")
        with pytest.raises(psycopg.errors.UndefinedTable):
            b.execute("SELECT * FROM mine")
        assert b.execute("SELECT count(*) FROM pg_class WHERE relname = 'mine'").fetchone() == (0,)
        assert b.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'mine'").fetchone() == (0,)
        b.execute("CREATE TEMP TABLE mine (id int PRIMARY KEY, v text)")
        b.execute("INSERT INTO mine VALUES (1, 'b'), (2, 'b')")
        assert a.execute("SELECT * FROM mine").fetchall() == [(1, "a")]
        assert b.execute("SELECT * FROM mine ORDER BY id").fetchall() == [(1, "b"), (2, "b")]
        schemas = {c.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()").fetchone()[0]
                   for c in (a, b)}
        assert len(schemas) == 2 and all(s.startswith("pg_temp_") for s in schemas)


def test_creating_one_blocks_no_one(server):
    with _connect(server) as a, _connect(server) as b:
        a.execute("BEGIN")
        a.execute("CREATE TEMP TABLE pending (a int)")
        b.execute("SET lock_timeout = '2s'")
        b.execute("CREATE TABLE meanwhile (a int)")        # a's open CREATE TEMP TABLE holds no DDL lock
        b.execute("CREATE TEMP TABLE pending (a int)")
        a.execute("COMMIT")


def test_only_temporary_writes_append_no_log_record(server):
    with _connect(server) as conn:
        conn.execute("CREATE TABLE logged (id int PRIMARY KEY)")
        before = _last_lsn(conn)
        conn.execute("CREATE TEMP TABLE scratch (id serial PRIMARY KEY, v text) ON COMMIT PRESERVE ROWS")
        conn.execute("CREATE INDEX ON scratch (v)")
        with conn.transaction():
            conn.execute("INSERT INTO scratch (v) SELECT 'x' || g FROM generate_series(1, 50) g")
            conn.execute("UPDATE scratch SET v = 'y' WHERE id < 10")
            conn.execute("DELETE FROM scratch WHERE id > 40")
        conn.execute("DROP TABLE scratch")
        assert _last_lsn(conn) == before
        with conn.transaction():            # mixed: only the permanent table's row is logged
            conn.execute("CREATE TEMP TABLE side (a int)")
            conn.execute("INSERT INTO side VALUES (1)")
            conn.execute("INSERT INTO logged VALUES (1)")
        assert _last_lsn(conn) == before + 1
        assert conn.execute("SELECT events FROM rewind.transactions WHERE lsn = %s", (before + 1,)).fetchone() == (1,)
        assert conn.execute("SELECT table_name, op FROM rewind.changes WHERE lsn = %s", (before + 1,)).fetchall() == \
            [("public.logged", "insert")]
        assert conn.execute("SELECT * FROM side").fetchall() == [(1,)]


def test_change_feed_never_mentions_one(server):
    with _connect(server) as listener, _connect(server) as writer:
        listener.execute("LISTEN rewind_changes")
        writer.execute("CREATE TABLE fed (a int)")
        writer.execute("CREATE TEMP TABLE unfed (a int)")
        writer.execute("INSERT INTO unfed VALUES (1)")
        writer.execute("INSERT INTO fed VALUES (2)")
        notes = []
        for note in listener.notifies(timeout=5):
            notes.append(note.payload)
            if '"fed"' in note.payload:
                break
        assert len(notes) == 1 and '"table":"public.fed"' in notes[0]


def test_no_history_answers_0a000(server):
    with _connect(server) as conn:
        conn.execute("CREATE TEMP TABLE nohist (a int)")
        conn.execute("INSERT INTO nohist VALUES (1)")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match='temporary table "nohist"'):
            conn.execute("SELECT * FROM nohist FOR SYSTEM_TIME AS OF TRANSACTION 1")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match='temporary table "nohist"'):
            conn.execute("SELECT * FROM nohist FOR SYSTEM_TIME ALL")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match='temporary table "nohist"'):
            conn.execute("SELECT * FROM rewind.diff('nohist', 1, 2)")


def test_copy_and_parameters(server):
    with _connect(server) as conn:
        conn.execute("CREATE TEMP TABLE loaded (id int PRIMARY KEY, name text, amount numeric(8,2))")
        with conn.cursor().copy("COPY loaded FROM STDIN") as copy:
            for i in range(1, 101):
                copy.write_row((i, f"n{i}", i / 4))
        with conn.cursor() as cur:
            cur.execute("SELECT name, amount FROM loaded WHERE id = %s", (42,))
            assert cur.fetchone() == ("n42", pytest.approx(10.5))
            cur.execute("UPDATE loaded SET name = %s WHERE id > %s", ("big", 90))
            assert cur.rowcount == 10
        out = []
        with conn.cursor().copy("COPY (SELECT id, name FROM loaded WHERE id > 98 ORDER BY id) TO STDOUT") as copy:
            for row in copy.rows():
                out.append(row)
        assert out == [("99", "big"), ("100", "big")]
        with conn.cursor().copy("COPY loaded TO STDOUT") as copy:
            assert sum(1 for _ in copy.rows()) == 100


def test_gone_when_the_session_ends_and_after_a_restart(fresh_server):
    with _connect(fresh_server) as conn:
        conn.execute("CREATE TABLE kept (a int)")
        conn.execute("INSERT INTO kept VALUES (1)")
        conn.execute("CREATE TEMP TABLE kept (a int)")         # shadows the permanent one
        conn.execute("INSERT INTO kept VALUES (2)")
        conn.execute("CREATE TEMP TABLE lost (a int)")
        conn.execute("INSERT INTO lost VALUES (3)")
        assert conn.execute("SELECT * FROM kept").fetchall() == [(2,)]
        lsn = _last_lsn(conn)
    with _connect(fresh_server) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM lost")
        assert conn.execute("SELECT * FROM kept").fetchall() == [(1,)]
    with _connect(fresh_server) as conn:                     # held open across the restart's stop
        conn.execute("CREATE TEMP TABLE at_restart (a int)")
        conn.execute("INSERT INTO at_restart VALUES (4)")
        fresh_server.stop()
    fresh_server.start()
    with _connect(fresh_server) as conn:
        for name in ("lost", "at_restart"):
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f"SELECT * FROM {name}")
        assert conn.execute("SELECT * FROM kept").fetchall() == [(1,)]
        assert _last_lsn(conn) == lsn
        assert conn.execute("SELECT count(*) FROM rewind.changes WHERE table_name <> 'public.kept'").fetchone() == (0,)


def test_sqlalchemy_temporary_prefix(server):
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres")
    metadata = sa.MetaData()
    table = sa.Table("sa_scratch", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.String(20), nullable=False), prefixes=["TEMPORARY"])
    with engine.connect() as conn:
        metadata.create_all(conn)
        conn.execute(table.insert(), [{"name": "a"}, {"name": "b"}, {"name": "c"}])
        conn.commit()
        rows = conn.execute(sa.select(table.c.id, table.c.name).where(table.c.name != "b").order_by(table.c.id))
        assert rows.fetchall() == [(1, "a"), (3, "c")]
        assert sa.inspect(conn).get_temp_table_names() == ["sa_scratch"]
        metadata.drop_all(conn)
        conn.commit()
    engine.dispose()
