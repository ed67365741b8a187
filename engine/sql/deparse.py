"""Catalog objects back to SQL text, as PostgreSQL's ruleutils prints them.

Role: the text behind pg_get_expr (column defaults, CHECK constraints), pg_get_constraintdef,
pg_get_indexdef and pg_get_viewdef, and the column list of a view (pg_attribute of a view).

How: the stored SQL text (a column default, a CHECK, a view's SELECT, as DDL recorded it)
is parsed and bound by the planner in `fold_constants=False` mode, so the typed tree keeps
the coercions PostgreSQL's parser would add (`price > 0` on a numeric column becomes
`price > 0::numeric`); the tree is then printed with PostgreSQL's rules: constants of most
types carry a `::type` label, implicit coercions show except at the top of a column default,
`x IN (...)` prints as `x = ANY (ARRAY[...])`, and in pretty mode parentheses appear only
where an operator of lower or equal precedence nests (`isSimpleNode`), while non-pretty mode
wraps every operator in its own parentheses.

Results are memoized per (catalog value, object): the catalog is immutable.
"""
from __future__ import annotations

import re
from typing import Callable

from sqlglot import exp

from engine.catalog.model import Catalog, ColumnDef, ConstraintDef, IndexDef, TableDef, ViewDef
from engine.errors import SqlError
from engine.exec.expr import (AggCall, And, Call, Case, Cast, Coalesce, Col, Compare, Const, Expr, InList, IsBool, IsNull,
                              Like, Not, Or, Param, Subquery)
from engine.sql.parser import expression_sql, parse_sql
from engine.sql.planner import NeedsLiteral, PlanEnv, Planner, RangeEntry, Scope, ScopeColumn, output_name
from engine.types import BOOL, INT4, NUMERIC, REG_TYPES, UNKNOWN, SqlType, format_type, text_formatter

_PREFIX_OPERATORS = frozenset(("-u", "+u", "~u", "@u"))
_OPERATORS = frozenset(("+", "-", "*", "/", "%", "||")) | _PREFIX_OPERATORS
_SQL_SYNTAX = {"current_timestamp": "CURRENT_TIMESTAMP", "current_date": "CURRENT_DATE",
               "current_user": "CURRENT_USER", "session_user": "SESSION_USER", "user": "CURRENT_USER",
               "current_schema": "CURRENT_SCHEMA", "localtimestamp": "LOCALTIMESTAMP", "current_time": "CURRENT_TIME"}
_MEMO: dict[tuple, object] = {}


def _memo(catalog: Catalog, key: tuple, compute: Callable[[], object]):
    full = (id(catalog),) + key
    found = _MEMO.get(full)
    if found is not None and found[0] is catalog:
        return found[1]
    if len(_MEMO) > 4096:
        _MEMO.clear()
    value = compute()
    _MEMO[full] = (catalog, value)
    return value


def stored_default(column: ColumnDef) -> str | None:
    """What pg_attrdef records for a column: its DEFAULT or its generation expression, or None
    when it has neither (DEFAULT NULL is none)."""
    d = column.default if column.generated is None else column.generated
    if d is None or d.strip().upper() == "NULL":
        return None
    return d


def node_tree(sql: str, attnum: int = 0) -> str:
    """A pg_node_tree value (pg_attrdef.adbin, pg_constraint.conbin): the expression's SQL text
    and, for a column default, the column's attnum (its type decides how the default prints)."""
    return f"{{EXPR :attnum {attnum} :sql {sql}}}"


def parse_node_tree(tree: str) -> tuple[int, str]:
    """(attnum, SQL text) of a node_tree() value; other text is taken as SQL."""
    m = _NODE_TREE.fullmatch(tree)
    return (int(m.group(1)), m.group(2)) if m else (0, tree)


_NODE_TREE = re.compile(r"\{EXPR :attnum (\d+) :sql (.*)\}", re.S)


def _planner(catalog: Catalog, schema: str) -> Planner:
    from engine.catalog.virtual import virtual_table
    path = ("pg_catalog", schema) if schema == "public" else ("pg_catalog", schema, "public")
    env = PlanEnv(catalog, path, [], fold_constants=False,
                  virtual_table=lambda s, n: virtual_table(catalog, s, n, path))
    return Planner(env)


