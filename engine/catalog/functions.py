"""The system information functions clients call on the catalogs, registered into exec.functions.

Role: format_type, pg_get_expr, pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef,
pg_get_userbyid, pg_table_is_visible and friends, pg_get_serial_sequence, current_schemas,
current_setting/set_config, obj/col/shobj_description, pg_encoding_to_char, the has_*_privilege
checks, the relation size functions, to_regclass/to_regtype/..., the reg* casts
(`regclass_from_text`, `regtype_from_oid`, ...: the planner turns `x::regclass` into these when
x is not a constant).

Invariant: everything is answered from the catalog the statement reads (`ctx.catalog`, via
`system.system_catalog`) and the session's search path, so a time-travelling session sees
the names of its own point in time. Importing this module registers the functions; the
session imports it.

rewinddb has no privilege system beyond its roles: every has_*_privilege check on an
existing object answers true, as it does for a superuser in PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from engine.catalog import builtins as B
from engine.catalog import virtual
from engine.catalog.system import (CLASS_PG_CLASS, PROCS_BY_OID, TYPE_ROWS, format_type_sql, quote_ident,
                                   system_catalog)
from engine.errors import SqlError
from engine.exec import functions as F
from engine.exec.functions import define
from engine.exec.srf import SetReturning, register as register_srf
from engine.sql import deparse
from engine.types import (BOOL, BPCHAR, CHAR, INT2, INT2VECTOR, INT4, INT8, NAME, NUMERIC, OID, OIDVECTOR, PG_NODE_TREE,
                          REGCLASS, REGNAMESPACE, REGOPER, REGOPERATOR, REGPROC, REGPROCEDURE, REGROLE, REGTYPE, TEXT,
                          TIMESTAMPTZ,
                          TYPES_BY_OID, SqlType, array_of)

_PG_START = dt.datetime.now(dt.timezone.utc)


def _system(ctx):
    return system_catalog(ctx.catalog)


def _path(ctx) -> tuple[str, ...]:
    return ctx.session.search_path()


# -------------------------------------------------------------------- reg* casts and to_reg*


def cat_reg_from_oid(ctx, reg_oid: int, oid: int):
    return _system(ctx).label(reg_oid, oid, _path(ctx))


def cat_reg_from_text(ctx, reg_oid: int, text: str):
    return _system(ctx).parse(reg_oid, text, _path(ctx))


def cat_to_reg(ctx, reg_oid: int, text: str):
    """to_regclass & co: the object's reg* value, NULL (not an error) when there is none."""
    try:
        return _system(ctx).parse(reg_oid, text, _path(ctx))
    except SqlError:
        return None


for _reg in (REGCLASS, REGTYPE, REGPROC, REGPROCEDURE, REGOPER, REGOPERATOR, REGNAMESPACE, REGROLE):
    define(f"{_reg.name}_from_oid", (OID,), _reg, f"cat_reg_from_oid(ctx, {_reg.oid}, {{0}})")
    define(f"{_reg.name}_from_text", (TEXT,), _reg, f"cat_reg_from_text(ctx, {_reg.oid}, {{0}})")
    define(f"to_{_reg.name}", (TEXT,), _reg, f"cat_to_reg(ctx, {_reg.oid}, {{0}})")


# -------------------------------------------------------------------- names and visibility


def cat_format_type(ctx, type_oid: int | None, typmod: int | None) -> str | None:
    if type_oid is None or type_oid in TYPES_BY_OID:
        return format_type_sql(type_oid, typmod)
    system = _system(ctx)        # a table's row type, or its array: named as regtype prints it
    return str(system.label(REGTYPE.oid, type_oid, _path(ctx))) if system.row_type_owner(type_oid) else "???"


def cat_userbyid(ctx, oid: int) -> str:
    name = _system(ctx).role_names.get(oid)
    return name if name is not None else f"unknown (OID={oid})"


def cat_table_is_visible(ctx, oid: int) -> bool | None:
    system = _system(ctx)
    if system.relation_name(oid) is None:
        return None
    return system.relation_visible(oid, _path(ctx))


