"""Schema statements -> schema events (and the row changes some of them imply).

Each statement is checked against the transaction's current catalog and turned into
past-tense events (TableCreated, ColumnAltered, ViewCreated, SequenceAltered, ...) emitted
through `DdlTarget.emit`, which applies them to the transaction's private catalog at once,
so a later part of the same statement (or transaction) sees them. Statements that change
existing rows (ALTER COLUMN TYPE, ADD COLUMN with a volatile default, TRUNCATE, CREATE
TABLE AS) do it through the target's row methods, as row events of the same transaction.
Everything replays through `apply`.

Dependencies are PostgreSQL's: a table referenced by a foreign key, a view used by another
view, a sequence a column's default uses, a schema holding objects, cannot be dropped
without CASCADE (2BP01), which then drops (or detaches) the dependents with a notice each.

Column storage (catalog.model): a column keeps its slot for life; ALTER COLUMN TYPE moves
it to a new slot (the old slot keeps the old values for reads of the past) and rewrites
the rows; DROP COLUMN leaves its slot behind.

A few statements sqlglot does not parse (ALTER SEQUENCE, COMMENT ON, DROP SCHEMA with a
list, ALTER TABLE ... SET SCHEMA / RENAME CONSTRAINT, CREATE SEQUENCE) reach `run` as an
`exp.Command` holding their text and are read by the small word parser here.
"""
from __future__ import annotations

import re
from operator import itemgetter
from typing import Any, Callable, Iterable, Protocol

import msgspec
from sqlglot import exp

from engine import events as ev
from engine.catalog.model import (TEMP_ID_BASE, Catalog, ColumnDef, ConstraintDef, IndexDef, RoleDef, SequenceDef,
                                  TableDef, ViewDef)
from engine.errors import SqlError, feature_not_supported, syntax_error
from engine.events import storage_value
from engine.exec.casts import castable
from engine.exec.functions import FUNCTIONS, implicitly_castable
from engine.sql.parser import Tokens, expression_sql, parse_sql
from engine.sql.planner import datatype_to_sql, function_name
from engine.txn.temp import is_temp_schema
from engine.types import (INT2, INT4, INT8, SERIAL_NAMES, UNKNOWN, UTC, SqlType, format_type, text_parser,
                          type_from_name)

NAMEDATALEN = 63


class DdlTarget(Protocol):
    """What DDL needs from the session: the catalog so far, ids, events and notices, the rows
    of a table, and planning and evaluating SQL."""

    @property
    def catalog(self) -> Catalog: ...
    search_path: tuple[str, ...]
    user: str                       # the session's role: what it creates, it owns
    def creation_schema(self) -> str: ...
    def allocate_id(self, schema: str) -> int: ...
    def temporary_schema(self) -> str: ...
    def set_on_commit(self, table_id: int, action: str) -> None: ...
    def emit(self, event: ev.Event) -> None: ...
    def notice(self, message: str, code: str = "00000", severity: str = "NOTICE") -> None: ...
    def check_writable(self, what: str) -> None: ...
    def items(self, table: TableDef) -> list[tuple[int, tuple]]: ...
    def rows(self, table: TableDef) -> list[tuple]: ...
    def insert(self, table: TableDef, row: tuple) -> None: ...
    def update(self, table: TableDef, rowid: int, row: tuple) -> None: ...
    def truncate(self, table: TableDef) -> None: ...
    def row_function(self, table: TableDef, node: exp.Expression, target: SqlType | None,
                     context: str) -> Callable[[tuple], Any]: ...
    def query(self, tree: exp.Expression, run: bool) -> tuple[list[tuple[str, SqlType]], list[tuple]]: ...
    def set_sequence(self, seq: SequenceDef, value: int, is_called: bool) -> None: ...
    def role(self, name: str) -> RoleDef | None: ...


def _command_name(tree: exp.Expression) -> str:
    """The statement as PostgreSQL names it in messages: CREATE TABLE, DROP INDEX, TRUNCATE TABLE, ..."""
    if isinstance(tree, exp.TruncateTable):
        return "TRUNCATE TABLE"
    verb = type(tree).__name__.upper()
    kind = tree.args.get("kind")
    return f"{verb} {kind.upper()}" if isinstance(kind, str) and kind else verb


def run(tree: exp.Expression, target: DdlTarget) -> str:
    """Execute one schema statement; returns its command tag."""
    if isinstance(tree, exp.Command):
        return run_command(tree.name, target)
    target.check_writable(_command_name(tree))
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            if tree.args.get("expression") is not None:
                return create_table_as(tree, target)
            return create_table(tree, target)
        if kind == "INDEX":
            return create_index(tree, target)
        if kind == "VIEW":
            return create_view(tree, target)
        if kind == "SCHEMA":
            return create_schema(tree, target)
        raise feature_not_supported(f"CREATE {kind}")
    if isinstance(tree, exp.Drop):
        return drop(tree, target)
    if isinstance(tree, exp.Alter):
        if (tree.args.get("kind") or "TABLE").upper() != "TABLE":
            raise feature_not_supported(f"ALTER {tree.args.get('kind')}")
        return alter_table(tree, target)
    if isinstance(tree, exp.TruncateTable):
        return truncate(tree, target)
    raise feature_not_supported(f"statement {type(tree).__name__.upper()}")


# -------------------------------------------------------------------- helpers


def _truncate(name: str) -> str:
    return name.encode()[:NAMEDATALEN].decode(errors="ignore")


def choose_name(catalog: Catalog, schema: str, base: str, suffix: str, taken: set[str]) -> str:
    """PostgreSQL's ChooseRelationName: base_suffix, then base_suffix1, 2, ... if taken."""
    n = 0
    while True:
        tail = f"_{suffix}" + (str(n) if n else "")
        name = _truncate(base)[: NAMEDATALEN - len(tail)] + tail
        if not catalog.name_taken(schema, name) and name not in taken and not _constraint_taken(catalog, schema, name):
            return name
        n += 1


def _constraint_taken(catalog: Catalog, schema: str, name: str) -> bool:
    return any(c.name == name for t in catalog.tables.values() if t.schema == schema for c in t.constraints)


def _qualified(table: exp.Table) -> tuple[str | None, str]:
    return (table.db or None), table.name


def _lookup(target: DdlTarget, schema: str | None, name: str) -> tuple[str, int] | None:
    return target.catalog.relation(name, schema, target.search_path)


def _table(target: DdlTarget, schema: str | None, name: str, missing_ok: bool = False) -> TableDef | None:
    found = _lookup(target, schema, name)
    if found is None:
        if missing_ok:
            target.notice(f'relation "{name}" does not exist, skipping')
            return None
        raise SqlError("42P01", f'relation "{(schema + ".") if schema else ""}{name}" does not exist')
    if found[0] != "table":
        raise SqlError("42809", f'"{name}" is not a table')
    return target.catalog.tables[found[1]]


def _emit_table(target: DdlTarget, table: TableDef) -> TableDef:
    target.emit(ev.TableAltered(table))
    return table


def _column_type(kind: exp.DataType) -> tuple[SqlType, SqlType | None]:
    """A column's declared type, and the integer type if it was written as serial."""
    serial = SERIAL_NAMES.get(kind.sql("postgres").lower())
    return (serial or datatype_to_sql(kind)), serial


def _is_volatile(node: exp.Expression) -> bool:
    """Whether an expression calls a volatile function (nextval, random, clock_timestamp, ...)."""
    for call in node.find_all(exp.Anonymous, exp.Func):
        name = call.name.lower() if isinstance(call, exp.Anonymous) else call.sql_name().lower()
        if any(sig.volatile for sig in FUNCTIONS.get(name, ())):
            return True
    return False


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


# -------------------------------------------------------------------- CREATE TABLE