def view_columns(catalog: Catalog, view: ViewDef) -> list[tuple[str, SqlType]]:
    """(name, type) of each column a view returns."""
    if view.past_columns:          # its types as made (ALTER VIEW may rename its columns since)
        return [(n, c.type) for n, c in zip(view.column_names, view.past_columns)]

    def compute():
        node = _planner(catalog, view.schema).plan_query(parse_sql(view.sql))
        names = list(view.column_names) + [c.name for c in node.columns[len(view.column_names):]]
        return [(n, c.type) for n, c in zip(names, node.columns)]
    return _memo(catalog, ("view_columns", view.view_id), compute)


# -------------------------------------------------------------------- expressions


def expression(catalog: Catalog, table: TableDef, text: str, pretty: bool, default_for: ColumnDef | None = None) -> str:
    """A column default or CHECK expression of `table` as pg_get_expr prints it."""
    return _memo(catalog, ("expr", table.table_id, text, pretty, default_for.type if default_for else None),
                 lambda: _expression(catalog, table, text, pretty, default_for))


def _expression(catalog: Catalog, table: TableDef, text: str, pretty: bool, default_for: ColumnDef | None) -> str:
    planner = _planner(catalog, table.schema)
    scope = Scope([RangeEntry(table.name, [ScopeColumn(c.name, c.slot, c.type) for c in table.columns], table)])
    try:
        tree = parse_sql("SELECT " + text).expressions[0]
        bound = planner.bind(_keep_sql_syntax(tree), scope)
        if default_for is not None and bound.type.oid == UNKNOWN.oid:
            bound = planner.coerce(bound, default_for.type.base, "DEFAULT")
    except (SqlError, NeedsLiteral):
        return text
    names = {c.slot: c.name for c in table.columns}
    return Printer(lambda e: names.get(e.index, "?"), pretty).top(bound)


def _keep_sql_syntax(tree: exp.Expression) -> exp.Expression:
    """CURRENT_TIMESTAMP written as a keyword stays one (sqlglot parses now() to the same node,
    but only the function-call form carries a source position)."""
    def fix(node):
        if isinstance(node, exp.CurrentTimestamp) and not node.meta.get("start") and node.this is None:
            return exp.Anonymous(this="current_timestamp", expressions=[])
        return node
    return tree.transform(fix)


