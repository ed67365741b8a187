"""asyncpg and psycopg against the real server: prepared statements, executemany, cursors
(protocol portals and SQL cursors), text and binary results and parameters for every type
of COMPAT.md's table, COPY both ways."""
from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import uuid

import asyncpg
import psycopg
import pytest
from psycopg.types.json import Jsonb

TYPED = """CREATE TABLE typed (
    id int PRIMARY KEY, b bool, by bytea, nm name, i8 int8, i2 int2, t text, o oid, j json,
    f4 float4, f8 float8, bp char(3), vc varchar(10), d date, tm time, ts timestamp, tz timestamptz,
    iv interval, n numeric(12,3), u uuid, jb jsonb)"""

ROW = (1, True, b"\x00\xffab", "a_name", -2**62, -32768, "héllo\tworld", 4000000000, '{"k": [1, 2]}',
       1.5, -2.25e100, "ab ", "varchar", dt.date(2024, 2, 29), dt.time(23, 59, 58, 123456),
       dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
       dt.datetime(2024, 7, 1, 12, 30, tzinfo=dt.timezone.utc), dt.timedelta(days=400, seconds=3661, microseconds=5),
       decimal.Decimal("-12345.678"), uuid.UUID("12345678-1234-5678-1234-567812345678"), '{"a": {"b": null}}')


async def _asyncpg(server) -> asyncpg.Connection:
    return await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres")


def test_asyncpg_binary_round_trip_of_every_scalar_type(server):
    async def main():
        conn = await _asyncpg(server)
        try:
            await conn.execute(TYPED)
            placeholders = ", ".join(f"${i}" for i in range(1, len(ROW) + 1))
            await conn.execute(f"INSERT INTO typed VALUES ({placeholders})", *ROW)
            row = await conn.fetchrow("SELECT * FROM typed WHERE id = $1", 1)
            assert tuple(row) == ROW
            # every parameter type was inferred from the table (asyncpg encodes binary by it)
            statement = await conn.prepare(f"INSERT INTO typed VALUES ({placeholders})")
            assert [t.name for t in statement.get_parameters()] == [
                "int4", "bool", "bytea", "name", "int8", "int2", "text", "oid", "json", "float4", "float8",
                "bpchar", "varchar", "date", "time", "timestamp", "timestamptz", "interval", "numeric", "uuid",
                "jsonb"]
            assert await conn.fetchval("SELECT $1::numeric * 2", decimal.Decimal("1.25")) == decimal.Decimal("2.50")
        finally:
            await conn.close()
    asyncio.run(main())


def test_asyncpg_prepared_executemany_and_cursors(server):
    async def main():
        conn = await _asyncpg(server)
        try:
            await conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
            await conn.executemany("INSERT INTO items VALUES ($1, $2)", [(i, f"item{i}") for i in range(1, 101)])
            statement = await conn.prepare("SELECT name FROM items WHERE id = $1")
            assert [await statement.fetchval(i) for i in (1, 50, 100)] == ["item1", "item50", "item100"]
            async with conn.transaction():
                seen = [r["id"] async for r in conn.cursor("SELECT id FROM items ORDER BY id", prefetch=7)]
                assert seen == list(range(1, 101))
                cursor = await conn.cursor("SELECT id FROM items WHERE id > $1 ORDER BY id", 90)
                assert [r["id"] for r in await cursor.fetch(3)] == [91, 92, 93]
                await cursor.forward(2)
                assert (await cursor.fetchrow())["id"] == 96
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute("INSERT INTO items VALUES ($1, $2)", 1, "again")
            assert await conn.fetchval("SELECT count(*) FROM items") == 100
            # the pool's reset on release
            await conn.execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;")
        finally:
            await conn.close()
    asyncio.run(main())


def test_asyncpg_copy_records_to_table_and_copy_from_query(server, tmp_path):
    async def main():
        conn = await _asyncpg(server)
        try:
            await conn.execute("CREATE TABLE measures (id int PRIMARY KEY, at timestamptz, value numeric, note text)")
            at = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
            records = [(i, at + dt.timedelta(minutes=i), decimal.Decimal(i) / 4, None if i % 3 else f"n{i}")
                       for i in range(1, 1001)]
            status = await conn.copy_records_to_table("measures", records=records, columns=["id", "at", "value", "note"])
            assert status == "COPY 1000"
            assert await conn.fetchval("SELECT sum(value) FROM measures") == decimal.Decimal("125125") / 1
            out = tmp_path / "out.csv"
            status = await conn.copy_from_query("SELECT id, note FROM measures WHERE id <= $1 ORDER BY id", 6,
                                                output=str(out), format="csv")
            assert status == "COPY 6"
            assert out.read_text() == "1,\n2,\n3,n3\n4,\n5,\n6,n6\n"
        finally:
            await conn.close()
    asyncio.run(main())