class _TableBuilder:
    """Collects a new (or altered) table's columns, keys, checks, foreign keys and sequences."""

    def __init__(self, target: DdlTarget, schema: str, name: str, table_id: int,
                 columns: list[ColumnDef] | None = None, width: int = 0) -> None:
        self.target = target
        self.schema = schema
        self.name = name
        self.table_id = table_id
        self.columns: list[ColumnDef] = columns or []
        self.width = width
        self.names_taken: set[str] = set()
        self.sequences: list[SequenceDef] = []
        self.keys: list[tuple[str | None, str, tuple[str, ...]]] = []          # (name, "p"/"u", columns)
        self.checks: list[tuple[str | None, exp.Expression, str | None]] = []
        self.defaults: list[tuple[str, SqlType, exp.Expression]] = []      # (column, type, DEFAULT) as written
        self.generated: list[tuple[str, SqlType, exp.Expression]] = []     # (column, type, expression) as written
        self.foreign: list[tuple[str | None, tuple[str, ...], exp.Expression]] = []

    def column(self, item: exp.ColumnDef) -> ColumnDef:
        col_name = item.name
        if any(c.name == col_name for c in self.columns):
            raise SqlError("42701", f'column "{col_name}" specified more than once')
        kind = item.args.get("kind")
        if kind is None:
            raise SqlError("42601", f'column "{col_name}" has no type')
        col_type, serial = _column_type(kind)
        not_null = False
        default: str | None = None
        generated: str | None = None
        identity = ""
        identity_options: dict[str, int] = {}
        slot = self.width
        for c in item.args.get("constraints") or []:
            k = c.args.get("kind")
            cname = c.name or None if isinstance(c, exp.ColumnConstraint) and c.this is not None else None
            if isinstance(k, exp.NotNullColumnConstraint):
                not_null = not k.args.get("allow_null")
            elif isinstance(k, exp.PrimaryKeyColumnConstraint):
                self.keys.append((cname, "p", (col_name,)))
                not_null = True
            elif isinstance(k, exp.UniqueColumnConstraint):
                self.keys.append((cname, "u", (col_name,)))
            elif isinstance(k, exp.DefaultColumnConstraint):
                default = expression_sql(k.this)
                self.defaults.append((col_name, col_type, k.this))
            elif isinstance(k, exp.CheckColumnConstraint):
                self.checks.append((cname, k.this, col_name))
            elif isinstance(k, exp.GeneratedAsIdentityColumnConstraint):
                if col_type.oid not in (INT2.oid, INT4.oid, INT8.oid):
                    raise SqlError("22023", 'identity column type must be smallint, integer, or bigint')
                identity = "a" if k.this else "d"
                not_null = True
                for key in ("start", "increment", "minvalue", "maxvalue"):
                    if k.args.get(key) is not None:
                        identity_options[key] = _integer(k.args[key])
            elif isinstance(k, exp.ComputedColumnConstraint):
                generated = expression_sql(k.this)
                self.generated.append((col_name, col_type, k.this))
            elif isinstance(k, exp.Reference):
                self.foreign.append((cname, (col_name,), k))
            elif isinstance(k, exp.CollateColumnConstraint):
                continue
            else:
                raise feature_not_supported(f"column constraint {c.sql('postgres')}")
        if generated is not None and (default is not None or identity or serial is not None):
            raise SqlError("42601", f'both {"default" if default is not None or serial else "identity"} and generation '
                                    f'expression specified for column "{col_name}" of table "{self.name}"')
        if serial is not None or identity:
            seq_name = choose_name(self.target.catalog, self.schema, f"{self.name}_{col_name}", "seq", self.names_taken)
            self.names_taken.add(seq_name)
            seq = _sequence_def(self.target.allocate_id(self.schema), self.schema, seq_name, col_type, identity_options,
                                owned_by=(self.table_id, slot), owner=self.target.user)
            self.sequences.append(seq)
            default = f"nextval('{_quote_name(seq_name)}'::regclass)"
            not_null = True
        column = ColumnDef(slot, col_name, col_type.oid, col_type.typmod, not_null, default, identity,
                           generated=generated)
        self.columns.append(column)
        self.width = slot + 1
        return column

    def constraint(self, item: exp.Expression) -> None:
        """A table constraint: PRIMARY KEY (...), UNIQUE (...), CHECK (...), FOREIGN KEY (...)."""
        cname = None
        inner = [item]
        if isinstance(item, exp.Constraint):
            cname = item.name
            inner = list(item.expressions)
        for c in inner:
            if isinstance(c, exp.PrimaryKey):
                self.keys.append((cname, "p", tuple(i.name for i in c.expressions)))
            elif isinstance(c, exp.UniqueColumnConstraint):
                self.keys.append((cname, "u", tuple(i.name for i in c.this.expressions) if c.this is not None else ()))
            elif isinstance(c, exp.CheckColumnConstraint):
                self.checks.append((cname, c.this, None))
            elif isinstance(c, exp.ForeignKey):
                self.foreign.append((cname, tuple(i.name for i in c.expressions), c.args["reference"]))
            else:
                raise feature_not_supported(f"constraint {c.sql('postgres')}")

    def finish(self, existing: Iterable[ConstraintDef] = ()) -> tuple[list[ConstraintDef], list[IndexDef]]:
        """Resolve the collected keys, checks and foreign keys into constraints and indexes."""
        catalog = self.target.catalog
        by_name = {c.name: c for c in self.columns}
        existing = list(existing)
        if sum(1 for _, k, _ in self.keys if k == "p") + sum(1 for c in existing if c.kind == "p") > 1:
            raise SqlError("42P16", f'multiple primary keys for table "{self.name}" are not allowed')
        constraints: list[ConstraintDef] = []
        indexes: list[IndexDef] = []
        taken = self.names_taken | {c.name for c in existing}
        for cname, kind, col_names in self.keys:
            slots = []
            for n in col_names:
                if n not in by_name:
                    raise SqlError("42703", f'column "{n}" named in key does not exist')
                slots.append(by_name[n].slot)
            if kind == "p":
                self.columns = [msgspec.structs.replace(c, not_null=True) if c.slot in slots else c for c in self.columns]
                by_name = {c.name: c for c in self.columns}
            cname = cname or choose_name(catalog, self.schema,
                                         self.name if kind == "p" else f"{self.name}_{'_'.join(col_names)}",
                                         "pkey" if kind == "p" else "key", taken)
            if cname in taken or catalog.name_taken(self.schema, cname):
                raise SqlError("42P07", f'relation "{cname}" already exists')
            taken.add(cname)
            constraints.append(ConstraintDef(cname, kind, tuple(slots)))
            indexes.append(IndexDef(self.target.allocate_id(self.schema), cname, self.table_id, tuple(slots), True, "btree",
                                    cname, kind == "p"))
        for cname, node, col_name in self.checks:
            _refuse_subquery(node, "check constraint")
            referenced = [c.name for c in node.find_all(exp.Column)]
            for ref in referenced:
                if ref not in by_name:
                    raise SqlError("42703", f'column "{ref}" does not exist')
            distinct = list(dict.fromkeys(referenced))   # PostgreSQL names a check after its column only if it has one
            base = f"{self.name}_{distinct[0]}" if len(distinct) == 1 else self.name
            cname = cname or choose_name(catalog, self.schema, base, "check", taken)
            if cname in taken:
                raise SqlError("42710", f'constraint "{cname}" for relation "{self.name}" already exists')
            taken.add(cname)
            constraints.append(ConstraintDef(cname, "c", tuple(by_name[r].slot for r in distinct),
                                             check=expression_sql(node)))
        own_keys = [(c.columns, c.kind) for c in existing + constraints if c.kind in ("p", "u")]
        for cname, col_names, ref in self.foreign:
            constraints.append(self._foreign_key(cname, col_names, ref, by_name, own_keys, taken))
        return constraints, indexes

    def _foreign_key(self, cname: str | None, col_names: tuple[str, ...], ref: exp.Expression,
                     by_name: dict[str, ColumnDef], own_keys, taken: set[str]) -> ConstraintDef:
        catalog = self.target.catalog
        target_node = ref.this
        ref_columns: tuple[str, ...] = ()
        if isinstance(target_node, exp.Schema):
            ref_columns = tuple(i.name for i in target_node.expressions)
            target_node = target_node.this
        ref_schema, ref_name = _qualified(target_node)
        self_reference = ref_name == self.name and (ref_schema or self.schema) == self.schema and \
            _lookup(self.target, ref_schema, ref_name) in (None, ("table", self.table_id))
        for n in col_names:
            if n not in by_name:
                raise SqlError("42703", f'column "{n}" referenced in foreign key constraint does not exist')
        if self_reference:
            parent_columns = {c.name: c for c in self.columns}
            parent_keys = own_keys
            parent_id, parent_name = self.table_id, self.name
        else:
            parent = _table(self.target, ref_schema, ref_name)
            if is_temp_schema(parent.schema) != is_temp_schema(self.schema):
                raise SqlError("42P16", "constraints on temporary tables may reference only temporary tables"
                               if is_temp_schema(self.schema) else
                               "constraints on permanent tables may reference only permanent tables")
            parent_columns = {c.name: c for c in parent.columns}
            parent_keys = [(c.columns, c.kind) for c in parent.constraints if c.kind in ("p", "u")]
            parent_id, parent_name = parent.table_id, parent.name
        if ref_columns:
            for n in ref_columns:
                if n not in parent_columns:
                    raise SqlError("42703", f'column "{n}" referenced in foreign key constraint does not exist')
            ref_slots = tuple(parent_columns[n].slot for n in ref_columns)
            if not any(set(cols) == set(ref_slots) and len(cols) == len(ref_slots) for cols, _ in parent_keys):
                raise SqlError("42830", f'there is no unique constraint matching given keys for referenced table '
                                        f'"{parent_name}"')
        else:
            primary = next((cols for cols, kind in parent_keys if kind == "p"), None)
            if primary is None:
                raise SqlError("42830", f'there is no primary key for referenced table "{parent_name}"')
            ref_slots = tuple(primary)
        if len(ref_slots) != len(col_names):
            raise SqlError("42830", "number of referencing and referenced columns for foreign key disagree")
        cname = cname or choose_name(catalog, self.schema, f"{self.name}_{'_'.join(col_names)}", "fkey", taken)
        taken.add(cname)
        slot_names = {c.slot: c for c in parent_columns.values()}
        for n, s in zip(col_names, ref_slots):
            mine, theirs = by_name[n].type, slot_names[s].type
            if not _comparable(mine, theirs):
                raise SqlError("42804", f'foreign key constraint "{cname}" cannot be implemented',
                               detail=f'Key columns "{n}" and "{slot_names[s].name}" are of incompatible types: '
                                      f'{format_type(mine)} and {format_type(theirs)}.')
        on_delete, on_update = "a", "a"
        for option in ref.args.get("options") or []:
            text = (option if isinstance(option, str) else option.sql()).upper()
            m = re.match(r"ON\s+(DELETE|UPDATE)\s+(CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION)", text)
            if m is None:
                if text.startswith("MATCH SIMPLE") or text in ("NOT DEFERRABLE", "INITIALLY IMMEDIATE"):
                    continue
                raise feature_not_supported(f"foreign key option {text}")
            code = {"CASCADE": "c", "SET NULL": "n", "SET DEFAULT": "d", "RESTRICT": "r", "NO ACTION": "a"}[m.group(2)]
            if m.group(1) == "DELETE":
                on_delete = code
            else:
                on_update = code
        return ConstraintDef(cname, "f", tuple(by_name[n].slot for n in col_names), None, parent_id, ref_slots,
                             on_delete, on_update)