def cat_type_is_visible(ctx, oid: int) -> bool | None:
    if oid in TYPES_BY_OID:
        return True
    system = _system(ctx)
    owner = system.row_type_owner(oid)
    return None if owner is None else system.relation_visible(owner[0].oid, _path(ctx))


def cat_function_is_visible(ctx, oid: int) -> bool | None:
    return True if oid in PROCS_BY_OID else None


def cat_current_schemas(ctx, implicit: bool) -> tuple[str, ...]:
    catalog = ctx.catalog
    path = _path(ctx)
    hidden: tuple[str, ...] = ()
    if not implicit:            # pg_catalog, and the temporary schema unless search_path places it
        placed = [p.strip().strip('"') for p in ctx.session.settings["search_path"].split(",")]
        temp = getattr(ctx.session, "temp", None)
        hidden = ("pg_catalog",) if temp is None or "pg_temp" in placed else ("pg_catalog", temp.schema)
    return tuple(s for s in path if s not in hidden and (s in catalog.schemas or s == "pg_catalog"))


def cat_serial_sequence(ctx, table: str, column: str) -> str | None:
    system = _system(ctx)
    rel = system.parse(REGCLASS.oid, table, _path(ctx))
    t = ctx.catalog.tables.get(int(rel))
    name = column[1:-1].replace('""', '"') if column.startswith('"') else column.lower()
    col = t.column(name) if t is not None else None
    if col is None:
        raise SqlError("42703", f'column "{name}" of relation "{table}" does not exist')
    for seq in ctx.catalog.sequences.values():
        if seq.owned_by == (t.table_id, col.slot):
            return f"{quote_ident(seq.schema)}.{quote_ident(seq.name)}"
    return None


def cat_my_temp_schema(ctx) -> int:
    """pg_my_temp_schema: the oid of the session's pg_temp_N, 0 before its first temporary table."""
    temp = getattr(ctx.session, "temp", None)
    return _system(ctx).namespace_oid(temp.schema) if temp is not None else 0


define("format_type", (OID, INT4), TEXT, "cat_format_type(ctx, {0}, {1})", strict=False)
define("pg_my_temp_schema", (), OID, "cat_my_temp_schema(ctx)", volatile=True)
define("pg_is_other_temp_schema", (OID,), BOOL, "False")     # other sessions' schemas are never visible
define("pg_get_userbyid", (OID,), NAME, "cat_userbyid(ctx, {0})")
define("pg_table_is_visible", (OID,), BOOL, "cat_table_is_visible(ctx, {0})")
define("pg_type_is_visible", (OID,), BOOL, "cat_type_is_visible(ctx, {0})")
define("pg_function_is_visible", (OID,), BOOL, "cat_function_is_visible(ctx, {0})")
for _kind in ("collation", "opclass", "opfamily", "operator", "conversion", "statistics_obj", "ts_config",
              "ts_dict", "ts_parser", "ts_template"):      # all of these are built-in, in pg_catalog
    define(f"pg_{_kind}_is_visible", (OID,), BOOL, "True")
define("pg_get_serial_sequence", (TEXT, TEXT), TEXT, "cat_serial_sequence(ctx, {0}, {1})")
define("current_schemas", (BOOL,), array_of(NAME), "cat_current_schemas(ctx, {0})")
define("pg_encoding_to_char", (INT4,), NAME, "('UTF8' if {0} == 6 else 'SQL_ASCII' if {0} == 0 else '')")
# bpchar(x): the function form of x::bpchar that pg_proc has for "char" and name (pgAdmin calls it)
define("bpchar", (CHAR,), BPCHAR, "{0}")
define("bpchar", (NAME,), BPCHAR, "{0}")
define("getdatabaseencoding", (), NAME, "'UTF8'")
define("pg_client_encoding", (), NAME, "ctx.session.show('client_encoding')")
define("pg_char_to_encoding", (NAME,), INT4, "(6 if {0}.upper() in ('UTF8', 'UNICODE') else -1)")


# -------------------------------------------------------------------- definitions back to SQL


