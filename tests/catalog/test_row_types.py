"""Table row types through real drivers: a whole-row reference (`SELECT t FROM t`), its array
and `ROW(...)::t` arrive with the table's row type oid (pg_type's composite, whose array type
`_t` exists too), and asyncpg (binary, after introspecting the type) and psycopg (text, binary,
and with a registered CompositeInfo) decode them as they do from PostgreSQL; anonymous records
(`ROW(1, 'a')`) have a binary form too, and a row value goes back as a parameter."""
from __future__ import annotations

import asyncio

import asyncpg
import psycopg
from psycopg.types.composite import CompositeInfo, register_composite


def test_asyncpg_decodes_row_types_and_sends_them_as_parameters(server):
    async def scenario():
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
        try:
            await conn.execute("CREATE TABLE apg_item (id int, name text, price numeric(6,2))")
            await conn.execute("INSERT INTO apg_item VALUES (1, 'pen', 1.5), (2, NULL, NULL)")
            whole = await conn.fetch("SELECT i FROM apg_item i ORDER BY id")
            arrays = await conn.fetchval("SELECT array_agg(apg_item ORDER BY id) FROM apg_item")
            cast = await conn.fetchval("SELECT ROW(3, 'cup', 2)::apg_item")
            anonymous = await conn.fetchval("SELECT ROW(1, 'a', 2.5::float8)")
            echoed = await conn.fetchval("SELECT $1::apg_item", (4, "mug", 7))
            return whole, arrays, cast, anonymous, echoed
        finally:
            await conn.close()

    whole, arrays, cast, anonymous, echoed = asyncio.run(scenario())
    assert [tuple(r["i"].values()) for r in whole] == [(1, "pen", 1.5), (2, None, None)]
    assert list(whole[0]["i"].keys()) == ["id", "name", "price"]
    assert [tuple(r.values()) for r in arrays] == [(1, "pen", 1.5), (2, None, None)]
    assert tuple(cast.values()) == (3, "cup", 2)
    assert tuple(anonymous) == (1, "a", 2.5)
    assert tuple(echoed.values()) == (4, "mug", 7)     # numeric(6,2): 7.00, which asyncpg gives as Decimal


def test_psycopg_sees_the_row_type_oid_and_decodes_with_composite_info(server):
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute("CREATE TABLE pg_item (id int, name text)")
        conn.execute("INSERT INTO pg_item VALUES (1, 'a b'), (2, NULL)")
        rowtype, arraytype = conn.execute(
            "SELECT t.oid, t.typarray FROM pg_type t JOIN pg_class c ON c.reltype = t.oid WHERE c.relname = 'pg_item'"
        ).fetchone()
        cur = conn.execute("SELECT pg_item, array[pg_item] FROM pg_item ORDER BY id")
        assert [d.type_code for d in cur.description] == [rowtype, arraytype]
        assert cur.fetchall() == [("(1,\"a b\")", '{"(1,\\"a b\\")"}'), ("(2,)", '{"(2,)"}')]

        info = CompositeInfo.fetch(conn, "pg_item")
        assert (info.oid, info.array_oid, info.field_names) == (rowtype, arraytype, ("id", "name"))
        register_composite(info, conn)
        text = conn.execute("SELECT pg_item FROM pg_item ORDER BY id").fetchall()
        binary = conn.cursor(binary=True).execute("SELECT pg_item, array[pg_item] FROM pg_item ORDER BY id").fetchall()
        assert [r[0] for r in text] == [info.python_type(1, "a b"), info.python_type(2, None)]
        assert binary[0] == (info.python_type(1, "a b"), [info.python_type(1, "a b")])
        assert conn.execute("SELECT (%s::pg_item).name", [info.python_type(5, "z")]).fetchone() == ("z",)