def _comparable(a: SqlType, b: SqlType) -> bool:
    return implicitly_castable(a, b) or implicitly_castable(b, a)


def _integer(node: exp.Expression) -> int:
    text = node.sql("postgres")
    try:
        return int(text)
    except ValueError:
        raise syntax_error(f'syntax error at or near "{text}"') from None


def _quote_name(name: str) -> str:
    from engine.exec.text_functions import quote_ident
    return quote_ident(name).replace("'", "''")


def create_table(tree: exp.Create, target: DdlTarget) -> str:
    schema_node = tree.this
    if not isinstance(schema_node, exp.Schema):
        raise feature_not_supported("CREATE TABLE without a column list")
    schema, name = _new_relation(tree, schema_node.this, target)
    if name is None:
        return "CREATE TABLE"
    builder = _TableBuilder(target, schema, name, target.allocate_id(schema))
    for item in schema_node.expressions:
        if isinstance(item, exp.ColumnDef):
            builder.column(item)
        elif isinstance(item, (exp.PrimaryKey, exp.UniqueColumnConstraint, exp.Constraint, exp.CheckColumnConstraint,
                               exp.ForeignKey)):
            builder.constraint(item)
        elif isinstance(item, exp.LikeProperty):
            raise feature_not_supported("CREATE TABLE ... LIKE")
        else:
            raise feature_not_supported(f"table element {item.sql('postgres')}")
    constraints, indexes = builder.finish()
    table = TableDef(builder.table_id, schema, name, tuple(builder.columns), builder.width, tuple(constraints),
                     owner=target.user)
    for _, col_type, node in builder.defaults:
        check_default(table, node, col_type, target)
    for _, col_type, node in builder.generated:
        check_generated(table, node, col_type, target)
    target.emit(ev.TableCreated(table))
    for seq in builder.sequences:
        target.emit(ev.SequenceCreated(seq))
    for index in indexes:
        target.emit(ev.IndexCreated(index))
    _on_commit(tree, table, target)
    return "CREATE TABLE"


def _refuse_subquery(node: exp.Expression, where: str) -> None:
    if any(True for _ in node.find_all(exp.Subquery, exp.Exists, exp.Select)):
        raise SqlError("0A000", f"cannot use subquery in {where}")


def check_generated(table: TableDef, node: exp.Expression, col_type: SqlType, target: DdlTarget) -> None:
    """A generation expression reads the row's other (not generated) columns with immutable
    functions only, and casts to the column's type."""
    for ref in node.find_all(exp.Column):
        col = table.column(ref.name)
        if col is not None and col.generated is not None:
            raise SqlError("42P17", f'cannot use generated column "{col.name}" in column generation expression',
                           detail="A generated column cannot reference another generated column.")
    _refuse_subquery(node, "column generation expression")
    for call in node.find_all(exp.Func):
        signatures = FUNCTIONS.get(function_name(call), ())
        if isinstance(call, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)) or \
                any(not s.immutable for s in signatures) and not any(s.immutable for s in signatures):
            raise SqlError("42P17", "generation expression is not immutable")
    target.row_function(table, node, col_type, "generation")


def check_default(table: TableDef, node: exp.Expression, col_type: SqlType, target: DdlTarget) -> None:
    """A DEFAULT expression must bind without columns and cast to the column's type. A string
    literal is converted now, as PostgreSQL's parser converts one (DEFAULT 'x' on an integer
    column fails at CREATE TABLE; DEFAULT 1/0 or a too long value at the first insert)."""
    _refuse_subquery(node, "DEFAULT expression")
    if any(True for _ in node.find_all(exp.Column)):
        raise SqlError("0A000", "cannot use column reference in default expression")
    target.row_function(table, node, col_type, "DEFAULT")
    inner, as_type = node, col_type.base
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Cast) and isinstance(inner.this, exp.Literal):
        inner, as_type = inner.this, datatype_to_sql(inner.args["to"]).base
    if isinstance(inner, exp.Literal) and inner.is_string:
        text_parser(as_type, UTC)(inner.this)


def creates_temporary(tree: exp.Expression) -> bool:
    """Whether a statement is CREATE TEMPORARY ... (or CREATE ... pg_temp.name)."""
    if not isinstance(tree, exp.Create):
        return False
    ref = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return _properties(tree, exp.TemporaryProperty) is not None or (isinstance(ref, exp.Table) and ref.db == "pg_temp")


def _properties(tree: exp.Create, kind: type) -> exp.Expression | None:
    return next((p for p in (tree.args.get("properties").expressions if tree.args.get("properties") else [])
                 if isinstance(p, kind)), None)


def _temporary_place(schema: str | None, target: DdlTarget) -> str:
    """The session's temporary schema, for a temporary object (written unqualified or as pg_temp.name)."""
    if schema is not None and schema != "pg_temp" and not is_temp_schema(schema):
        raise SqlError("42P16", "cannot create temporary relation in non-temporary schema")
    return target.temporary_schema()


def _creation_place(tree: exp.Create, ref: exp.Table, target: DdlTarget, temporary: str | None) -> tuple[str, str]:
    """The existing schema and the name a CREATE puts its relation at: the session's temporary
    schema for CREATE TEMPORARY (or pg_temp.name); where that is not supported (`temporary`
    names what) it answers 0A000."""
    schema, name = _qualified(ref)
    if creates_temporary(tree):
        if temporary is not None:
            raise feature_not_supported(temporary)
        return _temporary_place(schema, target), name
    schema = schema or target.creation_schema()
    if schema not in target.catalog.schemas:
        raise SqlError("3F000", f'schema "{schema}" does not exist')
    return schema, name


def _on_commit(tree: exp.Create, table: TableDef, target: DdlTarget) -> None:
    """ON COMMIT PRESERVE ROWS (the default) / DELETE ROWS / DROP of a temporary table."""
    prop = _properties(tree, exp.OnCommitProperty)
    if prop is None:
        return
    if not is_temp_schema(table.schema):
        raise SqlError("42P16", "ON COMMIT can only be used on temporary tables")
    action = "drop" if prop.args.get("drop") else "delete" if prop.args.get("delete") else None
    if action is not None:
        target.set_on_commit(table.table_id, action)


def _new_relation(tree: exp.Create, ref: exp.Table, target: DdlTarget) -> tuple[str, str | None]:
    """The schema and name of a relation about to be created (name None: IF NOT EXISTS and it does)."""
    schema, name = _creation_place(tree, ref, target, None)
    if target.catalog.name_taken(schema, name):
        if tree.args.get("exists"):
            target.notice(f'relation "{name}" already exists, skipping', "42P07")
            return schema, None
        raise SqlError("42P07", f'relation "{name}" already exists')
    return schema, name


def stored_query(tree: exp.Expression, target: DdlTarget) -> exp.Expression | None:
    """The query whose rows a schema statement will store: that of CREATE TABLE AS ... WITH
    DATA, unless IF NOT EXISTS finds the name taken. The session readies the past states it
    reads (in a worker thread) before `run` runs it."""
    if not (isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "TABLE"
            and tree.args.get("expression") is not None and _with_data(tree)):
        return None
    ref = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    schema, name = _qualified(ref)
    if tree.args.get("exists") and target.catalog.name_taken(schema or target.creation_schema(), name):
        return None
    return tree.expression


def _with_data(tree: exp.Create) -> bool:
    """CREATE TABLE AS's WITH [NO] DATA (WITH DATA unless said)."""
    for prop in (tree.args.get("properties").expressions if tree.args.get("properties") else []):
        if isinstance(prop, exp.WithDataProperty):
            return not prop.args.get("no")
    return True


def create_table_as(tree: exp.Create, target: DdlTarget) -> str:
    """CREATE TABLE name [(columns)] AS query [WITH [NO] DATA]: tag SELECT n, or CREATE TABLE AS."""
    ref = tree.this
    names: list[str] = []
    if isinstance(ref, exp.Schema):
        names = [i.name for i in ref.expressions]
        ref = ref.this
    schema, name = _new_relation(tree, ref, target)
    if name is None:
        return "CREATE TABLE AS"
    with_data = _with_data(tree)
    columns, rows = target.query(tree.expression, with_data)
    if len(names) > len(columns):
        raise SqlError("42601", "too many column names were specified")
    names = names + [n for n, _ in columns[len(names):]]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SqlError("42701", f'column "{dup}" specified more than once')
    defs = []
    for i, (n, (_, t)) in enumerate(zip(names, columns)):
        t = t if t.oid != UNKNOWN.oid else type_from_name("text")
        defs.append(ColumnDef(i, n, t.oid, t.typmod))
    table = TableDef(target.allocate_id(schema), schema, name, tuple(defs), len(defs), owner=target.user)
    target.emit(ev.TableCreated(table))
    _on_commit(tree, table, target)
    if not with_data:
        return "CREATE TABLE AS"
    for row in rows:
        target.insert(table, row)
    return f"SELECT {len(rows)}"


# -------------------------------------------------------------------- CREATE INDEX


def create_index(tree: exp.Create, target: DdlTarget) -> str:
    index_node = tree.this
    params = index_node.args.get("params")
    schema, table_name = _qualified(index_node.args.get("table"))
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
    if params.args.get("where") is not None:
        raise feature_not_supported("partial indexes")
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
    target.emit(ev.IndexCreated(IndexDef(target.allocate_id(table.schema), name, table.table_id, tuple(slots), unique, method)))
    return "CREATE INDEX"


# -------------------------------------------------------------------- views