def cat_get_expr(ctx, tree: str, relid: int, pretty: bool = False) -> str | None:
    attnum, sql = deparse.parse_node_tree(tree)
    table = ctx.catalog.tables.get(relid)
    if table is None:
        return sql
    column = table.columns[attnum - 1] if 0 < attnum <= len(table.columns) else None
    return deparse.expression(ctx.catalog, table, sql, bool(pretty), column)


def cat_constraintdef(ctx, oid: int, pretty: bool = False) -> str | None:
    found = _system(ctx).constraints.get(oid)
    if found is None:
        return None
    table, con = found
    return deparse.constraint_definition(ctx.catalog, table, con, bool(pretty))


def cat_indexdef(ctx, oid: int, column: int = 0, pretty: bool = False) -> str | None:
    index = ctx.catalog.indexes.get(oid)
    if index is None:
        return None
    return deparse.index_definition(ctx.catalog, index, column or 0)


def cat_viewdef(ctx, view: Any, pretty: bool = False) -> str | None:
    oid = view if isinstance(view, int) else int(_system(ctx).parse(REGCLASS.oid, view, _path(ctx)))
    v = ctx.catalog.views.get(oid)
    if v is None:
        return None
    return deparse.view_definition(ctx.catalog, v, bool(pretty))


def cat_function_result(oid: int) -> str | None:
    row = PROCS_BY_OID.get(oid)
    if row is None:
        return None
    result = format_type_sql(row[6], None)
    return f"SETOF {result}" if row[3] else result


def cat_function_arguments(oid: int) -> str | None:
    row = PROCS_BY_OID.get(oid)
    if row is None:
        return None
    names = list(row[8]) + [""] * len(row[7])
    return ", ".join(f"{n} {format_type_sql(t, None)}".strip() for n, t in zip(names, row[7]))


def cat_functiondef(oid: int) -> str | None:
    """pg_get_functiondef of a built-in function, laid out as PostgreSQL's ruleutils does."""
    row = PROCS_BY_OID.get(oid)
    if row is None:
        return None
    _, name, kind, _, volatility, strict, _, _, _, source = row
    if kind == "a":
        raise SqlError("42809", f'"{name}" is an aggregate function')
    options = "".join((" WINDOW" if kind == "w" else "", {"i": " IMMUTABLE", "s": " STABLE"}.get(volatility, ""),
                       " PARALLEL SAFE", " STRICT" if strict else ""))
    return (f"CREATE OR REPLACE FUNCTION pg_catalog.{quote_ident(name)}({cat_function_arguments(oid)})\n"
            f" RETURNS {cat_function_result(oid)}\n LANGUAGE internal\n{options}\nAS $function${source}$function$\n")


define("pg_get_expr", (PG_NODE_TREE, OID), TEXT, "cat_get_expr(ctx, {0}, {1})")
define("pg_get_expr", (PG_NODE_TREE, OID, BOOL), TEXT, "cat_get_expr(ctx, {0}, {1}, {2})")
define("pg_get_constraintdef", (OID,), TEXT, "cat_constraintdef(ctx, {0})")
define("pg_get_constraintdef", (OID, BOOL), TEXT, "cat_constraintdef(ctx, {0}, {1})")
define("pg_get_indexdef", (OID,), TEXT, "cat_indexdef(ctx, {0})")
define("pg_get_indexdef", (OID, INT4, BOOL), TEXT, "cat_indexdef(ctx, {0}, {1}, {2})")
define("pg_get_viewdef", (OID,), TEXT, "cat_viewdef(ctx, {0})")
define("pg_get_viewdef", (OID, BOOL), TEXT, "cat_viewdef(ctx, {0}, {1})")
define("pg_get_viewdef", (TEXT,), TEXT, "cat_viewdef(ctx, {0})")
define("pg_get_viewdef", (TEXT, BOOL), TEXT, "cat_viewdef(ctx, {0}, {1})")
define("pg_get_function_result", (OID,), TEXT, "cat_function_result({0})")
define("pg_get_function_arguments", (OID,), TEXT, "cat_function_arguments({0})")
define("pg_get_function_identity_arguments", (OID,), TEXT, "cat_function_arguments({0})")
define("pg_get_function_sqlbody", (OID,), TEXT, "None")      # no function has a SQL-standard body
define("pg_get_functiondef", (OID,), TEXT, "cat_functiondef({0})")
# objects rewinddb never has (triggers, rules other than views', extended statistics, partitions)
define("pg_get_triggerdef", (OID,), TEXT, "None")
define("pg_get_triggerdef", (OID, BOOL), TEXT, "None")
define("pg_get_ruledef", (OID,), TEXT, "None")
define("pg_get_ruledef", (OID, BOOL), TEXT, "None")
define("pg_get_statisticsobjdef_columns", (OID,), TEXT, "None")
define("pg_get_partkeydef", (OID,), TEXT, "None")
define("pg_relation_is_publishable", (REGCLASS,), BOOL, "({0} in ctx.catalog.tables)")


