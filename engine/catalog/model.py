"""Catalog definitions and the immutable `Catalog` value.

Definitions are frozen msgspec structs so the events that carry them serialize directly.
Tables, columns, indexes, sequences and views are referred to by stable integer ids,
never by name, so renames and drops replay correctly. A column's id is also its slot in
every row tuple of its table: slots are never reused, a dropped column leaves its slot.

`engine.catalog.changes.apply_event(catalog, event)` is the only way a catalog changes;
it returns a new catalog and leaves the old one intact (unchanged definitions are shared).
"""
from __future__ import annotations

from typing import Iterable

import msgspec

from engine.errors import SqlError
from engine.types import TYPES_BY_OID, SqlType


class ColumnDef(msgspec.Struct, frozen=True, array_like=True):
    slot: int                       # index in the row tuple; stable for the column's life
    name: str
    type_oid: int
    typmod: int = -1
    not_null: bool = False
    default: str | None = None      # SQL text of the DEFAULT expression
    identity: str = ""              # "", "a" (ALWAYS) or "d" (BY DEFAULT), as pg_attribute.attidentity
    comment: str | None = None
    generated: str | None = None    # SQL text of GENERATED ALWAYS AS (...) STORED, over the row

    @property
    def type(self) -> SqlType:
        t = TYPES_BY_OID[self.type_oid]
        return t.with_typmod(self.typmod) if self.typmod != -1 else t


class ConstraintDef(msgspec.Struct, frozen=True, array_like=True):
    name: str
    kind: str                       # "p" primary key, "u" unique, "c" check, "f" foreign key
    columns: tuple[int, ...] = ()   # slots
    check: str | None = None        # SQL text of a CHECK expression
    ref_table: int = 0              # foreign key target table id
    ref_columns: tuple[int, ...] = ()
    on_delete: str = "a"            # as pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default
    on_update: str = "a"
    comment: str | None = None


class IndexDef(msgspec.Struct, frozen=True, array_like=True):
    index_id: int
    name: str
    table_id: int
    columns: tuple[int, ...]        # slots, in key order
    unique: bool = False
    method: str = "btree"           # "btree" or "hash"
    constraint: str | None = None   # name of the PRIMARY KEY / UNIQUE constraint it enforces
    primary: bool = False
    comment: str | None = None


class TableDef(msgspec.Struct, frozen=True, array_like=True):
    table_id: int
    schema: str
    name: str
    columns: tuple[ColumnDef, ...]  # in attnum order (the order of SELECT *)
    width: int                      # number of slots in a row tuple (>= every column's slot + 1)
    constraints: tuple[ConstraintDef, ...] = ()
    comment: str | None = None
    owner: str = "postgres"         # the role that created it (indexes have their table's owner)

    def column(self, name: str) -> ColumnDef | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def named_columns(self, names: Iterable[str]) -> list[ColumnDef]:
        """The columns a statement lists by name (INSERT, COPY), in the order given."""
        out: list[ColumnDef] = []
        for name in names:
            c = self.column(name)
            if c is None:
                raise SqlError("42703", f'column "{name}" of relation "{self.name}" does not exist')
            if c in out:
                raise SqlError("42701", f'column "{name}" specified more than once')
            out.append(c)
        return out

    def column_by_slot(self, slot: int) -> ColumnDef | None:
        for c in self.columns:
            if c.slot == slot:
                return c
        return None

    @property
    def primary_key(self) -> ConstraintDef | None:
        for c in self.constraints:
            if c.kind == "p":
                return c
        return None


class SequenceDef(msgspec.Struct, frozen=True, array_like=True):
    seq_id: int
    schema: str
    name: str
    type_oid: int = 20
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = (1 << 63) - 1
    cycle: bool = False
    owned_by: tuple[int, int] | None = None  # (table_id, column slot)
    comment: str | None = None
    owner: str = "postgres"         # the role that created it (an owned sequence shows its table's owner)