def create_view(tree: exp.Create, target: DdlTarget) -> str:
    ref = tree.this
    names: list[str] = []
    if isinstance(ref, exp.Schema):
        names = [i.name for i in ref.expressions]
        ref = ref.this
    schema, name = _creation_place(tree, ref, target, "temporary views")
    catalog = target.catalog
    query = tree.expression
    columns, _ = target.query(query, False)
    if len(names) > len(columns):
        raise SqlError("42601", "CREATE VIEW specifies more column names than columns")
    names = names + [n for n, _ in columns[len(names):]]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise SqlError("42701", f'column "{n}" specified more than once')
        seen.add(n)
    sql, depends_on = _view_text(query, target)
    if any(oid >= TEMP_ID_BASE for oid in depends_on):
        raise feature_not_supported("views on temporary tables")
    existing = catalog.relation(name, schema, ())
    view_id = None
    if existing is not None:
        if not tree.args.get("replace") or existing[0] != "view":
            if existing[0] != "view" and tree.args.get("replace"):
                raise SqlError("42809", f'"{name}" is not a view')
            raise SqlError("42P07", f'relation "{name}" already exists')
        old = catalog.views[existing[1]]
        old_columns = target.query(parse_sql(old.sql), False)[0]
        if len(columns) < len(old.column_names):
            raise SqlError("42P16", "cannot drop columns from view")
        for i, (old_name, (_, old_type)) in enumerate(zip(old.column_names, old_columns)):
            if names[i] != old_name:
                raise SqlError("42P16", f'cannot change name of view column "{old_name}" to "{names[i]}"',
                               hint="Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead.")
            if columns[i][1].oid != old_type.oid:
                raise SqlError("42P16", f'cannot change data type of view column "{old_name}" from '
                                        f'{format_type(old_type)} to {format_type(columns[i][1])}')
        view_id = old.view_id
        if view_id in depends_on:
            raise SqlError("42P17", f'infinite recursion detected in rules for relation "{name}"')
    reads_past = query.find(exp.Version) is not None
    view = ViewDef(view_id or target.allocate_id(schema), schema, name, sql, tuple(names),
                   catalog.views[view_id].comment if view_id else None, tuple(depends_on),
                   tuple(ColumnDef(i, n, t.oid, t.typmod) for i, (n, (_, t)) in enumerate(zip(names, columns)))
                   if reads_past else (), owner=catalog.views[view_id].owner if view_id else target.user)
    target.emit(ev.ViewCreated(view))
    return "CREATE VIEW"


def _view_text(query: exp.Expression, target: DdlTarget) -> tuple[str, list[int]]:
    """A view's stored SQL (relation names qualified with their schema, so the view means the
    same whatever the search path) and the relations it depends on."""
    catalog = target.catalog
    ctes = {c.alias_or_name for c in query.find_all(exp.CTE)}
    depends: list[int] = []

    def qualify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and not (
                not node.db and node.name in ctes):
            found = catalog.relation(node.name, node.db or None, target.search_path)
            if found is not None and found[0] in ("table", "view"):
                depends.append(found[1])
                relation = catalog.tables.get(found[1]) or catalog.views.get(found[1])
                node = node.copy()
                node.set("db", exp.to_identifier(relation.schema))
        return node
    qualified = query.transform(qualify)
    return expression_sql(qualified), list(dict.fromkeys(depends))


# -------------------------------------------------------------------- sequences


_TYPE_RANGES = {INT2.oid: (-(1 << 15), (1 << 15) - 1), INT4.oid: (-(1 << 31), (1 << 31) - 1),
                INT8.oid: (-(1 << 63), (1 << 63) - 1)}


def _sequence_def(seq_id: int, schema: str, name: str, type_: SqlType, options: dict[str, Any],
                  owned_by: tuple[int, int] | None = None, base: SequenceDef | None = None,
                  owner: str = "") -> SequenceDef:
    """A sequence definition from CREATE/ALTER SEQUENCE options, checked as PostgreSQL checks them."""
    if type_.oid not in _TYPE_RANGES:
        raise SqlError("22023", "sequence type must be smallint, integer, or bigint")
    lo, hi = _TYPE_RANGES[type_.oid]
    increment = options.get("increment", base.increment if base else 1)
    if increment == 0:
        raise SqlError("22023", "INCREMENT must not be zero")
    type_changed = base is not None and base.type_oid != type_.oid
    if "minvalue" in options and options["minvalue"] is not None:
        min_value = options["minvalue"]
    elif base is not None and "minvalue" not in options and not type_changed and (base.increment > 0) == (increment > 0):
        min_value = base.min_value
    else:
        min_value = 1 if increment > 0 else lo
    if "maxvalue" in options and options["maxvalue"] is not None:
        max_value = options["maxvalue"]
    elif base is not None and "maxvalue" not in options and not type_changed and (base.increment > 0) == (increment > 0):
        max_value = base.max_value
    else:
        max_value = hi if increment > 0 else -1
    for label, v in (("MINVALUE", min_value), ("MAXVALUE", max_value)):
        if not lo <= v <= hi:
            raise SqlError("22023", f"{label} ({v}) is out of range for sequence data type {format_type(type_)}")
    if min_value >= max_value:
        raise SqlError("22023", f"MINVALUE ({min_value}) must be less than MAXVALUE ({max_value})")
    start = options.get("start", base.start if base else (min_value if increment > 0 else max_value))
    if start < min_value:
        raise SqlError("22023", f"START value ({start}) cannot be less than MINVALUE ({min_value})")
    if start > max_value:
        raise SqlError("22023", f"START value ({start}) cannot be greater than MAXVALUE ({max_value})")
    cycle = options.get("cycle", base.cycle if base else False)
    if owned_by is None and base is not None and "owned_by" not in options:
        owned_by = base.owned_by
    elif "owned_by" in options:
        owned_by = options["owned_by"]
    return SequenceDef(seq_id, schema, name, type_.oid, start, increment, min_value, max_value, cycle, owned_by,
                       comment=base.comment if base else None, owner=base.owner if base else owner)


def _sequence_options(w: Tokens, target: DdlTarget, altering: bool) -> tuple[dict[str, Any], SqlType | None, Any]:
    """CREATE/ALTER SEQUENCE options -> ({option: value}, AS type or None, RESTART value or None/True)."""
    options: dict[str, Any] = {}
    type_ = None
    restart: Any = None
    while not w.at_end():
        if w.word("as"):
            type_ = type_from_name(w.name())
        elif w.word("increment"):
            w.word("by")
            options["increment"] = w.integer()
        elif w.word("minvalue"):
            options["minvalue"] = w.integer()
        elif w.word("maxvalue"):
            options["maxvalue"] = w.integer()
        elif w.word("no"):
            word = w.expect_word("minvalue", "maxvalue", "cycle")
            options[word if word != "cycle" else "cycle"] = None if word != "cycle" else False
        elif w.word("start"):
            w.word("with")
            options["start"] = w.integer()
        elif altering and w.word("restart"):
            restart = w.integer() if w.word("with") or w.peek()[0] == "number" else True
        elif w.word("cache"):
            if w.integer() < 1:
                raise SqlError("22023", "CACHE (0) must be greater than zero")
        elif w.word("cycle"):
            options["cycle"] = True
        elif w.word("owned"):
            w.expect_word("by")
            if w.word("none"):
                options["owned_by"] = None
            else:
                parts = [w.name()]
                while w.punct("."):
                    parts.append(w.name())
                if len(parts) < 2:
                    raise SqlError("42601", "invalid OWNED BY option",
                                   hint="Specify OWNED BY table.column or OWNED BY NONE.")
                table = _table(target, parts[-3] if len(parts) > 2 else None, parts[-2])
                col = table.column(parts[-1])
                if col is None:
                    raise SqlError("42703", f'column "{parts[-1]}" of relation "{table.name}" does not exist')
                options["owned_by"] = (table.table_id, col.slot)
        else:
            raise w.error()
    return options, type_, restart


def create_sequence(w: Tokens, target: DdlTarget) -> str:
    temporary = w.word("temp", "temporary")
    w.expect_word("sequence")
    exists = False
    if w.word("if"):
        w.expect_word("not")
        w.expect_word("exists")
        exists = True
    schema, name = w.qualified_name()
    if temporary or schema == "pg_temp":
        schema = _temporary_place(schema, target)
    schema = schema or target.creation_schema()
    catalog = target.catalog
    if schema not in catalog.schemas:
        raise SqlError("3F000", f'schema "{schema}" does not exist')
    options, type_, _ = _sequence_options(w, target, altering=False)
    if catalog.name_taken(schema, name):
        if exists:
            target.notice(f'relation "{name}" already exists, skipping', "42P07")
            return "CREATE SEQUENCE"
        raise SqlError("42P07", f'relation "{name}" already exists')
    seq = _sequence_def(target.allocate_id(schema), schema, name, type_ or INT8, options, owner=target.user)
    target.emit(ev.SequenceCreated(seq))
    return "CREATE SEQUENCE"