# -------------------------------------------------------------------- comments


def cat_obj_description(ctx, oid: int, catalog_name: str | None = None) -> str | None:
    """The comment on an object (of the named system catalog), from pg_description."""
    classoid = B.RELATIONS.get(("pg_catalog", catalog_name), (None,))[0] if catalog_name else None
    return virtual.description(system_catalog(ctx.catalog), ctx, oid, classoid, 0)


def cat_col_description(ctx, oid: int, attnum: int) -> str | None:
    return virtual.description(system_catalog(ctx.catalog), ctx, oid, CLASS_PG_CLASS, attnum)


define("obj_description", (OID,), TEXT, "cat_obj_description(ctx, {0})")
define("obj_description", (OID, NAME), TEXT, "cat_obj_description(ctx, {0}, {1})")
define("col_description", (OID, INT4), TEXT, "cat_col_description(ctx, {0}, {1})")
define("shobj_description", (OID, NAME), TEXT, "None")


# -------------------------------------------------------------------- settings


def cat_current_setting(ctx, name: str, missing_ok: bool = False) -> str | None:
    try:
        return ctx.session.show(name)
    except SqlError:
        if missing_ok:
            return None
        raise


def cat_set_config(ctx, name: str, value: str | None, local: bool | None) -> str:
    ctx.session.set_setting(name, value if value is not None else "", bool(local))
    return ctx.session.show(name)


define("current_setting", (TEXT,), TEXT, "cat_current_setting(ctx, {0})")
define("current_setting", (TEXT, BOOL), TEXT, "cat_current_setting(ctx, {0}, {1})")
define("set_config", (TEXT, TEXT, BOOL), TEXT, "cat_set_config(ctx, {0}, {1}, {2})", strict=False, volatile=True)


# -------------------------------------------------------------------- privileges


def cat_has_privilege(*args: Any) -> bool:
    """Every role may do everything (see the module docstring)."""
    return True


for _name, _object in (("has_table_privilege", OID), ("has_schema_privilege", OID),
                       ("has_database_privilege", OID), ("has_sequence_privilege", OID),
                       ("has_function_privilege", OID), ("has_any_column_privilege", OID),
                       ("has_type_privilege", OID), ("has_language_privilege", OID),
                       ("has_tablespace_privilege", OID), ("has_foreign_data_wrapper_privilege", OID),
                       ("has_server_privilege", OID)):
    for _target in (TEXT, _object):
        define(_name, (_target, TEXT), BOOL, "cat_has_privilege({0}, {1})")
        define(_name, (NAME, _target, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2})")
        define(_name, (OID, _target, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2})")
for _target in (TEXT, OID):
    for _column in (TEXT, INT4):
        define("has_column_privilege", (_target, _column, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2})")
        define("has_column_privilege", (NAME, _target, _column, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2}, {3})")
        define("has_column_privilege", (OID, _target, _column, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2}, {3})")
