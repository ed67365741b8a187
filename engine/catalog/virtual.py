"""pg_catalog as virtual tables generated from a `Catalog`, for the normal executor to run.

Role: `virtual_table(catalog, schema, name, search_path)` answers the planner's question
"is there a system relation of this name?" (PlanEnv.virtual_table) with a `VirtualTable`:
its typed columns and a producer `ctx -> rows`, which the planner turns into a VirtualScan,
so catalog queries get joins, regex filters, subqueries and everything else.

Invariants:
- Every relation of PostgreSQL 15's pg_catalog and information_schema exists with its real
  columns (`builtins.RELATIONS`); the ones rewinddb has nothing to show for are empty.
- Rows come from the Catalog value the statement was planned against (a past one under
  time travel), never from "the current catalog". Producers registered `per_catalog` are
  computed once per Catalog value (memoized in its `SystemCatalog`); the few that show
  session state (pg_settings, pg_stat_activity, pg_database) look at `ctx` on every scan.
- OIDs and names come from `system.SystemCatalog`, shared with the catalog functions.

information_schema's producers live in `information_schema` and register here the same way
(the session imports both modules).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from engine.catalog import builtins as B
from engine.catalog.model import Catalog
from engine.catalog.system import (BOOTSTRAP_SUPERUSER, BUILTIN_NAMESPACES, BUILTIN_RELATIONS, CLASS_PG_CLASS, CLASS_PG_CONSTRAINT,
                                   CLASS_PG_NAMESPACE, DEFAULT_OPCLASS, PG_CATALOG, PROCS_BY_OID, TYPE_ROWS, AM_OIDS,
                                   SystemCatalog, attnum_of, proc_named, system_catalog, type_collation)
from engine.sql import deparse
from engine.types import TEXT, TYPES_BY_NAME, NamedOid, SqlType, Vector

# -------------------------------------------------------------------- layouts


def _type_named(name: str) -> SqlType:
    return TYPES_BY_NAME.get(name, TEXT)


def _default_for(t: SqlType) -> Any:
    if t.name == "bool":
        return False
    if t.name in ("oid", "int2", "int4", "int8", "xid"):
        return 0
    if t.name == "regproc":
        return NamedOid(0, "-")
    if t.name in ("float4", "float8"):
        return 0.0
    return None


class Layout:
    """A system relation's columns, and rows built by naming only the columns that matter:
    the others are NULL in a view, and in a catalog table (whose columns are NOT NULL) take
    their type's neutral value: false, 0, "-" for regproc."""

    __slots__ = ("columns", "_index", "_defaults")

    def __init__(self, spec: str, kind: str) -> None:
        pairs = [part.rsplit(" ", 1) for part in spec.split(", ")] if spec else []
        self.columns: tuple[tuple[str, SqlType], ...] = tuple((n, _type_named(t)) for n, t in pairs)
        self._index = {n: i for i, (n, _) in enumerate(self.columns)}
        self._defaults = [_default_for(t) if kind == "r" else None for _, t in self.columns]

    def row(self, **values: Any) -> tuple:
        out = list(self._defaults)
        index = self._index
        for name, value in values.items():
            out[index[name]] = value
        return tuple(out)


LAYOUTS: dict[tuple[str, str], Layout] = {key: Layout(spec, kind) for key, (_, kind, spec) in B.RELATIONS.items()}


# -------------------------------------------------------------------- the planner's entry point


@dataclass(frozen=True, slots=True)
class VirtualTable:
    name: str
    columns: tuple[tuple[str, SqlType], ...]
    producer: Callable[[Any], list[tuple]]     # ExecContext -> rows
    oid: int                                   # its pg_class oid (what `tableoid` reads)


Producer = Callable[[SystemCatalog, Any], list[tuple]]
PRODUCERS: dict[tuple[str, str], Producer] = {}