class Printer:
    """Prints bound expressions as ruleutils does (see the module docstring)."""

    def __init__(self, column_name: Callable[[Col], str], pretty: bool) -> None:
        self.column_name = column_name
        self.pretty = pretty

    def top(self, e: Expr) -> str:
        """The root of a column default: an implicit coercion to the column type is not shown."""
        return self.expr(e)

    def expr(self, e: Expr) -> str:
        t = type(e)
        if t is Col:
            return self.column_name(e)
        if t is Const:
            return self.const(e)
        if t is Cast:
            return self._wrap_child(e.arg, e) + "::" + _type_label(e.type)
        if t is Compare:
            return self._binary(e.op, e.left, e.right, e)
        if t is Like:
            op = ("!" if e.negated else "") + ("~~*" if e.case_insensitive else "~~")
            return self._binary(op, e.arg, e.pattern, e)
        if t is Call:
            if e.fn in _OPERATORS:
                if e.fn in _PREFIX_OPERATORS:
                    return self._own_parens(f"{e.fn[0]} {self._wrap_child(e.args[0], e)}", force=True)
                return self._binary(e.fn, e.args[0], e.args[1], e)
            if e.fn in _SQL_SYNTAX and not e.args:
                return _SQL_SYNTAX[e.fn]
            return f"{e.fn}({', '.join(self.expr(a) for a in e.args)})"
        if t is And or t is Or:
            word = " AND " if t is And else " OR "
            return self._own_parens(word.join(self._wrap_child(a, e) for a in e.args))
        if t is Not:
            return self._own_parens("NOT " + self._wrap_child(e.arg, e))
        if t is IsNull:
            return self._own_parens(f"{self._wrap_child(e.arg, e)} IS {'NOT ' if e.negated else ''}NULL")
        if t is IsBool:
            word = {True: "TRUE", False: "FALSE", None: "UNKNOWN"}[e.value]
            return self._own_parens(f"{self._wrap_child(e.arg, e)} IS {'NOT ' if e.negated else ''}{word}")
        if t is InList:
            op, quantifier = ("<>", "ALL") if e.negated else ("=", "ANY")
            items = ", ".join(self.expr(i) for i in e.items)
            return self._own_parens(f"{self._wrap_child(e.arg, e)} {op} {quantifier} (ARRAY[{items}])")
        if t is Coalesce:
            return f"COALESCE({', '.join(self.expr(a) for a in e.args)})"
        if t is Case:
            return self._case(e)
        if t is Param:
            return f"${e.index + 1}"
        if t is AggCall and not e.order:
            args = "*" if e.star else ("DISTINCT " if e.distinct else "") + ", ".join(self.expr(a) for a in e.args)
            text = f"{e.name}({args})"
            return text + (f" FILTER (WHERE {self.expr(e.filter)})" if e.filter is not None else "")
        raise SqlError("0A000", f"printing {t.__name__} is not supported")

    def const(self, e: Const) -> str:
        """get_const_expr: integers and float-looking numerics bare, everything else quoted and labelled."""
        value, t = e.value, e.type
        if value is None:
            return "NULL" if t.oid == UNKNOWN.oid else f"NULL::{_type_label(t)}"
        if t.oid == BOOL.oid:
            return "true" if value else "false"
        text = str(value) if t.oid in REG_TYPES else text_formatter(t)(value)
        if t.oid == INT4.oid:
            return text if value >= 0 else f"'{text}'::integer"
        if t.oid == NUMERIC.oid and text[:1].isdigit():
            if any(c in text for c in ".eE") and t.typmod == -1:
                return text
            return f"{text}::{_type_label(t)}"
        return "'" + text.replace("'", "''") + "'::" + _type_label(t)

    def _binary(self, op: str, left: Expr, right: Expr, node: Expr) -> str:
        return self._own_parens(f"{self._wrap_child(left, node)} {op} {self._wrap_child(right, node)}")

    def _own_parens(self, text: str, force: bool = False) -> str:
        """Non-pretty printing wraps every operator, boolean and test in parentheses."""
        return f"({text})" if force or not self.pretty else text

    def _wrap_child(self, child: Expr, parent: Expr) -> str:
        text = self.expr(child)
        if self.pretty:
            return text if _is_simple(child, parent) else f"({text})"
        return f"({text})" if isinstance(parent, Cast) else text

    def _case(self, e: Case) -> str:
        if self.pretty:
            parts = ["CASE"] + [f"    WHEN {self.expr(c)} THEN {self.expr(r)}" for c, r in e.whens]
            if e.default is not None:
                parts.append(f"    ELSE {self.expr(e.default)}")
            return "\n" + "\n".join(parts) + "\nEND"
        parts = ["CASE"] + [f" WHEN {self.expr(c)} THEN {self.expr(r)}" for c, r in e.whens]
        if e.default is not None:
            parts.append(f" ELSE {self.expr(e.default)}")
        return "".join(parts) + " END"


def _type_label(t: SqlType) -> str:
    """format_type_with_typemod: bpchar without a length prints as bpchar."""
    if t.oid == 1042 and t.typmod == -1:
        return "bpchar"
    return format_type(t)


def _kind(e: Expr) -> str:
    """The ruleutils node class of a bound expression."""
    if isinstance(e, (Col, Param)):
        return "var"
    if isinstance(e, Const):
        return "const"
    if isinstance(e, Call):
        if e.fn in _OPERATORS:
            return "op"
        return "func"
    if isinstance(e, (Cast, Coalesce, Case, AggCall)):
        return "func"
    if isinstance(e, (Compare, Like)):
        return "op"
    if isinstance(e, (And, Or, Not)):
        return "bool"
    if isinstance(e, (IsNull, IsBool, Subquery)):
        return "test"
    return "other"


_LOW, _HIGH = frozenset("+-"), frozenset("*/%")


def _op_name(e: Expr) -> str | None:
    if isinstance(e, Call) and e.fn in _OPERATORS and e.fn not in _PREFIX_OPERATORS:
        return e.fn
    if isinstance(e, Compare):
        return e.op
    if isinstance(e, Like):
        return "~~"
    return None