def _change_owner(kind: str, found: tuple[str, int], role: str, target: DdlTarget) -> str:
    """ALTER TABLE | VIEW | SEQUENCE name OWNER TO role. A superuser may give anything to
    anyone; another role only what it owns, and (rewinddb has no role membership) only to
    itself. A table's sequences and indexes follow it; an owned sequence cannot move alone,
    and an index is left as it is with a warning."""
    catalog = target.catalog
    if target.role(role) is None:
        raise SqlError("42704", f'role "{role}" does not exist')
    relation_kind, oid = found
    if relation_kind == "index":            # a warning and no change, as PostgreSQL
        target.notice(f'cannot change owner of index "{catalog.indexes[oid].name}"', "01000", "WARNING")
        return f"ALTER {kind}"
    current = {"table": catalog.tables, "view": catalog.views, "sequence": catalog.sequences}[relation_kind][oid]
    if relation_kind == "sequence" and current.owned_by and current.owned_by[0] in catalog.tables:
        table = catalog.tables[current.owned_by[0]]
        raise SqlError("0A000", f'cannot change owner of sequence "{current.name}"',
                       detail=f'Sequence "{current.name}" is linked to table "{table.name}".')
    me = target.role(target.user)
    if me is None or not me.superuser:
        if current.owner != target.user:
            raise SqlError("42501", f"must be owner of {relation_kind} {current.name}")
        if role != target.user:
            raise SqlError("42501", f'must be member of role "{role}"')
    changed = msgspec.structs.replace(current, owner=role)
    if relation_kind == "table":
        _emit_table(target, changed)
    elif relation_kind == "view":
        target.emit(ev.ViewCreated(changed))
    else:
        target.emit(ev.SequenceAltered(changed))
    return f"ALTER {kind}"


def alter_sequence(w: Tokens, target: DdlTarget) -> str:
    w.expect_word("sequence")
    missing_ok = False
    if w.word("if"):
        w.expect_word("exists")
        missing_ok = True
    schema, name = w.qualified_name()
    found = _lookup(target, schema, name)
    if found is None or found[0] != "sequence":
        if found is None and missing_ok:
            target.notice(f'relation "{name}" does not exist, skipping')
            return "ALTER SEQUENCE"
        if found is not None:
            raise SqlError("42809", f'"{name}" is not a sequence')
        raise SqlError("42P01", f'relation "{(schema + ".") if schema else ""}{name}" does not exist')
    old = target.catalog.sequences[found[1]]
    if w.word("owner"):
        w.expect_word("to")
        role = w.name()
        w.done()
        return _change_owner("SEQUENCE", found, role, target)
    if w.word("rename"):
        w.expect_word("to")
        new_name = w.name()
        if target.catalog.name_taken(old.schema, new_name):
            raise SqlError("42P07", f'relation "{new_name}" already exists')
        target.emit(ev.SequenceAltered(msgspec.structs.replace(old, name=new_name)))
        return "ALTER SEQUENCE"
    options, type_, restart = _sequence_options(w, target, altering=True)
    new = _sequence_def(old.seq_id, old.schema, old.name, type_ or type_from_name({20: "int8", 23: "int4", 21: "int2"}[old.type_oid]),
                        options, base=old)
    if new != old:
        target.emit(ev.SequenceAltered(new))
    if restart is not None:
        value = new.start if restart is True else restart
        if not new.min_value <= value <= new.max_value:
            raise SqlError("22023", f"RESTART value ({value}) cannot be {'less than MINVALUE' if value < new.min_value else 'greater than MAXVALUE'} "
                                    f"({new.min_value if value < new.min_value else new.max_value})")
        target.set_sequence(new, value, False)
    return "ALTER SEQUENCE"


def drop_sequences(names: list[tuple[str | None, str]], missing_ok: bool, cascade: bool, target: DdlTarget) -> str:
    objects = []
    for schema, name in names:
        found = _lookup(target, schema, name)
        if found is None or found[0] != "sequence":
            if found is not None:
                raise SqlError("42809", f'"{name}" is not a sequence', hint=f"Use DROP {found[0].upper()} to remove a {found[0]}.")
            if missing_ok:
                target.notice(f'sequence "{name}" does not exist, skipping')
                continue
            raise SqlError("42P01", f'sequence "{name}" does not exist')
        objects.append(("sequence", found[1]))
    if objects:
        _drop_objects(objects, target, cascade)
    return "DROP SEQUENCE"


# -------------------------------------------------------------------- schemas


def create_schema(tree: exp.Create, target: DdlTarget) -> str:
    ref = tree.this
    name = ref.db or ref.name
    if name.startswith("pg_"):
        raise SqlError("42939", f'unacceptable schema name "{name}"',
                       detail='The prefix "pg_" is reserved for system schemas.')
    if name in target.catalog.schemas or name in ("pg_catalog", "information_schema", "rewind"):
        if tree.args.get("exists"):
            target.notice(f'schema "{name}" already exists, skipping', "42P06")
            return "CREATE SCHEMA"
        raise SqlError("42P06", f'schema "{name}" already exists')
    target.emit(ev.SchemaCreated(name))
    return "CREATE SCHEMA"


def drop_schemas(names: list[str], missing_ok: bool, cascade: bool, target: DdlTarget) -> str:
    for name in names:
        catalog = target.catalog
        if name not in catalog.schemas:
            if missing_ok:
                target.notice(f'schema "{name}" does not exist, skipping')
                continue
            raise SqlError("3F000", f'schema "{name}" does not exist')
        members = [("table", t.table_id, t.name) for t in catalog.tables.values() if t.schema == name] + \
                  [("view", v.view_id, v.name) for v in catalog.views.values() if v.schema == name] + \
                  [("sequence", s.seq_id, s.name) for s in catalog.sequences.values()
                   if s.schema == name and not s.owned_by]
        if members and not cascade:
            kind, _, first = members[0]
            raise SqlError("2BP01", f"cannot drop schema {name} because other objects depend on it",
                           detail="\n".join(f"{k} {n} depends on schema {name}" for k, _, n in members),
                           hint="Use DROP ... CASCADE to drop the dependent objects too.")
        if members:
            _drop_objects([(k, oid) for k, oid, _ in members], target, cascade=True, announce=True)
        target.emit(ev.SchemaDropped(name))
    return "DROP SCHEMA"


# -------------------------------------------------------------------- DROP and dependencies


def _dependents(catalog: Catalog, kind: str, oid: int) -> list[tuple[str, int, str]]:
    """What depends on an object: (kind, id, description) — views using a relation,
    foreign keys referencing a table, column defaults using a sequence."""
    out: list[tuple[str, int, str]] = []
    if kind in ("table", "view"):
        for v in catalog.views.values():
            if oid in v.depends_on and v.view_id != oid:
                out.append(("view", v.view_id, f"view {v.name}"))
    if kind == "table":
        for t in catalog.tables.values():
            if t.table_id == oid:
                continue
            for c in t.constraints:
                if c.kind == "f" and c.ref_table == oid:
                    out.append(("constraint", t.table_id, f"constraint {c.name} on table {t.name}"))
    if kind == "sequence":
        seq = catalog.sequences[oid]
        pattern = re.compile(r"nextval\('(?:\"?" + re.escape(seq.schema) + r"\"?\.)?\"?" + re.escape(seq.name) + r"\"?'")
        for t in catalog.tables.values():
            for c in t.columns:
                if c.default and pattern.search(c.default):
                    out.append(("default", t.table_id, f"default value for column {c.name} of table {t.name}"))
    return out


def _drop_objects(objects: list[tuple[str, int]], target: DdlTarget, cascade: bool, announce: bool = False) -> None:
    """Drop tables, views, sequences and indexes; with cascade also what depends on them
    (views dropped, foreign keys and defaults removed), else 2BP01 if anything does."""
    dropping = {oid for _, oid in objects}
    catalog = target.catalog
    pending = list(objects)
    order: list[tuple[str, int]] = []
    detach: list[tuple[str, int, str]] = []
    while pending:
        kind, oid = pending.pop(0)
        if (kind, oid) in order:
            continue
        order.append((kind, oid))
        for dep_kind, dep_oid, description in _dependents(catalog, kind, oid):
            if dep_oid in dropping and dep_kind in ("view", "constraint", "default"):
                if dep_kind == "view" and ("view", dep_oid) not in order:
                    pending.append(("view", dep_oid))
                continue
            if not cascade:
                name = _object_name(catalog, kind, oid)
                raise SqlError("2BP01", f"cannot drop {kind} {name} because other objects depend on it",
                               detail=f"{description} depends on {kind} {name}",
                               hint="Use DROP ... CASCADE to drop the dependent objects too.")
            target.notice(f"drop cascades to {description}")
            if dep_kind == "view":
                dropping.add(dep_oid)
                pending.append(("view", dep_oid))
            else:
                detach.append((dep_kind, dep_oid, description))
    for dep_kind, table_id, description in detach:
        table = target.catalog.tables.get(table_id)
        if table is None or table_id in dropping:
            continue
        if dep_kind == "constraint":
            cname = description.split()[1]
            _emit_table(target, msgspec.structs.replace(
                table, constraints=tuple(c for c in table.constraints if c.name != cname)))
        else:
            column = description.split()[4]
            col = table.column(column)
            target.emit(ev.ColumnAltered(table_id, col.slot, msgspec.structs.replace(col, default=None)))
    # views first (they depend on the rest), then tables, sequences, indexes
    rank = {"view": 0, "table": 1, "sequence": 2, "index": 3}
    for kind, oid in sorted(order, key=lambda ko: rank[ko[0]]):
        catalog = target.catalog
        if kind == "view" and oid in catalog.views:
            target.emit(ev.ViewDropped(oid))
        elif kind == "table" and oid in catalog.tables:
            target.emit(ev.TableDropped(oid))
        elif kind == "sequence" and oid in catalog.sequences:
            target.emit(ev.SequenceDropped(oid))
        elif kind == "index" and oid in catalog.indexes:
            target.emit(ev.IndexDropped(oid))


def _object_name(catalog: Catalog, kind: str, oid: int) -> str:
    obj = {"table": catalog.tables, "view": catalog.views, "sequence": catalog.sequences,
           "index": catalog.indexes}[kind][oid]
    return obj.name