def produces(schema: str, name: str, per_catalog: bool = True):
    """Register the row producer of a system relation: fn(system catalog, ctx) -> rows, built
    with the relation's Layout. `per_catalog` rows are computed once per Catalog value."""
    key = (schema, name)
    table = LAYOUTS[key]

    def register(fn: Callable[[Layout, SystemCatalog, Any], list[tuple]]):
        if per_catalog:       # (information_schema's rows name the database, so it is part of the key)
            PRODUCERS[key] = lambda sys, ctx: sys.memo((key, ctx.database if ctx is not None else None),
                                                       lambda: fn(table, sys, ctx))
        else:
            PRODUCERS[key] = lambda sys, ctx: fn(table, sys, ctx)
        return fn
    return register


def virtual_table(catalog: Catalog, schema: str | None, name: str, search_path: Iterable[str]) -> VirtualTable | None:
    """The system relation `schema.name` (or the first `name` along the search path), or None."""
    if schema is None:
        key = next(((s, name) for s in search_path if (s, name) in LAYOUTS), None)
        if key is None:
            return None
    else:
        key = (schema, name)
        if key not in LAYOUTS:
            return None
    oid = B.RELATIONS[key][0]
    producer = PRODUCERS.get(key)
    if producer is None:
        return VirtualTable(name, LAYOUTS[key].columns, _no_rows, oid)

    def rows(ctx) -> list[tuple]:
        return producer(system_catalog(catalog), ctx)
    return VirtualTable(name, LAYOUTS[key].columns, rows, oid)


def _no_rows(ctx) -> list[tuple]:
    return []


# -------------------------------------------------------------------- namespaces, roles, databases

_NAMESPACE_ACL = {oid: acl for oid, _, acl in B.NAMESPACES}


@produces("pg_catalog", "pg_namespace")
def _pg_namespace(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for name, oid in sys.namespaces.items():
        owner = sys.role_oid("pg_database_owner") if name == "public" else BOOTSTRAP_SUPERUSER
        acl = _NAMESPACE_ACL.get(oid)
        out.append(t.row(oid=oid, nspname=name, nspowner=owner, nspacl=tuple(acl) if acl else None))
    return out


def _role_rows(sys: SystemCatalog):
    """(oid, name, superuser, createrole, createdb, login, replication and bypass RLS, password)
    of every role; as in PostgreSQL, only the bootstrap superuser has REPLICATION and BYPASSRLS
    (CREATE ROLE ... SUPERUSER grants neither, nor CREATEROLE or CREATEDB)."""
    for name, (oid, r) in sys.roles.items():
        bootstrap = oid == BOOTSTRAP_SUPERUSER
        yield oid, name, r.superuser, r.createrole or bootstrap, r.createdb or bootstrap, r.login, bootstrap, r.password
    for oid, name in B.PREDEFINED_ROLES:
        yield oid, name, False, False, False, False, False, None


@produces("pg_catalog", "pg_authid")
def _pg_authid(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, rolname=name, rolsuper=su, rolinherit=True, rolcreaterole=cr, rolcreatedb=cd,
                  rolcanlogin=login, rolreplication=rep, rolbypassrls=rep, rolconnlimit=-1, rolpassword=pw)
            for oid, name, su, cr, cd, login, rep, pw in _role_rows(sys)]


@produces("pg_catalog", "pg_roles")
def _pg_roles(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, rolname=name, rolsuper=su, rolinherit=True, rolcreaterole=cr, rolcreatedb=cd,
                  rolcanlogin=login, rolreplication=rep, rolbypassrls=rep, rolconnlimit=-1, rolpassword="********")
            for oid, name, su, cr, cd, login, rep, pw in _role_rows(sys)]


@produces("pg_catalog", "pg_user")
def _pg_user(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(usename=name, usesysid=oid, usecreatedb=cd, usesuper=su, userepl=rep, usebypassrls=rep,
                  passwd="********")
            for oid, name, su, cr, cd, login, rep, pw in _role_rows(sys) if login]


