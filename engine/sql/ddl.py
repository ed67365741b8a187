"""Schema statements -> schema events.

Each function reads a sqlglot tree, checks it against the transaction's current catalog, and
emits past-tense events (TableCreated, IndexCreated, SequenceCreated, ...) through
`DdlTarget.emit`, which applies them to the transaction's private catalog at once, so a
later part of the same statement (or transaction) sees them. Nothing here touches rows;
the events replay through `apply` like everything else.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Protocol

import msgspec
from sqlglot import exp

from engine import events as ev
from engine.catalog.model import (Catalog, ColumnDef, ConstraintDef, IndexDef, SequenceDef, TableDef)
from engine.errors import SqlError, feature_not_supported
from engine.sql.parser import expression_sql
from engine.sql.planner import datatype_to_sql
from engine.types import INT2, INT4, INT8, SERIAL_NAMES, SqlType

NAMEDATALEN = 63


class DdlTarget(Protocol):
    """What DDL needs from the session: the catalog so far, ids, events and notices."""

    @property
    def catalog(self) -> Catalog: ...
    search_path: tuple[str, ...]
    def creation_schema(self) -> str: ...
    def allocate_id(self) -> int: ...
    def emit(self, event: ev.Event) -> None: ...
    def notice(self, message: str, code: str = "00000") -> None: ...
    def rows(self, table: TableDef) -> list[tuple]: ...
    def truncate(self, table: TableDef) -> None: ...
    def check_writable(self, what: str) -> None: ...


def _command_name(tree: exp.Expression) -> str:
    """The statement as PostgreSQL names it in messages: CREATE TABLE, DROP INDEX, TRUNCATE TABLE, ..."""
    if isinstance(tree, exp.TruncateTable):
        return "TRUNCATE TABLE"
    verb = type(tree).__name__.upper()
    kind = tree.args.get("kind")
    return f"{verb} {kind.upper()}" if isinstance(kind, str) and kind else verb


def run(tree: exp.Expression, target: DdlTarget) -> str:
    """Execute one schema statement; returns its command tag."""
    target.check_writable(_command_name(tree))
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            if tree.args.get("expression") is not None:
                raise feature_not_supported("CREATE TABLE AS")
            return create_table(tree, target)
        if kind == "INDEX":
            return create_index(tree, target)
        raise feature_not_supported(f"CREATE {kind}")
    if isinstance(tree, exp.Drop):
        return drop(tree, target)
    if isinstance(tree, exp.Alter):
        return alter_table(tree, target)
    if isinstance(tree, exp.TruncateTable):
        for ref in tree.expressions:
            target.truncate(target.catalog.table_named(ref.name, ref.db or None, target.search_path))
        return "TRUNCATE TABLE"
    raise feature_not_supported(f"statement {type(tree).__name__.upper()}")


def check_unique_rows(target: DdlTarget, table: TableDef, slots: tuple[int, ...], index_name: str,
                      require_not_null: bool) -> None:
    """Refuse a new unique index (or primary key) that the table's rows already violate."""
    rows = target.rows(table)
    if rows and len(rows[0]) > max(slots):
        keys = list(map(itemgetter(*slots), rows))       # a value, or a tuple of values
        clean = None not in keys if len(slots) == 1 else not any(None in key for key in keys)
        if clean and len(set(keys)) == len(keys):
            return                     # the common case, at C speed; otherwise find the culprit
    seen: set[tuple] = set()
    for row in rows:
        key = tuple(row[s] if s < len(row) else None for s in slots)
        if None in key:
            if require_not_null:
                col = table.column_by_slot(slots[key.index(None)])
                raise SqlError("23502", f'column "{col.name}" of relation "{table.name}" contains null values',
                               table=table.name, column=col.name)
            continue
        if key in seen:
            names = ", ".join(table.column_by_slot(s).name for s in slots)
            values = ", ".join(str(v) for v in key)
            raise SqlError("23505", f'could not create unique index "{index_name}"',
                           detail=f"Key ({names})=({values}) is duplicated.", table=table.name)
        seen.add(key)


def _truncate(name: str) -> str:
    return name.encode()[:NAMEDATALEN].decode(errors="ignore")


def choose_name(catalog: Catalog, schema: str, base: str, suffix: str, taken: set[str]) -> str:
    """PostgreSQL's ChooseRelationName: base_suffix, then base_suffix1, 2, ... if taken."""
    n = 0
    while True:
        tail = f"_{suffix}" + (str(n) if n else "")
        name = _truncate(base)[: NAMEDATALEN - len(tail)] + tail
        if not catalog.name_taken(schema, name) and name not in taken:
            return name
        n += 1