def drop(tree: exp.Drop, target: DdlTarget) -> str:
    kind = (tree.args.get("kind") or "").upper()
    tag = f"DROP {kind}"
    if kind == "SCHEMA":
        refs = tree.args.get("tables") or [tree.this]
        return drop_schemas([r.db or r.name for r in refs], bool(tree.args.get("exists")),
                            bool(tree.args.get("cascade")), target)
    if kind not in ("TABLE", "INDEX", "SEQUENCE", "VIEW"):
        raise feature_not_supported(f"DROP {kind}")
    expected = kind.lower()
    refs = tree.args.get("tables") or [tree.this]
    objects: list[tuple[str, int]] = []
    for ref in refs:
        schema, name = _qualified(ref)
        catalog = target.catalog
        found = catalog.relation(name, schema, target.search_path)
        if found is None or found[0] != expected:
            if found is not None:
                raise SqlError("42809", f'"{name}" is not a{"n" if expected == "index" else ""} {expected}',
                               hint=f"Use DROP {found[0].upper()} to remove a{'n' if found[0] == 'index' else ''} {found[0]}.")
            if tree.args.get("exists"):
                target.notice(f'{expected} "{name}" does not exist, skipping')
                continue
            raise SqlError("42P01" if expected in ("table", "view", "sequence") else "42704",
                           f'{expected} "{name}" does not exist')
        if expected == "index":
            index = catalog.indexes[found[1]]
            if index.constraint:
                table_name = catalog.tables[index.table_id].name
                raise SqlError("2BP01", f'cannot drop index {name} because constraint {index.constraint} on table '
                               f'{table_name} requires it',
                               hint=f"You can drop constraint {index.constraint} on table {table_name} instead.")
        objects.append((expected, found[1]))
    if objects:
        _drop_objects(objects, target, bool(tree.args.get("cascade")))
    return tag


# -------------------------------------------------------------------- TRUNCATE


def truncate(tree: exp.TruncateTable, target: DdlTarget) -> str:
    tables: list[TableDef] = []
    for ref in tree.expressions:
        schema, name = _qualified(ref)
        table = _table(target, schema, name)
        if table not in tables:
            tables.append(table)
    catalog = target.catalog
    cascade = (tree.args.get("option") or "").lower() == "cascade"
    i = 0
    while i < len(tables):
        parent = tables[i]
        for child in catalog.tables.values():
            if any(c.kind == "f" and c.ref_table == parent.table_id for c in child.constraints) and child not in tables:
                if not cascade:
                    raise SqlError("0A000", "cannot truncate a table referenced in a foreign key constraint",
                                   detail=f'Table "{child.name}" references "{parent.name}".',
                                   hint=f'Truncate table "{child.name}" at the same time, or use TRUNCATE ... CASCADE.')
                target.notice(f'truncate cascades to table "{child.name}"')
                tables.append(child)
        i += 1
    for table in tables:
        target.truncate(table)
    if (tree.args.get("identity") or "").upper() == "RESTART":
        ids = {t.table_id for t in tables}
        for seq in catalog.sequences.values():
            if seq.owned_by and seq.owned_by[0] in ids:
                target.set_sequence(seq, seq.start, False)
    return "TRUNCATE TABLE"


# -------------------------------------------------------------------- COMMENT ON


_COMMENTABLE = frozenset(("TABLE", "VIEW", "COLUMN", "INDEX", "SEQUENCE", "CONSTRAINT"))


def comment(kind: str, words: list[str], text: str | None, target: DdlTarget, on: list[str] | None = None) -> str:
    """COMMENT ON kind words [ON on] IS text: tables, views, columns, indexes, sequences and
    constraints (`on` names a constraint's table); NULL text removes the comment."""
    catalog = target.catalog
    if kind in ("TABLE", "VIEW"):
        schema, name = (words[-2] if len(words) > 1 else None), words[-1]
        found = catalog.relation(name, schema, target.search_path)
        if found is None:
            raise SqlError("42P01", f'relation "{name}" does not exist')
        if found[0] == "view" and kind == "VIEW":
            view = catalog.views[found[1]]
            target.emit(ev.ViewCreated(msgspec.structs.replace(view, comment=text)))
        elif found[0] == "table" and kind == "TABLE":
            _emit_table(target, msgspec.structs.replace(catalog.tables[found[1]], comment=text))
        else:
            raise SqlError("42809", f'"{name}" is not a {kind.lower()}')
        return "COMMENT"
    if kind == "COLUMN":
        if len(words) < 2:
            raise SqlError("42601", "column name must be qualified")
        schema, name, column = (words[-3] if len(words) > 2 else None), words[-2], words[-1]
        table = _table(target, schema, name)
        col = table.column(column)
        if col is None:
            raise SqlError("42703", f'column "{column}" of relation "{table.name}" does not exist')
        target.emit(ev.ColumnAltered(table.table_id, col.slot, msgspec.structs.replace(col, comment=text)))
        return "COMMENT"
    if kind in ("INDEX", "SEQUENCE"):
        schema, name = (words[-2] if len(words) > 1 else None), words[-1]
        found = catalog.relation(name, schema, target.search_path)
        if found is None:
            raise SqlError("42P01", f'relation "{name}" does not exist')
        if found[0] == "index" and kind == "INDEX":
            target.emit(ev.IndexCreated(msgspec.structs.replace(catalog.indexes[found[1]], comment=text)))
        elif found[0] == "sequence" and kind == "SEQUENCE":
            target.emit(ev.SequenceAltered(msgspec.structs.replace(catalog.sequences[found[1]], comment=text)))
        else:
            raise SqlError("42809", f'"{name}" is not a{"n index" if kind == "INDEX" else " sequence"}')
        return "COMMENT"
    if kind == "CONSTRAINT":
        name, table = words[0], _table(target, on[-2] if len(on) > 1 else None, on[-1])
        if not any(con.name == name for con in table.constraints):
            raise SqlError("42704", f'constraint "{name}" for table "{table.name}" does not exist')
        _emit_table(target, msgspec.structs.replace(table, constraints=tuple(
            msgspec.structs.replace(con, comment=text) if con.name == name else con for con in table.constraints)))
        return "COMMENT"
    raise feature_not_supported(f"COMMENT ON {kind}")


# -------------------------------------------------------------------- statements read by our parser


def run_command(text: str, target: DdlTarget) -> str:
    words = [x for x in text.split() if x.lower() not in ("temp", "temporary")]
    verb = words[0].upper()
    target.check_writable(f"{verb} {words[1].upper()}" if verb in ("CREATE", "ALTER", "DROP") else verb)
    w = Tokens(text)
    _, first = w.peek()
    if first == "create":
        w.expect_word()
        return create_sequence(w, target)
    if first == "alter":
        w.expect_word()
        if w.peek() == ("word", "sequence"):
            return alter_sequence(w, target)
        kind = w.expect_word("table", "view").upper()
        missing_ok = False
        if w.word("if"):
            w.expect_word("exists")
            missing_ok = True
        w.word("only")
        schema, name = w.qualified_name()
        if w.word("owner"):
            w.expect_word("to")
            role = w.name()
            w.done()
            found = _lookup(target, schema, name)
            if found is None or (kind == "VIEW" and found[0] != "view"):
                if found is None and missing_ok:
                    target.notice(f'relation "{name}" does not exist, skipping')
                    return f"ALTER {kind}"
                if found is not None:
                    raise SqlError("42809", f'"{name}" is not a view')
                raise SqlError("42P01", f'relation "{(schema + ".") if schema else ""}{name}" does not exist')
            return _change_owner(kind, found, role, target)
        if kind == "VIEW":
            raise feature_not_supported("ALTER VIEW other than OWNER TO")
        table = _table(target, schema, name, missing_ok)
        if table is None:
            return "ALTER TABLE"
        if w.word("set"):
            w.expect_word("schema")
            new_schema = w.name()
            w.done()
            return _set_schema(table, new_schema, target)
        w.expect_word("rename")
        w.expect_word("constraint")
        old = w.name()
        w.expect_word("to")
        new = w.name()
        w.done()
        return _rename_constraint(table, old, new, target)
    if first == "comment":
        w.expect_word()
        w.expect_word("on")
        kind = w.expect_word().upper()
        if kind not in _COMMENTABLE:
            raise feature_not_supported(f"COMMENT ON {kind}")
        words = [w.name()]
        while w.punct("."):
            words.append(w.name())
        on = None
        if kind == "CONSTRAINT" and len(words) == 1:
            w.expect_word("on")
            on = [part for part in w.qualified_name() if part is not None]
        w.expect_word("is")
        value = None if w.word("null") else w.string()
        w.done()
        return comment(kind, words, value, target, on)
    if first == "drop":
        w.expect_word()
        kind = w.expect_word("schema", "sequence")
        missing_ok = False
        if w.word("if"):
            w.expect_word("exists")
            missing_ok = True
        names = [w.qualified_name()]
        while w.punct(","):
            names.append(w.qualified_name())
        cascade = w.word("cascade")
        w.word("restrict")
        w.done()
        if kind == "schema":
            return drop_schemas([schema or name for schema, name in names], missing_ok, cascade, target)
        return drop_sequences(names, missing_ok, cascade, target)
    raise feature_not_supported(text.split()[0].upper())


def _set_schema(table: TableDef, schema: str, target: DdlTarget) -> str:
    catalog = target.catalog
    if is_temp_schema(table.schema) or is_temp_schema(schema) or schema == "pg_temp":
        raise SqlError("0A000", "cannot move objects into or out of temporary schemas")
    if schema not in catalog.schemas:
        raise SqlError("3F000", f'schema "{schema}" does not exist')
    if catalog.name_taken(schema, table.name):
        raise SqlError("42P07", f'relation "{table.name}" already exists in schema "{schema}"')
    target.emit(ev.TableRenamed(table.table_id, table.name, schema))
    for seq in catalog.sequences.values():
        if seq.owned_by and seq.owned_by[0] == table.table_id:
            target.emit(ev.SequenceAltered(msgspec.structs.replace(seq, schema=schema)))
    _requalify_views(table, table.name, target, old_schema=table.schema, new_schema=schema)
    return "ALTER TABLE"