def database_rows(sys: SystemCatalog, ctx) -> list[tuple[int, str, bool, bool, list | None]]:
    """(oid, name, is template, allows connections, acl): PostgreSQL's three, plus the
    session's own database when it has another name (every name reaches the same data)."""
    rows = list(B.DATABASES)
    if ctx is not None and all(name != ctx.database for _, name, _, _, _ in rows):
        rows.append((sys.database_oid(ctx.database), ctx.database, False, True, None))
    return rows


@produces("pg_catalog", "pg_database", per_catalog=False)
def _pg_database(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, datname=name, datdba=BOOTSTRAP_SUPERUSER, encoding=6, datlocprovider="c",
                  datistemplate=template, datallowconn=allow, datconnlimit=-1, datfrozenxid=716, datminmxid=1,
                  dattablespace=1663, datcollate="C.UTF-8", datctype="C.UTF-8",
                  datacl=tuple(acl) if acl else None)
            for oid, name, template, allow, acl in database_rows(sys, ctx)]


@produces("pg_catalog", "pg_tablespace")
def _pg_tablespace(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, spcname=name, spcowner=BOOTSTRAP_SUPERUSER) for oid, name in B.TABLESPACES]


@produces("pg_catalog", "pg_am")
def _pg_am(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, amname=name, amhandler=proc_named(handler), amtype=kind) for oid, name, handler, kind in B.AMS]


@produces("pg_catalog", "pg_collation")
def _pg_collation(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, collname=name, collnamespace=PG_CATALOG, collowner=BOOTSTRAP_SUPERUSER,
                  collprovider=provider, collisdeterministic=det, collencoding=enc, collcollate=coll, collctype=ctype)
            for oid, name, provider, det, enc, coll, ctype in B.COLLATIONS]


@produces("pg_catalog", "pg_language")
def _pg_language(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, lanname=name, lanowner=BOOTSTRAP_SUPERUSER, lanispl=ispl, lanpltrusted=trusted)
            for oid, name, ispl, trusted in B.LANGUAGES]


@produces("pg_catalog", "pg_opclass")
def _pg_opclass(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, opcmethod=method, opcname=name, opcnamespace=PG_CATALOG, opcowner=BOOTSTRAP_SUPERUSER,
                  opcfamily=family, opcintype=intype, opcdefault=default, opckeytype=keytype)
            for oid, method, name, intype, default, family, keytype in B.OPCLASSES]


@produces("pg_catalog", "pg_opfamily")
def _pg_opfamily(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, opfmethod=method, opfname=name, opfnamespace=PG_CATALOG, opfowner=BOOTSTRAP_SUPERUSER)
            for oid, method, name in B.OPFAMILIES]


@produces("pg_catalog", "pg_amop")
def _pg_amop(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, amopfamily=family, amoplefttype=left, amoprighttype=right, amopstrategy=strategy,
                  amoppurpose=purpose, amopopr=operator, amopmethod=method, amopsortfamily=sort_family)
            for oid, family, left, right, strategy, purpose, operator, method, sort_family in B.AMOPS]


@produces("pg_catalog", "pg_amproc")
def _pg_amproc(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, amprocfamily=family, amproclefttype=left, amprocrighttype=right, amprocnum=number,
                  amproc=NamedOid(proc, PROCS_BY_OID[proc][1]))
            for oid, family, left, right, number, proc in B.AMPROCS]


@produces("pg_catalog", "pg_operator")
def _pg_operator(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, oprname=name, oprnamespace=PG_CATALOG, oprowner=BOOTSTRAP_SUPERUSER, oprkind=kind,
                  oprcanmerge=merge, oprcanhash=hash_, oprleft=left, oprright=right, oprresult=result, oprcom=commutator,
                  oprnegate=negator, oprcode=proc_named(code), oprrest=proc_named(restrict), oprjoin=proc_named(join))
            for (oid, name, kind, merge, hash_, left, right, result, commutator, negator, code, restrict,
                 join) in B.OPERATORS]