def _qualified(table: exp.Table) -> tuple[str | None, str]:
    return (table.db or None), table.name


def create_table(tree: exp.Create, target: DdlTarget) -> str:
    schema_node = tree.this
    if not isinstance(schema_node, exp.Schema):
        raise feature_not_supported("CREATE TABLE without a column list")
    table_ref = schema_node.this
    schema, name = _qualified(table_ref)
    schema = schema or target.creation_schema()
    catalog = target.catalog
    if schema not in catalog.schemas:
        raise SqlError("3F000", f'schema "{schema}" does not exist')
    if catalog.name_taken(schema, name):
        if tree.args.get("exists"):
            target.notice(f'relation "{name}" already exists, skipping', "42P07")
            return "CREATE TABLE"
        raise SqlError("42P07", f'relation "{name}" already exists')
    for prop in (tree.args.get("properties").expressions if tree.args.get("properties") else []):
        if isinstance(prop, exp.TemporaryProperty):
            raise feature_not_supported("temporary tables")
    table_id = target.allocate_id()
    columns: list[ColumnDef] = []
    constraints: list[ConstraintDef] = []
    sequences: list[SequenceDef] = []
    names_taken: set[str] = set()
    pending_unique: list[tuple[str | None, str, tuple[str, ...]]] = []   # (name, kind, column names)
    pending_checks: list[tuple[str | None, exp.Expression, str | None]] = []

    for item in schema_node.expressions:
        if isinstance(item, exp.ColumnDef):
            col_name = item.name
            if any(c.name == col_name for c in columns):
                raise SqlError("42701", f'column "{col_name}" specified more than once')
            kind = item.args.get("kind")
            if kind is None:
                raise SqlError("42601", f'column "{col_name}" has no type')
            type_name = kind.sql("postgres").lower()
            serial_type = SERIAL_NAMES.get(type_name)
            col_type: SqlType = serial_type or datatype_to_sql(kind)
            not_null = False
            default: str | None = None
            identity = ""
            for c in item.args.get("constraints") or []:
                k = c.args.get("kind")
                cname = c.name or None if isinstance(c, exp.ColumnConstraint) and c.this is not None else None
                if isinstance(k, exp.NotNullColumnConstraint):
                    not_null = not k.args.get("allow_null")
                elif isinstance(k, exp.PrimaryKeyColumnConstraint):
                    pending_unique.append((cname, "p", (col_name,)))
                    not_null = True
                elif isinstance(k, exp.UniqueColumnConstraint):
                    pending_unique.append((cname, "u", (col_name,)))
                elif isinstance(k, exp.DefaultColumnConstraint):
                    default = expression_sql(k.this)
                elif isinstance(k, exp.CheckColumnConstraint):
                    pending_checks.append((cname, k.this, col_name))
                elif isinstance(k, exp.GeneratedAsIdentityColumnConstraint):
                    identity = "a" if k.this else "d"
                    not_null = True
                elif isinstance(k, exp.Reference):
                    raise feature_not_supported("FOREIGN KEY constraints")
                elif isinstance(k, exp.CollateColumnConstraint):
                    continue
                else:
                    raise feature_not_supported(f"column constraint {c.sql('postgres')}")
            if serial_type is not None or identity:
                seq_name = choose_name(catalog, schema, f"{name}_{col_name}", "seq", names_taken)
                names_taken.add(seq_name)
                max_value = {INT2.oid: 32767, INT4.oid: 2147483647, INT8.oid: (1 << 63) - 1}[col_type.oid]
                seq = SequenceDef(target.allocate_id(), schema, seq_name, col_type.oid, 1, 1, 1, max_value,
                                  False, (table_id, len(columns)))
                sequences.append(seq)
                if serial_type is not None:
                    default = f"nextval('{seq_name}'::regclass)"
                    not_null = True
                else:
                    default = f"nextval('{seq_name}'::regclass)"
            columns.append(ColumnDef(len(columns), col_name, col_type.oid, col_type.typmod, not_null, default, identity))
        elif isinstance(item, exp.PrimaryKey):
            pending_unique.append((None, "p", tuple(i.name for i in item.expressions)))
        elif isinstance(item, exp.UniqueColumnConstraint):
            cols = tuple(i.name for i in item.this.expressions) if item.this is not None else ()
            pending_unique.append((None, "u", cols))
        elif isinstance(item, exp.Constraint):
            cname = item.name
            for inner in item.expressions:
                if isinstance(inner, exp.PrimaryKey):
                    pending_unique.append((cname, "p", tuple(i.name for i in inner.expressions)))
                elif isinstance(inner, exp.UniqueColumnConstraint):
                    pending_unique.append((cname, "u", tuple(i.name for i in inner.this.expressions)))
                elif isinstance(inner, exp.CheckColumnConstraint):
                    pending_checks.append((cname, inner.this, None))
                elif isinstance(inner, exp.ForeignKey):
                    raise feature_not_supported("FOREIGN KEY constraints")
                else:
                    raise feature_not_supported(f"constraint {inner.sql('postgres')}")
        elif isinstance(item, exp.CheckColumnConstraint):
            pending_checks.append((None, item.this, None))
        elif isinstance(item, exp.ForeignKey):
            raise feature_not_supported("FOREIGN KEY constraints")
        elif isinstance(item, exp.LikeProperty):
            raise feature_not_supported("CREATE TABLE ... LIKE")
        else:
            raise feature_not_supported(f"table element {item.sql('postgres')}")

    by_name = {c.name: c for c in columns}
    if sum(1 for _, k, _ in pending_unique if k == "p") > 1:
        raise SqlError("42P16", f'multiple primary keys for table "{name}" are not allowed')
    indexes: list[IndexDef] = []
    for cname, kind, col_names in pending_unique:
        slots = []
        for n in col_names:
            if n not in by_name:
                raise SqlError("42703", f'column "{n}" named in key does not exist')
            slots.append(by_name[n].slot)
        if kind == "p":
            columns = [msgspec.structs.replace(c, not_null=True) if c.slot in slots else c for c in columns]
            by_name = {c.name: c for c in columns}
        cname = cname or choose_name(catalog, schema, name if kind == "p" else f"{name}_{'_'.join(col_names)}",
                                     "pkey" if kind == "p" else "key", names_taken)
        names_taken.add(cname)
        constraints.append(ConstraintDef(cname, kind, tuple(slots)))
        indexes.append(IndexDef(target.allocate_id(), cname, table_id, tuple(slots), True, "btree", cname, kind == "p"))
    for cname, expr_node, col_name in pending_checks:
        referenced = [c.name for c in expr_node.find_all(exp.Column)]
        for ref in referenced:
            if ref not in by_name:
                raise SqlError("42703", f'column "{ref}" does not exist')
        distinct = list(dict.fromkeys(referenced))   # PostgreSQL names a check after its column only if it has one
        base = f"{name}_{distinct[0]}" if len(distinct) == 1 else name
        cname = cname or choose_name(catalog, schema, base, "check", names_taken)
        names_taken.add(cname)
        constraints.append(ConstraintDef(cname, "c", tuple(by_name[r].slot for r in dict.fromkeys(referenced)),
                                         check=expression_sql(expr_node)))

    table = TableDef(table_id, schema, name, tuple(columns), len(columns), tuple(constraints))
    target.emit(ev.TableCreated(table))
    for seq in sequences:
        target.emit(ev.SequenceCreated(seq))
    for index in indexes:
        target.emit(ev.IndexCreated(index))
    return "CREATE TABLE"