def _rename_constraint(table: TableDef, old: str, new: str, target: DdlTarget) -> str:
    found = next((c for c in table.constraints if c.name == old), None)
    if found is None:
        raise SqlError("42704", f'constraint "{old}" for table "{table.name}" does not exist')
    if any(c.name == new for c in table.constraints):
        raise SqlError("42710", f'constraint "{new}" for relation "{table.name}" already exists')
    _emit_table(target, msgspec.structs.replace(table, constraints=tuple(
        msgspec.structs.replace(c, name=new) if c.name == old else c for c in table.constraints)))
    for index in target.catalog.indexes_of(table.table_id):
        if index.constraint == old:
            target.emit(ev.IndexDropped(index.index_id))
            target.emit(ev.IndexCreated(msgspec.structs.replace(index, name=new, constraint=new)))
    return "ALTER TABLE"


# -------------------------------------------------------------------- ALTER TABLE


def alter_table(tree: exp.Alter, target: DdlTarget) -> str:
    schema, name = _qualified(tree.this)
    table = _table(target, schema, name, missing_ok=bool(tree.args.get("exists")))
    if table is None:
        return "ALTER TABLE"
    table_id = table.table_id
    for action in tree.args.get("actions") or []:
        table = target.catalog.tables[table_id]
        if isinstance(action, exp.ColumnDef):
            _add_column(table, action, target)
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
            for ref in action.args.get("tables") or []:
                _drop_column(target.catalog.tables[table_id], ref.name, bool(action.args.get("exists")),
                             bool(action.args.get("cascade")), target)
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "CONSTRAINT":
            for ref in action.args.get("tables") or []:
                _drop_constraint(target.catalog.tables[table_id], ref.name, bool(action.args.get("exists")),
                                 bool(action.args.get("cascade")), target)
        elif isinstance(action, exp.RenameColumn):
            _rename_column(table, action.this.name, action.args["to"].name, target)
        elif isinstance(action, exp.AlterRename):
            _rename_table(table, action.this.name, target)
        elif isinstance(action, exp.AlterColumn):
            _alter_column(table, action, target)
        elif isinstance(action, exp.AddConstraint):
            for inner in action.expressions:
                _add_constraint(target.catalog.tables[table_id], inner, target)
        else:
            raise feature_not_supported(f"ALTER TABLE {action.sql('postgres')}")
    return "ALTER TABLE"


def _add_column(table: TableDef, item: exp.ColumnDef, target: DdlTarget) -> None:
    if table.column(item.name) is not None:
        if item.args.get("exists"):
            target.notice(f'column "{item.name}" of relation "{table.name}" already exists, skipping', "42701")
            return
        raise SqlError("42701", f'column "{item.name}" of relation "{table.name}" already exists')
    builder = _TableBuilder(target, table.schema, table.name, table.table_id, list(table.columns), table.width)
    builder.names_taken = {c.name for c in table.constraints}
    column = builder.column(item)
    for seq in builder.sequences:
        target.emit(ev.SequenceCreated(seq))
    rows = target.items(table)
    default_node = None
    fill = None
    volatile = False
    if column.default is not None:
        default_node = parse_sql("SELECT " + column.default).expressions[0]
        volatile = _is_volatile(default_node)
        if rows and not volatile:
            fill = target.row_function(table, default_node, column.type, "DEFAULT")(())
    elif column.generated is not None:
        default_node = parse_sql("SELECT " + column.generated).expressions[0]
        check_generated(table, default_node, column.type, target)
        volatile = True                     # computed row by row, as a volatile default is
    if column.not_null and rows and fill is None and not volatile:
        raise SqlError("23502", f'column "{column.name}" of relation "{table.name}" contains null values',
                       table=table.name, column=column.name)
    added = msgspec.structs.replace(column, not_null=False) if volatile and column.not_null else column
    target.emit(ev.ColumnAdded(table.table_id, added, storage_value(column.type, fill)))
    widened = target.catalog.tables[table.table_id]
    if volatile and rows:
        compute = target.row_function(widened, default_node, column.type, "DEFAULT")
        for rowid, row in target.items(widened):
            values = list(row)
            values[column.slot] = compute(row)
            if values[column.slot] is None and column.not_null:
                raise SqlError("23502", f'column "{column.name}" of relation "{table.name}" contains null values',
                               table=table.name, column=column.name)
            target.update(widened, rowid, tuple(values))
    if added is not column:
        target.emit(ev.ColumnAltered(table.table_id, column.slot, column))
    widened = target.catalog.tables[table.table_id]
    constraints, indexes = builder.finish(widened.constraints)
    if constraints or indexes:
        _install_constraints(widened, constraints, indexes, target)


def _install_constraints(table: TableDef, constraints: list[ConstraintDef], indexes: list[IndexDef],
                         target: DdlTarget) -> None:
    """Add constraints to an existing table, after checking that its rows satisfy them."""
    for c, index in zip([c for c in constraints if c.kind in ("p", "u")], indexes):
        check_unique_rows(target, table, c.columns, c.name, require_not_null=c.kind == "p")
    columns = table.columns
    for c in constraints:
        if c.kind == "p":
            columns = tuple(msgspec.structs.replace(col, not_null=True) if col.slot in c.columns else col for col in columns)
        elif c.kind == "c":
            test = target.row_function(table, parse_sql("SELECT " + c.check).expressions[0], None, "CHECK")
            for _, row in target.items(table):
                if test(row) is False:
                    raise SqlError("23514", f'check constraint "{c.name}" of relation "{table.name}" is violated by some row',
                                   table=table.name, constraint=c.name)
        elif c.kind == "f":
            _check_foreign_rows(table, c, target)
    _emit_table(target, msgspec.structs.replace(table, columns=columns, constraints=table.constraints + tuple(constraints)))
    for index in indexes:
        target.emit(ev.IndexCreated(index))


def _check_foreign_rows(table: TableDef, c: ConstraintDef, target: DdlTarget) -> None:
    catalog = target.catalog
    parent = catalog.tables.get(c.ref_table) or table
    keys = {tuple(row[s] for s in c.ref_columns) for _, row in target.items(parent)}
    for _, row in target.items(table):
        key = tuple(row[s] for s in c.columns)
        if None not in key and key not in keys:
            names = ", ".join(table.column_by_slot(s).name for s in c.columns)
            raise SqlError("23503", f'insert or update on table "{table.name}" violates foreign key constraint "{c.name}"',
                           detail=f'Key ({names})=({", ".join(str(v) for v in key)}) is not present in table "{parent.name}".',
                           table=table.name, constraint=c.name)


def _add_constraint(table: TableDef, item: exp.Expression, target: DdlTarget) -> None:
    builder = _TableBuilder(target, table.schema, table.name, table.table_id, list(table.columns), table.width)
    builder.names_taken = {c.name for c in table.constraints}
    name = item.name if isinstance(item, exp.Constraint) else None
    builder.constraint(item)
    if any(kind == "p" for _, kind, _ in builder.keys) and any(c.kind == "p" for c in table.constraints):
        raise SqlError("42P16", f'multiple primary keys for table "{table.name}" are not allowed')
    if name and any(c.name == name for c in table.constraints):
        raise SqlError("42710", f'constraint "{name}" for relation "{table.name}" already exists')
    constraints, indexes = builder.finish(table.constraints)
    _install_constraints(table, constraints, indexes, target)


def _drop_constraint(table: TableDef, name: str, missing_ok: bool, cascade: bool, target: DdlTarget) -> None:
    found = next((c for c in table.constraints if c.name == name), None)
    if found is None:
        if missing_ok:
            target.notice(f'constraint "{name}" of relation "{table.name}" does not exist, skipping')
            return
        raise SqlError("42704", f'constraint "{name}" of relation "{table.name}" does not exist')
    catalog = target.catalog
    if found.kind in ("p", "u"):
        for child in catalog.tables.values():
            for c in child.constraints:
                if c.kind == "f" and c.ref_table == table.table_id and set(c.ref_columns) == set(found.columns):
                    if not cascade:
                        raise SqlError("2BP01", f"cannot drop constraint {name} on table {table.name} because other "
                                                f"objects depend on it",
                                       detail=f"constraint {c.name} on table {child.name} depends on index {name}",
                                       hint="Use DROP ... CASCADE to drop the dependent objects too.")
                    target.notice(f"drop cascades to constraint {c.name} on table {child.name}")
                    child = target.catalog.tables[child.table_id]
                    _emit_table(target, msgspec.structs.replace(
                        child, constraints=tuple(x for x in child.constraints if x.name != c.name)))
        table = target.catalog.tables[table.table_id]
    _emit_table(target, msgspec.structs.replace(table, constraints=tuple(c for c in table.constraints if c.name != name)))
    for index in target.catalog.indexes_of(table.table_id):
        if index.constraint == name:
            target.emit(ev.IndexDropped(index.index_id))