def _is_simple(node: Expr, parent: Expr) -> bool:
    """ruleutils' isSimpleNode: may `node` print without parentheses inside `parent`?"""
    kind, parent_kind = _kind(node), _kind(parent)
    if kind in ("var", "const", "func"):
        return True
    if kind == "op" and parent_kind == "op":
        op, parent_op = _op_name(node), _op_name(parent)
        if op is None or parent_op is None or op[0] not in _LOW | _HIGH or len(op) > 1 \
                or parent_op[0] not in _LOW | _HIGH or len(parent_op) > 1:
            return False
        if op in _HIGH and parent_op in _LOW:
            return True
        if op in _LOW and parent_op in _HIGH:
            return False
        return isinstance(parent, Call) and parent.args[0] is node
    if kind in ("op", "test"):
        if isinstance(parent, Cast):
            return False
        return parent_kind in ("bool", "func")
    if kind == "bool":
        if parent_kind != "bool":
            return False
        if isinstance(node, (Not, And)):
            return isinstance(parent, (And, Or))
        return isinstance(node, Or) and isinstance(parent, Or)
    return False


# -------------------------------------------------------------------- constraints, indexes, views


def constraint_definition(catalog: Catalog, table: TableDef, con: ConstraintDef, pretty: bool) -> str:
    """pg_get_constraintdef."""
    cols = ", ".join(_ident(table.column_by_slot(s).name) for s in con.columns if table.column_by_slot(s))
    if con.kind == "p":
        return f"PRIMARY KEY ({cols})"
    if con.kind == "u":
        return f"UNIQUE ({cols})"
    if con.kind == "c":
        body = expression(catalog, table, con.check or "true", pretty)
        return f"CHECK ({body})"
    if con.kind == "f":
        ref = catalog.tables.get(con.ref_table)
        ref_name = _qualified_name(catalog, ref.schema, ref.name) if ref is not None else "?"
        ref_cols = ", ".join(_ident(ref.column_by_slot(s).name) for s in con.ref_columns) if ref is not None else ""
        out = f"FOREIGN KEY ({cols}) REFERENCES {ref_name}({ref_cols})"
        actions = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
        if con.on_update in actions:
            out += f" ON UPDATE {actions[con.on_update]}"
        if con.on_delete in actions:
            out += f" ON DELETE {actions[con.on_delete]}"
        return out
    raise SqlError("0A000", f"constraint type {con.kind} is not supported")


def _qualified_name(catalog: Catalog, schema: str, name: str) -> str:
    """A relation name qualified only when the default search path would not find it."""
    return _ident(name) if schema in ("public", "pg_catalog") else f"{_ident(schema)}.{_ident(name)}"


def index_definition(catalog: Catalog, index: IndexDef, column: int = 0) -> str:
    """pg_get_indexdef(index, column): the CREATE INDEX statement, or one key column's name."""
    table = catalog.tables[index.table_id]
    names = [_ident(table.column_by_slot(s).name) for s in index.columns]
    if column:
        return names[column - 1] if 0 < column <= len(names) else ""
    unique = "UNIQUE " if index.unique else ""
    return (f"CREATE {unique}INDEX {_ident(index.name)} ON {_ident(table.schema)}.{_ident(table.name)} "
            f"USING {index.method} ({', '.join(names)})")


def view_definition(catalog: Catalog, view: ViewDef, pretty: bool) -> str:
    """pg_get_viewdef: the view's query laid out as PostgreSQL does (one select item per line,
    FROM, WHERE, GROUP BY, HAVING, ORDER BY on lines of their own, columns qualified with
    their table); a query beyond that shape (subqueries, set operations, windows, WITH)
    comes back as it was recorded."""
    return _memo(catalog, ("view", view.view_id, pretty), lambda: _view_definition(catalog, view, pretty))


class _Unprintable(Exception):
    """A view query outside the shape `view_definition` lays out itself."""


def _view_definition(catalog: Catalog, view: ViewDef, pretty: bool) -> str:
    try:
        return _select_definition(catalog, view, parse_sql(view.sql), pretty) + ";"
    except (_Unprintable, SqlError, NeedsLiteral):
        return " " + view.sql.strip().rstrip(";").strip() + ";"


