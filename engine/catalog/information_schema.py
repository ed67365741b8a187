"""information_schema: the SQL-standard views of the catalog, as PostgreSQL 15 fills them.

Role: row producers for information_schema's relations (schemata, tables, columns, views,
table_constraints, key_column_usage, referential_constraints, constraint_column_usage,
check_constraints, sequences, table_privileges, enabled_roles, character_sets), registered
into `virtual.PRODUCERS`; the other information_schema relations exist and are empty.

Invariants: rows come from the Catalog the statement was planned against, like pg_catalog's;
`*_catalog` columns name the session's database; NOT NULL columns appear as CHECK
constraints named `<schema oid>_<table oid>_<attnum>_not_null`, as in PostgreSQL 15; the
type facts (data_type, precision, octet length, ...) follow PostgreSQL's _pg_* helper
functions. information_schema's domains (sql_identifier, cardinal_number, ...) are reported
as their base types (name, int4, varchar).
"""
from __future__ import annotations

import functools
from typing import Any

from engine.catalog.system import BUILTIN_RELATIONS, TYPE_ROWS, SystemCatalog
from engine.catalog.virtual import LAYOUTS, Layout, produces
from engine.sql import deparse
from engine.types import (BPCHAR, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, NUMERIC, TEXT, TIME,
                          TIMESTAMP, TIMESTAMPTZ, TYPES_BY_OID, VARCHAR, SqlType, format_type)

