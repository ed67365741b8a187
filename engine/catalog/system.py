"""The system catalog's view of one `Catalog`: an OID for everything, names for OIDs.

Role: `system_catalog(catalog)` gives the `SystemCatalog` of a Catalog value (cached per
value). pg_catalog's virtual tables (`virtual`), the catalog functions (`functions`) and the
reg* casts (regclass, regtype, regproc, regoperator, regnamespace, regrole) all resolve names and OIDs
here, so they agree with each other.

OIDs: tables, indexes, sequences and views use their catalog ids (16384 and up); built-in
types, functions, relations, namespaces, predefined roles and access methods use
PostgreSQL 15's own OIDs (`builtins`); objects the catalog keeps no id for (schemas,
constraints, column defaults, roles other than the bootstrap superuser, row types) get a
stable OID derived from their identity (`derived_oid`): the same in every catalog version
and every process, so a client may cache it.

Roles: the bootstrap superuser is configuration, not an event (`--superuser`, PostgreSQL's
initdb user): `set_bootstrap_role` (called by the Database that owns this process's log)
names it, and every SystemCatalog lists it with OID 10 next to the catalog's roles (a catalog
role of the same name, after ALTER ROLE on it, takes its place).

Invariant: a SystemCatalog never changes after construction except for memoized values
computed from its own Catalog, which is immutable.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from engine.catalog import builtins as B
from engine.catalog.model import Catalog, ColumnDef, ConstraintDef, IndexDef, RoleDef, SequenceDef, TableDef, ViewDef
from engine.errors import SqlError
from engine.types import (BOOL, BPCHAR, INT8, REGCLASS, REGNAMESPACE, REGOPER, REGOPERATOR, REGPROC, REGPROCEDURE, REGROLE,
                          REGTYPE,
                          TYPES_BY_OID, NamedOid, SqlType, composite_type, format_type, type_from_name)

PG_CATALOG = 11
BOOTSTRAP_SUPERUSER = 10
CLASS_PG_CLASS = B.RELATIONS[("pg_catalog", "pg_class")][0]
CLASS_PG_CONSTRAINT = B.RELATIONS[("pg_catalog", "pg_constraint")][0]
CLASS_PG_NAMESPACE = B.RELATIONS[("pg_catalog", "pg_namespace")][0]
CLASS_PG_TYPE = B.RELATIONS[("pg_catalog", "pg_type")][0]
CLASS_PG_PROC = B.RELATIONS[("pg_catalog", "pg_proc")][0]

# builtin relation oid -> (schema, name, relkind)
BUILTIN_RELATIONS = {oid: (schema, name, kind) for (schema, name), (oid, kind, _) in B.RELATIONS.items()}
BUILTIN_NAMESPACES = {name: oid for oid, name, _ in B.NAMESPACES}
TYPE_ROWS = {row[0]: row for row in B.TYPES}
PROCS_BY_OID = {row[0]: row for row in B.PROCS}
PROCS_BY_NAME: dict[str, list[tuple]] = {}
for _row in B.PROCS:
    PROCS_BY_NAME.setdefault(_row[1], []).append(_row)
OPERATORS_BY_OID = {row[0]: row for row in B.OPERATORS}
OPERATORS_BY_NAME: dict[str, list[tuple]] = {}
for _row in B.OPERATORS:
    OPERATORS_BY_NAME.setdefault(_row[1], []).append(_row)
DEFAULT_OPCLASS = {(method, intype): oid for oid, method, _, intype, _, _, _ in B.OPCLASSES}
AM_OIDS = {name: oid for oid, name, _, _ in B.AMS}
RESERVED = frozenset(word for word, catcode, *_ in B.KEYWORDS if catcode != "U")
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def derived_oid(kind: str, *key: Any) -> int:
    """A stable OID for an object the catalog keeps no id for: 2^30 + a 30-bit hash of its identity."""
    return (1 << 30) | (zlib.crc32(repr((kind,) + key).encode()) & ((1 << 30) - 1))


def quote_ident(name: str) -> str:
    """`name` as quote_ident prints it: bare when lower-case, simple and not a reserved word."""
    if name and (name[0].islower() or name[0] == "_") and set(name) <= _SAFE and name not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def type_collation(t: SqlType) -> int:
    """pg_type.typcollation of a type (100 "default" for the collatable ones)."""
    row = TYPE_ROWS.get(t.oid)
    return row[21] if row else 0


def proc_named(name: str) -> NamedOid:
    """A built-in function as a regproc value ("-" and 0 for none)."""
    if name == "-":
        return NamedOid(0, "-")
    rows = PROCS_BY_NAME.get(name)
    return NamedOid(rows[0][0] if rows else derived_oid("proc", name), name)


def attnum_of(table: TableDef, slot: int) -> int:
    """A column's pg_attribute.attnum: its 1-based position among the table's live columns."""
    for i, c in enumerate(table.columns):
        if c.slot == slot:
            return i + 1
    return 0


def format_type_sql(type_oid: int | None, typmod: int | None) -> str | None:
    """pg_catalog.format_type(oid, typmod): NULL typmod means "not given" (bpchar prints as character)."""
    if type_oid is None:
        return None
    t = TYPES_BY_OID.get(type_oid)
    if t is None:
        return "???"
    if typmod is None or typmod < 0:
        if t.oid == BPCHAR.oid and typmod is not None:
            return "bpchar"
        return format_type(t)
    if t.element is not None:
        return format_type_sql(t.element.oid, typmod) + "[]"
    try:
        return format_type(t.with_typmod(typmod))
    except (KeyError, ValueError):
        return format_type(t)


def relation_row_type(relation_id: int, name: str, fields: Iterable[tuple[str, SqlType]]) -> SqlType:
    """The row type of a table or view: what a whole-row reference (`SELECT t FROM t`) and
    `::t` produce, with the pg_type oids that `pg_type` lists for it."""
    return composite_type(name, SystemCatalog.rowtype_oid(relation_id), SystemCatalog.rowtype_array_oid(relation_id),
                          tuple(fields))


@dataclass(frozen=True, slots=True)
class Relation:
    """One pg_class row of the catalog's own relations."""
    oid: int
    name: str
    schema: str
    kind: str                        # r table, i index, S sequence, v view
    owner: str
    table: TableDef | None = None
    index: IndexDef | None = None
    sequence: SequenceDef | None = None
    view: ViewDef | None = None
    has_index: bool = False
    has_triggers: bool = False
    checks: int = 0