def _select_definition(catalog: Catalog, view: ViewDef, tree: exp.Expression, pretty: bool) -> str:
    if not isinstance(tree, exp.Select) or tree.args.get("with_") or tree.args.get("with") \
            or any(isinstance(n, (exp.Subquery, exp.Window, exp.Union, exp.Lateral)) for n in tree.walk()) \
            or any(isinstance(n, exp.Star) for item in tree.expressions if not isinstance(item, exp.Star)
                   for n in item.walk() if not isinstance(n.parent, exp.Count)):
        raise _Unprintable()
    from_ = tree.args.get("from_") or tree.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Table):
        raise _Unprintable()
    joins = tree.args.get("joins") or []
    if any(not isinstance(j.this, exp.Table) or j.args.get("using") or j.args.get("method") for j in joins):
        raise _Unprintable()
    planner = _planner(catalog, view.schema)
    relation = planner.plan_from(from_.this, joins, None)
    scope = Scope(relation.entries, None, relation.star)
    qualified = {c.index: f"{_ident(e.alias)}.{_ident(c.name)}" for e in relation.entries for c in e.columns}
    printer = Printer(lambda col: qualified.get(col.index, "?"), pretty)

    expressions: list[exp.Expression] = []
    for item in tree.expressions:         # SELECT * as the columns it stood for when the view was made
        if isinstance(item, exp.Star):
            expressions.extend(exp.column(c.name, quoted=True) for c in relation.star)
        else:
            expressions.append(item)
    items = []
    for i, item in enumerate(expressions):
        node = item.this if isinstance(item, exp.Alias) else item
        bound = planner.bind(node, scope)
        name = view.column_names[i] if i < len(view.column_names) else \
            (item.alias if isinstance(item, exp.Alias) else output_name(item))
        text = printer.expr(bound)
        natural = scope.column_info(bound.index).name if isinstance(bound, Col) and scope.column_info(bound.index) else None
        items.append(text if natural == name else f"{text} AS {_ident(name)}")
    distinct = "DISTINCT " if tree.args.get("distinct") else ""
    lines = [" SELECT " + distinct + ",\n    ".join(items)]
    source = _from_item(catalog, from_.this)
    for j in joins:          # non-pretty printing parenthesizes each join and its condition
        side = (j.args.get("side") or "").upper()
        kind = "CROSS JOIN" if (j.args.get("kind") or "").upper() == "CROSS" else (f"{side} JOIN" if side else "JOIN")
        on = j.args.get("on")
        condition = ""
        if on is not None:
            text = printer.expr(planner.bind_condition(on, scope, "JOIN/ON"))
            condition = f" ON {text}" if pretty else f" ON ({text})"
        joined = f"{source}\n     {kind} {_from_item(catalog, j.this)}{condition}"
        source = joined if pretty else f"({joined})"
    lines.append("   FROM " + source)
    where = tree.args.get("where")
    if where is not None:
        lines.append("  WHERE " + printer.expr(planner.bind_condition(where.this, scope, "WHERE")))
    group = tree.args.get("group")
    if group is not None:
        lines.append("  GROUP BY " + ", ".join(printer.expr(planner.bind(g, scope)) for g in group.expressions))
    having = tree.args.get("having")
    if having is not None:
        lines.append(" HAVING " + printer.expr(planner.bind_condition(having.this, scope, "HAVING")))
    order = tree.args.get("order")
    if order is not None:
        keys = []
        for o in order.expressions:
            text = printer.expr(planner.bind(o.this, scope))
            desc = bool(o.args.get("desc"))
            nulls_first = o.args.get("nulls_first")
            keys.append(text + (" DESC" if desc else "") +
                        ("" if nulls_first is None or bool(nulls_first) == desc else
                         (" NULLS FIRST" if nulls_first else " NULLS LAST")))
        lines.append("  ORDER BY " + ", ".join(keys))
    for clause in ("limit", "offset"):
        node = tree.args.get(clause)
        if node is not None:
            value = node.expression if clause == "limit" else node.expression
            lines.append(f" {clause.upper()} {printer.expr(planner.bind(value, scope))}")
    return "\n".join(lines)


def _from_item(catalog: Catalog, table: exp.Table) -> str:
    name = _qualified_name(catalog, table.db or "public", table.name)
    version = table.args.get("version")            # FOR SYSTEM_TIME ..., before the alias
    if version is not None:
        name = f"{name} {expression_sql(version)}"
    alias = table.alias
    return name if not alias or alias == table.name else f"{name} {_ident(alias)}"


def _ident(name: str) -> str:
    from engine.catalog.system import quote_ident
    return quote_ident(name)