_SCHEMA = "information_schema"
_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_KINDS = {"p": "PRIMARY KEY", "u": "UNIQUE", "f": "FOREIGN KEY", "c": "CHECK"}
_TABLE_PRIVILEGES = ("INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_MAX_ENCODING_LENGTH = 4          # UTF8


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


def _db(ctx) -> str:
    return ctx.database if ctx is not None else "postgres"


def type_facts(t: SqlType) -> dict[str, Any]:
    """data_type and the precision/length columns of a column type (PostgreSQL's _pg_* functions)."""
    base = t.base if t.element is None else t
    oid, mod = base.oid, t.typmod
    facts: dict[str, Any] = {"data_type": "ARRAY" if t.element is not None else
                             format_type(base) if oid in TYPES_BY_OID else "USER-DEFINED"}
    if oid in (BPCHAR.oid, VARCHAR.oid):
        facts["character_maximum_length"] = mod - 4 if mod >= 0 else None
    if oid in (BPCHAR.oid, VARCHAR.oid, TEXT.oid):
        facts["character_octet_length"] = (mod - 4) * _MAX_ENCODING_LENGTH if mod >= 0 else 1073741824
    if oid in (INT2.oid, INT4.oid, INT8.oid):
        facts.update(numeric_precision={INT2.oid: 16, INT4.oid: 32, INT8.oid: 64}[oid], numeric_precision_radix=2,
                     numeric_scale=0)
    elif oid in (FLOAT4.oid, FLOAT8.oid):
        facts.update(numeric_precision=24 if oid == FLOAT4.oid else 53, numeric_precision_radix=2)
    elif oid == NUMERIC.oid:
        facts.update(numeric_precision=((mod - 4) >> 16) & 0xFFFF if mod >= 0 else None, numeric_precision_radix=10,
                     numeric_scale=(mod - 4) & 0xFFFF if mod >= 0 else None)
    if oid == DATE.oid:
        facts["datetime_precision"] = 0
    elif oid in (TIME.oid, TIMESTAMP.oid, TIMESTAMPTZ.oid, INTERVAL.oid):
        facts["datetime_precision"] = mod if mod >= 0 and oid != INTERVAL.oid else 6
    return facts


@produces(_SCHEMA, "schemata")
def _schemata(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(catalog_name=_db(ctx), schema_name=name,
                  schema_owner="pg_database_owner" if name == "public" else "postgres")
            for name in sorted(sys.namespaces)]


def _relations(sys: SystemCatalog):
    """(schema, name, kind, catalog Relation or None) of every table and view, built-in ones included."""
    for schema, name, kind in BUILTIN_RELATIONS.values():
        yield schema, name, kind, None
    for rel in sys.relation_rows():
        if rel.kind in ("r", "v"):
            yield rel.schema, rel.name, rel.kind, rel


@produces(_SCHEMA, "tables")
def _tables(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(table_catalog=_db(ctx), table_schema=schema, table_name=name,
                  table_type=("LOCAL TEMPORARY" if schema.startswith("pg_temp_") else "BASE TABLE") if kind == "r"
                  else "VIEW", is_insertable_into=_yes(kind == "r"),
                  is_typed="NO") for schema, name, kind, _ in _relations(sys)]


@produces(_SCHEMA, "views")
def _views(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = [t.row(table_catalog=_db(ctx), table_schema=schema, table_name=name, check_option="NONE",
                 is_updatable="NO", is_insertable_into="NO", is_trigger_updatable="NO", is_trigger_deletable="NO",
                 is_trigger_insertable_into="NO") for schema, name, kind, rel in _relations(sys) if kind == "v"]
    for i, row in enumerate(out):
        schema, name = row[1], row[2]
        view = next((v for v in sys.catalog.views.values() if v.schema == schema and v.name == name), None)
        if view is not None:
            out[i] = row[:3] + (deparse.view_definition(sys.catalog, view, pretty=False),) + row[4:]
    return out


@produces(_SCHEMA, "columns")
def _columns(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = list(_builtin_columns(t, db))
    for rel in sys.relation_rows():
        if rel.kind in ("r", "v"):
            out += _column_rows(t, sys, db, rel.schema, rel.name, rel.kind, rel, sys.columns_of(rel, deparse.view_columns))
    return out


@functools.lru_cache(maxsize=8)
def _builtin_columns(t: Layout, db: str) -> tuple[tuple, ...]:
    """information_schema.columns rows of the built-in relations (per database name)."""
    return tuple(row for schema, name, kind in BUILTIN_RELATIONS.values()
                 for row in _column_rows(t, None, db, schema, name, kind, None,
                                         [(col, ctype, None) for col, ctype in LAYOUTS[(schema, name)].columns]))


def _column_rows(t: Layout, sys: SystemCatalog | None, db: str, schema: str, name: str, kind: str, rel,
                 cols: list[tuple[str, SqlType, Any]]) -> list[tuple]:
    out = []
    for num, (col, ctype, definition) in enumerate(cols, 1):
        facts = type_facts(ctype)
        identity = definition.identity if definition is not None else ""
        default = deparse.stored_default(definition) if definition is not None and not identity else None
        generation = default if definition is not None and definition.generated is not None else None
        default = None if generation is not None else default
        sequence = _identity_sequence(sys, rel, definition) if identity else None
        type_row = TYPE_ROWS.get(ctype.oid)
        out.append(t.row(
            table_catalog=db, table_schema=schema, table_name=name, column_name=col, ordinal_position=num,
            column_default=deparse.expression(sys.catalog, rel.table, default, False, definition)
            if default is not None else None,
            is_nullable=_yes(not (definition.not_null if definition is not None else rel is None)),
            udt_catalog=db, udt_schema="pg_catalog", udt_name=type_row[1] if type_row else ctype.name,
            dtd_identifier=str(num), is_self_referencing="NO", is_identity=_yes(bool(identity)),
            identity_generation={"a": "ALWAYS", "d": "BY DEFAULT"}.get(identity),
            identity_start=str(sequence.start) if sequence else None,
            identity_increment=str(sequence.increment) if sequence else None,
            identity_maximum=str(sequence.max_value) if sequence else None,
            identity_minimum=str(sequence.min_value) if sequence else None,
            identity_cycle=_yes(bool(sequence and sequence.cycle)),
            is_generated="ALWAYS" if generation is not None else "NEVER",
            generation_expression=deparse.expression(sys.catalog, rel.table, generation, False, definition)
            if generation is not None else None,
            is_updatable=_yes(kind == "r"), **facts))
    return out


def _identity_sequence(sys: SystemCatalog, rel, column):
    if rel is None or rel.table is None or column is None:
        return None
    return next((s for s in sys.catalog.sequences.values() if s.owned_by == (rel.table.table_id, column.slot)), None)


def _constraints(sys: SystemCatalog):
    """(table, constraint) of every constraint of the catalog's tables."""
    for table in sys.catalog.tables.values():
        for con in table.constraints:
            yield table, con


def _not_null_name(sys: SystemCatalog, table, attnum: int) -> str:
    return f"{sys.namespace_oid(table.schema)}_{table.table_id}_{attnum}_not_null"


@produces(_SCHEMA, "table_constraints")
def _table_constraints(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = [t.row(constraint_catalog=db, constraint_schema=table.schema, constraint_name=con.name, table_catalog=db,
                 table_schema=table.schema, table_name=table.name, constraint_type=_KINDS[con.kind],
                 is_deferrable="NO", initially_deferred="NO", enforced="YES",
                 nulls_distinct="YES" if con.kind == "u" else None) for table, con in _constraints(sys)]
    for table in sys.catalog.tables.values():
        for num, col in enumerate(table.columns, 1):
            if col.not_null:
                out.append(t.row(constraint_catalog=db, constraint_schema=table.schema,
                                 constraint_name=_not_null_name(sys, table, num), table_catalog=db,
                                 table_schema=table.schema, table_name=table.name, constraint_type="CHECK",
                                 is_deferrable="NO", initially_deferred="NO", enforced="YES"))
    return out


@produces(_SCHEMA, "check_constraints")
def _check_constraints(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = []
    for table, con in _constraints(sys):
        if con.kind == "c":
            definition = deparse.constraint_definition(sys.catalog, table, con, pretty=False)
            out.append(t.row(constraint_catalog=db, constraint_schema=table.schema, constraint_name=con.name,
                             check_clause=definition[len("CHECK "):]))
    for table in sys.catalog.tables.values():
        for num, col in enumerate(table.columns, 1):
            if col.not_null:
                out.append(t.row(constraint_catalog=db, constraint_schema=table.schema,
                                 constraint_name=_not_null_name(sys, table, num),
                                 check_clause=f"{col.name} IS NOT NULL"))
    return out


@produces(_SCHEMA, "key_column_usage")
def _key_column_usage(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = []
    for table, con in _constraints(sys):
        if con.kind not in ("p", "u", "f"):
            continue
        for position, slot in enumerate(con.columns, 1):
            col = table.column_by_slot(slot)
            out.append(t.row(constraint_catalog=db, constraint_schema=table.schema, constraint_name=con.name,
                             table_catalog=db, table_schema=table.schema, table_name=table.name, column_name=col.name,
                             ordinal_position=position,
                             position_in_unique_constraint=position if con.kind == "f" else None))
    return out


def _referenced_unique(sys: SystemCatalog, con):
    ref = sys.catalog.tables.get(con.ref_table)
    if ref is None:
        return None, None
    unique = next((c for c in ref.constraints if c.kind in ("p", "u") and set(c.columns) == set(con.ref_columns)), None)
    return ref, unique


@produces(_SCHEMA, "referential_constraints")
def _referential_constraints(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = []
    for table, con in _constraints(sys):
        if con.kind == "f":
            ref, unique = _referenced_unique(sys, con)
            out.append(t.row(constraint_catalog=db, constraint_schema=table.schema, constraint_name=con.name,
                             unique_constraint_catalog=db if unique else None,
                             unique_constraint_schema=ref.schema if unique else None,
                             unique_constraint_name=unique.name if unique else None, match_option="NONE",
                             update_rule=_RULES[con.on_update], delete_rule=_RULES[con.on_delete]))
    return out


@produces(_SCHEMA, "constraint_column_usage")
def _constraint_column_usage(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = []
    for table, con in _constraints(sys):
        owner, slots = table, con.columns
        if con.kind == "f":
            owner = sys.catalog.tables.get(con.ref_table)
            slots = con.ref_columns
            if owner is None:
                continue
        for slot in slots:
            col = owner.column_by_slot(slot)
            out.append(t.row(table_catalog=db, table_schema=owner.schema, table_name=owner.name, column_name=col.name,
                             constraint_catalog=db, constraint_schema=table.schema, constraint_name=con.name))
    return out


@produces(_SCHEMA, "constraint_table_usage")
def _constraint_table_usage(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = []
    for table, con in _constraints(sys):
        owner = sys.catalog.tables.get(con.ref_table) if con.kind == "f" else table
        if owner is not None:
            out.append(t.row(table_catalog=db, table_schema=owner.schema, table_name=owner.name, constraint_catalog=db,
                             constraint_schema=table.schema, constraint_name=con.name))
    return out


@produces(_SCHEMA, "sequences")
def _sequences(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    out = []
    for s in sys.catalog.sequences.values():
        owner = sys.sequence_owner(s)
        if owner is not None and owner[1].identity:
            continue                # an identity column's sequence is part of the column
        t_facts = type_facts(TYPES_BY_OID[s.type_oid])
        out.append(t.row(sequence_catalog=db, sequence_schema=s.schema, sequence_name=s.name,
                         data_type=t_facts["data_type"], numeric_precision=t_facts["numeric_precision"],
                         numeric_precision_radix=2, numeric_scale=0, start_value=str(s.start),
                         minimum_value=str(s.min_value), maximum_value=str(s.max_value), increment=str(s.increment),
                         cycle_option=_yes(s.cycle)))
    return out


@produces(_SCHEMA, "table_privileges")
def _table_privileges(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    db = _db(ctx)
    return [t.row(grantor=rel.owner, grantee=rel.owner, table_catalog=db, table_schema=rel.schema, table_name=rel.name,
                  privilege_type=privilege, is_grantable="YES",
                  with_hierarchy=_yes(privilege == "SELECT"))
            for rel in sys.relation_rows() if rel.kind in ("r", "v") for privilege in _TABLE_PRIVILEGES]


@produces(_SCHEMA, "role_table_grants")
def _role_table_grants(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return _table_privileges(t, sys, ctx)


@produces(_SCHEMA, "enabled_roles")
def _enabled_roles(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(role_name=name) for name in sys.roles]


@produces(_SCHEMA, "character_sets")
def _character_sets(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(character_set_name="UTF8", character_repertoire="UCS", form_of_use="UTF8",
                  default_collate_catalog=_db(ctx), default_collate_schema="pg_catalog", default_collate_name="C.UTF-8")]