_CACHE: dict[int, SystemCatalog] = {}
_BOOTSTRAP = [RoleDef("postgres", superuser=True, login=True, createdb=True, createrole=True)]


def set_bootstrap_role(role: RoleDef) -> None:
    """Name the bootstrap superuser (OID 10) that every SystemCatalog lists."""
    if role != _BOOTSTRAP[0]:
        _BOOTSTRAP[0] = role
        _CACHE.clear()


def system_catalog(catalog: Catalog) -> SystemCatalog:
    """The SystemCatalog of this Catalog value (the few most recent ones are kept)."""
    found = _CACHE.get(id(catalog))
    if found is not None and found.catalog is catalog and found.bootstrap is _BOOTSTRAP[0]:
        return found
    if len(_CACHE) >= 8:
        _CACHE.pop(next(iter(_CACHE)))
    made = _CACHE[id(catalog)] = SystemCatalog(catalog, _BOOTSTRAP[0])
    return made


class SystemCatalog:
    """pg_catalog's view of one Catalog value: the oid of everything, and memoized rows."""

    def __init__(self, catalog: Catalog, bootstrap: RoleDef) -> None:
        self.catalog = catalog
        self.bootstrap = bootstrap
        self._memo: dict[Any, Any] = {}
        self.namespaces: dict[str, int] = dict(BUILTIN_NAMESPACES)
        for schema in catalog.schemas:
            self.namespaces.setdefault(schema, derived_oid("namespace", schema))
        self.namespace_names = {oid: name for name, oid in self.namespaces.items()}
        roles = {bootstrap.name: bootstrap, **catalog.roles}
        self.roles: dict[str, tuple[int, RoleDef]] = {
            name: (BOOTSTRAP_SUPERUSER if name == bootstrap.name else derived_oid("role", name), role)
            for name, role in roles.items()}
        self.role_names = {oid: name for name, (oid, _) in self.roles.items()}
        self.role_names.update({oid: name for oid, name in B.PREDEFINED_ROLES})
        self.constraints: dict[int, tuple[TableDef, ConstraintDef]] = {}
        for t in catalog.tables.values():
            for c in t.constraints:
                self.constraints[self.constraint_oid(t, c)] = (t, c)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = compute()
        return found

    # ---------------------------------------------------------------- oids

    def role_oid(self, name: str) -> int:
        found = self.roles.get(name)
        if found is not None:
            return found[0]
        return next((oid for oid, n in B.PREDEFINED_ROLES if n == name), derived_oid("role", name))

    def namespace_oid(self, name: str) -> int:
        return self.namespaces.get(name, 0)

    @staticmethod
    def constraint_oid(table: TableDef, constraint: ConstraintDef) -> int:
        return derived_oid("constraint", table.table_id, constraint.name)

    @staticmethod
    def attrdef_oid(table: TableDef, attnum: int) -> int:
        return derived_oid("attrdef", table.table_id, attnum)

    @staticmethod
    def rowtype_oid(relation_id: int) -> int:
        return derived_oid("rowtype", relation_id)

    @staticmethod
    def rowtype_array_oid(relation_id: int) -> int:
        return derived_oid("rowtype_array", relation_id)

    def row_type_oid(self, text: str, search_path: Iterable[str]) -> int | None:
        """The row type (or its array: `t[]`, `_t`) a table or view name denotes, or None."""
        name, is_array = (text[:-2].rstrip(), True) if text.endswith("[]") else (text, False)
        parts = _unquote(name)
        schema = parts[-2] if len(parts) > 1 else None
        rel = self.relation_oid(schema, parts[-1], search_path)
        if rel is None and not is_array and parts[-1].startswith("_"):
            rel, is_array = self.relation_oid(schema, parts[-1][1:], search_path), True
        relation = self.relation(rel) if rel is not None else None
        if relation is None or relation.kind not in ("r", "v"):
            return None
        return (self.rowtype_array_oid if is_array else self.rowtype_oid)(rel)

    def row_type_owner(self, type_oid: int) -> tuple[Relation, bool] | None:
        """The table or view whose row type (False) or row type's array (True) `type_oid` is."""
        def compute() -> dict[int, tuple[Relation, bool]]:
            out: dict[int, tuple[Relation, bool]] = {}
            for r in self.relation_rows():
                if r.kind in ("r", "v"):
                    out[self.rowtype_oid(r.oid)] = (r, False)
                    out[self.rowtype_array_oid(r.oid)] = (r, True)
            return out
        return self.memo("row_types", compute).get(type_oid)

    @staticmethod
    def rule_oid(view_id: int) -> int:
        return derived_oid("rule", view_id)

    @staticmethod
    def database_oid(name: str) -> int:
        return next((oid for oid, n, *_ in B.DATABASES if n == name), None) or derived_oid("database", name)

    def relation_name(self, oid: int) -> tuple[str, str] | None:
        """(schema, name) of the relation with this oid, built-in or the catalog's."""
        c = self.catalog
        for defs in (c.tables, c.views, c.sequences):
            d = defs.get(oid)
            if d is not None:
                return d.schema, d.name
        index = c.indexes.get(oid)
        if index is not None:
            return c.tables[index.table_id].schema, index.name
        builtin = BUILTIN_RELATIONS.get(oid)
        return (builtin[0], builtin[1]) if builtin is not None else None

    def relation_oid(self, schema: str | None, name: str, search_path: Iterable[str]) -> int | None:
        path = [schema] if schema is not None else list(search_path)
        for s in path:
            found = self.catalog.relation(name, s, ())
            if found is not None:
                return found[1]
            builtin = B.RELATIONS.get((s, name))
            if builtin is not None:
                return builtin[0]
        return None

    def relation_visible(self, oid: int, search_path: Iterable[str]) -> bool:
        """pg_table_is_visible: the relation is the first of its name along the search path."""
        found = self.relation_name(oid)
        if found is None:
            return False
        path = list(search_path)
        return found[0] in path and self.relation_oid(None, found[1], path) == oid

    def relation_rows(self) -> list[Relation]:
        """Every relation of the catalog, as pg_class sees it."""
        return self.memo("relations", self._relations)

    def _relations(self) -> list[Relation]:
        c = self.catalog
        out: list[Relation] = []
        referenced = {con.ref_table for t in c.tables.values() for con in t.constraints if con.kind == "f"}
        for t in c.tables.values():
            has_fk = any(con.kind == "f" for con in t.constraints)
            out.append(Relation(t.table_id, t.name, t.schema, "r", t.owner, table=t,
                                has_index=bool(c.indexes_of(t.table_id)),
                                has_triggers=has_fk or t.table_id in referenced,
                                checks=sum(1 for con in t.constraints if con.kind == "c")))
        for i in c.indexes.values():
            t = c.tables[i.table_id]
            out.append(Relation(i.index_id, i.name, t.schema, "i", t.owner, index=i))
        for s in c.sequences.values():
            owner = c.tables[s.owned_by[0]].owner if s.owned_by and s.owned_by[0] in c.tables else s.owner
            out.append(Relation(s.seq_id, s.name, s.schema, "S", owner, sequence=s))
        for v in c.views.values():
            out.append(Relation(v.view_id, v.name, v.schema, "v", v.owner, view=v))
        return out

    def relation(self, oid: int) -> Relation | None:
        return self.memo("relation_by_oid", lambda: {r.oid: r for r in self.relation_rows()}).get(oid)

    def columns_of(self, relation: Relation, view_columns: Callable[[Catalog, ViewDef], list[tuple[str, SqlType]]]
                   ) -> list[tuple[str, SqlType, ColumnDef | None]]:
        """A relation's attributes in attnum order: (name, type, column definition if a table's)."""
        if relation.table is not None:
            return [(col.name, col.type, col) for col in relation.table.columns]
        if relation.index is not None:
            t = self.catalog.tables[relation.index.table_id]
            cols = [t.column_by_slot(s) for s in relation.index.columns]
            return [(col.name, col.type, None) for col in cols if col is not None]
        if relation.sequence is not None:
            return [("last_value", INT8, None), ("log_cnt", INT8, None), ("is_called", BOOL, None)]
        return [(name, t, None) for name, t in view_columns(self.catalog, relation.view)]

    def sequence_owner(self, seq: SequenceDef) -> tuple[TableDef, ColumnDef] | None:
        if not seq.owned_by:
            return None
        table = self.catalog.tables.get(seq.owned_by[0])
        col = table.column_by_slot(seq.owned_by[1]) if table is not None else None
        return (table, col) if col is not None else None

    # ---------------------------------------------------------------- reg* values

    def label(self, reg_oid: int, oid: int, search_path: Iterable[str]) -> NamedOid:
        """The reg* value of `oid`: it prints as the object's name (the number if there is none)."""
        return NamedOid(oid, self._label(reg_oid, oid, search_path))

    def _label(self, reg_oid: int, oid: int, search_path: Iterable[str]) -> str:
        if oid == 0 and reg_oid in (REGPROC.oid, REGCLASS.oid, REGTYPE.oid, REGNAMESPACE.oid, REGROLE.oid,
                                    REGPROCEDURE.oid, REGOPER.oid, REGOPERATOR.oid):
            return "-"
        if reg_oid == REGCLASS.oid:
            found = self.relation_name(oid)
            if found is None:
                return str(oid)
            schema, name = found
            if self.relation_visible(oid, search_path):
                return quote_ident(name)
            return f"{quote_ident(schema)}.{quote_ident(name)}"
        if reg_oid == REGTYPE.oid:
            if oid in TYPES_BY_OID:
                return format_type_sql(oid, None)
            owner = self.row_type_owner(oid)
            if owner is None:
                return str(oid)
            rel, is_array = owner
            name = self._label(REGCLASS.oid, rel.oid, search_path)
            return name + "[]" if is_array else name
        if reg_oid in (REGPROC.oid, REGPROCEDURE.oid):
            row = PROCS_BY_OID.get(oid)
            if row is None:
                return str(oid)
            if reg_oid == REGPROC.oid:
                return row[1]
            return f"{row[1]}({','.join(format_type_sql(a, None) for a in row[7])})"
        if reg_oid in (REGOPER.oid, REGOPERATOR.oid):
            row = OPERATORS_BY_OID.get(oid)
            if row is None:
                return str(oid)
            if reg_oid == REGOPER.oid:       # a name with overloads is qualified, as regoperout does
                return row[1] if len(OPERATORS_BY_NAME[row[1]]) == 1 else f"pg_catalog.{row[1]}"
            left, right = (format_type_sql(t, None) if t else "NONE" for t in (row[5], row[6]))
            return f"{row[1]}({left},{right})"
        if reg_oid == REGNAMESPACE.oid:
            return quote_ident(self.namespace_names[oid]) if oid in self.namespace_names else str(oid)
        if reg_oid == REGROLE.oid:
            return quote_ident(self.role_names[oid]) if oid in self.role_names else str(oid)
        return str(oid)

    def parse(self, reg_oid: int, text: str, search_path: Iterable[str]) -> NamedOid:
        """Input of a reg* type: a name (or a number) -> the object's oid, resolved in this catalog."""
        s = text.strip()
        if s.isdigit():
            return self.label(reg_oid, int(s), search_path)
        if s == "-" and reg_oid != REGTYPE.oid:
            return NamedOid(0, "-")
        path = list(search_path)
        if reg_oid == REGTYPE.oid:
            try:
                t = type_from_name(s)
            except SqlError:
                type_oid = self.row_type_oid(s, path)
                if type_oid is None:
                    raise SqlError("42704", f'type "{s}" does not exist') from None
                return self.label(reg_oid, type_oid, path)
            return self.label(reg_oid, t.oid, path)
        parts = _unquote(s)
        if reg_oid == REGCLASS.oid:
            schema, name = (parts[-2] if len(parts) > 1 else None), parts[-1]
            oid = self.relation_oid(schema, name, path)
            if oid is None:
                raise SqlError("42P01", f'relation "{s}" does not exist')
            return self.label(reg_oid, oid, path)
        if reg_oid == REGPROC.oid:
            rows = PROCS_BY_NAME.get(parts[-1])
            if not rows:
                raise SqlError("42883", f'function "{s}" does not exist')
            if len(rows) > 1:
                raise SqlError("42725", f'more than one function named "{s}"')
            return self.label(reg_oid, rows[0][0], path)
        if reg_oid == REGPROCEDURE.oid:
            # name(argument type, ...): the one function with exactly these argument types
            head, paren, arguments = s.partition("(")
            if not paren or not arguments.rstrip().endswith(")"):
                raise SqlError("22P02", "expected a left parenthesis" if not paren else "expected a right parenthesis")
            arguments = arguments.rstrip()[:-1]
            wanted = tuple(type_from_name(a.strip()).oid for a in arguments.split(",")) if arguments.strip() else ()
            found = next((row for row in PROCS_BY_NAME.get(_unquote(head.strip())[-1], ()) if row[7] == wanted), None)
            if found is None:
                raise SqlError("42883", f'function "{s}" does not exist')
            return self.label(reg_oid, found[0], path)
        if reg_oid == REGOPER.oid:
            found = OPERATORS_BY_NAME.get(s.removeprefix("pg_catalog."), [])
            if not found:
                raise SqlError("42883", f"operator does not exist: {s}")
            if len(found) > 1:
                raise SqlError("42725", f"more than one operator named {s}")
            return self.label(reg_oid, found[0][0], path)
        if reg_oid == REGOPERATOR.oid:
            # name(left type, right type), NONE for a prefix operator's missing side
            head, paren, arguments = s.partition("(")
            if not paren or not arguments.rstrip().endswith(")"):
                raise SqlError("22P02", "expected a left parenthesis" if not paren else "expected a right parenthesis")
            sides = [a.strip() for a in arguments.rstrip()[:-1].split(",")]
            if len(sides) != 2:
                raise SqlError("22P02", "expected two type names" if len(sides) < 2 else "expected a right parenthesis")
            left, right = (0 if a.lower() == "none" else type_from_name(a).oid for a in sides)
            found = next((row for row in B.OPERATORS if (row[1], row[5], row[6]) == (head.strip(), left, right)), None)
            if found is None:
                raise SqlError("42883", f"operator does not exist: {s}")
            return self.label(reg_oid, found[0], path)
        if reg_oid == REGNAMESPACE.oid:
            oid = self.namespaces.get(parts[-1])
            if oid is None:
                raise SqlError("42704", f'schema "{s}" does not exist')
            return self.label(reg_oid, oid, path)
        if reg_oid == REGROLE.oid:
            if parts[-1] not in self.roles and all(n != parts[-1] for _, n in B.PREDEFINED_ROLES):
                raise SqlError("42704", f'role "{s}" does not exist')
            return self.label(reg_oid, self.role_oid(parts[-1]), path)
        raise SqlError("0A000", f"input of type {TYPES_BY_OID[reg_oid].name} is not supported")


def _unquote(text: str) -> list[str]:
    """The dot-separated parts of a possibly quoted, possibly qualified name, folded as SQL does."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j = i + 1
            buf = []
            while j < n:
                if text[j] == '"':
                    if text[j + 1:j + 2] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = text.find(".", i)
            j = n if j < 0 else j
            parts.append(text[i:j].strip().lower())
            i = j
        if i < n and text[i] == ".":
            i += 1
    return parts