def test_psycopg_text_and_binary_with_arrays(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(TYPED.replace("typed", "typed2").replace("jb jsonb)", "jb jsonb, ia int[], ta text[], na numeric[], "
                                                                        "da date[])"))
        values = list(ROW)
        values[8] = psycopg.types.json.Json({"k": [1, 2]})
        values[20] = Jsonb({"a": {"b": None}})
        arrays = [[1, None, 3], ["a,b", 'q"uote', None], [decimal.Decimal("1.5")], [dt.date(2020, 1, 1)]]
        for binary in (False, True):
            conn.execute("DELETE FROM typed2")
            with conn.cursor(binary=binary) as cur:
                cur.execute("INSERT INTO typed2 VALUES (" + ", ".join(["%s"] * (len(ROW) + 4)) + ")",
                            values + arrays)
                cur.execute("SELECT * FROM typed2")
                row = cur.fetchone()
            expected = list(ROW)
            expected[8] = {"k": [1, 2]}
            expected[20] = {"a": {"b": None}}
            expected[7] = 4000000000
            assert list(row[:len(ROW)]) == expected, binary
            assert list(row[len(ROW):]) == arrays, binary


def test_psycopg_arrays_of_every_type_both_formats(server):
    columns = {"ints2": ("int2[]", [1, None, -3]), "ints8": ("int8[]", [2**40]), "reals": ("float4[]", [1.5]),
               "doubles": ("float8[]", [0.25, None]), "flags": ("bool[]", [True, False]),
               "raws": ("bytea[]", [b"\x00\x01", None]), "names": ("varchar[]", ["a b", ""]),
               "days": ("date[]", [dt.date(1999, 1, 1)]), "times": ("time[]", [dt.time(12, 30)]),
               "stamps": ("timestamp[]", [dt.datetime(2000, 1, 1, 0, 0, 1)]),
               "zoned": ("timestamptz[]", [dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)]),
               "spans": ("interval[]", [dt.timedelta(days=2, seconds=1), None]),
               "ids": ("uuid[]", [uuid.UUID(int=7)]), "docs": ("jsonb[]", [Jsonb({"x": [1]})]),
               "matrix": ("int4[]", [[1, 2], [3, 4]])}
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE arrays (" + ", ".join(f"{name} {sql_type}" for name, (sql_type, _) in columns.items())
                     + ")")
        values = [value for _, value in columns.values()]
        expected = [[{"x": [1]}] if name == "docs" else value for name, (_, value) in columns.items()]
        for binary in (False, True):
            conn.execute("DELETE FROM arrays")
            with conn.cursor(binary=binary) as cur:
                cur.execute("INSERT INTO arrays VALUES (" + ", ".join(["%s"] * len(values)) + ")", values)
                assert list(cur.execute("SELECT * FROM arrays").fetchone()) == expected, binary


def test_psycopg_copy_both_ways_and_server_side_cursor(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE logbook (id int PRIMARY KEY, msg text, tags text[], seen date)")
        with conn.cursor().copy("COPY logbook (id, msg, tags, seen) FROM STDIN") as copy:
            copy.write_row((1, "tab\there", ["x", "y z"], dt.date(2024, 1, 2)))
            copy.write_row((2, "new\nline \\ back", None, None))
        with conn.cursor().copy("COPY logbook (id, msg) FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["int4", "text"])
            copy.write_row((3, "binary"))
        with conn.cursor().copy("COPY logbook TO STDOUT") as copy:
            text = b"".join(bytes(chunk) for chunk in copy).decode()
        assert text == ("1\ttab\\there\t{x,\"y z\"}\t2024-01-02\n"
                        "2\tnew\\nline \\\\ back\t\\N\t\\N\n"
                        "3\tbinary\t\\N\t\\N\n")
        with conn.cursor(binary=True).copy("COPY (SELECT id, msg FROM logbook ORDER BY id) TO STDOUT (FORMAT binary)") as copy:
            copy.set_types(["int4", "text"])
            assert list(copy.rows()) == [(1, "tab\there"), (2, "new\nline \\ back"), (3, "binary")]
        with conn.transaction():
            with conn.cursor("pager") as cur:
                cur.execute("SELECT id FROM logbook WHERE id >= %s ORDER BY id", (1,))
                assert cur.fetchmany(2) == [(1,), (2,)]
                assert cur.fetchall() == [(3,)]


def test_sql_cursors_with_hold_scroll_and_binary(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE seq10 (n int)")
        conn.execute("INSERT INTO seq10 SELECT g FROM generate_series(1, 10) g")
        conn.execute("BEGIN")
        conn.execute("DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT n FROM seq10 ORDER BY n")
        conn.execute("COMMIT")                    # WITH HOLD: the cursor outlives its transaction
        assert conn.execute("FETCH 3 FROM c").fetchall() == [(1,), (2,), (3,)]
        assert conn.execute("FETCH PRIOR FROM c").fetchall() == [(2,)]
        assert conn.execute("FETCH ABSOLUTE -1 FROM c").fetchall() == [(10,)]
        assert conn.execute("MOVE BACKWARD ALL IN c").statusmessage == "MOVE 9"
        assert conn.execute("FETCH NEXT FROM c").fetchall() == [(1,)]
        assert conn.execute("CLOSE c").statusmessage == "CLOSE CURSOR"
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH c")
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction):
            conn.execute("DECLARE d CURSOR FOR SELECT 1")
        conn.execute("BEGIN")
        conn.execute("DECLARE fwd NO SCROLL CURSOR FOR SELECT n FROM seq10 ORDER BY n")
        assert conn.execute("FETCH FORWARD 4 FROM fwd").statusmessage == "FETCH 4"
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("FETCH BACKWARD 1 FROM fwd")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("DECLARE b BINARY CURSOR FOR SELECT n FROM seq10 WHERE n = 7")
        result = conn.pgconn.exec_(b"FETCH ALL FROM b")
        assert result.fformat(0) == 1 and result.get_value(0, 0) == b"\x00\x00\x00\x07"
        conn.execute("COMMIT")


def test_discard_all_releases_advisory_locks_and_session_state(server):
    with psycopg.connect(server.dsn, autocommit=True) as holder, psycopg.connect(server.dsn, autocommit=True) as other:
        holder.execute("SELECT pg_advisory_lock(42)")
        holder.execute("PREPARE p AS SELECT 1")
        holder.execute("SET application_name = 'before_discard'")
        assert other.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (False,)
        assert holder.execute("DISCARD ALL").statusmessage == "DISCARD ALL"
        assert other.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (True,)
        assert holder.execute("SHOW application_name").fetchone() == ("",)
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            holder.execute("EXECUTE p")