@produces("pg_catalog", "pg_cast")
def _pg_cast(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=oid, castsource=source, casttarget=target, castfunc=function, castcontext=context,
                  castmethod=method)
            for oid, source, target, function, context, method in B.CASTS]


# -------------------------------------------------------------------- types and functions


@produces("pg_catalog", "pg_type")
def _pg_type(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = list(_builtin_type_rows(t))
    for rel in sys.relation_rows():
        if rel.kind in ("r", "v"):
            row_oid, array_oid = sys.rowtype_oid(rel.oid), sys.rowtype_array_oid(rel.oid)
            namespace, owner = sys.namespace_oid(rel.schema), sys.role_oid(rel.owner)
            out.append(t.row(oid=row_oid, typname=rel.name, typnamespace=namespace,
                             typowner=owner, typlen=-1, typtype="c", typcategory="C",
                             typisdefined=True, typdelim=",", typrelid=rel.oid, typarray=array_oid,
                             typinput=proc_named("record_in"),
                             typoutput=proc_named("record_out"), typreceive=proc_named("record_recv"),
                             typsend=proc_named("record_send"), typalign="d", typstorage="x", typtypmod=-1))
            out.append(t.row(oid=array_oid, typname="_" + rel.name, typnamespace=namespace, typowner=owner, typlen=-1,
                             typtype="b", typcategory="A", typisdefined=True, typdelim=",",
                             typsubscript=proc_named("array_subscript_handler"), typelem=row_oid,
                             typinput=proc_named("array_in"), typoutput=proc_named("array_out"),
                             typreceive=proc_named("array_recv"), typsend=proc_named("array_send"),
                             typanalyze=proc_named("array_typanalyze"), typalign="d", typstorage="x", typtypmod=-1))
    return out


@functools.cache
def _builtin_type_rows(t: Layout) -> tuple[tuple, ...]:
    return tuple(t.row(oid=oid, typname=name, typnamespace=PG_CATALOG, typowner=BOOTSTRAP_SUPERUSER, typlen=length,
                 typbyval=byval, typtype=kind, typcategory=category, typispreferred=preferred, typisdefined=True,
                 typdelim=delim, typrelid=relid, typsubscript=proc_named(subscript), typelem=elem, typarray=array,
                 typinput=proc_named(i), typoutput=proc_named(o), typreceive=proc_named(r), typsend=proc_named(s),
                 typmodin=proc_named(mi), typmodout=proc_named(mo), typanalyze=proc_named(an), typalign=align,
                 typstorage=storage, typtypmod=-1, typcollation=collation)
                 for (oid, name, length, byval, kind, category, preferred, delim, relid, subscript, elem, array, i, o,
                      r, s, mi, mo, an, align, storage, collation) in B.TYPES)


@produces("pg_catalog", "pg_proc")
def _pg_proc(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return list(_builtin_proc_rows(t))


@functools.cache
def _builtin_proc_rows(t: Layout) -> tuple[tuple, ...]:
    return tuple(t.row(oid=oid, proname=name, pronamespace=PG_CATALOG, proowner=BOOTSTRAP_SUPERUSER, prolang=12,
                  procost=1.0, prorows=1000.0 if retset else 0.0, prokind=kind, proisstrict=strict, proretset=retset,
                  provolatile=volatile, proparallel="s", pronargs=len(argtypes), prorettype=rettype,
                  proargtypes=Vector(argtypes), proargnames=argnames or None, prosrc=src)
                 for oid, name, kind, retset, volatile, strict, rettype, argtypes, argnames, src in B.PROCS)


# -------------------------------------------------------------------- relations


@functools.cache
def _builtin_class_rows(t: Layout) -> tuple[tuple, ...]:
    """pg_class rows of pg_catalog's and information_schema's own relations (the same in every catalog)."""
    return tuple(t.row(oid=oid, relname=name, relnamespace=BUILTIN_NAMESPACES[schema],
                       reltype=SystemCatalog.rowtype_oid(oid), relowner=BOOTSTRAP_SUPERUSER,
                       relam=HEAP if kind == "r" else 0, relfilenode=oid if kind == "r" else 0, reltuples=-1.0,
                       relpersistence="p", relkind=kind, relnatts=len(LAYOUTS[(schema, name)].columns),
                       relhasrules=kind == "v", relispopulated=True, relreplident="n" if kind == "v" else "d")
                 for oid, (schema, name, kind) in BUILTIN_RELATIONS.items())


@produces("pg_catalog", "pg_class")
def _pg_class(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = list(_builtin_class_rows(t))
    view_columns = deparse.view_columns
    for rel in sys.relation_rows():
        kind = rel.kind
        am = HEAP if kind == "r" else (AM_OIDS[rel.index.method] if kind == "i" else 0)
        out.append(t.row(
            oid=rel.oid, relname=rel.name, relnamespace=sys.namespace_oid(rel.schema),
            reltype=sys.rowtype_oid(rel.oid) if kind in ("r", "v") else 0, relowner=sys.role_oid(rel.owner),
            relam=am, relfilenode=0 if kind == "v" else rel.oid, relpages=1 if kind == "S" else 0,
            reltuples={"r": -1.0, "v": -1.0, "S": 1.0, "i": 0.0}[kind], relhasindex=rel.has_index,
            relpersistence="t" if rel.schema.startswith("pg_temp_") else "p", relkind=kind,
            relnatts=len(sys.columns_of(rel, view_columns)), relchecks=rel.checks,
            relhasrules=kind == "v", relhastriggers=rel.has_triggers, relispopulated=True,
            relreplident="d" if kind == "r" else "n", relfrozenxid=0, relminmxid=1 if kind == "r" else 0))
    return out


HEAP = AM_OIDS["heap"]


@functools.cache
def _builtin_attribute_rows(t: Layout) -> tuple[tuple, ...]:
    """pg_attribute rows of the built-in relations' columns (fixed-width ones are NOT NULL in
    PostgreSQL's catalogs, variable-width ones mostly nullable)."""
    return tuple(_attribute(t, oid, col, ctype, num, ctype.name in ("oid", "name", "int2", "int4", "bool", "char",
                                                                    "regproc", "xid", "float4"), None, "")
                 for oid, (schema, name, _) in BUILTIN_RELATIONS.items()
                 for num, (col, ctype) in enumerate(LAYOUTS[(schema, name)].columns, 1))


@produces("pg_catalog", "pg_attribute")
def _pg_attribute(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = list(_builtin_attribute_rows(t))
    view_columns = deparse.view_columns
    for rel in sys.relation_rows():
        for num, (col, ctype, definition) in enumerate(sys.columns_of(rel, view_columns), 1):
            not_null = definition.not_null if definition is not None else rel.kind == "S"
            default = deparse.stored_default(definition) if definition is not None else None
            identity = definition.identity if definition is not None else ""
            generated = "s" if definition is not None and definition.generated is not None else ""
            out.append(_attribute(t, rel.oid, col, ctype, num, not_null, default, identity, generated))
    return out


def _attribute(t: Layout, relid: int, name: str, ctype: SqlType, attnum: int, not_null: bool,
               default: str | None, identity: str, generated: str = "") -> tuple:
    row = TYPE_ROWS.get(ctype.oid) or TYPE_ROWS[TEXT.oid]
    return t.row(attrelid=relid, attname=name, atttypid=ctype.oid, attstattarget=-1, attlen=row[2], attnum=attnum,
                 attndims=1 if ctype.element is not None else 0, attcacheoff=-1, atttypmod=ctype.typmod,
                 attbyval=row[3], attalign=row[19], attstorage=row[20], attcompression="", attnotnull=not_null,
                 atthasdef=default is not None and not identity, attidentity=identity, attgenerated=generated,
                 attislocal=True, attcollation=type_collation(ctype))


@produces("pg_catalog", "pg_attrdef")
def _pg_attrdef(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for table in sys.catalog.tables.values():
        for num, col in enumerate(table.columns, 1):
            default = deparse.stored_default(col)
            if default is not None and not col.identity:
                out.append(t.row(oid=sys.attrdef_oid(table, num), adrelid=table.table_id, adnum=num,
                                 adbin=deparse.node_tree(default, num)))
    return out


@produces("pg_catalog", "pg_index")
def _pg_index(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for index in sys.catalog.indexes.values():
        table = sys.catalog.tables[index.table_id]
        cols = [table.column_by_slot(s) for s in index.columns]
        am = AM_OIDS[index.method]
        out.append(t.row(
            indexrelid=index.index_id, indrelid=table.table_id, indnatts=len(cols), indnkeyatts=len(cols),
            indisunique=index.unique, indisprimary=index.primary, indimmediate=True, indisvalid=True,
            indisready=True, indislive=True, indkey=Vector(attnum_of(table, s) for s in index.columns),
            indcollation=Vector(type_collation(c.type) for c in cols),
            indclass=Vector(DEFAULT_OPCLASS.get((am, c.type.oid), 0) for c in cols), indoption=Vector(0 for _ in cols)))
    return out


@produces("pg_catalog", "pg_constraint")
def _pg_constraint(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    catalog = sys.catalog
    for table in catalog.tables.values():
        for con in table.constraints:
            index_oid = 0
            ref = catalog.tables.get(con.ref_table) if con.kind == "f" else None
            if con.kind in ("p", "u"):
                index_oid = next((i.index_id for i in catalog.indexes_of(table.table_id) if i.constraint == con.name), 0)
            elif ref is not None:
                index_oid = next((i.index_id for i in catalog.indexes_of(ref.table_id)
                                  if i.unique and set(i.columns) == set(con.ref_columns)), 0)
            fk = con.kind == "f"
            out.append(t.row(
                oid=sys.constraint_oid(table, con), conname=con.name, connamespace=sys.namespace_oid(table.schema),
                contype=con.kind, convalidated=True, conrelid=table.table_id, conindid=index_oid,
                confrelid=con.ref_table if fk else 0, confupdtype=con.on_update if fk else " ",
                confdeltype=con.on_delete if fk else " ", confmatchtype="s" if fk else " ", conislocal=True,
                connoinherit=con.kind == "p" or con.kind == "u" or con.kind == "f",
                conkey=tuple(attnum_of(table, s) for s in con.columns) or None,
                confkey=tuple(attnum_of(ref, s) for s in con.ref_columns) if ref is not None else None,
                conbin=deparse.node_tree(con.check) if con.kind == "c" else None))
    return out


@produces("pg_catalog", "pg_sequence")
def _pg_sequence(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(seqrelid=s.seq_id, seqtypid=s.type_oid, seqstart=s.start, seqincrement=s.increment,
                  seqmax=s.max_value, seqmin=s.min_value, seqcache=1, seqcycle=s.cycle)
            for s in sys.catalog.sequences.values()]


@produces("pg_catalog", "pg_depend")
def _pg_depend(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    catalog = sys.catalog
    for seq in catalog.sequences.values():
        owner = sys.sequence_owner(seq)
        out.append(t.row(classid=CLASS_PG_CLASS, objid=seq.seq_id, refclassid=CLASS_PG_NAMESPACE,
                         refobjid=sys.namespace_oid(seq.schema), deptype="n"))
        if owner is not None:
            table, col = owner
            out.append(t.row(classid=CLASS_PG_CLASS, objid=seq.seq_id, refclassid=CLASS_PG_CLASS,
                             refobjid=table.table_id, refobjsubid=attnum_of(table, col.slot),
                             deptype="i" if col.identity else "a"))
    for index in catalog.indexes.values():
        table = catalog.tables[index.table_id]
        con = next((c for c in table.constraints if c.name == index.constraint), None) if index.constraint else None
        if con is not None:
            out.append(t.row(classid=CLASS_PG_CLASS, objid=index.index_id, refclassid=CLASS_PG_CONSTRAINT,
                             refobjid=sys.constraint_oid(table, con), deptype="i"))
        else:
            for slot in index.columns:
                out.append(t.row(classid=CLASS_PG_CLASS, objid=index.index_id, refclassid=CLASS_PG_CLASS,
                                 refobjid=table.table_id, refobjsubid=attnum_of(table, slot), deptype="a"))
    return out


@produces("pg_catalog", "pg_description")
def _pg_description(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = [t.row(objoid=sys.namespace_oid("public"), classoid=CLASS_PG_NAMESPACE, objsubid=0,
                 description="standard public schema")]
    for table in sys.catalog.tables.values():
        if table.comment is not None:
            out.append(t.row(objoid=table.table_id, classoid=CLASS_PG_CLASS, objsubid=0, description=table.comment))
        for num, col in enumerate(table.columns, 1):
            if col.comment is not None:
                out.append(t.row(objoid=table.table_id, classoid=CLASS_PG_CLASS, objsubid=num, description=col.comment))
        for con in table.constraints:
            if con.comment is not None:
                out.append(t.row(objoid=sys.constraint_oid(table, con), classoid=CLASS_PG_CONSTRAINT, objsubid=0,
                                 description=con.comment))
    for relation_id, comment in [(v.view_id, v.comment) for v in sys.catalog.views.values()] + \
            [(i.index_id, i.comment) for i in sys.catalog.indexes.values()] + \
            [(s.seq_id, s.comment) for s in sys.catalog.sequences.values()]:
        if comment is not None:
            out.append(t.row(objoid=relation_id, classoid=CLASS_PG_CLASS, objsubid=0, description=comment))
    return out


def description(sys: SystemCatalog, ctx, objoid: int, classoid: int | None, objsubid: int) -> str | None:
    """obj_description/col_description: the pg_description entry of an object (any class if None)."""
    index = sys.memo("descriptions", lambda: {(row[0], row[1], row[2]): row[3]
                                              for row in PRODUCERS[("pg_catalog", "pg_description")](sys, ctx)})
    if classoid is not None:
        return index.get((objoid, classoid, objsubid))
    return next((text for (o, _, sub), text in index.items() if o == objoid and sub == objsubid), None)


@produces("pg_catalog", "pg_rewrite")
def _pg_rewrite(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(oid=sys.rule_oid(v.view_id), rulename="_RETURN", ev_class=v.view_id, ev_type="1", ev_enabled="O",
                  is_instead=True) for v in sys.catalog.views.values()]


# -------------------------------------------------------------------- system views over the above


@produces("pg_catalog", "pg_tables")
def _pg_tables(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = [t.row(schemaname=schema, tablename=name, tableowner=sys.bootstrap.name, hasindexes=True)
           for _, (schema, name, kind) in BUILTIN_RELATIONS.items() if kind == "r"]
    out += [t.row(schemaname=rel.schema, tablename=rel.name, tableowner=rel.owner, hasindexes=rel.has_index,
                  hastriggers=rel.has_triggers) for rel in sys.relation_rows() if rel.kind == "r"]
    return out


@produces("pg_catalog", "pg_views")
def _pg_views(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = [t.row(schemaname=schema, viewname=name, viewowner=sys.bootstrap.name)
           for _, (schema, name, kind) in BUILTIN_RELATIONS.items() if kind == "v"]
    out += [t.row(schemaname=v.schema, viewname=v.name, viewowner=v.owner,
                  definition=deparse.view_definition(sys.catalog, v, pretty=False))
            for v in sys.catalog.views.values()]
    return out


@produces("pg_catalog", "pg_indexes")
def _pg_indexes(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for index in sys.catalog.indexes.values():
        table = sys.catalog.tables[index.table_id]
        out.append(t.row(schemaname=table.schema, tablename=table.name, indexname=index.name,
                         indexdef=deparse.index_definition(sys.catalog, index)))
    return out


@produces("pg_catalog", "pg_matviews")
def _pg_matviews(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return []


@produces("pg_catalog", "pg_sequences", per_catalog=False)
def _pg_sequences(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for s in sys.catalog.sequences.values():
        out.append(t.row(schemaname=s.schema, sequencename=s.name, sequenceowner=sys.relation(s.seq_id).owner,
                         data_type=sys.label(TYPES_BY_NAME["regtype"].oid, s.type_oid, ()), start_value=s.start,
                         min_value=s.min_value, max_value=s.max_value, increment_by=s.increment, cycle=s.cycle,
                         cache_size=1, last_value=_last_value(ctx, s)))
    return out


def _last_value(ctx, seq) -> int | None:
    last, called = ctx.session.db.sequence_position(seq)
    return last if called else None


# -------------------------------------------------------------------- session state


@produces("pg_catalog", "pg_settings", per_catalog=False)
def _pg_settings(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for name, value, default in ctx.session.settings_rows():
        unit, category, short_desc, context, vartype, min_val, max_val, enumvals = B.SETTINGS.get(
            name, (None, "Customized Options", "", "user", "string", None, None, None))
        out.append(t.row(name=name, setting=value, unit=unit, category=category, short_desc=short_desc,
                         context=context, vartype=vartype, source="default" if value == default else "session",
                         min_val=min_val, max_val=max_val, enumvals=tuple(enumvals) if enumvals else None,
                         boot_val=default, reset_val=default, pending_restart=False))
    return out


@produces("pg_catalog", "pg_stat_activity", per_catalog=False)
def _pg_stat_activity(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    out = []
    for s in ctx.session.db.sessions.values():
        out.append(t.row(datid=sys.database_oid(s.database), datname=s.database, pid=s.backend_pid,
                         usesysid=sys.role_oid(s.user), usename=s.user,
                         application_name=s.settings.get("application_name", ""),
                         client_addr=s.client_addr or None, client_port=-1 if not s.client_addr else None,
                         state="active" if s is ctx.session else ("idle in transaction" if s.explicit else "idle"),
                         backend_type="client backend"))
    return out


@produces("pg_catalog", "pg_stat_user_tables")
def _pg_stat_user_tables(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(relid=rel.oid, schemaname=rel.schema, relname=rel.name) for rel in sys.relation_rows()
            if rel.kind == "r"]


@produces("pg_catalog", "pg_stat_all_tables")
def _pg_stat_all_tables(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(relid=rel.oid, schemaname=rel.schema, relname=rel.name) for rel in sys.relation_rows()
            if rel.kind == "r"]


@produces("pg_catalog", "pg_statio_user_tables")
def _pg_statio_user_tables(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(relid=rel.oid, schemaname=rel.schema, relname=rel.name) for rel in sys.relation_rows()
            if rel.kind == "r"]


@produces("pg_catalog", "pg_stat_database", per_catalog=False)
def _pg_stat_database(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return [t.row(datid=oid, datname=name, numbackends=sum(1 for s in ctx.session.db.sessions.values()
                                                           if s.database == name))
            for oid, name, _, _, _ in database_rows(sys, ctx)]


@produces("pg_catalog", "pg_available_extensions")
def _pg_available_extensions(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return []


@produces("pg_catalog", "pg_extension")
def _pg_extension(t: Layout, sys: SystemCatalog, ctx) -> list[tuple]:
    return []