define("pg_has_role", (TEXT, TEXT), BOOL, "cat_has_privilege({0}, {1})")
define("pg_has_role", (NAME, TEXT, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2})")
define("pg_has_role", (OID, TEXT), BOOL, "cat_has_privilege({0}, {1})")
define("pg_has_role", (OID, OID, TEXT), BOOL, "cat_has_privilege({0}, {1}, {2})")


# -------------------------------------------------------------------- sizes and server facts


def cat_relation_size(ctx, oid: int) -> int | None:
    """pg_relation_size, an estimate (rewinddb keeps no pages): the 8 kB pages the newest live
    rows would fill, about 24 + 8 bytes per column for a table row and 16 bytes per index
    entry after a btree's meta page; a sequence takes one page, a view none."""
    catalog = ctx.catalog
    if oid in catalog.sequences or oid in catalog.views:
        return 8192 if oid in catalog.sequences else 0
    index = catalog.indexes.get(oid)
    table = catalog.tables.get(index.table_id if index is not None else oid)
    if table is None:
        return None
    data = ctx.session.db.state.tables.get(table.table_id)
    rows = len(data.rows) if data is not None else 0
    if index is not None:
        return 8192 * (1 - (-rows * 16 // 8192))
    return 8192 * -(-rows * (24 + 8 * len(table.columns)) // 8192)


def cat_table_size(ctx, oid: int) -> int | None:
    """pg_table_size: the rows' pages, plus the index of the TOAST table PostgreSQL gives a
    table with columns that may be stored out of line (text, numeric, arrays, ...)."""
    size = cat_relation_size(ctx, oid)
    table = ctx.catalog.tables.get(oid)
    if size is None or table is None:
        return size
    toastable = any(TYPE_ROWS.get(c.type_oid, TYPE_ROWS[TEXT.oid])[20] != "p" for c in table.columns)
    return size + (8192 if toastable else 0)


def cat_total_relation_size(ctx, oid: int) -> int | None:
    size = cat_table_size(ctx, oid)
    if size is None or oid not in ctx.catalog.tables:
        return size
    return size + cat_indexes_size(ctx, oid)


def cat_indexes_size(ctx, oid: int) -> int:
    return sum(cat_relation_size(ctx, i.index_id) or 0 for i in ctx.catalog.indexes_of(oid))


def cat_database_size(ctx) -> int:
    return sum(cat_total_relation_size(ctx, t) or 0 for t in ctx.catalog.tables) + 8192 * 900


def cat_size_pretty(size) -> str:
    """pg_size_pretty: bytes below 10 kB, then kB, MB, GB, TB, PB, rounded half away from zero."""
    value = int(size)
    if abs(value) < 10 * 1024:
        return f"{value} bytes"
    value >>= 9                     # half-kB units: one extra bit for rounding
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        if abs(value) < 20 * 1024 - 1 or unit == "PB":
            rounded = value + (1 if value >= 0 else -1)
            return f"{rounded // 2 if rounded >= 0 else -(-rounded // 2)} {unit}"
        value >>= 10
    raise AssertionError("unreachable")


for _fn, _template in (("pg_relation_size", "cat_relation_size(ctx, {0})"),
                       ("pg_table_size", "cat_table_size(ctx, {0})"),
                       ("pg_total_relation_size", "cat_total_relation_size(ctx, {0})"),
                       ("pg_indexes_size", "cat_indexes_size(ctx, {0})")):
    define(_fn, (REGCLASS,), INT8, _template)
define("pg_relation_size", (REGCLASS, TEXT), INT8, "cat_relation_size(ctx, {0})")
define("pg_database_size", (NAME,), INT8, "cat_database_size(ctx)")
define("pg_database_size", (OID,), INT8, "cat_database_size(ctx)")
# the one database lives in pg_default; rewinddb keeps nothing in pg_global
define("pg_tablespace_size", (OID,), INT8, "(cat_database_size(ctx) if {0} == 1663 else 0)")
define("pg_tablespace_size", (NAME,), INT8, "(cat_database_size(ctx) if {0} == 'pg_default' else 0)")
define("pg_size_pretty", (INT8,), TEXT, "cat_size_pretty({0})")
define("pg_size_pretty", (NUMERIC,), TEXT, "cat_size_pretty({0})")
define("pg_postmaster_start_time", (), TIMESTAMPTZ, "cat_start_time", strict=False)
define("pg_is_in_recovery", (), BOOL, "False", strict=False)
define("pg_tablespace_location", (OID,), TEXT, "''")
define("inet_server_port", (), INT4, "None", strict=False)
define("inet_server_addr", (), TEXT, "None", strict=False)
define("pg_is_wal_replay_paused", (), BOOL, "False", strict=False)
# int2vector and oidvector (pg_index.indkey, pg_proc.proargtypes, ...) are subscripted from 0
define("vector_subscript", (INT2VECTOR, INT4), INT2, "({0}[{1}] if 0 <= {1} < len({0}) else None)")
define("vector_subscript", (OIDVECTOR, INT4), OID, "({0}[{1}] if 0 <= {1} < len({0}) else None)")


# -------------------------------------------------------------------- set-returning functions


def _arguments(*wanted: SqlType):
    def coerce_to(types: list[SqlType]) -> list[SqlType]:
        if len(types) != len(wanted):
            raise SqlError("42883", f"function with {len(types)} arguments does not exist",
                           hint="No function matches the given name and argument types. "
                                "You might need to add explicit type casts.")
        return list(wanted)
    return coerce_to


def _keywords(ctx) -> list[tuple]:
    return list(B.KEYWORDS)


def _partition_ancestors(ctx, relation: int) -> list[tuple]:
    """A relation that is no partition (rewinddb has no partitioning) is its own only ancestor."""
    return [(relation,)]


def _partition_tree(ctx, relation: int) -> list[tuple]:
    """A table or index (never partitioned here) is the root and only leaf of its tree."""
    known = relation in ctx.catalog.tables or relation in ctx.catalog.indexes
    return [(relation, None, True, 0)] if known else []


def _options_to_table(ctx, options: tuple) -> list[tuple]:
    """pg_options_to_table: each "name=value" of a reloptions/ftoptions array as a row."""
    return [tuple(option.split("=", 1)) if "=" in option else (option, None) for option in options]


def _expandarray_arguments(types: list[SqlType]) -> list[SqlType]:
    if len(types) != 1 or types[0].element is None and types[0].oid not in (INT2VECTOR.oid, OIDVECTOR.oid):
        raise SqlError("42883", "function _pg_expandarray does not exist for these arguments")
    return types


def _expandarray_columns(types: list[SqlType]) -> list[tuple[str, SqlType]]:
    element = types[0].element or (INT2 if types[0].oid == INT2VECTOR.oid else OID)
    return [("x", element), ("n", INT4)]


def _expandarray(ctx, array: tuple) -> list[tuple]:
    """information_schema._pg_expandarray: each element with its 1-based position (x, n)."""
    return [(value, n) for n, value in enumerate(array, 1)]


register_srf("information_schema._pg_expandarray", SetReturning(_expandarray_arguments, _expandarray_columns, _expandarray))
register_srf("pg_get_keywords", SetReturning(
    _arguments(), lambda types: [("word", TEXT), ("catcode", CHAR), ("barelabel", BOOL), ("catdesc", TEXT),
                                 ("baredesc", TEXT)], _keywords))
register_srf("pg_partition_ancestors", SetReturning(
    _arguments(REGCLASS), lambda types: [("relid", REGCLASS)], _partition_ancestors))
register_srf("pg_partition_tree", SetReturning(
    _arguments(REGCLASS), lambda types: [("relid", REGCLASS), ("parentrelid", REGCLASS), ("isleaf", BOOL),
                                         ("level", INT4)], _partition_tree, composite=True))
register_srf("pg_options_to_table", SetReturning(
    _arguments(array_of(TEXT)), lambda types: [("option_name", TEXT), ("option_value", TEXT)], _options_to_table,
    composite=True))



F.HELPERS.update({name: obj for name, obj in globals().items() if name.startswith("cat_")})
F.HELPERS.update({"cat_start_time": _PG_START})
