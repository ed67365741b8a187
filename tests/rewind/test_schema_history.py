"""Schema as of a point: a past read binds against the catalog of that point.

The schema changes are committed as the very events ALTER TABLE writes to the log
(ColumnAdded with its fill value, ColumnRenamed, ColumnDropped, TableRenamed), through a
real Session and Database in process, so this runs whichever ALTER TABLE forms the SQL
layer supports; the reads go through SQL. Checked: a column added later is unknown (42703)
at earlier points and filled at later ones, a dropped column comes back, a renamed column
and table answer to their old names at old points (a table to its current name too), rows of different schema versions
line up in joins, and history, changes and diffs span the changes.
"""
from __future__ import annotations

import asyncio

import pytest

from engine import events as ev
from engine.catalog.model import ColumnDef
from engine.database import Database
from engine.errors import SqlError
from engine.session import Session
from engine.types import INT4


async def run(session: Session, sql: str) -> list[tuple]:
    prepared, params = session.prepare_simple(sql)
    try:
        cursor = await session.execute(prepared, params)
        out = [r for batch in (cursor.batches or []) for r in batch]
    except SqlError:
        session.fail(None)
        await session.end_implicit()
        raise
    await session.end_implicit()
    return out


async def schema_change(session: Session, event: ev.Event) -> None:
    session._ensure_txn().add_event(event)
    await session.end_implicit()


async def sqlstate(session: Session, sql: str) -> str:
    with pytest.raises(SqlError) as caught:
        await run(session, sql)
    return caught.value.sqlstate


def test_reads_bind_against_the_schema_of_their_point(tmp_path):
    async def scenario() -> None:
        db = Database.open(tmp_path / "data")
        await db.start()
        try:
            s = Session(db)
            await run(s, "CREATE TABLE s (id int PRIMARY KEY, a text)")                       # 1
            await run(s, "INSERT INTO s VALUES (1, 'x'), (2, 'y')")                            # 2
            table_id = db.state.catalog.table_named("s", None, ("public",)).table_id
            await schema_change(s, ev.ColumnAdded(table_id, ColumnDef(2, "extra", INT4.oid), 7))   # 3
            await run(s, "INSERT INTO s VALUES (3, 'z', 9)")                                   # 4
            await schema_change(s, ev.ColumnRenamed(table_id, 1, "label"))                     # 5
            await schema_change(s, ev.ColumnDropped(table_id, 2))                              # 6
            await schema_change(s, ev.TableRenamed(table_id, "s2"))                            # 7
            await run(s, "UPDATE s2 SET label = 'w' WHERE id = 1")                             # 8
            assert db.state.lsn == 8

            def at(n: int, rest: str = "ORDER BY 1", table: str = "s", columns: str = "*") -> str:
                return f"SELECT {columns} FROM {table} FOR SYSTEM_TIME AS OF TRANSACTION {n} {rest}"

            assert await run(s, at(2)) == [(1, "x"), (2, "y")]
            assert await sqlstate(s, at(2, columns="extra")) == "42703"
            assert await run(s, at(3)) == [(1, "x", 7), (2, "y", 7)]
            assert await run(s, at(4)) == [(1, "x", 7), (2, "y", 7), (3, "z", 9)]
            assert await run(s, at(5, columns="id, label, extra")) == [(1, "x", 7), (2, "y", 7), (3, "z", 9)]
            assert await sqlstate(s, at(5, columns="a")) == "42703"
            assert await run(s, at(6)) == [(1, "x"), (2, "y"), (3, "z")]
            assert await sqlstate(s, at(6, columns="extra")) == "42703"
            assert await run(s, at(4, "WHERE extra > 8", columns="id, a, extra")) == [(3, "z", 9)]
            assert await sqlstate(s, at(7)) == "42P01"                    # renamed away
            assert await run(s, at(7, table="s2")) == [(1, "x"), (2, "y"), (3, "z")]
            assert await run(s, at(6, table="s2")) == [(1, "x"), (2, "y"), (3, "z")]   # today's name works too
            assert await sqlstate(s, "SELECT * FROM s") == "42P01"
            assert await run(s, "SELECT * FROM s2 ORDER BY 1") == [(1, "w"), (2, "y"), (3, "z")]
            # rows of different schema versions line up in one query
            joined = await run(s, "SELECT o.id, o.a, o.extra, n.label FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4 o "
                                  "JOIN s2 n ON n.id = o.id ORDER BY 1")
            assert joined == [(1, "x", 7, "w"), (2, "y", 7, "y"), (3, "z", 9, "z")]
            # history under today's schema: every version, shaped to it
            history = await run(s, "SELECT id, label, _tx, _op FROM s2 FOR SYSTEM_TIME ALL ORDER BY _tx, id")
            assert history == [(1, "x", 2, "insert"), (2, "y", 2, "insert"), (3, "z", 4, "insert"), (1, "w", 8, "update")]
            history_then = await run(s, "SELECT id, extra, _op FROM s FOR SYSTEM_TIME BETWEEN TRANSACTION 3 AND TRANSACTION 4 "
                                        "ORDER BY _tx, id")
            # the rows inserted before ADD COLUMN carry its fill value: that is what they held in the range
            assert history_then == [(1, 7, "insert"), (2, 7, "insert"), (3, 9, "insert")]
            changes = await run(s, "SELECT lsn, table_name, op, before, after FROM rewind.changes ORDER BY lsn, key::text")
            assert changes[-1] == (8, "public.s2", "update", '{"id": 1, "label": "x"}', '{"id": 1, "label": "w"}')
            assert changes[2] == (4, "public.s", "insert", None, '{"a": "z", "id": 3, "extra": 9}')
            diff = await run(s, "SELECT change, key, before, after FROM rewind.diff('s2', 2, 8) ORDER BY key::text")
            assert diff == [("changed", '{"id": 1}', '{"a": "x", "id": 1}', '{"id": 1, "label": "w"}'),
                            ("added", '{"id": 3}', None, '{"id": 3, "label": "z"}')]
            s.close()
        finally:
            await db.close()
    asyncio.run(scenario())