def _drop_column(table: TableDef, name: str, missing_ok: bool, cascade: bool, target: DdlTarget) -> None:
    col = table.column(name)
    if col is None:
        if missing_ok:
            target.notice(f'column "{name}" of relation "{table.name}" does not exist, skipping')
            return
        raise SqlError("42703", f'column "{name}" of relation "{table.name}" does not exist')
    catalog = target.catalog
    for v in catalog.views.values():
        if table.table_id in v.depends_on and _mentions(v.sql, name):
            if not cascade:
                raise SqlError("2BP01", f"cannot drop column {name} of table {table.name} because other objects depend on it",
                               detail=f"view {v.name} depends on column {name} of table {table.name}",
                               hint="Use DROP ... CASCADE to drop the dependent objects too.")
            _drop_objects([("view", v.view_id)], target, cascade=True)
    for other in table.columns:
        if other.generated is not None and other.slot != col.slot and _mentions(other.generated, name):
            if not cascade:
                raise SqlError("2BP01", f"cannot drop column {name} of table {table.name} because other objects depend on it",
                               detail=f"column {other.name} of table {table.name} depends on column {name} of table {table.name}",
                               hint="Use DROP ... CASCADE to drop the dependent objects too.")
            target.notice(f"drop cascades to column {other.name} of table {table.name}")
            _drop_column(target.catalog.tables[table.table_id], other.name, False, True, target)
            table = target.catalog.tables[table.table_id]
    # constraints and indexes on the column go with it (foreign keys pointing at it need CASCADE)
    for c in table.constraints:
        if col.slot in c.columns or (c.kind == "c" and _mentions(c.check or "", name)):
            _drop_constraint(target.catalog.tables[table.table_id], c.name, True, cascade, target)
    for index in target.catalog.indexes_of(table.table_id):
        if col.slot in index.columns:
            target.emit(ev.IndexDropped(index.index_id))
    for seq in target.catalog.sequences.values():
        if seq.owned_by == (table.table_id, col.slot):
            target.emit(ev.SequenceDropped(seq.seq_id))
    target.emit(ev.ColumnDropped(table.table_id, col.slot))


def _mentions(sql: str, name: str) -> bool:
    """Whether a stored expression or query refers to a column of this name."""
    try:
        tree = parse_sql("SELECT " + sql if not sql.lstrip().lower().startswith(("select", "with", "values", "(")) else sql)
    except SqlError:
        return True
    return any(c.name == name for c in tree.find_all(exp.Column))


def _renamed_columns(sql: str, old: str, new: str, statement: bool = False) -> str:
    tree = parse_sql(sql if statement else "SELECT " + sql)

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name == old:
            node = node.copy()
            node.set("this", exp.to_identifier(new))
        return node
    renamed = tree.transform(rename)
    return expression_sql(renamed) if statement else expression_sql(renamed.expressions[0])


def _rename_column(table: TableDef, old: str, new: str, target: DdlTarget) -> None:
    col = table.column(old)
    if col is None:
        raise SqlError("42703", f'column "{old}" does not exist')
    if table.column(new) is not None:
        raise SqlError("42701", f'column "{new}" of relation "{table.name}" already exists')
    target.emit(ev.ColumnRenamed(table.table_id, col.slot, new))
    table = target.catalog.tables[table.table_id]
    for other in table.columns:
        if other.generated is not None and _mentions(other.generated, old):
            target.emit(ev.ColumnAltered(table.table_id, other.slot, msgspec.structs.replace(
                other, generated=_renamed_columns(other.generated, old, new))))
    table = target.catalog.tables[table.table_id]
    if any(c.kind == "c" and c.check for c in table.constraints):
        _emit_table(target, msgspec.structs.replace(table, constraints=tuple(
            msgspec.structs.replace(c, check=_renamed_columns(c.check, old, new)) if c.kind == "c" and c.check else c
            for c in table.constraints)))
    for v in target.catalog.views.values():
        if table.table_id in v.depends_on and _mentions(v.sql, old):
            raise feature_not_supported(f"renaming column {old}: view {v.name} uses it")


def _rename_table(table: TableDef, new: str, target: DdlTarget) -> None:
    if target.catalog.name_taken(table.schema, new):
        raise SqlError("42P07", f'relation "{new}" already exists')
    target.emit(ev.TableRenamed(table.table_id, new, table.schema))
    _requalify_views(table, new, target, table.schema, table.schema, old_name=table.name)


def _requalify_views(table: TableDef, new_name: str, target: DdlTarget, old_schema: str, new_schema: str,
                     old_name: str | None = None) -> None:
    """Views store qualified names: a renamed or moved table is renamed in their text too."""
    old_name = old_name or table.name
    for v in list(target.catalog.views.values()):
        if table.table_id not in v.depends_on:
            continue
        tree = parse_sql(v.sql)

        def rename(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.name == old_name and (node.db or old_schema) == old_schema:
                node = node.copy()
                node.set("this", exp.to_identifier(new_name))
                node.set("db", exp.to_identifier(new_schema))
            return node
        target.emit(ev.ViewCreated(msgspec.structs.replace(v, sql=expression_sql(tree.transform(rename)))))


def _alter_column(table: TableDef, action: exp.AlterColumn, target: DdlTarget) -> None:
    name = action.this.name
    col = table.column(name)
    if col is None:
        raise SqlError("42703", f'column "{name}" of relation "{table.name}" does not exist')
    if action.args.get("dtype") is not None:
        _alter_column_type(table, col, action, target)
        return
    if "allow_null" in action.args and action.args.get("allow_null") is not None:
        if action.args["allow_null"]:
            if any(c.kind == "p" and col.slot in c.columns for c in table.constraints):
                raise SqlError("42P16", f'column "{name}" is in a primary key')
            new = msgspec.structs.replace(col, not_null=False)
        else:
            if any(row[col.slot] is None for _, row in target.items(table)):
                raise SqlError("23502", f'column "{name}" of relation "{table.name}" contains null values',
                               table=table.name, column=name)
            new = msgspec.structs.replace(col, not_null=True)
    elif action.args.get("drop"):
        new = msgspec.structs.replace(col, default=None)
    elif action.args.get("default") is not None:
        if col.generated is not None:
            raise SqlError("42601", f'column "{name}" of relation "{table.name}" is a generated column')
        node = action.args["default"]
        check_default(table, node, col.type, target)
        new = msgspec.structs.replace(col, default=expression_sql(node))
    else:
        raise feature_not_supported(f"ALTER COLUMN {action.sql('postgres')}")
    if new != col:
        target.emit(ev.ColumnAltered(table.table_id, col.slot, new))


def _alter_column_type(table: TableDef, col: ColumnDef, action: exp.AlterColumn, target: DdlTarget) -> None:
    """ALTER COLUMN TYPE [USING]: the column moves to a new slot holding the converted values."""
    new_type = datatype_to_sql(action.args["dtype"])
    using = action.args.get("using") or None
    for v in target.catalog.views.values():
        if table.table_id in v.depends_on and _mentions(v.sql, col.name):
            raise feature_not_supported(f"altering the type of a column used by a view ({v.name})")
    for other in table.columns:
        if other.generated is not None and _mentions(other.generated, col.name):
            raise SqlError("0A000", "cannot alter type of a column used by a generated column",
                           detail=f'Column "{col.name}" is used by generated column "{other.name}".')
    if using is None:
        if not castable(col.type, new_type, "assignment"):
            raise SqlError("42804", f'column "{col.name}" cannot be cast automatically to type {format_type(new_type)}',
                           hint=f'You might need to specify "USING {col.name}::{format_type(new_type)}".')
        using = exp.Column(this=exp.to_identifier(col.name, quoted=True))
    convert = target.row_function(table, using, new_type, "ALTER COLUMN TYPE")
    slot = table.width
    default = col.default
    if default is not None:
        target.row_function(table, parse_sql("SELECT " + default).expressions[0], new_type, "DEFAULT")
    new = ColumnDef(slot, col.name, new_type.oid, new_type.typmod, col.not_null, default, col.identity, col.comment,
                    col.generated)
    rows = target.items(table)
    converted = [(rowid, row, convert(row)) for rowid, row in rows]
    target.emit(ev.ColumnAltered(table.table_id, col.slot, new))
    moved = target.catalog.tables[table.table_id]
    rewritten = []
    for rowid, row, value in converted:
        values = list(row) + [None] * (moved.width - len(row))
        values[slot] = value
        values[col.slot] = None         # the old slot is no column any more (its values stay in the past versions)
        rewritten.append(tuple(values))
        target.update(moved, rowid, rewritten[-1])
    # the CHECK constraints on the column bind to its new type and hold for the rewritten rows
    for c in moved.constraints:
        if c.kind == "c" and c.check and _mentions(c.check, col.name):
            test = target.row_function(moved, parse_sql("SELECT " + c.check).expressions[0], None, "CHECK")
            if any(test(row) is False for row in rewritten):
                raise SqlError("23514", f'check constraint "{c.name}" of relation "{table.name}" is violated by some row',
                               table=table.name, constraint=c.name)
    # constraints and indexes follow the column to its new slot
    def move(slots: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(slot if s == col.slot else s for s in slots)
    constraints = tuple(msgspec.structs.replace(c, columns=move(c.columns)) for c in moved.constraints)
    if constraints != moved.constraints:
        _emit_table(target, msgspec.structs.replace(moved, constraints=constraints))
    for index in target.catalog.indexes_of(table.table_id):
        if col.slot in index.columns:
            target.emit(ev.IndexDropped(index.index_id))
            target.emit(ev.IndexCreated(msgspec.structs.replace(index, columns=move(index.columns))))
    for child in target.catalog.tables.values():
        if any(c.kind == "f" and c.ref_table == table.table_id and col.slot in c.ref_columns for c in child.constraints):
            _emit_table(target, msgspec.structs.replace(child, constraints=tuple(
                msgspec.structs.replace(c, ref_columns=move(c.ref_columns)) if c.kind == "f" and c.ref_table == table.table_id else c
                for c in child.constraints)))