def drop(tree: exp.Drop, target: DdlTarget) -> str:
    kind = (tree.args.get("kind") or "").upper()
    tag = f"DROP {kind}"
    if kind not in ("TABLE", "INDEX", "SEQUENCE", "VIEW"):
        raise feature_not_supported(f"DROP {kind}")
    refs = tree.args.get("tables") or [tree.this]
    for ref in refs:
        schema, name = _qualified(ref)
        catalog = target.catalog
        found = catalog.relation(name, schema, target.search_path)
        expected = {"TABLE": "table", "INDEX": "index", "SEQUENCE": "sequence", "VIEW": "view"}[kind]
        if found is None or found[0] != expected:
            if found is not None:
                raise SqlError("42809", f'"{name}" is not a {expected}', hint=f"Use DROP {found[0].upper()} to remove a {found[0]}.")
            if tree.args.get("exists"):
                target.notice(f'{expected} "{name}" does not exist, skipping')
                continue
            what = {"table": "table", "index": "index", "sequence": "sequence", "view": "view"}[expected]
            raise SqlError("42P01" if expected in ("table", "view", "sequence") else "42704",
                           f'{what} "{name}" does not exist')
        oid = found[1]
        if expected == "table":
            target.emit(ev.TableDropped(oid))
        elif expected == "index":
            index = catalog.indexes[oid]
            if index.constraint:
                raise SqlError("2BP01", f'cannot drop index {name} because constraint {index.constraint} on table '
                               f'{catalog.tables[index.table_id].name} requires it',
                               hint=f"You can drop constraint {index.constraint} on table {catalog.tables[index.table_id].name} instead.")
            target.emit(ev.IndexDropped(oid))
        elif expected == "sequence":
            target.emit(ev.SequenceDropped(oid))
        else:
            target.emit(ev.ViewDropped(oid))
    return tag