class ViewDef(msgspec.Struct, frozen=True, array_like=True):
    view_id: int
    schema: str
    name: str
    sql: str                        # the defining query, relation names qualified with their schema
    column_names: tuple[str, ...] = ()
    comment: str | None = None
    depends_on: tuple[int, ...] = ()  # the tables and views it reads (they cannot be dropped without CASCADE)
    # the columns of a view that reads the past (FOR SYSTEM_TIME), as made: they are shaped
    # by the catalog of that point, which today's catalog cannot tell
    past_columns: tuple[ColumnDef, ...] = ()
    owner: str = "postgres"         # the role that created it


class RoleDef(msgspec.Struct, frozen=True, array_like=True):
    name: str
    superuser: bool = False
    login: bool = True
    password: str | None = None     # a SCRAM-SHA-256 verifier, never the password
    createdb: bool = False
    createrole: bool = False


DEFAULT_SCHEMAS = ("public",)
# object ids from here on belong to one session's temporary objects (engine.txn.temp), never
# to the log; they do not move `Catalog.next_id`
TEMP_ID_BASE = 1_000_000_000


class Catalog:
    """An immutable catalog as of one LSN. Lookups by name take a search path."""

    __slots__ = ("tables", "indexes", "sequences", "views", "schemas", "roles", "next_id",
                 "_names")

    def __init__(self, tables: dict[int, TableDef] | None = None, indexes: dict[int, IndexDef] | None = None,
                 sequences: dict[int, SequenceDef] | None = None, views: dict[int, ViewDef] | None = None,
                 schemas: tuple[str, ...] = DEFAULT_SCHEMAS, roles: dict[str, RoleDef] | None = None,
                 next_id: int = 16384) -> None:
        self.tables = tables or {}
        self.indexes = indexes or {}
        self.sequences = sequences or {}
        self.views = views or {}
        self.schemas = schemas
        self.roles = roles or {}
        self.next_id = next_id      # the next free object id (also used as pg_class oid)
        names: dict[tuple[str, str], tuple[str, int]] = {}
        for t in self.tables.values():
            names[(t.schema, t.name)] = ("table", t.table_id)
        for s in self.sequences.values():
            names[(s.schema, s.name)] = ("sequence", s.seq_id)
        for v in self.views.values():
            names[(v.schema, v.name)] = ("view", v.view_id)
        for i in self.indexes.values():
            names[(self.tables[i.table_id].schema, i.name)] = ("index", i.index_id)
        self._names = names

    def _replace(self, **changes) -> Catalog:
        fields = {k: getattr(self, k) for k in ("tables", "indexes", "sequences", "views", "schemas", "roles", "next_id")}
        fields.update(changes)
        return Catalog(**fields)

    # ------------------------------------------------------------ lookups

    def relation(self, name: str, schema: str | None, search_path: Iterable[str]) -> tuple[str, int] | None:
        """Resolve a relation name to ("table"|"view"|"sequence"|"index", id)."""
        if schema is not None:
            found = self._names.get((schema, name))
            if found is None and schema == "pg_temp":       # the session's temporary schema, pg_temp_N
                temp = next((s for s in self.schemas if s.startswith("pg_temp_")), None)
                return self._names.get((temp, name)) if temp is not None else None
            return found
        for s in search_path:
            found = self._names.get((s, name))
            if found is not None:
                return found
        return None

    def table_named(self, name: str, schema: str | None, search_path: Iterable[str]) -> TableDef:
        found = self.relation(name, schema, search_path)
        if found is None or found[0] != "table":
            if found is not None:
                raise SqlError("42809", f'"{name}" is not a table')
            raise SqlError("42P01", f'relation "{schema + "." if schema else ""}{name}" does not exist')
        return self.tables[found[1]]

    def name_taken(self, schema: str, name: str) -> bool:
        return (schema, name) in self._names

    def indexes_of(self, table_id: int) -> list[IndexDef]:
        return [i for i in self.indexes.values() if i.table_id == table_id]

    def sequence_named(self, name: str, schema: str | None, search_path: Iterable[str]) -> SequenceDef:
        found = self.relation(name, schema, search_path)
        if found is None or found[0] != "sequence":
            raise SqlError("42P01", f'relation "{name}" does not exist')
        return self.sequences[found[1]]
