"""asyncpg's type introspection against rewinddb: the WITH RECURSIVE query over pg_type,
pg_range and pg_class that asyncpg runs for type OIDs it does not know (with
`= any($1::oid[])`), its type-by-name lookup behind set_type_codec, and binary results
of catalog columns (oid, regclass, "char", int2vector, xid, ...)."""
from __future__ import annotations

import asyncio
import json

import asyncpg
from asyncpg import introspection


def run(coro):
    return asyncio.run(coro)


def test_introspection_query_describes_base_array_and_composite_types(server):
    async def scenario():
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
        try:
            await conn.execute("CREATE TABLE apg_row (id int, label text)")
            rowtype = await conn.fetchval("SELECT reltype FROM pg_class WHERE relname = 'apg_row'")
            rows = await conn.fetch(introspection.INTRO_LOOKUP_TYPES_13, [23, 1007, 3802, rowtype])
            return rowtype, {r["oid"]: r for r in rows}
        finally:
            await conn.close()

    rowtype, types = run(scenario())
    assert (types[1007]["name"], types[1007]["kind"], types[1007]["elemtype"]) == ("_int4", b"b", 23)
    assert (types[3802]["name"], types[3802]["ns"], types[3802]["kind"]) == ("jsonb", "pg_catalog", b"b")
    composite = types[rowtype]
    assert (composite["name"], composite["kind"]) == ("apg_row", b"c")
    assert (composite["attrtypoids"], composite["attrnames"]) == ([23, 25], ["id", "label"])
    assert types[23]["name"] == "int4" and types[25]["depth"] == 1      # reached through the composite


def test_set_type_codec_and_binary_catalog_columns(server):
    async def scenario():
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
        try:
            await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
            value = await conn.fetchval("SELECT '{\"a\": [1, 2]}'::jsonb")
            catalog = await conn.fetchrow(
                "SELECT c.oid, c.relname, c.relkind, c.relnamespace::regnamespace AS nsp, 'pg_class'::regclass AS rel, "
                "c.relfrozenxid, i.indkey FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid "
                "WHERE c.relname = 'pg_class'")
            types = await conn.fetch("SELECT typname FROM pg_type WHERE oid = any($1::oid[]) ORDER BY 1", [16, 23, 25])
            return value, catalog, [r[0] for r in types]
        finally:
            await conn.close()

    value, catalog, types = run(scenario())
    assert value == {"a": [1, 2]}
    assert (catalog["oid"], catalog["relname"], catalog["relkind"], catalog["rel"]) == (1259, "pg_class", b"r", "pg_class")
    assert types == ["bool", "int4", "text"]