def create_index(tree: exp.Create, target: DdlTarget) -> str:
    index_node = tree.this
    params = index_node.args.get("params")
    table_ref = index_node.args.get("table")
    schema, table_name = _qualified(table_ref)
    catalog = target.catalog
    table = catalog.table_named(table_name, schema, target.search_path)
    slots = []
    for o in params.args.get("columns") or []:
        col = o.this if isinstance(o, exp.Ordered) else o
        if not isinstance(col, exp.Column):
            raise feature_not_supported("indexes on expressions")
        c = table.column(col.name)
        if c is None:
            raise SqlError("42703", f'column "{col.name}" does not exist')
        slots.append(c.slot)
    method = (params.args.get("using").name.lower() if params.args.get("using") is not None else "btree")
    if method not in ("btree", "hash"):
        raise feature_not_supported(f"index method {method}")
    name = index_node.name
    if not name:
        cols = "_".join(table.column_by_slot(s).name for s in slots)
        name = choose_name(catalog, table.schema, f"{table.name}_{cols}", "idx", set())
    if catalog.name_taken(table.schema, name):
        if tree.args.get("exists"):
            target.notice(f'relation "{name}" already exists, skipping', "42P07")
            return "CREATE INDEX"
        raise SqlError("42P07", f'relation "{name}" already exists')
    unique = bool(tree.args.get("unique"))
    if unique:
        check_unique_rows(target, table, tuple(slots), name, require_not_null=False)
    target.emit(ev.IndexCreated(IndexDef(target.allocate_id(), name, table.table_id, tuple(slots), unique, method)))
    return "CREATE INDEX"


def alter_table(tree: exp.Alter, target: DdlTarget) -> str:
    schema, name = _qualified(tree.this)
    catalog = target.catalog
    found = catalog.relation(name, schema, target.search_path)
    if found is None or found[0] != "table":
        if tree.args.get("exists"):
            target.notice(f'relation "{name}" does not exist, skipping')
            return "ALTER TABLE"
        raise SqlError("42P01", f'relation "{name}" does not exist')
    for action in tree.args.get("actions") or []:
        table = target.catalog.tables[found[1]]
        if isinstance(action, exp.AddConstraint):
            for inner in action.expressions:
                cname = None
                if isinstance(inner, exp.Constraint):
                    cname = inner.name
                    inner = inner.expressions[0]
                if isinstance(inner, exp.PrimaryKey):
                    _add_key(table, "p", tuple(i.name for i in inner.expressions), cname, target)
                elif isinstance(inner, exp.UniqueColumnConstraint):
                    _add_key(table, "u", tuple(i.name for i in inner.this.expressions), cname, target)
                else:
                    raise feature_not_supported(f"ALTER TABLE ADD {inner.sql('postgres')}")
        else:
            raise feature_not_supported(f"ALTER TABLE {action.sql('postgres')}")
    return "ALTER TABLE"


def _add_key(table: TableDef, kind: str, col_names: tuple[str, ...], cname: str | None, target: DdlTarget) -> None:
    if kind == "p" and table.primary_key is not None:
        raise SqlError("42P16", f'multiple primary keys for table "{table.name}" are not allowed')
    slots = []
    for n in col_names:
        c = table.column(n)
        if c is None:
            raise SqlError("42703", f'column "{n}" of relation "{table.name}" does not exist')
        slots.append(c.slot)
    catalog = target.catalog
    cname = cname or choose_name(catalog, table.schema, table.name if kind == "p" else f"{table.name}_{'_'.join(col_names)}",
                                 "pkey" if kind == "p" else "key", set())
    check_unique_rows(target, table, tuple(slots), cname, require_not_null=kind == "p")
    columns = table.columns
    if kind == "p":
        columns = tuple(msgspec.structs.replace(c, not_null=True) if c.slot in slots else c for c in columns)
    new_table = msgspec.structs.replace(table, columns=columns,
                                        constraints=table.constraints + (ConstraintDef(cname, kind, tuple(slots)),))
    target.emit(ev.TableAltered(new_table))
    target.emit(ev.IndexCreated(IndexDef(target.allocate_id(), cname, table.table_id, tuple(slots), True, "btree", cname, kind == "p")))
