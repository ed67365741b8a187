"""The binder and planner: a sqlglot tree + the catalog -> a typed plan.

Names are resolved against the catalog the statement reads (the session's, or a past one
for time travel), through `Scope`s that map visible names to positions in the row tuples
flowing out of the FROM clause. Expressions are typed as PostgreSQL types them: literals are
`unknown` until context decides, parameters without a declared type take the type their
first use requires, numbers promote along int2 < int4 < int8 < numeric < float4 < float8.

The plan is built bottom-up in SQL's logical order: FROM (scans, joins) -> WHERE -> GROUP BY
and aggregates -> HAVING -> SELECT list -> DISTINCT -> ORDER BY -> LIMIT; the optimizer
(`engine.sql.optimizer`) then pushes filters into scans and picks index lookups.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable

from sqlglot import exp

from engine.catalog.model import TEMP_ID_BASE, Catalog, ColumnDef, TableDef
from engine.catalog.system import relation_row_type, system_catalog
from engine.errors import SqlError, feature_not_supported, syntax_error
from engine.exec import functions as F
from engine.exec import plan as P
from engine.exec.aggregates import AGGREGATE_NAMES, HYPOTHETICAL_NAMES, ORDERED_SET_NAMES, no_such_aggregate
from engine.exec.aggregates import argument_types as aggregate_argument_types
from engine.exec.aggregates import result_type as aggregate_result_type
from engine.exec.casts import cast_function, castable
from engine.exec.expr import (AggCall, And, ArrayExpr, Call, Case, Cast, Coalesce, Col, Compare, Const, Expr, Frame,
                              GroupingCall, InList, IsBool, IsNull, Like, Not, Or, OrderItem, OuterCol,
                              Param, Quantified, RowValue, SrfCall, Subquery, WindowCall, WindowSpec, map_children,
                              children, map_expr, walk)
from engine.exec.srf import SET_RETURNING
from engine.exec.windows import WINDOW_FUNCTIONS, window_signature
from engine.rewind.points import PointTable
from engine.sql.timetravel import version_point
from engine.txn.locks import KEY_SHARE, NO_KEY_UPDATE, SHARE, UPDATE
from engine.txn.temp import no_history
from engine.types import (CHAR, INT2VECTOR, OID, OIDVECTOR, REG_TYPES, record_fields, record_of,
                          OutputSettings, BOOL, BPCHAR, BYTEA, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8,
                          INTERVAL, JSON, JSONB, NUMERIC, NUMERIC_PRECEDENCE, STRING_TYPES, TEXT, TIME,
                          TIMESTAMP, TIMESTAMPTZ, TIMETZ, UNKNOWN, VARCHAR, SqlType, array_of, format_type,
                          text_parser, type_from_name)


# SQL's value keywords that sqlglot may read as column names
_SQL_VALUE_KEYWORDS = {"user": "current_user", "current_role": "current_user", "current_catalog": "current_database"}
_OID_FAMILY = frozenset({OID.oid} | REG_TYPES)
_INTEGERS = frozenset((INT2.oid, INT4.oid, INT8.oid))


class NeedsLiteral(Exception):
    """A lifted literal ended up where only a literal may stand; plan the original text."""


# -------------------------------------------------------------------- scopes


@dataclass(slots=True)
class ScopeColumn:
    name: str
    index: int
    type: SqlType
    table_oid: int = 0
    attnum: int = 0
    nullable: bool = True
    hidden: bool = False             # system columns: resolvable by name, not part of *
    unqualified: bool = True         # False for the sides of a USING column: only `alias.name` reaches them


@dataclass(slots=True)
class RangeEntry:
    alias: str                       # "" for the merged columns of USING joins (never qualified)
    columns: list[ScopeColumn]
    table: TableDef | None = None
    relation_oid: int = 0            # the pg_class oid its `tableoid` system column reads (0: none)
    row_type: SqlType | None = None  # a view's row type: what its whole-row reference is (a table's comes from `table`)


class Scope:
    """Names visible in one query level; `parent` is the enclosing query (correlation).

    `star` lists the columns `*` expands to, in order (USING joins merge and reorder them)."""

    def __init__(self, entries: list[RangeEntry], parent: Scope | None = None,
                 star: list[ScopeColumn] | None = None) -> None:
        self.entries = entries
        self.parent = parent
        self.star = star if star is not None else [c for e in entries for c in e.columns if not c.hidden]
        self.correlated = False

    def resolve(self, name: str, qualifier: str | None) -> Expr:
        depth = 0
        scope: Scope | None = self
        while scope is not None:
            found = scope._find(name, qualifier)
            if found is None and name == "tableoid":
                oid = scope._relation_oid(qualifier)
                if oid:
                    return Const(oid, OID)
            if found is not None:
                if depth == 0:
                    return Col(found.index, found.type, found.nullable)
                self.correlated = True
                return OuterCol(depth, found.index, found.type)
            scope = scope.parent
            depth += 1
        if qualifier is not None:
            if not any(e.alias == qualifier for s in self._chain() for e in s.entries):
                raise SqlError("42P01", f'missing FROM-clause entry for table "{qualifier}"')
            raise SqlError("42703", f"column {qualifier}.{name} does not exist")
        raise SqlError("42703", f'column "{name}" does not exist')

    def _chain(self):
        s: Scope | None = self
        while s is not None:
            yield s
            s = s.parent

    def _find(self, name: str, qualifier: str | None) -> ScopeColumn | None:
        matches = []
        for entry in self.entries:
            if qualifier is not None and entry.alias != qualifier:
                continue
            for c in entry.columns:
                if c.name == name and (qualifier is not None or c.unqualified):
                    matches.append(c)
        if len(matches) > 1:
            raise SqlError("42702", f'column reference "{name}" is ambiguous')
        return matches[0] if matches else None

    def _relation_oid(self, qualifier: str | None) -> int:
        """The oid of the one table (or system relation) `tableoid` names here, or 0."""
        oids = [e.relation_oid or (e.table.table_id if e.table is not None else 0)
                for e in self.entries if qualifier is None or e.alias == qualifier]
        if qualifier is None and len(oids) > 1 and any(oids):
            raise SqlError("42702", 'column reference "tableoid" is ambiguous')
        return oids[0] if len(oids) == 1 else 0

    def column_info(self, index: int) -> ScopeColumn | None:
        for entry in self.entries:
            for c in entry.columns:
                if c.index == index:
                    return c
        return None


@dataclass(slots=True)
class Relation:
    """A planned FROM item: its plan, the names it makes visible, and what `*` expands to."""
    node: P.Node
    entries: list[RangeEntry]
    star: list[ScopeColumn]
    lateral: bool = False            # refers to the items to its left: re-run per left row


@dataclass(slots=True)
class CteDef:
    """A WITH query visible by name. `busy` while its own body is being planned (a name inside
    it then means something else); `worktable` while its recursive term is."""
    tree: exp.Expression
    names: list[str] | None
    parent: Scope | None             # the scope the WITH clause is in (its outer queries)
    recursive: bool = False
    busy: bool = False
    used: bool = False
    worktable: P.WorkTableScan | None = None


# -------------------------------------------------------------------- the environment


@dataclass
class PlanEnv:
    """What planning needs from the session: the catalog, names, parameters, casts."""
    catalog: Catalog
    search_path: tuple[str, ...]
    param_types: list[SqlType]                       # grows/refines as parameters are typed
    settings: OutputSettings = OutputSettings()      # for folding casts of constants
    virtual_table: Callable[[str | None, str], Any] | None = None   # (schema, name) -> VirtualTable
    # (time-travel point, schema, name) -> the catalog that table reference binds against
    catalog_at: Callable[[P.ReadPoint, str | None, str], Catalog] | None = None
    session_point: bool = False                      # rewind.as_of: every table is read at ctx.points[0]
    lifted: tuple[str, ...] = ()                     # texts of lifted literals, by parameter
    fold_constants: bool = True                      # False: keep casts of typed constants (for deparsing)


# -------------------------------------------------------------------- type helpers


def datatype_to_sql(node: exp.DataType) -> SqlType:
    text = node.sql("postgres")
    m = re.fullmatch(r"(.*?)(?:\((.*?)\))?((?:\[\])*)", text.strip(), re.S)
    base = m.group(1).strip()
    mods = m.group(2)
    arrays = m.group(3) or ""
    if base.upper().endswith("[]"):
        arrays += "[]"
        base = base[:-2]
    if node.this == exp.DataType.Type.ARRAY and node.expressions:
        inner = datatype_to_sql(node.expressions[0])
        return array_of(inner)
    base = {"DECIMAL": "numeric", "DOUBLE PRECISION": "float8", "REAL": "float4", "INT": "int4",
            "VARBINARY": "bytea", "BOOLEAN": "bool"}.get(base.upper(), base)
    modifiers: tuple[int, ...] = ()
    if mods:
        try:
            modifiers = tuple(int(x) for x in mods.split(","))
        except ValueError:
            raise NeedsLiteral() if "$" in mods else syntax_error(f"invalid type modifier in {text}")
    return type_from_name(base + arrays, modifiers)


def anonymous_row(args: tuple[Expr, ...]) -> RowValue:
    """ROW(a, b, ...): a record whose fields f1, f2, ... have the arguments' types (unknown
    literals count as text), so the value has PostgreSQL's text and binary forms."""
    names = tuple(f"f{i + 1}" for i in range(len(args)))
    return RowValue(args, names, record_of([(n, TEXT if a.type.oid == UNKNOWN.oid else a.type)
                                            for n, a in zip(names, args)]))


def common_type(types: list[SqlType], context: str) -> SqlType:
    """The type a UNION/CASE/COALESCE/VALUES column resolves to (PostgreSQL's rules, common cases)."""
    known = [t for t in types if t.oid != UNKNOWN.oid]
    if not known:
        return TEXT
    first = known[0]
    if all(t.oid == first.oid for t in known):
        if all(t.typmod == first.typmod for t in known):
            return first
        return first.base
    if all(t.oid in NUMERIC_PRECEDENCE for t in known):
        best = max(known, key=lambda t: NUMERIC_PRECEDENCE[t.oid])
        return best.base
    if all(t.oid in STRING_TYPES for t in known):
        # the string types all cast implicitly to each other, so PostgreSQL keeps the first one
        return first.base
    datetimes = {DATE.oid: 0, TIMESTAMP.oid: 1, TIMESTAMPTZ.oid: 2}
    if all(t.oid in datetimes for t in known):
        return max(known, key=lambda t: datetimes[t.oid]).base
    raise SqlError("42804", f"{context} types {format_type(known[0])} and "
                   f"{format_type(next(t for t in known if t.oid != first.oid))} cannot be matched")


_FUNC_ALIASES = {"current_timestamp": "now", "ifnull": "coalesce", "nvl": "coalesce",
                 "lcase": "lower", "ucase": "upper", "stddev": "stddev_samp", "variance": "var_samp",
                 "logical_and": "bool_and", "logical_or": "bool_or", "bool_and": "bool_and",
                 "char_length": "char_length", "length": "length", "pow": "power", "ceil": "ceil",
                 "group_concat": "string_agg", "arrayagg": "array_agg", "array_agg": "array_agg",
                 "string_agg": "string_agg", "strpos": "strpos", "stddevsamp": "stddev_samp",
                 "stddevpop": "stddev_pop", "varsamp": "var_samp", "varpop": "var_pop"}

_SQLGLOT_FUNC_NAMES = {exp.CurrentTimestamp: "now", exp.CurrentDate: "current_date",
                       exp.CurrentUser: "current_user", exp.ArrayAgg: "array_agg",
                       exp.GroupConcat: "string_agg", exp.LogicalAnd: "bool_and",
                       exp.LogicalOr: "bool_or", exp.JSONArrayAgg: "json_agg",
                       exp.JSONBObjectAgg: "jsonb_object_agg", exp.JSONObjectAgg: "json_object_agg",
                       exp.VariancePop: "var_pop", exp.GenerateSeries: "generate_series",
                       exp.ExplodingGenerateSeries: "generate_series", exp.Explode: "unnest",
                       exp.Unnest: "unnest", exp.CurrentVersion: "version"}


def function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    for cls, name in _SQLGLOT_FUNC_NAMES.items():
        if isinstance(node, cls):
            return name
    name = node.sql_name().lower()
    return _FUNC_ALIASES.get(name, name)


def function_args(node: exp.Func) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    out: list[exp.Expression] = []
    for key in node.arg_types:
        value = node.args.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, list):
            out.extend(value)
        elif isinstance(value, exp.Expression):
            out.append(value)
    return out


# -------------------------------------------------------------------- the planner


class Planner:
    """Plans one statement. Create one per statement; it records parameter types as it goes."""

    def __init__(self, env: PlanEnv) -> None:
        self.env = env
        self.ctes: list[dict[str, CteDef]] = []
        self.windows: list[dict[str, exp.Window]] = []     # WINDOW clauses of the SELECTs being planned
        self._worktable_keys = itertools.count(1)
        # FOR SYSTEM_TIME: the statement's clauses (by ReadPoint.index), each time-travel table
        # reference with the catalog it was bound against, and the point a view body is read at
        self.read_points: list[P.ReadPoint] = [P.ReadPoint(0, "as_of", True)] if env.session_point else []
        self.point_tables: list[PointTable] = []
        self._view_point: tuple[P.ReadPoint, Catalog] | None = None
        self.locking: dict[str, tuple[int, str, str]] = {}   # FROM alias -> (mode, wait, clause) being locked
        self.statement: exp.Expression | None = None   # the statement's own tree (data-modifying WITH sits there)
        self.cte_writes: list[P.CteWrite] = []         # its data-modifying WITH queries, in order

    # ---------------------------------------------------------------- queries

    def plan_query(self, tree: exp.Expression, parent: Scope | None = None, keep_unknown: bool = False) -> P.Node:
        """A query's plan. `keep_unknown` leaves untyped literals in the select list unknown (set
        operation branches, whose column types are resolved across all branches)."""
        if isinstance(tree, exp.Subquery):
            return self._with(tree, parent, lambda: self._apply_modifiers(
                tree, self.plan_query(tree.this, parent, keep_unknown and not _has_modifiers(tree)), parent))
        if isinstance(tree, exp.Select):
            return self.plan_select(tree, parent, keep_unknown)
        if isinstance(tree, (exp.Union, exp.Intersect, exp.Except)):
            return self.plan_setop(tree, parent)
        if isinstance(tree, exp.Values):
            return self.plan_values(tree, parent)
        if isinstance(tree, exp.Table) and not tree.args.get("joins"):
            return self.plan_query(exp.select("*").from_(tree), parent)
        raise feature_not_supported(f"query {type(tree).__name__}")

    def _with(self, tree: exp.Expression, parent: Scope | None, plan: Callable[[], P.Node]) -> P.Node:
        """plan(), with the WITH clause of `tree` (if any) visible to it. WITH queries nobody
        referenced are planned too, so their errors surface as in PostgreSQL."""
        w = tree.args.get("with_") or tree.args.get("with")
        if not w:
            return plan()
        recursive = bool(w.args.get("recursive"))
        frame: dict[str, CteDef] = {}
        writes = []
        for cte in w.expressions:
            body = cte.this
            alias = cte.args.get("alias")
            names = [c.name for c in alias.columns] if alias is not None and alias.columns else None
            name = cte.alias_or_name
            if name in frame:
                raise SqlError("42712", f'WITH query name "{name}" specified more than once')
            frame[name] = CteDef(body, names, parent, recursive and _mentions_table(body, name))
            if isinstance(body, (exp.Insert, exp.Update, exp.Delete)):
                if tree is not self.statement:
                    raise SqlError("0A000", "WITH clause containing a data-modifying statement must be at the top level")
                writes.append(name)
            elif isinstance(body, exp.Merge):
                raise SqlError("0A000", "MERGE not supported in WITH query")
            elif not isinstance(body, (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)):
                raise feature_not_supported(f"{type(body).__name__} in WITH")
        self.ctes.append(frame)
        try:
            for name in writes:
                self._plan_cte_write(frame[name], name)
            node = plan()
            for name, d in frame.items():
                if not d.used:
                    self._plan_cte(d, name, parent)
            return node
        finally:
            self.ctes.pop()

    def _cte(self, name: str) -> CteDef | None:
        for frame in reversed(self.ctes):
            d = frame.get(name)
            if d is not None and not d.busy:
                return d
        return None

    def _plan_cte_write(self, d: CteDef, name: str) -> None:
        """A data-modifying WITH query: planned once, in order, to run before the statement;
        references to it read its RETURNING rows."""
        d.used = d.busy = True
        try:
            plan = self.plan_write(d.tree)
        finally:
            d.busy = False
        key = next(self._worktable_keys)
        self.cte_writes.append(P.CteWrite(name, key, plan))
        if plan.columns:
            names = d.names or []
            if len(names) > len(plan.columns):
                raise SqlError("42P10", f'WITH query "{name}" has {len(plan.columns)} columns available but {len(names)} columns specified')
            columns = tuple(P.OutputColumn(names[i] if i < len(names) else c.name, c.type)
                            for i, c in enumerate(plan.columns))
            d.worktable = P.WorkTableScan(name, key, columns, cte=True)

    def plan_write(self, tree: exp.Expression):
        raise feature_not_supported(f"{type(tree).__name__} here")

    def _plan_cte(self, d: CteDef, name: str, parent: Scope | None) -> P.Node:
        """A WITH query's plan where it is referenced: inlined, with its references to outer
        queries adjusted for how many query levels deeper the reference sits."""
        d.used = True
        if d.worktable is not None:
            return d.worktable
        if isinstance(d.tree, (exp.Insert, exp.Update, exp.Delete)):
            raise SqlError("0A000", f'WITH query "{name}" does not have a RETURNING clause')
        if d.recursive:
            node = self._plan_recursive(d, name)
        else:
            d.busy = True
            try:
                node = _renamed(self.plan_query(d.tree, d.parent), d.names, name)
            finally:
                d.busy = False
        if parent is not d.parent and _plan_depth(node) >= 1:
            levels, scope = 0, parent
            while scope is not None and scope is not d.parent:
                levels, scope = levels + 1, scope.parent
            if scope is not d.parent:
                raise feature_not_supported(f'WITH query "{name}" referring to outer queries from here')
            node = _deepen_outer(node, levels)
        return node

    def _plan_recursive(self, d: CteDef, name: str) -> P.Node:
        body = d.tree
        if isinstance(body, exp.Union) and body.args.get("order"):
            raise SqlError("0A000", "ORDER BY in a recursive query is not implemented")
        if isinstance(body, exp.Union) and (body.args.get("limit") or body.args.get("offset")):
            raise SqlError("0A000", "LIMIT in a recursive query is not implemented")
        if not isinstance(body, exp.Union):
            raise SqlError("42P19", f'recursive query "{name}" does not have the form non-recursive-term UNION [ALL] recursive-term')
        if _mentions_table(body.this, name):
            raise SqlError("42P19", f'recursive reference to query "{name}" must not appear within its non-recursive term')
        d.busy = True
        try:
            anchor = _renamed(self.plan_query(body.this, d.parent), d.names, name)
        finally:
            d.busy = False
        key = next(self._worktable_keys)
        columns = tuple(P.OutputColumn(c.name, c.type) for c in anchor.columns)
        d.worktable = P.WorkTableScan(name, key, columns)
        try:
            recursive = self.plan_query(body.expression, d.parent, keep_unknown=True)
        finally:
            d.worktable = None
        if len(recursive.columns) != len(columns):
            raise SqlError("42601", "each UNION query must have the same number of columns")
        exprs = []
        for i, (want, got) in enumerate(zip(columns, recursive.columns)):
            e: Expr = Col(i, got.type)
            if got.type.oid == UNKNOWN.oid:
                e = self.coerce(e, want.type, "UNION")
            elif got.type != want.type:
                raise SqlError("42804", f'recursive query "{name}" column {i + 1} has type {format_type(want.type)} '
                               f'in non-recursive term but type {format_type(got.type)} overall',
                               hint="Cast the output of the non-recursive term to the correct type.")
            exprs.append(e)
        if any(not isinstance(e, Col) for e in exprs):
            recursive = P.Project(recursive, tuple(exprs), columns)
        distinct = bool(body.args.get("distinct"))
        return P.RecursiveUnion(name, anchor, recursive, distinct, key, columns)

    def plan_select(self, tree: exp.Select, parent: Scope | None, keep_unknown: bool = False) -> P.Node:
        named: dict[str, exp.Window] = {}
        for w in tree.args.get("windows") or []:
            if w.name in named:
                raise SqlError("42P20", f'window "{w.name}" is already defined')
            named[w.name] = w
        self.windows.append(named)
        try:
            return self._with(tree, parent, lambda: self._plan_select(tree, parent, keep_unknown))
        finally:
            self.windows.pop()

    def _plan_select(self, tree: exp.Select, parent: Scope | None, keep_unknown: bool) -> P.Node:
        from_ = tree.args.get("from_") or tree.args.get("from")
        locks = tree.args.get("locks")
        locked = _locked_aliases(tree, from_, locks) if locks else {}
        if from_ is not None:
            outer_locking = self.locking
            self.locking = locked
            try:
                rel = self.plan_from(from_.this, tree.args.get("joins") or [], parent)
            finally:
                self.locking = outer_locking
            node, scope = rel.node, Scope(rel.entries, parent, rel.star)
        else:
            if tree.args.get("joins"):
                raise syntax_error("syntax error at or near \"JOIN\"")
            node, scope = P.Result(), Scope([], parent)
        where = tree.args.get("where")
        where_predicate = None
        if where is not None:
            where_predicate = self.bind_condition(where.this, scope, "WHERE")
            node = _narrowed(P.Filter(node, where_predicate, node.columns), self.env.settings)

        items = self.expand_select_list(tree.expressions, scope)
        bound = [self.bind_item(e, col, scope) for e, _, col in items]
        order = tree.args.get("order")
        order_keys = [self._bind_order_item(o, scope, items, bound) for o in order.expressions] if order else []
        distinct = tree.args.get("distinct")
        distinct_on: list[Expr] = []
        if distinct is not None and distinct.args.get("on") is not None:
            on = distinct.args["on"]
            for x in (on.expressions if isinstance(on, exp.Tuple) else [on]):
                distinct_on.append(self._bind_order_item(exp.Ordered(this=x), scope, items, bound).expr)
        having = tree.args.get("having")
        having_expr = self.bind_condition(having.this, scope, "HAVING") if having is not None else None
        group_exprs, sets = self._group_by(tree.args.get("group"), scope, items, bound)

        everything = bound + [k.expr for k in order_keys] + distinct_on + ([having_expr] if having_expr is not None else [])
        aggs = _collect(everything, AggCall)
        groupings = _collect(everything, GroupingCall)
        if aggs or group_exprs or sets is not None or having_expr is not None or groupings:
            if sets is None and group_exprs:
                group_exprs = group_exprs + _functionally_dependent(scope, group_exprs, everything)
            node, rewrite = self._aggregate(node, scope, group_exprs, sets, aggs, groupings)
            bound = [rewrite(b) for b in bound]
            order_keys = [P.SortKey(rewrite(k.expr), k.descending, k.nulls_first) for k in order_keys]
            distinct_on = [rewrite(e) for e in distinct_on]
            if having_expr is not None:
                node = P.Filter(node, rewrite(having_expr), node.columns)

        calls = _collect(bound + [k.expr for k in order_keys] + distinct_on, WindowCall)
        if calls:
            node, rewrite = self._windows(node, calls)
            bound = [rewrite(b) for b in bound]
            order_keys = [P.SortKey(rewrite(k.expr), k.descending, k.nulls_first) for k in order_keys]
            distinct_on = [rewrite(e) for e in distinct_on]
        srfs = _collect(bound + [k.expr for k in order_keys] + distinct_on, SrfCall)
        if srfs:
            base = len(node.columns)
            cols = node.columns + tuple(P.OutputColumn(f.name, f.type) for f in srfs)
            node = P.ProjectSet(node, tuple(srfs), cols)
            position = {f: base + i for i, f in enumerate(srfs)}

            def to_column(e: Expr) -> Expr:
                return map_expr(e, lambda x: Col(position[x], x.type) if isinstance(x, SrfCall) else None)
            bound = [to_column(b) for b in bound]
            order_keys = [P.SortKey(to_column(k.expr), k.descending, k.nulls_first) for k in order_keys]
            distinct_on = [to_column(e) for e in distinct_on]

        out_cols = tuple(self._output_column(b, name, col, scope, keep_unknown)
                         for b, (_, name, col) in zip(bound, items))
        exprs = list(bound)
        n_visible = len(exprs)

        def position_of(e: Expr, context: str) -> int:
            try:
                return exprs.index(e)
            except ValueError:
                if distinct is not None and not distinct_on and context == "order":
                    raise SqlError("42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
                exprs.append(e)
                return len(exprs) - 1

        sort_keys = [P.SortKey(Col(position_of(k.expr, "order"), k.expr.type), k.descending, k.nulls_first)
                     for k in order_keys]
        on_cols = [Col(position_of(e, "on"), e.type) for e in distinct_on]
        if locks:
            _check_lockable(tree, locks, aggs=bool(aggs), windows=bool(calls), srfs=bool(srfs))
            raw = len(exprs)
            exprs.extend(Col(i, c.type) for i, c in enumerate(node.columns))
        hidden = tuple(P.OutputColumn("?hidden?", e.type) for e in exprs[n_visible:])
        node = P.Project(node, tuple(exprs), out_cols + hidden)
        if on_cols:
            sort_keys = _distinct_on_order(on_cols, sort_keys)
            node = P.Distinct(P.Sort(node, tuple(sort_keys), node.columns), node.columns, tuple(on_cols))
        else:
            if distinct is not None:
                node = P.Distinct(node, node.columns)
            if sort_keys:
                node = P.Sort(node, tuple(sort_keys), node.columns)
        if locks:
            return self._lock_rows(tree, node, scope, locked, where_predicate, raw, tuple(bound), out_cols)
        node = self._limit(tree, node, scope, sort_keys)
        if hidden:
            node = P.Project(node, tuple(Col(i, c.type) for i, c in enumerate(out_cols)), out_cols)
        return node

    def _lock_rows(self, tree: exp.Select, node: P.Node, scope: Scope, locked: dict[str, tuple[int, str, str]],
                   predicate: Expr | None, raw: int, outputs: tuple[Expr, ...],
                   columns: tuple[P.OutputColumn, ...]) -> P.Node:
        """SELECT ... FOR UPDATE: a LockRows node over the sorted rows, taking over LIMIT/OFFSET."""
        targets = []
        for entry in scope.entries:
            lock = locked.get(entry.alias)
            if lock is None:
                continue
            if entry.table is None or not entry.table.columns:
                raise feature_not_supported(f"{lock[2]} on a subquery, view, function or table without columns in FROM")
            start = entry.columns[0].index - entry.table.columns[0].slot    # where the table's slot 0 sits
            targets.append(P.LockTarget(entry.table, start, start + entry.table.width, *lock))
        limited = self._limit(tree, node, scope, [])
        if isinstance(limited, P.Limit) and limited.ties:
            raise feature_not_supported(f"{targets[0].clause if targets else 'FOR UPDATE'} with WITH TIES")
        count, offset = (limited.count, limited.offset) if isinstance(limited, P.Limit) else (None, None)
        return P.LockRows(node, tuple(targets), raw, predicate, outputs, count, offset, columns)

    def _bind_order_item(self, o: exp.Ordered, scope: Scope, select_items, bound: list[Expr]) -> P.SortKey:
        """An ORDER BY (or DISTINCT ON) item: a select-list position, an output column name, or
        an expression over the FROM clause's columns, in that order of preference."""
        target = o.this
        desc = bool(o.args.get("desc"))
        nulls_first = o.args.get("nulls_first")
        nulls_first = bool(nulls_first) if nulls_first is not None else desc
        if isinstance(target, exp.Literal) and not target.is_string:
            pos = int(target.this) if target.this.isdigit() else 0
            if not 1 <= pos <= len(bound):
                raise SqlError("42P10", f"ORDER BY position {target.this} is not in select list")
            return P.SortKey(bound[pos - 1], desc, nulls_first)
        if isinstance(target, exp.Parameter):
            raise NeedsLiteral()
        if isinstance(target, exp.Column) and not target.table and not isinstance(target.this, exp.Star):
            matches = [b for b, (_, n, _) in zip(bound, select_items) if n == target.name]
            if matches:
                if len(set(matches)) > 1:
                    raise SqlError("42702", f'ORDER BY "{target.name}" is ambiguous')
                return P.SortKey(matches[0], desc, nulls_first)
        e = self.bind(target, scope)
        if e.type.oid == UNKNOWN.oid:
            e = self.coerce(e, TEXT, "ORDER BY")
        return P.SortKey(e, desc, nulls_first)

    def _group_by(self, group: exp.Group | None, scope: Scope, select_items, bound: list[Expr]
                  ) -> tuple[list[Expr], list[list[Expr]] | None]:
        """GROUP BY's expressions, and its grouping sets (None when it has no ROLLUP, CUBE or
        GROUPING SETS): the cross product of every item's sets, as PostgreSQL expands them."""
        if group is None:
            return [], None
        items = list(group.expressions)
        for key in ("grouping_sets", "rollup", "cube"):
            value = group.args.get(key)
            if isinstance(value, list):
                items.extend(value)
            elif isinstance(value, exp.Expression):
                items.append(value)

        def one(g: exp.Expression) -> Expr:
            if isinstance(g, exp.Paren):
                return one(g.this)
            if isinstance(g, exp.Literal) and not g.is_string:
                pos = int(g.this) if g.this.isdigit() else 0
                if not 1 <= pos <= len(bound):
                    raise SqlError("42P10", f"GROUP BY position {g.this} is not in select list")
                return bound[pos - 1]
            if isinstance(g, exp.Parameter):
                raise NeedsLiteral()
            if isinstance(g, exp.Column) and not g.table and scope._find(g.name, None) is None:
                for b, (_, n, _) in zip(bound, select_items):
                    if n == g.name:
                        return b
            e = self.bind(g, scope)
            if any(isinstance(x, (AggCall, WindowCall)) for x in walk(e)):
                raise SqlError("42803", "aggregate functions are not allowed in GROUP BY")
            if e.type.oid == UNKNOWN.oid:
                e = self.coerce(e, TEXT, "GROUP BY")
            return e

        def element(g: exp.Expression) -> list[Expr]:
            """One element of ROLLUP/CUBE: an expression or a parenthesized list of them."""
            if isinstance(g, exp.Tuple):
                return [one(x) for x in g.expressions]
            return [one(g)]

        def sets_of(g: exp.Expression) -> list[list[Expr]] | None:
            if isinstance(g, exp.Rollup):
                parts = [element(x) for x in g.expressions]
                return [[e for p in parts[:k] for e in p] for k in range(len(parts), -1, -1)]
            if isinstance(g, exp.Cube):
                parts = [element(x) for x in g.expressions]
                return [[e for i, p in enumerate(parts) if bits & (1 << (len(parts) - 1 - i)) for e in p]
                        for bits in range((1 << len(parts)) - 1, -1, -1)]
            if isinstance(g, exp.GroupingSets):
                out = []
                for x in g.expressions:
                    inner = sets_of(x)
                    out.extend(inner if inner is not None else [element(x)])
                return out
            if isinstance(g, exp.Tuple) and not g.expressions:
                return [[]]
            return None

        exprs: list[Expr] = []
        sets: list[list[Expr]] = [[]]
        any_sets = False
        for g in items:
            item_sets = sets_of(g)
            if item_sets is None:
                e = one(g)
                exprs.append(e)
                sets = [s + [e] for s in sets]
            else:
                any_sets = True
                exprs.extend(e for s in item_sets for e in s)
                sets = [s + t for s in sets for t in item_sets]
        return list(dict.fromkeys(exprs)), (sets if any_sets else None)

    def _limit(self, tree: exp.Expression, node: P.Node, scope: Scope, sort_keys: list[P.SortKey]) -> P.Node:
        limit = tree.args.get("limit")
        offset = tree.args.get("offset")
        if limit is None and offset is None:
            return node
        count = None
        ties: tuple[Expr, ...] = ()
        if limit is not None:
            if isinstance(limit, exp.Fetch):
                target = limit.args.get("count")
                options = limit.args.get("limit_options")
                if options is not None and options.args.get("percent"):
                    raise feature_not_supported("FETCH FIRST ... PERCENT")
                if options is not None and options.args.get("with_ties"):
                    if not sort_keys:
                        raise SqlError("42601", "WITH TIES cannot be specified without ORDER BY clause")
                    ties = tuple(k.expr for k in sort_keys)
                if target is None:
                    target = exp.Literal.number(1)
            else:
                target = limit.expression
            if not isinstance(target, exp.Null) and not (isinstance(target, exp.Var) and target.name.upper() == "ALL"):
                count = self._limit_value(target, scope, "LIMIT")
        off = self._limit_value(offset.expression, scope, "OFFSET") if offset is not None else None
        return P.Limit(node, count, off, node.columns, ties)

    def _limit_value(self, target: exp.Expression, scope: Scope, clause: str) -> Expr:
        e = self.bind(target, scope)
        if any(isinstance(x, Col) for x in walk(e)):
            raise SqlError("42P10", f"argument of {clause} must not contain variables")
        if any(isinstance(x, AggCall) for x in walk(e)):
            raise SqlError("42803", f"aggregate functions are not allowed in {clause}")
        return self.coerce(e, INT8, clause, assignment=True)

    def _apply_modifiers(self, tree: exp.Expression, node: P.Node, parent: Scope | None) -> P.Node:
        """ORDER BY / LIMIT on a set operation, VALUES or parenthesized query: over its output."""
        order = tree.args.get("order")
        keys: list[P.SortKey] = []
        if order is not None:
            scope = self._scope_for_output(node, parent)
            for o in order.expressions:
                target = o.this
                desc = bool(o.args.get("desc"))
                nf = o.args.get("nulls_first")
                nf = bool(nf) if nf is not None else desc
                if isinstance(target, exp.Literal) and not target.is_string:
                    pos = int(target.this) if target.this.isdigit() else 0
                    if not 1 <= pos <= len(node.columns):
                        raise SqlError("42P10", f"ORDER BY position {target.this} is not in select list")
                    keys.append(P.SortKey(Col(pos - 1, node.columns[pos - 1].type), desc, nf))
                elif isinstance(target, exp.Parameter):
                    raise NeedsLiteral()
                elif isinstance(tree, (exp.Union, exp.Intersect, exp.Except)) and not isinstance(target, exp.Column):
                    raise SqlError("0A000", "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
                                   detail="Only result column names can be used, not expressions or functions.",
                                   hint="Add the expression/function to every SELECT, or move the UNION into a FROM clause.")
                else:
                    keys.append(P.SortKey(self.bind(target, scope), desc, nf))
            node = P.Sort(node, tuple(keys), node.columns)
        return self._limit(tree, node, Scope([], parent), keys)

    def _scope_for_output(self, node: P.Node, parent: Scope | None) -> Scope:
        cols = [ScopeColumn(c.name, i, c.type) for i, c in enumerate(node.columns)]
        return Scope([RangeEntry("", cols)], parent)

    def plan_setop(self, tree: exp.Expression, parent: Scope | None) -> P.Node:
        return self._with(tree, parent, lambda: self._plan_setop(tree, parent))

    def _plan_setop(self, tree: exp.Expression, parent: Scope | None) -> P.Node:
        for side in (tree.this, tree.expression, tree):
            if side.args.get("locks"):
                raise SqlError("0A000", f"{_lock_strength(side.args['locks'][0])[1]} is not allowed with UNION/INTERSECT/EXCEPT")
        left = self.plan_query(tree.this, parent, keep_unknown=True)
        right = self.plan_query(tree.expression, parent, keep_unknown=True)
        lc, rc = left.columns, right.columns
        kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(tree)]
        if len(lc) != len(rc):
            raise SqlError("42601", f"each {kind.upper()} query must have the same number of columns")
        types = [common_type([a.type, b.type], kind.upper()) for a, b in zip(lc, rc)]
        left = self._cast_columns(left, types, kind.upper())
        right = self._cast_columns(right, types, kind.upper())
        cols = tuple(P.OutputColumn(c.name, t) for c, t in zip(lc, types))
        node: P.Node = P.SetOp(kind, not tree.args.get("distinct"), left, right, cols)
        return self._apply_modifiers(tree, node, parent)

    def _cast_columns(self, node: P.Node, types: list[SqlType], context: str) -> P.Node:
        cols = node.columns
        if all(c.type == t for c, t in zip(cols, types)):
            return node
        exprs = tuple(self.coerce(Col(i, c.type), t, context) if c.type != t else Col(i, c.type)
                      for i, (c, t) in enumerate(zip(cols, types)))
        return P.Project(node, exprs, tuple(P.OutputColumn(c.name, t) for c, t in zip(cols, types)))

    def plan_values(self, tree: exp.Values, parent: Scope | None, target_types: list[SqlType] | None = None) -> P.Node:
        scope = Scope([], parent)
        rows = [[self.bind(v, scope) for v in (t.expressions if isinstance(t, exp.Tuple) else [t])]
                for t in tree.expressions]
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise SqlError("42601", "VALUES lists must all be the same length")
        for r in rows:
            for v in r:
                if any(isinstance(x, (AggCall, WindowCall, SrfCall)) for x in walk(v)):
                    raise feature_not_supported("aggregate, window and set-returning functions in VALUES")
        if target_types is None:
            types = [common_type([r[i].type for r in rows], "VALUES") for i in range(width)]
        else:
            types = target_types
        rows = [[self.coerce(v, t, "VALUES", assignment=target_types is not None) for v, t in zip(r, types)] for r in rows]
        cols = tuple(P.OutputColumn(f"column{i + 1}", t) for i, t in enumerate(types))
        node: P.Node = P.Values(tuple(tuple(r) for r in rows), cols)
        return self._apply_modifiers(tree, node, parent) if _has_modifiers(tree) else node

    # ---------------------------------------------------------------- FROM

    def plan_from(self, first: exp.Expression, joins: list[exp.Join], parent: Scope | None) -> Relation:
        rel = self.plan_table_ref(first, parent)
        node, entries, star = rel.node, rel.entries, rel.star
        for j in joins:
            left_scope = Scope(entries, parent, star)
            right_rel = self.plan_table_ref(j.this, parent, left_scope)
            right = right_rel.node
            lateral = right_rel.lateral
            width = len(node.columns)
            for e in right_rel.entries:
                for c in e.columns:
                    c.index += width
            _check_aliases(entries, right_rel.entries)
            side = (j.args.get("side") or "").lower()
            kind = side or ("cross" if (j.args.get("kind") or "").upper() == "CROSS" else "inner")
            if lateral and kind in ("right", "full"):
                raise SqlError("42P10", "invalid reference to FROM-clause entry for table",
                               detail="The combining JOIN type must be INNER or LEFT for a LATERAL reference.")
            combined = entries + right_rel.entries
            using = [i.name for i in j.args.get("using") or []]
            if str(j.args.get("method") or "").upper() == "NATURAL":
                right_names = {c.name for c in right_rel.star}
                using = [c.name for c in star if c.name in right_names]
            if kind in ("left", "full"):
                for e in right_rel.entries:
                    for c in e.columns:
                        c.nullable = True
            if kind in ("right", "full"):
                for e in entries:
                    for c in e.columns:
                        c.nullable = True
            condition = None
            merged: list[ScopeColumn] = []
            merged_exprs: list[Expr] = []
            if using or str(j.args.get("method") or "").upper() == "NATURAL":
                conds = []
                left_used, right_used = [], []
                for name in using:
                    lcol = _using_column(entries, name, "left")
                    rcol = _using_column(right_rel.entries, name, "right")
                    cond = self._compare("=", Col(lcol.index, lcol.type, lcol.nullable), Col(rcol.index, rcol.type, rcol.nullable))
                    conds.append(cond)
                    left_used.append(lcol)
                    right_used.append(rcol)
                    t = common_type([lcol.type, rcol.type], "JOIN/USING")
                    lexpr = self.coerce(Col(lcol.index, lcol.type), t, "JOIN/USING")
                    rexpr = self.coerce(Col(rcol.index, rcol.type), t, "JOIN/USING")
                    value = {"right": rexpr, "full": Coalesce((lexpr, rexpr), t)}.get(kind, lexpr)
                    merged_exprs.append(value)
                    merged.append(ScopeColumn(name, -1, t, nullable=kind == "full" or (lcol.nullable if kind != "right" else rcol.nullable)))
                    lcol.unqualified = rcol.unqualified = False
                condition = (conds[0] if len(conds) == 1 else And(tuple(conds))) if conds else None
                star = merged + [c for c in star if c not in left_used] + [c for c in right_rel.star if c not in right_used]
                if kind == "cross":
                    kind = "inner"
            else:
                star = star + right_rel.star
                if j.args.get("on") is not None:
                    condition = self.bind_condition(j.args["on"], Scope(combined, parent), "JOIN/ON")
                elif kind not in ("cross", "inner"):
                    raise syntax_error("syntax error at end of input")
            if kind == "inner" and condition is None:
                kind = "cross"
            node = P.Join(node, right, kind, (), (), condition, node.columns + right.columns, lateral)
            entries = combined
            if merged:
                exprs = [Col(i, c.type, c.nullable) for i, c in enumerate(node.columns)]
                base = len(exprs)
                cols = list(node.columns)
                for i, (c, e) in enumerate(zip(merged, merged_exprs)):
                    if isinstance(e, Col):
                        c.index = e.index
                    else:
                        c.index = len(exprs)
                        exprs.append(e)
                        cols.append(P.OutputColumn(c.name, c.type))
                if len(exprs) > base:
                    node = P.Project(node, tuple(exprs), tuple(cols))
                entries = entries + [RangeEntry("", merged)]
        return Relation(node, entries, star)

    def plan_table_ref(self, ref: exp.Expression, parent: Scope | None, left: Scope | None = None) -> Relation:
        """One FROM item. `left` is the scope of the items to its left, which a LATERAL item (and
        a function call, implicitly lateral) may refer to."""
        if isinstance(ref, exp.Lateral):
            inner = ref.this
            alias_node = ref.args.get("alias")
            if isinstance(inner, exp.Subquery):
                inner = inner.copy()
                if alias_node is not None:
                    inner.set("alias", alias_node)
                return self._plan_lateral(inner, parent, left)
            if isinstance(inner, exp.Unnest):     # keeps its WITH ORDINALITY column (`offset`)
                inner = inner.copy()
                if alias_node is not None:
                    inner.set("alias", alias_node)
                return self._plan_lateral(inner, parent, left)
            return self._plan_lateral(exp.Table(this=inner, alias=alias_node,
                                                ordinality=ref.args.get("ordinality")), parent, left)
        if isinstance(ref, exp.Subquery) and ref.args.get("lateral"):
            return self._plan_lateral(ref, parent, left)
        if isinstance(ref, (exp.Unnest,)) or (isinstance(ref, exp.Table) and _function_of(ref) is not None):
            if left is not None:
                return self._plan_lateral(ref, parent, left)
            return self._plan_function(ref, Scope([], parent))
        return self._plan_item(ref, parent)

    def _plan_lateral(self, ref: exp.Expression, parent: Scope | None, left: Scope | None) -> Relation:
        """Plan an item that may see the items to its left; if it does, the join re-runs it per left row."""
        if left is not None:
            rel = self._plan_item(ref, left) if not _is_function_ref(ref) else self._plan_function(ref, Scope([], left))
            if _plan_depth(rel.node) >= 1:
                rel.lateral = True
                return rel
        if _is_function_ref(ref):
            return self._plan_function(ref, Scope([], parent))
        return self._plan_item(ref, parent)

    def _plan_item(self, ref: exp.Expression, parent: Scope | None) -> Relation:
        if isinstance(ref, exp.Table):
            if ref.args.get("joins"):
                return self._plan_nested_join(ref, parent, None)
            return self._plan_table(ref, parent)
        if isinstance(ref, exp.Subquery):
            inner = ref.this
            if isinstance(inner, (exp.Table, exp.Subquery)) and not _has_modifiers(ref) and \
                    (isinstance(inner, exp.Subquery) or inner.args.get("joins")):
                return self._plan_nested_join(inner, parent, ref.args.get("alias"))
            if not ref.alias:
                raise SqlError("42601", "subquery in FROM must have an alias",
                               hint="For example, FROM (SELECT ...) [AS] foo.")
            node = self.plan_query(ref.this if not _has_modifiers(ref) else ref, parent)
            alias = ref.alias_or_name
            entry = self._entry_for(node, alias, ref.args.get("alias"))
            return Relation(node, [entry], list(entry.columns))
        if isinstance(ref, exp.Values):
            if not ref.alias:
                raise SqlError("42601", "VALUES in FROM must have an alias",
                               hint="For example, FROM (VALUES ...) [AS] foo.")
            node = self.plan_values(ref, parent)
            alias = ref.alias_or_name
            entry = self._entry_for(node, alias, ref.args.get("alias"))
            return Relation(node, [entry], list(entry.columns))
        raise feature_not_supported(f"FROM item {type(ref).__name__}")

    def _plan_nested_join(self, ref: exp.Expression, parent: Scope | None, alias_node: exp.TableAlias | None) -> Relation:
        """A parenthesized join, `(a JOIN b ON ...)`, optionally with an alias over all of it."""
        if isinstance(ref, exp.Subquery):
            if ref.args.get("alias") is not None:
                alias_node = alias_node or ref.args.get("alias")
            return self._plan_nested_join(ref.this, parent, alias_node)
        bare = ref.copy()
        joins = bare.args.get("joins") or []
        bare.set("joins", None)
        rel = self.plan_from(bare, joins, parent)
        if alias_node is None:
            return rel
        alias = alias_node.name
        names = [c.name for c in rel.star]
        if alias_node.columns:
            renamed = [c.name for c in alias_node.columns]
            names = renamed + names[len(renamed):]
        cols = [ScopeColumn(n, c.index, c.type, c.table_oid, c.attnum, c.nullable) for n, c in zip(names, rel.star)]
        return Relation(rel.node, [RangeEntry(alias, cols)], cols)

    def _entry_for(self, node: P.Node, alias: str, alias_node: exp.TableAlias | None,
                   names: list[str] | None = None) -> RangeEntry:
        names = names or [c.name for c in node.columns]
        if alias_node is not None and alias_node.columns:
            renamed = [c.name for c in alias_node.columns]
            if len(renamed) > len(node.columns):
                raise SqlError("42P10", f'table "{alias}" has {len(node.columns)} columns available but {len(renamed)} columns specified')
            names = renamed + names[len(renamed):]
        cols = [ScopeColumn(n, i, c.type, c.table_oid, c.attnum, c.nullable)
                for i, (n, c) in enumerate(zip(names, node.columns))]
        return RangeEntry(alias, cols)

    def _plan_table(self, ref: exp.Table, parent: Scope | None) -> Relation:
        name = ref.name
        schema = ref.db or None
        alias = ref.alias_or_name
        alias_node = ref.args.get("alias")
        version = ref.args.get("version")
        if schema is None:
            d = self._cte(name)
            if d is not None:
                if version is not None:
                    raise feature_not_supported("FOR SYSTEM_TIME on a WITH query (use it on the tables inside)")
                node = self._plan_cte(d, name, parent)
                entry = self._entry_for(node, alias, alias_node)
                return Relation(node, [entry], list(entry.columns))
        point, catalog = self._table_point(version, schema, name)
        found = catalog.relation(name, schema, self.env.search_path)
        if found is None and self.env.virtual_table is not None:
            virtual = self.env.virtual_table(schema, name)
            if virtual is not None:
                if version is not None:
                    raise feature_not_supported(f"FOR SYSTEM_TIME on {name} (a system table)")
                cols = tuple(P.OutputColumn(n, t) for n, t in virtual.columns)
                node = P.VirtualScan(virtual.name, virtual.producer, cols, narrow=getattr(virtual, "bounded", None))
                entry = self._entry_for(node, alias, alias_node)
                entry.relation_oid = getattr(virtual, "oid", 0)
                return Relation(node, [entry], list(entry.columns))
        if found is None:
            raise at_position(SqlError("42P01", f'relation "{schema + "." if schema else ""}{name}" does not exist'),
                              ref.args.get("db") or ref.this)
        kind, oid = found
        if kind == "view":
            view = catalog.views[oid]
            from engine.sql.parser import parse_sql
            outer_point = self._view_point
            self._view_point = (point, catalog) if point is not None and not self.env.session_point else outer_point
            try:
                node = self.plan_query(parse_sql(view.sql), None)
            finally:
                self._view_point = outer_point
            if len(node.columns) > len(view.column_names):
                # the view's columns were fixed when it was created (SELECT * does not grow)
                kept = node.columns[:len(view.column_names)]
                node = P.Project(node, tuple(Col(i, c.type) for i, c in enumerate(kept)), kept)
            entry = self._entry_for(node, alias, alias_node, list(view.column_names))
            entry.row_type = relation_row_type(view.view_id, view.name,
                                               ((n, c.type) for n, c in zip(view.column_names, entry.columns)))
            return Relation(node, [entry], list(entry.columns))
        if kind == "sequence":
            seq = catalog.sequences[oid]
            cols = (P.OutputColumn("last_value", INT8), P.OutputColumn("log_cnt", INT8), P.OutputColumn("is_called", BOOL))
            node = P.VirtualScan(seq.name, lambda ctx, seq=seq: [ctx.session.sequence_row(seq)], cols)
            entry = self._entry_for(node, alias, alias_node)
            return Relation(node, [entry], list(entry.columns))
        if kind != "table":
            raise SqlError("42809", f'"{name}" is not a table')
        table = catalog.tables[oid]
        if alias in self.locking and point is not None:
            raise feature_not_supported(f"{self.locking[alias][2]} on a table read FOR SYSTEM_TIME")
        node, entries = self.scan_node(table, alias, alias_node, with_rowid=alias in self.locking, read_point=point)
        return Relation(node, entries, [c for c in entries[0].columns if not c.hidden])

    def _plan_function(self, ref: exp.Expression, scope: Scope) -> Relation:
        """Set-returning functions in FROM: f(...), unnest(a, b, ...), ROWS FROM (f(...), g(...))."""
        ordinality_name = "ordinality"
        if isinstance(ref, exp.Unnest):
            calls = [self._bind_srf("unnest", [a], scope) for a in ref.expressions]
            alias_node = ref.args.get("alias")
            offset = ref.args.get("offset")
            ordinality = bool(offset)
            if isinstance(offset, exp.Identifier):     # sqlglot keeps the ordinality column's alias apart
                ordinality_name = offset.name
            default_name = "unnest"
        else:
            alias_node = ref.args.get("alias")
            ordinality = bool(ref.args.get("ordinality"))
            rows_from = ref.args.get("rows_from")
            if rows_from:
                calls = [c for item in rows_from for c in self._srf_calls(item, scope)]
            else:
                calls = self._srf_calls(ref, scope)
            default_name = calls[0].name.rsplit(".", 1)[-1]
        alias = alias_node.name if alias_node is not None and alias_node.name else default_name
        columns = []
        for c in calls:
            columns.extend(srf_columns(c))
        if len(columns) == 1 and len(calls) == 1 and alias_node is not None and alias_node.name \
                and not SET_RETURNING[calls[0].name].composite:
            columns = [(alias_node.name, columns[0][1])]
        if ordinality:
            columns.append((ordinality_name, INT8))
        cols = tuple(P.OutputColumn(n, t) for n, t in columns)
        node = P.FunctionScan(tuple(calls), alias, cols, ordinality)
        entry = self._entry_for(node, alias, alias_node)
        return Relation(node, [entry], list(entry.columns))

    def _srf_calls(self, item: exp.Expression, scope: Scope) -> list[SrfCall]:
        schema = None
        if isinstance(item, exp.Table):
            schema = item.db or None
            item = _function_of(item)
        if isinstance(item, exp.Unnest):
            return [self._bind_srf("unnest", [a], scope) for a in item.expressions]
        if not isinstance(item, exp.Func):
            raise feature_not_supported(f"FROM item {type(item).__name__}")
        if schema is not None and schema != "pg_catalog":
            e = self._bind_function(item, scope, f"{schema}.{function_name(item)}")
        else:
            e = self.bind(item, scope)
        if isinstance(e, SrfCall):
            return [e]
        # a scalar function in FROM: one row with its value
        return [SrfCall("scalar", (e,), e.type)]

    # ---------------------------------------------------------------- time travel

    def _table_point(self, version: exp.Version | None, schema: str | None,
                     name: str) -> tuple[P.ReadPoint | None, Catalog]:
        """The point a table reference is read at (None: the statement's snapshot) and the
        catalog its name binds against (the schema of that point)."""
        if version is None:
            if self._view_point is not None:
                return self._view_point
            return (self.read_points[0] if self.env.session_point else None), self.env.catalog
        current = self.env.catalog.relation(name, schema, self.env.search_path)
        if current is not None and current[1] >= TEMP_ID_BASE:
            raise no_history(name, "FOR SYSTEM_TIME")
        point = self._bind_point(version)
        catalog = self.env.catalog_at(point, schema, name) if self.env.catalog_at is not None else self.env.catalog
        self.point_tables.append(PointTable(point, schema, name, catalog))
        return point, catalog

    def _bind_point(self, version: exp.Version) -> P.ReadPoint:
        clause = version_point(version)
        target = INT8 if clause.by_lsn else TIMESTAMPTZ
        bounds = []
        for b in clause.bounds:
            e = self.bind(b, Scope([]))
            if any(isinstance(x, AggCall) for x in walk(e)):
                raise SqlError("42803", "aggregate functions are not allowed in FOR SYSTEM_TIME")
            try:
                bounds.append(self.coerce(e, target, "FOR SYSTEM_TIME"))
            except SqlError as error:
                if not clause.by_lsn and e.type.oid in (INT2.oid, INT4.oid, INT8.oid):
                    error.hint = "For a transaction number, write FOR SYSTEM_TIME AS OF TRANSACTION n."
                raise
        point = P.ReadPoint(len(self.read_points), clause.kind, clause.by_lsn, tuple(bounds))
        self.read_points.append(point)
        return point

    def scan_node(self, table: TableDef, alias: str, alias_node=None, with_rowid: bool = False,
                  read_point: P.ReadPoint | None = None) -> tuple[P.Node, list[RangeEntry]]:
        width = table.width
        out = [P.OutputColumn("?dropped?", TEXT) for _ in range(width)]
        for c in table.columns:
            out[c.slot] = P.OutputColumn(c.name, c.type, table.table_id, _attnum(table, c.slot), not c.not_null)
        names = [c.name for c in table.columns]
        if alias_node is not None and alias_node.columns:
            renamed = [c.name for c in alias_node.columns]
            if len(renamed) > len(names):
                raise SqlError("42P10", f'table "{alias}" has {len(names)} columns available but {len(renamed)} columns specified')
            names = renamed + names[len(renamed):]
        scope_cols = [ScopeColumn(n, c.slot, c.type, table.table_id, _attnum(table, c.slot), not c.not_null)
                      for n, c in zip(names, table.columns)]
        if with_rowid:
            out.append(P.OutputColumn("ctid", INT8))
        if read_point is not None and read_point.history:
            for name, t in P.SYSTEM_COLUMNS:
                if name not in names:
                    scope_cols.append(ScopeColumn(name, len(out), t, nullable=name == "_valid_to", hidden=True))
                out.append(P.OutputColumn(name, t))
        node = P.SeqScan(table, alias, tuple(out), read_point=read_point, with_rowid=with_rowid)
        return node, [RangeEntry(alias, scope_cols, table)]

    # ---------------------------------------------------------------- select list

    def expand_select_list(self, items: list[exp.Expression], scope: Scope) -> list[tuple[exp.Expression, str, ScopeColumn | None]]:
        """(expression, output name, column for * items) per output column."""
        out: list[tuple[exp.Expression, str, ScopeColumn | None]] = []
        for item in items:
            if isinstance(item, exp.Star):
                if not scope.entries:
                    raise SqlError("42601", "SELECT * with no tables specified is not valid")
                out.extend((item, c.name, c) for c in scope.star)
                continue
            if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                qualifier = item.table
                entries = [e for e in scope.entries if e.alias == qualifier]
                if not entries:
                    raise SqlError("42P01", f'missing FROM-clause entry for table "{qualifier}"')
                out.extend((item, c.name, c) for c in entries[0].columns if not c.hidden)
                continue
            if isinstance(item, exp.Alias):
                out.append((item.this, item.alias, None))
                continue
            out.append((item, output_name(item), None))
        return out

    def bind_item(self, node: exp.Expression, col: ScopeColumn | None, scope: Scope) -> Expr:
        if col is not None:
            return Col(col.index, col.type, col.nullable)
        return self.bind(node, scope)

    def _output_column(self, e: Expr, name: str, col: ScopeColumn | None, scope: Scope,
                       keep_unknown: bool = False) -> P.OutputColumn:
        t = e.type if e.type.oid != UNKNOWN.oid or keep_unknown else TEXT
        if isinstance(e, Col):
            info = col or scope.column_info(e.index)
            if info is not None and info.table_oid:
                return P.OutputColumn(name, t, info.table_oid, info.attnum, e.nullable)
        return P.OutputColumn(name, t)

    # ---------------------------------------------------------------- aggregation and windows

    def _aggregate(self, node: P.Node, scope: Scope, groups: list[Expr], sets: list[list[Expr]] | None,
                   aggs: list[AggCall], groupings: list[GroupingCall]):
        """An Aggregate over `node`, and the function that rewrites expressions above it (group
        expressions and aggregate calls become its output columns)."""
        groups = list(dict.fromkeys(groups))
        group_pos = {g: i for i, g in enumerate(groups)}
        agg_pos = {a: len(groups) + i for i, a in enumerate(aggs)}
        grouping_pos = {g: len(groups) + len(aggs) + i for i, g in enumerate(groupings)}
        grouping_calls = []
        for gc in groupings:
            args = []
            for a in gc.args:
                if a not in group_pos:
                    raise SqlError("42803", "arguments to GROUPING must be grouping expressions of the associated query level")
                args.append(Col(group_pos[a], a.type))
            grouping_calls.append(GroupingCall(tuple(args)))
        set_positions = tuple(tuple(dict.fromkeys(group_pos[g] for g in s)) for s in sets) if sets is not None else None
        cols = tuple([P.OutputColumn("?group?", g.type) for g in groups] +
                     [P.OutputColumn(a.name, a.type) for a in aggs] +
                     [P.OutputColumn("grouping", INT4) for _ in groupings])
        agg_node = P.Aggregate(node, tuple(groups), tuple(aggs), cols, set_positions, tuple(grouping_calls))
        nullable_groups = sets is not None

        def ungrouped(index: int) -> SqlError:
            info = scope.column_info(index)
            label = f"{_alias_of(scope, index)}.{info.name}" if info else "?"
            return SqlError("42803", f'column "{label}" must appear in the GROUP BY clause or be used in an aggregate function')

        def outer_ref(index: int) -> int:
            for g, pos in group_pos.items():
                if isinstance(g, Col) and g.index == index:
                    return pos
            info = scope.column_info(index)
            raise SqlError("42803", f'subquery uses ungrouped column "{_alias_of(scope, index)}.'
                           f'{info.name if info else "?"}" from outer query')

        def rewrite(e: Expr) -> Expr:
            if e in group_pos:
                return Col(group_pos[e], e.type, nullable_groups or getattr(e, "nullable", True))
            if isinstance(e, AggCall):
                return Col(agg_pos[e], e.type)
            if isinstance(e, GroupingCall):
                return Col(grouping_pos[e], INT4, False)
            if isinstance(e, Col):
                raise ungrouped(e.index)
            if isinstance(e, Subquery):
                plan = _remap_outer(e.plan, 1, outer_ref) if e.correlated else e.plan
                return dataclasses.replace(e, plan=plan, arg=rewrite(e.arg) if e.arg is not None else None)
            return map_children(e, rewrite)

        for a in aggs:
            if a.name in HYPOTHETICAL_NAMES:
                for arg in a.args:
                    rewrite(arg)        # evaluated per group: grouped columns only
        return agg_node, rewrite

    def _windows(self, node: P.Node, calls: list[WindowCall]):
        """Window nodes (one per distinct window) over `node`, and the rewrite of calls to columns."""
        by_spec: dict[WindowSpec, list[WindowCall]] = {}
        for c in calls:
            by_spec.setdefault(c.spec, []).append(c)
        position: dict[WindowCall, int] = {}
        for spec, group in by_spec.items():
            base = len(node.columns)
            cols = node.columns + tuple(P.OutputColumn(c.name, c.type) for c in group)
            node = P.Window(node, spec, tuple(group), cols)
            for i, c in enumerate(group):
                position[c] = base + i

        def rewrite(e: Expr) -> Expr:
            return map_expr(e, lambda x: Col(position[x], x.type) if isinstance(x, WindowCall) else None)

        return node, rewrite

    # ---------------------------------------------------------------- expressions

    def bind_condition(self, node: exp.Expression, scope: Scope, clause: str) -> Expr:
        e = self.bind(node, scope)
        if e.type.oid == UNKNOWN.oid:
            e = self.coerce(e, BOOL, clause)
        if e.type.oid != BOOL.oid:
            raise SqlError("42804", f"argument of {clause} must be type boolean, not type {format_type(e.type)}")
        if clause in ("WHERE", "JOIN/ON", "FILTER") and any(isinstance(x, AggCall) for x in walk(e)):
            raise SqlError("42803", f"aggregate functions are not allowed in {clause}")
        if any(isinstance(x, WindowCall) for x in walk(e)):
            raise SqlError("42P20", f"window functions are not allowed in {clause}")
        if any(isinstance(x, SrfCall) for x in walk(e)):
            raise SqlError("0A000", f"set-returning functions are not allowed in {clause}")
        return e

    def bind(self, node: exp.Expression, scope: Scope) -> Expr:
        method = getattr(self, "_bind_" + type(node).__name__, None)
        if method is not None:
            return method(node, scope)
        if isinstance(node, exp.Func):
            return self._bind_function(node, scope)
        raise feature_not_supported(f"expression {node.sql('postgres')[:60]!r}")

    def _bind_Paren(self, node, scope):
        return self.bind(node.this, scope)

    def _bind_Column(self, node: exp.Column, scope: Scope) -> Expr:
        qualifier = node.table or None
        if isinstance(node.this, exp.Star):
            return self._whole_row(qualifier, scope, node)
        try:
            return scope.resolve(node.name, qualifier)
        except SqlError as e:
            if qualifier is None and e.sqlstate == "42703" and any(entry.alias == node.name for entry in scope.entries):
                return self._whole_row(node.name, scope, node)
            if qualifier is None and e.sqlstate == "42703" and node.name.lower() in _SQL_VALUE_KEYWORDS \
                    and not node.this.quoted:          # `user`, `current_role`: keywords, not columns
                return self._call(_SQL_VALUE_KEYWORDS[node.name.lower()], [])
            raise at_position(e, node.args.get("table") or node.this)

    def _whole_row(self, alias: str | None, scope: Scope, node: exp.Expression) -> Expr:
        """A table's whole row as a value (row_to_json(t), to_json(t.*))."""
        for entry in scope.entries:
            if entry.alias == alias:
                columns = [c for c in entry.columns if not c.hidden]
                row_type = entry.row_type or (record_of([(c.name, c.type) for c in columns]) if entry.table is None else
                                              relation_row_type(entry.table.table_id, entry.table.name,
                                                                ((c.name, c.type) for c in entry.table.columns)))
                return RowValue(tuple(Col(c.index, c.type, c.nullable) for c in columns),
                                tuple(name for name, _ in row_type.fields or ()), row_type)
        raise at_position(SqlError("42P01", f'missing FROM-clause entry for table "{alias}"'), node)

    def _bind_Identifier(self, node, scope):
        return scope.resolve(node.name, None)

    def _bind_Literal(self, node: exp.Literal, scope) -> Expr:
        if node.is_string:
            return Const(node.this, UNKNOWN)
        return number_constant(node.this)

    def _bind_Null(self, node, scope):
        return Const(None, UNKNOWN)

    def _bind_Boolean(self, node, scope):
        return Const(bool(node.this), BOOL)

    def _bind_Parameter(self, node: exp.Parameter, scope) -> Expr:
        try:
            n = int(node.this.this if isinstance(node.this, exp.Expression) else node.this)
        except (TypeError, ValueError):
            raise syntax_error(f"invalid parameter {node.sql()}")
        if n < 1:
            raise SqlError("42P02", f"there is no parameter ${n}")
        types = self.env.param_types
        while len(types) < n:
            types.append(UNKNOWN)
        return Param(n - 1, types[n - 1])

    def _bind_Placeholder(self, node, scope):
        raise feature_not_supported("? placeholders (use $1, $2, ...)")

    def _bind_Cast(self, node: exp.Cast, scope) -> Expr:
        try:
            target = datatype_to_sql(node.args["to"])
        except SqlError as e:
            if e.sqlstate != "42704":
                raise
            target = self._row_type_named(node.args["to"].sql("postgres"))
            if target is None:
                raise
        return self.cast(self.bind(node.this, scope), target, explicit=True)

    def _row_type_named(self, text: str) -> SqlType | None:
        """The row type (or its array type) that a table or view name denotes as a type name."""
        catalog = self.env.catalog
        name, is_array = (text[:-2].rstrip(), True) if text.endswith("[]") else (text, False)
        schema, _, name = name.rpartition(".")
        name = name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
        found = catalog.relation(name, schema or None, self.env.search_path)
        if found is None and not is_array and name.startswith("_"):
            found, is_array = catalog.relation(name[1:], schema or None, self.env.search_path), True
        if found is None or found[0] not in ("table", "view"):
            return None
        kind, oid = found
        if kind == "table":
            table = catalog.tables[oid]
            row_type = relation_row_type(oid, table.name, ((c.name, c.type) for c in table.columns))
        else:
            from engine.sql.deparse import view_columns
            row_type = relation_row_type(oid, catalog.views[oid].name, view_columns(catalog, catalog.views[oid]))
        return array_of(row_type) if is_array else row_type

    _bind_TryCast = _bind_Cast

    def _bind_Alias(self, node, scope):
        return self.bind(node.this, scope)

    def _binary_numeric(self, op: str, left: Expr, right: Expr) -> Expr:
        """An arithmetic operator: numbers of two kinds meet at their common type; anything
        else (dates, intervals, json, arrays, ...) resolves through the operator table."""
        lt, rt = left.type, right.type
        if op == "||":
            return self._concat(left, right)
        if lt.oid == UNKNOWN.oid and rt.oid == UNKNOWN.oid:
            raise SqlError("42725", f"operator is not unique: unknown {op} unknown",
                           hint="Could not choose a best candidate operator. You might need to add explicit type casts.")
        if lt.oid == UNKNOWN.oid and rt.oid in NUMERIC_PRECEDENCE:
            left = self.coerce(left, rt.base, op)
        elif rt.oid == UNKNOWN.oid and lt.oid in NUMERIC_PRECEDENCE:
            right = self.coerce(right, lt.base, op)
        common = F.numeric_result_type(left.type, right.type)
        if common is not None:
            left = self.coerce(left, common, op)
            right = self.coerce(right, common, op)
            return self._call(op, [left, right], operator=True)
        return self._call(op, [left, right], operator=True)

    def _concat(self, left: Expr, right: Expr) -> Expr:
        """||: arrays, jsonb and bytea have their own; otherwise text, any other type's side
        converted with its output function (anynonarray || text)."""
        lt, rt = left.type, right.type
        special = (JSONB.oid, BYTEA.oid)
        if lt.element is not None or rt.element is not None or lt.oid in special or rt.oid in special:
            return self._call("||", [left, right], operator=True)
        if lt.oid == UNKNOWN.oid and rt.oid == UNKNOWN.oid:
            return self._call("||", [self.coerce(left, TEXT, "||"), self.coerce(right, TEXT, "||")], operator=True)
        textual = (*STRING_TYPES, UNKNOWN.oid)
        if lt.oid not in textual and rt.oid not in textual:
            raise SqlError("42883", f"operator does not exist: {format_type(lt)} || {format_type(rt)}",
                           hint="No operator matches the given name and argument types. You might need to add explicit type casts.")
        left = self.coerce(left, TEXT, "||") if lt.oid in textual else self.cast(left, TEXT, explicit=True)
        right = self.coerce(right, TEXT, "||") if rt.oid in textual else self.cast(right, TEXT, explicit=True)
        return self._call("||", [left, right], operator=True)

    def _call(self, name: str, args: list[Expr], operator: bool = False) -> Expr:
        """Resolve `name(args)` as PostgreSQL would and bind the call, casting the arguments."""
        resolved = F.resolve(name, [a.type for a in args], operator=operator)
        args = [self.coerce(a, t, name) for a, t in zip(args, resolved.arg_types)]
        return Call(name, tuple(args), resolved.returns, resolved.sig)

    def _operator(self, op: str, node: exp.Binary, scope: Scope) -> Expr:
        return self._call(op, [self.bind(node.this, scope), self.bind(node.expression, scope)], operator=True)

    def _bind_Add(self, node, scope):
        return self._binary_numeric("+", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_Sub(self, node, scope):
        return self._binary_numeric("-", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_Mul(self, node, scope):
        return self._binary_numeric("*", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_Div(self, node, scope):
        return self._binary_numeric("/", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_Mod(self, node, scope):
        return self._binary_numeric("%", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_DPipe(self, node, scope):
        return self._concat(self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_Pow(self, node, scope):
        return self._operator("^", node, scope)

    def _bind_BitwiseAnd(self, node, scope):
        return self._operator("&", node, scope)

    def _bind_BitwiseOr(self, node, scope):
        return self._operator("|", node, scope)

    def _bind_BitwiseXor(self, node, scope):
        return self._operator("#", node, scope)

    def _bind_BitwiseLeftShift(self, node, scope):
        return self._operator("<<", node, scope)

    def _bind_BitwiseRightShift(self, node, scope):
        return self._operator(">>", node, scope)

    def _bind_BitwiseNot(self, node, scope):
        return self._call("~u", [self.bind(node.this, scope)], operator=True)

    def _bind_Sqrt(self, node, scope):
        return self._call("sqrt", [self.coerce(self.bind(node.this, scope), FLOAT8, "|/")])   # |/ is float8 only

    def _bind_Cbrt(self, node, scope):
        return self._call("cbrt", [self.coerce(self.bind(node.this, scope), FLOAT8, "||/")])

    def _bind_Escape(self, node, scope):
        """x LIKE p ESCAPE e (and ILIKE, SIMILAR TO): the escape belongs to the inner match."""
        inner = node.this
        if not isinstance(inner, (exp.Like, exp.ILike, exp.SimilarTo)):
            raise feature_not_supported(f"ESCAPE after {type(inner).__name__}")
        inner = inner.copy()
        inner.set("escape", node.expression)
        return self.bind(inner, scope)

    def _bind_RegexpLike(self, node, scope):
        return self._operator("~", node, scope)

    def _bind_RegexpILike(self, node, scope):
        return self._operator("~*", node, scope)

    def _bind_ArrayContainsAll(self, node, scope):
        return self._operator("@>", node, scope)

    def _bind_ArrayContainedBy(self, node, scope):
        return self._operator("<@", node, scope)

    def _bind_ArrayOverlaps(self, node, scope):
        return self._operator("&&", node, scope)

    def _bind_JSONBContains(self, node, scope):
        return self._operator("@>", node, scope)

    def _bind_JSONBContainsTopKey(self, node, scope):
        return self._operator("?", node, scope)

    def _bind_JSONBContainsAnyTopKeys(self, node, scope):
        return self._operator("?|", node, scope)

    def _bind_JSONBContainsAllTopKeys(self, node, scope):
        return self._operator("?&", node, scope)

    def _bind_JSONBDeleteAtPath(self, node, scope):
        return self._operator("#-", node, scope)

    def _json_key(self, node: exp.Expression, scope: Scope) -> Expr:
        """The right side of -> / ->> (sqlglot turns a literal key into a JSON path)."""
        if isinstance(node, exp.JSONPath):
            parts = [p for p in node.expressions if not isinstance(p, exp.JSONPathRoot)]
            if len(parts) != 1:
                raise feature_not_supported("this JSON path")
            part = parts[0]
            if isinstance(part, exp.JSONPathSubscript):
                return Const(int(part.this), INT4)
            return Const(str(part.this), UNKNOWN)
        return self.bind(node, scope)

    def _bind_JSONExtract(self, node, scope):
        return self._call("->", [self.bind(node.this, scope), self._json_key(node.expression, scope)], operator=True)

    def _bind_JSONExtractScalar(self, node, scope):
        return self._call("->>", [self.bind(node.this, scope), self._json_key(node.expression, scope)], operator=True)

    def _bind_JSONBExtract(self, node, scope):
        return self._operator("#>", node, scope)

    def _bind_JSONBExtractScalar(self, node, scope):
        return self._operator("#>>", node, scope)

    def _bind_Neg(self, node, scope):
        # the grammar folds minus signs into a numeric constant, through parentheses (doNegate):
        # -(-2147483648) is the bigint 2147483648
        inner, negative = node.this, True
        while isinstance(inner, (exp.Paren, exp.Neg)):
            negative ^= isinstance(inner, exp.Neg)
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return number_constant(("-" if negative else "") + inner.this)
        arg = self.bind(node.this, scope)
        if arg.type.oid == UNKNOWN.oid:
            arg = self.coerce(arg, NUMERIC, "-")
        return self._call("-u", [arg], operator=True)

    def _compare(self, op: str, left: Expr, right: Expr) -> Expr:
        if isinstance(left, RowValue) or isinstance(right, RowValue):
            return self._compare_rows(op, left, right)
        lt, rt = left.type, right.type
        if lt.oid == UNKNOWN.oid and rt.oid == UNKNOWN.oid:
            left, right = self.coerce(left, TEXT, op), self.coerce(right, TEXT, op)
        elif lt.oid == UNKNOWN.oid:
            left = self.coerce(left, rt.base if rt.oid != BPCHAR.oid else rt, op)
        elif rt.oid == UNKNOWN.oid:
            right = self.coerce(right, lt.base if lt.oid != BPCHAR.oid else lt, op)
        lt, rt = left.type, right.type
        if lt.oid != rt.oid:
            floats = (FLOAT4.oid, FLOAT8.oid)
            if lt.oid in NUMERIC_PRECEDENCE and rt.oid in NUMERIC_PRECEDENCE:
                same_family = {lt.oid, rt.oid} <= _INTEGERS or {lt.oid, rt.oid} <= set(floats)
                if (lt.oid in floats) != (rt.oid in floats) or not (self.env.fold_constants or same_family):
                    # deparsing shows the coercion PostgreSQL adds (it has cross-type integer and float operators)
                    common = F.numeric_result_type(lt, rt)
                    left, right = self.coerce(left, common, op), self.coerce(right, common, op)
                # else: Python compares int and Decimal exactly
            elif lt.oid in _OID_FAMILY and (rt.oid in _OID_FAMILY or rt.oid in _INTEGERS) or \
                    rt.oid in _OID_FAMILY and lt.oid in _INTEGERS:
                pass   # oid, the reg* types and integers compare as oids
            elif lt.oid in STRING_TYPES and rt.oid in STRING_TYPES:
                if {lt.oid, rt.oid} == {BPCHAR.oid, VARCHAR.oid}:
                    # bpchar = bpchar: one exact match beats text = text's none (trailing spaces ignored)
                    left = self.cast(left, BPCHAR, explicit=False) if lt.oid == VARCHAR.oid else left
                    right = self.cast(right, BPCHAR, explicit=False) if rt.oid == VARCHAR.oid else right
                elif BPCHAR.oid in (lt.oid, rt.oid):
                    left = self.cast(left, TEXT, explicit=False) if lt.oid == BPCHAR.oid else left
                    right = self.cast(right, TEXT, explicit=False) if rt.oid == BPCHAR.oid else right
            elif CHAR.oid in (lt.oid, rt.oid) and {lt.oid, rt.oid} <= STRING_TYPES | {CHAR.oid}:
                # "char" (pg_class.relkind, ...) = varchar: both as text, by "char"'s implicit cast
                left = self.cast(left, TEXT, explicit=False) if lt.oid != TEXT.oid else left
                right = self.cast(right, TEXT, explicit=False) if rt.oid != TEXT.oid else right
            else:
                common = F.select_common_type([lt, rt])
                if common is None:
                    raise SqlError("42883", f"operator does not exist: {format_type(lt)} {op} {format_type(rt)}",
                                   hint="No operator matches the given name and argument types. You might need to add explicit type casts.")
                left = self.coerce(left, common, op)
                right = self.coerce(right, common, op)
        elif lt.oid == JSON.oid:
            raise SqlError("42883", f"operator does not exist: json {op} json",
                           hint="No operator matches the given name and argument types. You might need to add explicit type casts.")
        return Compare(op, left, right)

    def _subquery_columns(self, tree: exp.Expression, width: int, scope: Scope, mismatch: str | None = None) -> list[Expr]:
        """(a, b) op (SELECT x, y ...), SET (a, b) = (SELECT x, y ...): one scalar subquery per
        column of the sub-select (each at most one row, as a scalar subquery)."""
        plan = self.plan_query(tree.this if isinstance(tree, exp.Subquery) else tree, scope)
        if len(plan.columns) != width:
            raise SqlError("42601", mismatch or f"subquery has too {'many' if len(plan.columns) > width else 'few'} columns")
        correlated = _plan_depth(plan) >= 1
        return [Subquery("scalar", P.Project(plan, (Col(i, c.type),), (c,)), c.type, correlated=correlated)
                for i, c in enumerate(plan.columns)]

    def _compare_rows(self, op: str, left: Expr, right: Expr) -> Expr:
        """(a, b) op (c, d): = and <> pairwise; < <= > >= lexicographically, NULLs making it NULL."""
        if not (isinstance(left, RowValue) and isinstance(right, RowValue)):
            raise feature_not_supported("comparing a row value with a non-row value")
        if len(left.args) != len(right.args):
            raise SqlError("42601", "unequal number of entries in row expressions")
        pairs = list(zip(left.args, right.args))
        if op == "=":
            return And(tuple(self._compare("=", a, b) for a, b in pairs)) if len(pairs) > 1 else self._compare("=", *pairs[0])
        if op == "<>":
            return Or(tuple(self._compare("<>", a, b) for a, b in pairs)) if len(pairs) > 1 else self._compare("<>", *pairs[0])
        strict = op.rstrip("=")
        result: Expr = self._compare(op, *pairs[-1])
        for a, b in reversed(pairs[:-1]):
            result = Or((self._compare(strict, a, b), And((self._compare("=", a, b), result))))
        return result

    def _bind_NullSafeEQ(self, node, scope):
        probe = self._compare("=", self.bind(node.this, scope), self.bind(node.expression, scope))
        return self._call("is_not_distinct_from", [probe.left, probe.right])

    def _bind_NullSafeNEQ(self, node, scope):
        probe = self._compare("=", self.bind(node.this, scope), self.bind(node.expression, scope))
        return self._call("is_distinct_from", [probe.left, probe.right])

    def _bind_EQ(self, node, scope):
        return self._bind_comparison("=", node, scope)

    def _bind_NEQ(self, node, scope):
        return self._bind_comparison("<>", node, scope)

    def _bind_GT(self, node, scope):
        return self._bind_comparison(">", node, scope)

    def _bind_GTE(self, node, scope):
        return self._bind_comparison(">=", node, scope)

    def _bind_LT(self, node, scope):
        return self._bind_comparison("<", node, scope)

    def _bind_LTE(self, node, scope):
        return self._bind_comparison("<=", node, scope)

    def _bool_arg(self, node, scope, op: str) -> Expr:
        e = self.bind(node, scope)
        if e.type.oid == UNKNOWN.oid:
            e = self.coerce(e, BOOL, op)
        if e.type.oid != BOOL.oid:
            raise SqlError("42804", f"argument of {op} must be type boolean, not type {format_type(e.type)}")
        return e

    def _bind_And(self, node, scope):
        args = []
        for part in (node.this, node.expression):
            e = self._bool_arg(part, scope, "AND")
            args.extend(e.args if isinstance(e, And) else (e,))
        return And(tuple(args))

    def _bind_Or(self, node, scope):
        args = []
        for part in (node.this, node.expression):
            e = self._bool_arg(part, scope, "OR")
            args.extend(e.args if isinstance(e, Or) else (e,))
        return Or(tuple(args))

    def _bind_Not(self, node, scope):
        inner = node.this
        if isinstance(inner, exp.In):
            e = self._bind_In(inner, scope)
            if isinstance(e, (InList, Subquery)):
                return _negate(e)
        return Not(self._bool_arg(inner, scope, "NOT"))

    def _bind_Is(self, node, scope):
        arg = self.bind(node.this, scope)
        target = node.expression
        negated = bool(node.args.get("negate"))
        if isinstance(target, exp.Not):
            negated, target = True, target.this
        if isinstance(target, exp.Null):
            return IsNull(arg, negated)
        if isinstance(target, exp.Boolean):
            arg = self.coerce(arg, BOOL, "IS") if arg.type.oid == UNKNOWN.oid else arg
            if arg.type.oid != BOOL.oid:
                raise SqlError("42804", f"argument of IS {'TRUE' if target.this else 'FALSE'} must be type boolean, not type {format_type(arg.type)}")
            return IsBool(arg, bool(target.this), negated)
        raise feature_not_supported(f"IS {target.sql()}")

    def _bind_Between(self, node, scope):
        arg = self.bind(node.this, scope)
        low = self.bind(node.args["low"], scope)
        high = self.bind(node.args["high"], scope)
        forward = And((self._compare(">=", arg, low), self._compare("<=", arg, high)))
        if node.args.get("symmetric"):
            return Or((forward, And((self._compare(">=", arg, high), self._compare("<=", arg, low)))))
        return forward

    def _bind_In(self, node: exp.In, scope) -> Expr:
        arg = self.bind(node.this, scope)
        query = node.args.get("query")
        if query is not None:
            sub = query.this if isinstance(query, exp.Subquery) else query
            return self._subquery("in", sub, scope, arg)
        if node.args.get("unnest") or node.args.get("field"):
            raise feature_not_supported("IN (UNNEST ...)")
        items = [self.bind(v, scope) for v in node.expressions]
        if isinstance(arg, RowValue) or any(isinstance(i, RowValue) for i in items):
            # (a, b) IN ((1, 2), ...) is (a, b) = (1, 2) OR ..., row comparisons with their NULL rules
            alternatives = tuple(self._compare("=", arg, i) for i in items)
            return alternatives[0] if len(alternatives) == 1 else Or(alternatives)
        types = [arg.type] + [i.type for i in items]
        if arg.type.oid in _OID_FAMILY and all(i.type.oid in _OID_FAMILY or i.type.oid in _INTEGERS
                                                or i.type.oid == UNKNOWN.oid for i in items):
            common = arg.type                   # oid IN (integers), as pg_catalog queries write it
        else:
            try:
                common = common_type(types, "IN")
            except SqlError as e:
                if e.sqlstate != "42804":
                    raise
                # no common type: PostgreSQL falls back to `arg = item` per item, whose operator
                # lookup then names the mismatch
                for i in items:
                    self._compare("=", arg, i)
                raise
        arg = self.coerce(arg, common, "IN") if arg.type.oid == UNKNOWN.oid or arg.type.oid not in NUMERIC_PRECEDENCE else arg
        items = [self._compare("=", arg, i).right for i in items]
        return InList(arg, tuple(items))

    def _bind_Like(self, node, scope, case_insensitive=False):
        target = node.expression
        if isinstance(target, (exp.Any, exp.All)):
            return self._like_quantified(node, target, case_insensitive, scope)
        arg = self.bind(node.this, scope)
        pattern = self.bind(node.expression, scope)
        escape = node.args.get("escape")
        escape_expr = self.coerce(self.bind(escape, scope), TEXT, "ESCAPE") if escape is not None else None
        arg = self.coerce(arg, TEXT, "LIKE") if arg.type.oid in STRING_TYPES or arg.type.oid == UNKNOWN.oid else arg
        pattern = self.coerce(pattern, TEXT, "LIKE") if pattern.type.oid in STRING_TYPES or pattern.type.oid == UNKNOWN.oid else pattern
        if arg.type.oid != TEXT.oid or pattern.type.oid != TEXT.oid:
            op = "~~*" if case_insensitive else "~~"
            raise SqlError("42883", f"operator does not exist: {format_type(arg.type)} {op} {format_type(pattern.type)}",
                           hint="No operator matches the given name and argument types. You might need to add explicit type casts.")
        return Like(arg, pattern, case_insensitive, bool(node.args.get("negate")), escape=escape_expr)

    def _like_quantified(self, node, target, case_insensitive: bool, scope: Scope) -> Expr:
        """x [NOT] LIKE ANY/ALL (array)."""
        array_node = target.this.this if isinstance(target.this, exp.Paren) else target.this
        if isinstance(array_node, (exp.Select, exp.Subquery, exp.Union)):
            raise feature_not_supported("LIKE ANY/ALL (subquery)")
        arg = self.coerce(self.bind(node.this, scope), TEXT, "LIKE")
        array = self.coerce(self.bind(array_node, scope), array_of(TEXT), "LIKE")
        op = ("!" if node.args.get("negate") else "") + ("~~*" if case_insensitive else "~~")
        return Quantified(op, arg, array, isinstance(target, exp.All))

    def _bind_ILike(self, node, scope):
        return self._bind_Like(node, scope, case_insensitive=True)

    def _bind_Case(self, node: exp.Case, scope) -> Expr:
        operand = self.bind(node.this, scope) if node.this is not None else None
        conds = []
        results = []
        for branch in node.args.get("ifs") or []:
            if operand is not None:
                conds.append(self._compare("=", operand, self.bind(branch.this, scope)))
            else:
                conds.append(self._bool_arg(branch.this, scope, "CASE/WHEN"))
            results.append(self.bind(branch.args["true"], scope))
        default = self.bind(node.args["default"], scope) if node.args.get("default") is not None else None
        # the ELSE result comes first, as in PostgreSQL's transformCaseExpr (it decides ties)
        types = ([default.type] if default is not None else []) + [r.type for r in results]
        t = common_type(types, "CASE")
        results = [self.coerce(r, t, "CASE") for r in results]
        if default is not None:
            default = self.coerce(default, t, "CASE")
        return Case(tuple(zip(conds, results)), default, t)

    def _bind_If(self, node, scope):
        cond = self._bool_arg(node.this, scope, "CASE/WHEN")
        true = self.bind(node.args["true"], scope)
        false = self.bind(node.args["false"], scope) if node.args.get("false") is not None else None
        t = common_type(([false.type] if false is not None else []) + [true.type], "CASE")
        return Case(((cond, self.coerce(true, t, "CASE")),), self.coerce(false, t, "CASE") if false is not None else None, t)

    def _bind_Coalesce(self, node, scope):
        args = [self.bind(a, scope) for a in [node.this] + list(node.expressions)]
        t = common_type([a.type for a in args], "COALESCE")
        return Coalesce(tuple(self.coerce(a, t, "COALESCE") for a in args), t)

    def _bind_Nullif(self, node, scope):
        a = self.bind(node.this, scope)
        b = self.bind(node.expression, scope)
        cond = self._compare("=", a, b)
        # the result is the `=` operator's left operand, promoted as the operator needs it
        if a.type.oid in NUMERIC_PRECEDENCE and b.type.oid in NUMERIC_PRECEDENCE:
            promoted = _equality_left_type(a.type, b.type)
            left = self.coerce(a, promoted, "NULLIF") if promoted is not None else a
        elif a.type.oid == VARCHAR.oid:
            left = self.cast(a, TEXT, explicit=False)      # varchar = takes text's operator
        else:
            left = cond.left if isinstance(cond, Compare) else a
        return Case(((cond, Const(None, left.type)),), left, left.type)

    def _bind_Greatest(self, node, scope, name: str = "greatest"):
        args = [self.bind(a, scope) for a in [node.this] + list(node.expressions)]
        try:
            return self._call(name, args)
        except SqlError as e:
            if e.sqlstate != "42883":
                raise
            types = [a.type for a in args if a.type.oid != UNKNOWN.oid]
            other = next((t for t in types if t.category != types[0].category), types[-1])
            raise SqlError("42804", f"{name.upper()} types {format_type(types[0])} and {format_type(other)} "
                           "cannot be matched") from None

    def _bind_Least(self, node, scope):
        return self._bind_Greatest(node, scope, "least")

    def _bind_SimilarTo(self, node, scope):
        args = [self.bind(node.this, scope), self.bind(node.expression, scope)]
        if node.args.get("escape") is not None:
            args.append(self.bind(node.args["escape"], scope))
        return self._call("similar_to", args)

    def _bind_ByteString(self, node, scope):
        return Const(node.this, UNKNOWN)          # E'...': the escapes are already resolved

    def _bind_RawString(self, node, scope):
        return Const(node.this, UNKNOWN)          # $$...$$ and $tag$...$tag$: no escapes at all

    def _bind_UnicodeString(self, node, scope):
        escape = node.args.get("escape")
        return Const(_unicode_escapes(node.this, escape.this if isinstance(escape, exp.Literal) else "\\"), UNKNOWN)

    def _bind_HexString(self, node, scope):
        raise feature_not_supported("bit string constants")

    _bind_BitString = _bind_HexString

    def _bind_Collate(self, node, scope):
        name = node.expression.name if isinstance(node.expression, (exp.Identifier, exp.Column, exp.Var)) else \
            node.expression.sql()
        if name.lower().removeprefix("pg_catalog.") not in ("c", "posix", "default", "c.utf-8", "c.utf8", "ucs_basic"):
            raise SqlError("42704", f'collation "{name}" for encoding "UTF8" does not exist')
        return self.bind(node.this, scope)

    def _bind_Lambda(self, node, scope):
        """sqlglot reads `col -> 'key'` inside a function's arguments as a lambda: it is ->."""
        params = node.expressions
        if len(params) != 1 or not isinstance(params[0], (exp.Identifier, exp.Column)):
            raise feature_not_supported("lambda expressions")
        left = self.bind(exp.Column(this=exp.to_identifier(params[0].name, quoted=params[0].args.get("quoted"))), scope)
        return self._call("->", [left, self._json_key(node.this, scope)], operator=True)

    def _bind_Tuple(self, node, scope):
        args = tuple(self.bind(a, scope) for a in node.expressions)
        return anonymous_row(args)

    def _bind_Array(self, node, scope):
        items = node.expressions
        if len(items) == 1 and isinstance(items[0], (exp.Select, exp.Union, exp.Subquery)):
            return self._subquery("array", items[0], scope)
        elements = [self.bind(a, scope) for a in items]
        if not elements:
            return Const((), array_of(TEXT))
        if all(e.type.element is not None for e in elements):
            element = F.select_common_type([e.type.element for e in elements])
            if element is None:
                raise SqlError("42804", "ARRAY types cannot be matched")
            target = array_of(element)
            return ArrayExpr(tuple(self.coerce(e, target, "ARRAY") for e in elements), target)
        if any(e.type.element is not None for e in elements):
            raise SqlError("42804", "ARRAY types cannot be matched")
        element = F.select_common_type([e.type for e in elements])
        if element is None:
            types = [e.type for e in elements if e.type.oid != UNKNOWN.oid]
            raise SqlError("42804", f"ARRAY types {format_type(types[0])} and {format_type(types[-1])} cannot be matched")
        return ArrayExpr(tuple(self.coerce(e, element, "ARRAY") for e in elements), array_of(element))

    def _bind_Bracket(self, node, scope):
        """a[i][j] and a[lo:hi]: all subscripts of one chain are applied at once."""
        subscripts: list[exp.Expression] = []
        target: exp.Expression = node
        while isinstance(target, exp.Bracket):
            subscripts[:0] = list(target.expressions)
            target = target.this
        if isinstance(target, exp.Array):
            # PostgreSQL's grammar takes no subscript right after ARRAY[...]: (ARRAY[...])[i]
            raise SqlError("42601", 'syntax error at or near "["')
        array = self.bind(target, scope)
        if array.type.oid in (INT2VECTOR.oid, OIDVECTOR.oid) and len(subscripts) == 1 \
                and not isinstance(subscripts[0], exp.Slice):     # the catalogs' vectors count from 0
            return self._call("vector_subscript", [array, self.coerce(self.bind(subscripts[0], scope), INT4, "subscript")])
        if array.type.oid == UNKNOWN.oid or array.type.element is None:
            raise SqlError("42804", f"cannot subscript type {format_type(array.type)} because it does not support subscripting")
        if any(isinstance(s, exp.Slice) for s in subscripts):
            bounds: list[Expr] = []
            for s in subscripts:
                lo, hi = (s.this, s.expression) if isinstance(s, exp.Slice) else (exp.Literal.number(1), s)
                for b in (lo, hi):
                    bounds.append(Const(None, INT4) if b is None else self.coerce(self.bind(b, scope), INT4, "subscript"))
            args = (array,) + tuple(bounds)
            return Call("array_slice", args, array.type.base, F.find_signature("array_slice", [a.type for a in args]))
        args = (array,) + tuple(self.coerce(self.bind(s, scope), INT4, "subscript") for s in subscripts)
        return Call("array_subscript", args, array.type.element,
                    F.find_signature("array_subscript", [a.type for a in args]))

    def _bind_AtTimeZone(self, node, scope):
        return self._call("timezone", [self.bind(node.args["zone"], scope), self.bind(node.this, scope)])

    def _bind_Extract(self, node, scope):
        unit = node.this
        if isinstance(unit, exp.Parameter):
            raise NeedsLiteral()
        field = unit.name if isinstance(unit, (exp.Var, exp.Literal, exp.Identifier, exp.Column)) else unit.sql()
        return self._call("extract", [Const(field.lower(), TEXT), self.bind(node.expression, scope)])

    def _bind_Trim(self, node, scope):
        position = (node.args.get("position") or "BOTH").upper()
        name = {"BOTH": "btrim", "LEADING": "ltrim", "TRAILING": "rtrim"}[position]
        args = [self.bind(node.this, scope)]
        if node.args.get("expression") is not None:
            args.append(self.bind(node.expression, scope))
        return self._call(name, args)

    def _bind_Substring(self, node, scope):
        args = [self.bind(node.this, scope)]
        start, length = node.args.get("start"), node.args.get("length")
        if start is None:
            args.append(Const(1, INT4))
        else:
            args.append(self.bind(start, scope))
        if length is not None:
            args.append(self.bind(length, scope))
        return self._call("substring", args)

    def _bind_StrPosition(self, node, scope):
        return self._call("strpos", [self.bind(node.this, scope), self.bind(node.args["substr"], scope)])

    def _bind_Normalize(self, node, scope):
        form = node.args.get("form")
        form_name = form.name.upper() if isinstance(form, exp.Expression) else "NFC"
        if form_name not in ("NFC", "NFD", "NFKC", "NFKD"):
            raise syntax_error(f'syntax error at or near "{form_name}"')
        return self._call("normalize", [self.bind(node.this, scope), Const(form_name, TEXT)])

    def _bind_Overlaps(self, node, scope):
        """(s1, e1) OVERLAPS (s2, e2); an interval as the second item is a length."""
        args: list[Expr] = []
        for side, word in ((node.this, "left"), (node.expression, "right")):
            if not isinstance(side, exp.Tuple) or len(side.expressions) != 2:
                raise SqlError("42601", f"wrong number of parameters on {word} side of OVERLAPS expression")
            start, end = (self.bind(item, scope) for item in side.expressions)
            if end.type.oid == INTERVAL.oid:
                end = self._binary_numeric("+", start, end)
            args += [start, end]
        return self._call("overlaps", args)

    def _bind_Overlay(self, node, scope):
        args = [self.bind(node.this, scope), self.bind(node.expression, scope), self.bind(node.args["from_"], scope)]
        if node.args.get("for_") is not None:
            args.append(self.bind(node.args["for_"], scope))
        return self._call("overlay", args)

    def _current_time(self, node, name: str, target: SqlType) -> Expr:
        value = self._call(name, [])
        precision = node.this if isinstance(node.this, exp.Literal) else None
        if precision is not None:
            return self.cast(value, target.with_typmod(min(int(precision.this), 6)), explicit=True)
        return value

    def _bind_CurrentTimestamp(self, node, scope):
        return self._current_time(node, "now", TIMESTAMPTZ)

    def _bind_CurrentTime(self, node, scope):
        return self._current_time(node, "current_time", TIMETZ)

    def _bind_Localtimestamp(self, node, scope):
        return self._current_time(node, "localtimestamp", TIMESTAMP)

    def _bind_Localtime(self, node, scope):
        return self._current_time(node, "localtime", TIME)

    def _bind_CurrentDate(self, node, scope):
        return self._call("current_date", [])

    def _bind_CurrentSchema(self, node, scope):
        return self._call("current_schema", [])

    def _bind_CurrentUser(self, node, scope):
        return self._call("current_user", [])

    def _bind_SessionUser(self, node, scope):
        return self._call("session_user", [])

    def _bind_CurrentCatalog(self, node, scope):
        return self._call("current_catalog", [])

    def _bind_Subquery(self, node, scope):
        return self._subquery("scalar", node.this, scope)

    def _bind_Exists(self, node, scope):
        return self._subquery("exists", node.this, scope)

    def _subquery(self, kind: str, tree: exp.Expression, scope: Scope, arg: Expr | None = None, op: str = "=") -> Expr:
        """A subquery as a value: scalar, EXISTS, ARRAY(...), IN, or `arg op ANY/ALL (...)`."""
        if isinstance(tree, exp.Subquery) and not _has_modifiers(tree):
            tree = tree.this
        plan = self.plan_query(tree, scope)
        cols = plan.columns
        correlated = _plan_depth(plan) >= 1
        if kind == "exists":
            return Subquery("exists", plan, BOOL, correlated=correlated)
        if isinstance(arg, RowValue) and kind in ("in", "any", "all"):
            return self._row_subquery(kind, plan, arg, op, correlated)
        if len(cols) != 1:
            raise SqlError("42601", "subquery must return only one column" if kind in ("scalar", "array") else "subquery has too many columns")
        if kind == "scalar":
            return Subquery("scalar", plan, cols[0].type, correlated=correlated)
        if kind == "array":
            return Subquery("array", plan, array_of(cols[0].type), correlated=correlated)
        probe = self._compare(op, arg, Col(0, cols[0].type))
        arg, element = probe.left, probe.right
        if element != Col(0, cols[0].type):
            plan = P.Project(plan, (element,), (P.OutputColumn(cols[0].name, element.type),))
        if op == "=" and kind == "any":
            return Subquery("in", plan, BOOL, arg=arg, correlated=correlated)
        if op == "<>" and kind == "all":
            return Subquery("in", plan, BOOL, arg=arg, correlated=correlated, negated=True)
        return Subquery(kind, plan, BOOL, arg=arg, correlated=correlated, op=op)

    def _row_subquery(self, kind: str, plan: P.Node, row: RowValue, op: str, correlated: bool) -> Expr:
        """`(a, b) IN (SELECT x, y ...)` and `(a, b) op ANY/ALL (...)`: the row compared with
        each row of the subquery."""
        cols = plan.columns
        if len(cols) != len(row.args):
            raise SqlError("42601", "subquery has too many columns" if len(cols) > len(row.args) else "subquery has too few columns")
        left, right = [], []
        for i, (a, c) in enumerate(zip(row.args, cols)):
            probe = self._compare(op, a, Col(i, c.type))
            left.append(probe.left)
            right.append(probe.right)
        if any(r != Col(i, c.type) for i, (r, c) in enumerate(zip(right, cols))):
            plan = P.Project(plan, tuple(right), tuple(P.OutputColumn(c.name, r.type) for c, r in zip(cols, right)))
        return Subquery("all" if kind == "all" else "any", plan, BOOL, arg=RowValue(tuple(left), row.names),
                        correlated=correlated, op=op)

    def _bind_comparison(self, op: str, node: exp.Expression, scope: Scope) -> Expr:
        """`a op b`, or `a op ANY/SOME/ALL (subquery or array)`."""
        right = node.expression
        quantifier = None
        if isinstance(right, (exp.Any, exp.All)):
            quantifier, target = ("all" if isinstance(right, exp.All) else "any"), right.this
        elif isinstance(right, exp.Anonymous) and right.name.upper() in ("ANY", "SOME", "ALL") and len(right.expressions) == 1:
            quantifier, target = ("all" if right.name.upper() == "ALL" else "any"), right.expressions[0]
        if quantifier is None:
            left = self.bind(node.this, scope)
            if isinstance(left, RowValue) and isinstance(right, exp.Subquery):
                columns = self._subquery_columns(right, len(left.args), scope)
                return self._compare(op, left, RowValue(tuple(columns), tuple(f"f{i + 1}" for i in range(len(columns)))))
            return self._compare(op, left, self.bind(right, scope))
        left = self.bind(node.this, scope)
        while isinstance(target, exp.Paren):
            target = target.this
        if isinstance(target, (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)):
            return self._subquery(quantifier, target, scope, left, op)
        array = self.bind(target, scope)
        if array.type.oid == UNKNOWN.oid:
            array = self.coerce(array, array_of(left.type if left.type.oid != UNKNOWN.oid else TEXT), op)
        elif array.type.oid in (INT2VECTOR.oid, OIDVECTOR.oid):      # pg_index.indkey & co. are arrays too
            array = self.cast(array, array_of(INT2 if array.type.oid == INT2VECTOR.oid else OID), explicit=True)
        if array.type.element is None:
            raise SqlError("42809", "op ANY/ALL (array) requires array on right side")
        probe = self._compare(op, left, Col(0, array.type.element))
        if probe.right != Col(0, array.type.element):
            array = self.cast(array, array_of(probe.right.type), explicit=False)
        return Quantified(op, probe.left, array, quantifier == "all")

    def _bind_Interval(self, node: exp.Interval, scope) -> Expr:
        this = node.this
        unit = node.args.get("unit")
        if isinstance(this, exp.Parameter):
            raise NeedsLiteral()
        if not isinstance(this, exp.Literal):
            raise feature_not_supported("INTERVAL with a non-literal value")
        text = this.this + (" " + unit.sql() if unit is not None else "")
        return self.coerce(Const(text, UNKNOWN), INTERVAL, "INTERVAL")

    def _bind_Dot(self, node: exp.Dot, scope: Scope) -> Expr:
        """schema.function(...): pg_catalog's are the unqualified ones; others are registered
        under their qualified name (rewind.verify_digest)."""
        func = node.expression
        if isinstance(node.this, exp.Identifier) and isinstance(func, exp.Func):
            schema = node.this.name
            if schema == "pg_catalog":
                return self.bind(func, scope)
            return self._bind_function(func, scope, f"{schema}.{function_name(func)}")
        if isinstance(node.this, exp.Paren) and isinstance(func, exp.Identifier):
            return self._field(self.bind(node.this, scope), func.name)
        raise feature_not_supported(f"expression {node.sql('postgres')[:60]!r}")

    def _field(self, record: Expr, name: str) -> Expr:
        """(record).field: a field of a row value or of a set-returning function's record."""
        if isinstance(record, RowValue):
            fields = tuple(zip(record.names, (a.type for a in record.args)))
        else:
            fields = record_fields(record.type)
        if fields is None:
            raise SqlError("42809", f"column notation .{name} applied to type {format_type(record.type)}, "
                                    "which is not a composite type")
        for i, (field, field_type) in enumerate(fields):
            if field == name:
                if isinstance(record, RowValue):
                    return record.args[i]
                return Call("record_field", (record, Const(i, INT4)), field_type)
        raise SqlError("42703", f'column "{name}" not found in data type {format_type(record.type)}')

    def _bind_function(self, node: exp.Func, scope: Scope, name: str | None = None) -> Expr:
        name = name or function_name(node)
        if name in AGGREGATE_NAMES:
            return self._bind_aggregate(name, node, scope)
        if name in WINDOW_FUNCTIONS:
            raise SqlError("42809", f"window function {name} requires an OVER clause")
        raw_args = function_args(node)
        if name in SET_RETURNING and name != "scalar":
            return self._bind_srf(name, raw_args, scope)
        named = {a.this.name.lower(): a.expression for a in raw_args if isinstance(a, exp.Kwarg)}
        args = [self.bind(a, scope) for a in raw_args if not isinstance(a, exp.Kwarg)]
        args = self._complete_arguments(name, args, {k: self.bind(v, scope) for k, v in named.items()})
        if name == "now" and args:
            raise SqlError("42883", "function now() takes no arguments")
        return self._call(name, args)

    def _complete_arguments(self, name: str, args: list[Expr], named: dict[str, Expr]) -> list[Expr]:
        """Named notation (name => value) and left-out trailing arguments with defaults."""
        candidates = [s for s in F.FUNCTIONS.get(name, ()) if s.arg_names]
        if not candidates or (not named and any(len(s.args) == len(args) for s in F.FUNCTIONS.get(name, ()))):
            if named:
                raise undefined_named(name, args, named)
            return args
        sig = candidates[0]
        values: list[Expr | None] = list(args) + [None] * (len(sig.args) - len(args))
        if len(args) > len(sig.args):
            raise undefined_named(name, args, named)
        for key, value in named.items():
            if key not in sig.arg_names:
                raise undefined_named(name, args, named)
            i = sig.arg_names.index(key)
            if values[i] is not None:
                raise SqlError("42601", f'argument name "{key}" used more than once')
            values[i] = value
        first_default = len(sig.args) - len(sig.defaults)
        for i, v in enumerate(values):
            if v is None:
                if i < first_default:
                    raise undefined_named(name, args, named)
                values[i] = Const(sig.defaults[i - first_default], sig.args[i])
        return values  # type: ignore[return-value]

    def _bind_Anonymous(self, node, scope):
        if node.name.lower() == "row":
            args = tuple(self.bind(a, scope) for a in node.expressions)
            return anonymous_row(args)
        if node.name in ("@", "+"):             # prefix operators (parser.py)
            return self._call(f"{node.name}u", [self.bind(node.expressions[0], scope)], operator=True)
        return self._bind_function(node, scope)

    def _bind_srf(self, name: str, raw_args: list[exp.Expression], scope: Scope) -> SrfCall:
        args = [a if isinstance(a, Expr) else self.bind(a, scope) for a in raw_args]
        targets = SET_RETURNING[name].arguments([a.type for a in args])
        args = [self.coerce(a, t, name) for a, t in zip(args, targets)]
        columns = SET_RETURNING[name].columns([a.type for a in args])
        if any(isinstance(x, SrfCall) for a in args for x in walk(a)):
            raise feature_not_supported("set-returning functions with set-returning arguments")
        return SrfCall(name, tuple(args), columns[0][1] if len(columns) == 1 else record_of(columns))

    def _bind_aggregate(self, name: str, node: exp.Func, scope: Scope, window: bool = False) -> AggCall:
        if name in ORDERED_SET_NAMES:        # without WITHIN GROUP
            raise no_such_aggregate(name, [self.bind(a, scope).type for a in function_args(node)])
        distinct = False
        star = False
        raw = function_args(node)
        order: list[exp.Ordered] = []
        for i, a in enumerate(raw):
            if isinstance(a, exp.Order):        # sqlglot hangs ORDER BY on the first or the last argument
                order = list(a.expressions)
                raw = raw[:i] + [a.this] + raw[i + 1:]
        if raw and isinstance(raw[0], exp.Distinct):
            distinct = True
            raw = list(raw[0].expressions) + raw[1:]
        if raw and isinstance(raw[0], exp.Star):
            if name != "count":
                raise SqlError("42883", f"function {name}(*) does not exist")
            star = True
            raw = raw[1:]
        args = [self.bind(a, scope) for a in raw]
        if not window and any(isinstance(x, AggCall) for a in args for x in walk(a)):
            raise SqlError("42803", "aggregate function calls cannot be nested")
        if any(isinstance(x, WindowCall) for a in args for x in walk(a)):
            if window:
                raise SqlError("42P20", "window function calls cannot be nested")
            raise SqlError("42803", "aggregate function calls cannot contain window function calls")
        if any(isinstance(x, SrfCall) for a in args for x in walk(a)):
            raise SqlError("0A000", "aggregate function calls cannot contain set-returning function calls",
                           hint="You might be able to move the set-returning function into a LATERAL FROM item.")
        if name == "count" and not star and not args:
            raise SqlError("42883", "function count() does not exist",
                           hint="No function matches the given name and argument types. You might need to add explicit type casts.")
        targets = aggregate_argument_types(name, [a.type for a in args])
        args = [self.coerce(a, t, name) for a, t in zip(args, targets)]
        result = aggregate_result_type(name, [a.type for a in args])
        order_items = []
        for o in order:
            key = self._bind_order_item(o, scope, [], [])
            order_items.append(OrderItem(key.expr, key.descending, key.nulls_first))
        if distinct and order_items and any(o.expr not in args for o in order_items):
            raise SqlError("42P10", "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list")
        return AggCall("count" if name == "count" else name, tuple(args), result, distinct, star, None, tuple(order_items))

    def _bind_WithinGroup(self, node: exp.WithinGroup, scope: Scope) -> AggCall:
        """An ordered-set aggregate: percentile_cont/percentile_disc(fraction) or mode(), WITHIN
        GROUP (ORDER BY x). Bound as an aggregate of (x, fraction) with ORDER BY x inside the
        call, so it collects and sorts like string_agg(... ORDER BY ...)."""
        func = node.this
        name = function_name(func) if isinstance(func, exp.Func) else ""
        order = node.expression.expressions if isinstance(node.expression, exp.Order) else []
        direct = function_args(func)
        keys = [self._bind_order_item(o, scope, [], []) for o in order]
        if name in HYPOTHETICAL_NAMES:
            return self._hypothetical(name, [self.bind(a, scope) for a in direct], keys)
        fraction = [self.bind(a, scope) for a in direct]
        if name not in ORDERED_SET_NAMES or len(keys) != 1 or len(direct) != (0 if name == "mode" else 1) or \
                name == "percentile_cont" and keys[0].expr.type.category not in "NU":
            raise no_such_aggregate(name, [e.type for e in fraction] + [k.expr.type for k in keys])
        key = keys[0]
        value = key.expr
        if any(isinstance(x, (AggCall, WindowCall)) for e in [value, *fraction] for x in walk(e)):
            raise SqlError("42803", "aggregate function calls cannot be nested")
        if fraction and fraction[0].type.category == "A":
            raise feature_not_supported(f"{name} with an array of fractions")
        fraction = [self.coerce(f, FLOAT8, name) for f in fraction]
        if name == "percentile_cont":
            if value.type.oid == INTERVAL.oid:
                raise feature_not_supported("percentile_cont over interval")
            value = self.coerce(value, FLOAT8, name)
        elif value.type.oid == UNKNOWN.oid:
            value = self.coerce(value, TEXT, name)
        order_item = OrderItem(value, key.descending, key.nulls_first)
        return AggCall(name, (value, *fraction), aggregate_result_type(name, [value.type]), order=(order_item,))

    def _hypothetical(self, name: str, args: list[Expr], keys: list[P.SortKey]) -> AggCall:
        """rank, dense_rank, percent_rank or cume_dist(args) WITHIN GROUP (ORDER BY keys): where
        a row of the args would fall among the group's rows. Bound as an aggregate of the args
        ordered by the keys, each argument and its key of their common type; the arguments
        are evaluated per group (`_aggregate` refuses ungrouped columns in them)."""
        if len(args) != len(keys):
            raise no_such_aggregate(name, [a.type for a in args] + [k.expr.type for k in keys])
        if any(isinstance(x, (AggCall, WindowCall)) for e in [*args, *(k.expr for k in keys)] for x in walk(e)):
            raise SqlError("42803", "aggregate function calls cannot be nested")
        values, order = [], []
        for arg, key in zip(args, keys):
            t = common_type([key.expr.type, arg.type], "WITHIN GROUP")
            values.append(self.coerce(arg, t, name))
            order.append(OrderItem(self.coerce(key.expr, t, name), key.descending, key.nulls_first))
        return AggCall(name, tuple(values), INT8 if name in ("rank", "dense_rank") else FLOAT8, order=tuple(order))

    def _bind_Filter(self, node: exp.Filter, scope: Scope) -> Expr:
        inner = node.this
        if isinstance(inner, exp.WithinGroup):
            call = self._bind_WithinGroup(inner, scope)
            return dataclasses.replace(call, filter=self.bind_condition(node.expression.this, scope, "FILTER"))
        name = function_name(inner) if isinstance(inner, exp.Func) else ""
        if name not in AGGREGATE_NAMES:
            raise SqlError("42809", f"FILTER specified, but {name or 'this'} is not an aggregate function")
        call = self._bind_aggregate(name, inner, scope)
        condition = self.bind_condition(node.expression.this, scope, "FILTER")
        return dataclasses.replace(call, filter=condition)

    def _bind_Grouping(self, node, scope):
        return GroupingCall(tuple(self.bind(a, scope) for a in node.expressions))

    def _bind_Window(self, node: exp.Window, scope: Scope) -> Expr:
        inner = node.this
        filter_tree = None
        if isinstance(inner, exp.Filter):
            filter_tree, inner = inner.expression.this, inner.this
        if isinstance(inner, exp.WithinGroup):
            raise SqlError("0A000", f"OVER is not supported for ordered-set aggregate {output_name(inner)}")
        if not isinstance(inner, exp.Func):
            raise syntax_error("syntax error at or near \"OVER\"")
        name = function_name(inner)
        spec = self._window_spec(node, scope)
        if name in AGGREGATE_NAMES:
            agg = self._bind_aggregate(name, inner, scope, window=True)
            if agg.distinct:
                raise SqlError("0A000", "DISTINCT is not implemented for window functions")
            if agg.order:
                raise SqlError("0A000", "aggregate ORDER BY is not implemented for window functions")
            condition = self.bind_condition(filter_tree, scope, "FILTER") if filter_tree is not None else None
            call = WindowCall(agg.name, agg.args, agg.type, spec, condition, agg.star)
        elif name in WINDOW_FUNCTIONS:
            if filter_tree is not None:
                raise SqlError("0A000", "FILTER is not implemented for non-aggregate window functions")
            args = [self.bind(a, scope) for a in function_args(inner)]
            targets, result = window_signature(name, [a.type for a in args], lambda ts: common_type(ts, name))
            args = [self.coerce(a, t, name) for a, t in zip(args, targets)]
            call = WindowCall(name, tuple(args), result, spec)
        else:
            raise SqlError("42809", f"OVER specified, but {name} is not a window function nor an aggregate function")
        if any(isinstance(x, WindowCall) and x is not call for x in walk(call)):
            raise SqlError("42P20", "window function calls cannot be nested")
        return call

    def _window_spec(self, node: exp.Window, scope: Scope) -> WindowSpec:
        """A window's PARTITION BY, ORDER BY and frame, with a named window's parts inherited."""
        partition = list(node.args.get("partition_by") or [])
        order = node.args.get("order")
        frame = node.args.get("spec")
        base_ref = node.args.get("alias")
        if base_ref is not None:
            defs = self.windows[-1] if self.windows else {}
            base = defs.get(base_ref.name)
            if base is None:
                raise SqlError("42704", f'window "{base_ref.name}" does not exist')
            inherited = self._window_spec(base, scope)
            if partition:
                raise SqlError("42P20", f'cannot override PARTITION BY clause of window "{base_ref.name}"')
            if order is not None and inherited.order:
                raise SqlError("42P20", f'cannot override ORDER BY clause of window "{base_ref.name}"')
            if base.args.get("spec") is not None and (order is not None or frame is not None):
                raise SqlError("42P20", f'cannot copy window "{base_ref.name}" because it has a frame clause')
            ordered = inherited.order if order is None else tuple(self._window_order(order, scope))
            bounds = inherited.frame if frame is None else self._frame(frame, scope, ordered)
            return WindowSpec(inherited.partition, ordered, bounds)
        parts = []
        for p in partition:
            e = self.bind(p, scope)
            parts.append(self.coerce(e, TEXT, "PARTITION BY") if e.type.oid == UNKNOWN.oid else e)
        ordered = tuple(self._window_order(order, scope)) if order is not None else ()
        return WindowSpec(tuple(parts), ordered, self._frame(frame, scope, ordered) if frame is not None else Frame())

    def _window_order(self, order: exp.Order, scope: Scope) -> list[OrderItem]:
        out = []
        for o in order.expressions:
            if isinstance(o.this, exp.Parameter):
                raise NeedsLiteral()
            key = self._bind_order_item(o, scope, [], [])
            out.append(OrderItem(key.expr, key.descending, key.nulls_first))
        return out

    def _frame(self, spec: exp.WindowSpec, scope: Scope, order: tuple[OrderItem, ...]) -> Frame:
        mode = str(spec.args.get("kind") or "range").lower()
        offset_scope = Scope([], scope.parent)

        def bound(value, side, which: str) -> tuple[str, Expr | None]:
            text = value.upper() if isinstance(value, str) else None
            if text == "UNBOUNDED":
                kind = "unbounded_preceding" if str(side).upper() == "PRECEDING" else "unbounded_following"
                return kind, None
            if text == "CURRENT ROW":
                return "current", None
            e = self.bind(value, offset_scope)
            if any(isinstance(x, (Col, OuterCol)) for x in walk(e)):
                raise SqlError("42P10", f"argument of {mode.upper()} must not contain variables")
            if mode == "range":
                if len(order) != 1:
                    raise SqlError("42P20", "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column")
                key_type = order[0].expr.type
                if key_type.oid in (DATE.oid, TIMESTAMP.oid, TIMESTAMPTZ.oid, TIME.oid):
                    e = self.coerce(e, INTERVAL, "RANGE")
                elif key_type.oid in NUMERIC_PRECEDENCE:
                    e = self.coerce(e, key_type.base if key_type.oid not in (INT2.oid,) else INT4, "RANGE")
                else:
                    raise SqlError("0A000", f"RANGE with offset PRECEDING/FOLLOWING is not supported for column type {format_type(key_type)}")
            else:
                if e.type.oid in NUMERIC_PRECEDENCE and e.type.oid not in (INT2.oid, INT4.oid, INT8.oid):
                    raise SqlError("42804", f"argument of {mode.upper()} must be type bigint, not type {format_type(e.type)}")
                e = self.coerce(e, INT8, mode.upper())
            return ("preceding" if str(side).upper() == "PRECEDING" else "following"), e

        start = bound(spec.args.get("start"), spec.args.get("start_side"), "start")
        end_value = spec.args.get("end")
        end = bound(end_value, spec.args.get("end_side"), "end") if end_value is not None else ("current", None)
        if start[0] == "unbounded_following":
            raise SqlError("42P20", "frame start cannot be UNBOUNDED FOLLOWING")
        if end[0] == "unbounded_preceding":
            raise SqlError("42P20", "frame end cannot be UNBOUNDED PRECEDING")
        if start[0] == "current" and end[0] == "preceding":
            raise SqlError("42P20", "frame starting from current row cannot have preceding rows")
        if start[0] == "following" and end[0] in ("preceding", "current"):
            raise SqlError("42P20", "frame starting from following row cannot have preceding rows"
                           if end[0] == "preceding" else "frame starting from following row cannot end with current row")
        exclude = spec.args.get("exclude")
        exclusion = (exclude.name if isinstance(exclude, exp.Expression) else str(exclude or "no others")).lower()
        return Frame(mode, start, end, exclusion)

    # ---------------------------------------------------------------- coercion

    def coerce(self, e: Expr, target: SqlType, context: str, assignment: bool = False) -> Expr:
        """`e` as `target`, by implicit (or assignment) cast; unknown literals are parsed now."""
        if e.type == target or (e.type.oid == target.oid and target.typmod == -1):
            return e
        if isinstance(e, Param) and e.type.oid == UNKNOWN.oid:
            if target.oid in REG_TYPES and e.index < len(self.env.lifted):
                raise NeedsLiteral()         # 'name'::regclass resolves through the catalog at plan time
            types = self.env.param_types
            types[e.index] = target.base if target.oid != BPCHAR.oid else target.base
            return Param(e.index, types[e.index]) if types[e.index] == target else self.cast(Param(e.index, types[e.index]), target, explicit=False)
        if isinstance(e, Const) and e.type.oid == UNKNOWN.oid:
            if e.value is None:
                return Const(None, target)
            return self.cast(e, target, explicit=True)
        if castable(e.type, target, "assignment" if assignment else "implicit"):
            return self.cast(e, target, explicit=True)
        if assignment:
            raise SqlError("42804", f'column is of type {format_type(target)} but expression is of type {format_type(e.type)}',
                           hint="You will need to rewrite or cast the expression.")
        raise SqlError("42804", f"{context} types {format_type(e.type)} and {format_type(target)} cannot be matched")

    def cast(self, e: Expr, target: SqlType, explicit: bool) -> Expr:
        """`e` converted to `target`; `explicit` is CAST/:: (anything castable), else implicit only."""
        if e.type == target:
            return e
        if target.category == "C" and isinstance(e, RowValue):
            return self._row_to_composite(e, target, explicit)
        if not castable(e.type, target, "explicit" if explicit else "implicit"):
            raise SqlError("42846", f"cannot cast type {format_type(e.type)} to {format_type(target)}")
        if target.oid in REG_TYPES:
            return self._reg_cast(e, target)
        if isinstance(e, Param) and e.type.oid == UNKNOWN.oid and explicit:
            return self.coerce(e, target, "CAST")      # $1::oid[]: the parameter is of the cast's type
        if isinstance(e, Const):
            if e.value is None:
                return Const(None, target)
            if not self.env.fold_constants and e.type.oid != UNKNOWN.oid:
                return Cast(e, target)
            return Const(cast_function(e.type, target, self.env.settings)(e.value), target)
        return Cast(e, target)

    def _row_to_composite(self, row: RowValue, target: SqlType, explicit: bool) -> Expr:
        """ROW(...)::t: each field converted to its column's type, as PostgreSQL's record-to-composite coercion."""
        fields = target.fields or ()
        if len(row.args) != len(fields):
            raise SqlError("42846", f"cannot cast type {format_type(row.type)} to {format_type(target)}",
                           detail=f"Input has too {'few' if len(row.args) < len(fields) else 'many'} columns.")
        args = tuple(self.cast(a, t, explicit) for a, (_, t) in zip(row.args, fields))
        return RowValue(args, tuple(n for n, _ in fields), target)

    def _reg_cast(self, e: Expr, target: SqlType) -> Expr:
        """A cast to regclass, regtype, ...: names resolve (and oids print as names) through the
        catalog the statement reads: now for constants, at run time (ctx.catalog) otherwise."""
        source = OID if e.type.oid in _OID_FAMILY or e.type.oid in _INTEGERS else TEXT
        if isinstance(e, Const):
            if e.value is None:
                return Const(None, target)
            system = system_catalog(self.env.catalog)
            if source is TEXT:
                return Const(system.parse(target.oid, str(e.value), self.env.search_path), target)
            return Const(system.label(target.oid, int(e.value), self.env.search_path), target)
        arg = self.coerce(e, source, "CAST") if e.type.oid != source.oid else e
        return Call(f"{target.name}_from_{source.name}", (arg,), target)


# -------------------------------------------------------------------- helpers


def at_position(error: SqlError, node: exp.Expression | None) -> SqlError:
    """Point an error at the SQL text of `node` (1-based character position), if it has one."""
    if error.position is None and node is not None:
        start = (node.meta or {}).get("start") if hasattr(node, "meta") else None
        if start is not None:
            error.position = start + 1
    return error


def _functionally_dependent(scope: Scope, groups: list[Expr], used: list[Expr]) -> list[Col]:
    """The ungrouped columns `used` (outside aggregate calls) that belong to a table whose
    primary key is grouped: PostgreSQL accepts them (they have one value per group), and they
    become extra group keys."""
    grouped = {g.index for g in groups if isinstance(g, Col)}
    ungrouped: list[Col] = []

    def visit(e: Expr) -> None:
        if isinstance(e, Col) and e.index not in grouped:
            ungrouped.append(e)
        elif not isinstance(e, AggCall):
            for child in children(e):
                visit(child)
    for e in used:
        visit(e)
    if not ungrouped:
        return []
    dependent: set[int] = set()
    for entry in scope.entries:
        key = entry.table.primary_key if entry.table is not None else None
        if key is None:
            continue
        by_slot = {c.slot: sc for sc, c in zip(entry.columns, entry.table.columns)}
        if all(slot in by_slot and by_slot[slot].index in grouped for slot in key.columns):
            dependent.update(sc.index for sc in entry.columns)
    return list(dict.fromkeys(c for c in ungrouped if c.index in dependent))


def output_name(node: exp.Expression) -> str:
    """The column name PostgreSQL gives a select-list expression without an alias."""
    return _figure_colname(node)[0]


_KEYWORD_NAMES = {exp.CurrentTimestamp: "current_timestamp", exp.CurrentDate: "current_date",
                  exp.CurrentTime: "current_time", exp.Localtimestamp: "localtimestamp",
                  exp.Localtime: "localtime", exp.CurrentUser: "current_user", exp.SessionUser: "session_user",
                  exp.CurrentSchema: "current_schema", exp.CurrentCatalog: "current_catalog",
                  exp.Extract: "extract", exp.Substring: "substring", exp.StrPosition: "position",
                  exp.Overlay: "overlay", exp.Overlaps: "overlaps", exp.Normalize: "normalize", exp.AtTimeZone: "timezone", exp.Array: "array", exp.Tuple: "row",
                  exp.Greatest: "greatest", exp.Least: "least", exp.Nullif: "nullif", exp.Coalesce: "coalesce",
                  exp.Exists: "exists", exp.Interval: "interval", exp.Sqrt: "?column?", exp.Cbrt: "?column?",
                  exp.StartsWith: "?column?"}


def _unicode_escapes(text: str, escape: str) -> str:
    """The value of U&'...' [UESCAPE 'c']: `cXXXX` and `c+XXXXXX` are code points (surrogate
    pairs combine), `cc` is c itself."""
    if len(escape) != 1 or escape in "0123456789abcdefABCDEF+'\" \t\n\r":
        raise SqlError("42601", "invalid Unicode escape character")
    out: list[str] = []
    i, n = 0, len(text)
    high = None
    while i < n:
        ch = text[i]
        if ch != escape:
            if high is not None:
                raise SqlError("42601", "invalid Unicode surrogate pair")
            out.append(ch)
            i += 1
            continue
        if text[i + 1:i + 2] == escape:
            out.append(escape)
            i += 2
            continue
        digits = text[i + 2:i + 8] if text[i + 1:i + 2] == "+" else text[i + 1:i + 5]
        width = 6 if text[i + 1:i + 2] == "+" else 4
        if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise SqlError("42601", "invalid Unicode escape",
                           hint="Unicode escapes must be \\XXXX or \\+XXXXXX.")
        code = int(digits, 16)
        i += width + (2 if width == 6 else 1)
        if high is not None:
            if not 0xDC00 <= code <= 0xDFFF:
                raise SqlError("42601", "invalid Unicode surrogate pair")
            code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
            high = None
        elif 0xD800 <= code <= 0xDBFF:
            high = code
            continue
        elif 0xDC00 <= code <= 0xDFFF or code == 0 or code > 0x10FFFF:
            raise SqlError("42601", "invalid Unicode escape value" if code else "invalid Unicode escape value")
        out.append(chr(code))
    if high is not None:
        raise SqlError("42601", "invalid Unicode surrogate pair")
    return "".join(out)


def _figure_colname(node: exp.Expression) -> tuple[str, int]:
    """PostgreSQL's FigureColnameInternal: (name, strength); strength 2 for column references
    and function calls, 1 for names taken from a type or a keyword, 0 for "?column?"."""
    if isinstance(node, exp.Column):
        return (node.name if not isinstance(node.this, exp.Star) else node.table or "?column?"), 2
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _figure_colname(node.expression)
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return node.expression.name, 2          # (record).field
    if isinstance(node, exp.Paren):
        return _figure_colname(node.this)
    if isinstance(node, exp.Bracket):
        return _figure_colname(node.this)
    if isinstance(node, exp.Cast):
        if isinstance(node.this, exp.Neg):
            return "?column?", 0           # -1::int is -(1::int) in PostgreSQL: an operator, not a cast
        name, strength = _figure_colname(node.this)
        if strength > 1:
            return name, strength
        try:
            target = datatype_to_sql(node.args["to"])
        except NeedsLiteral:
            return "?column?", 0
        except SqlError:               # a table's row type: named by its table
            name = node.args["to"].sql("postgres").removesuffix("[]").rpartition(".")[2]
            return (name[1:-1] if name.startswith('"') else name.lower()), 1
        return (target.element or target).name, 1
    if isinstance(node, exp.Collate):
        return _figure_colname(node.this)
    if isinstance(node, (exp.Case, exp.If)):
        default = node.args.get("default") if isinstance(node, exp.Case) else node.args.get("false")
        if default is not None:
            name, strength = _figure_colname(default)
            if strength > 1:
                return name, strength
        return "case", 1
    if isinstance(node, exp.Subquery):
        inner = node.this
        if isinstance(inner, exp.Select) and len(inner.expressions) == 1:
            item = inner.expressions[0]
            return (item.alias, 2) if isinstance(item, exp.Alias) else _figure_colname(item)
        return "?column?", 0
    if isinstance(node, exp.Trim):
        return {"LEADING": "ltrim", "TRAILING": "rtrim"}.get((node.args.get("position") or "").upper(), "btrim"), 2
    if isinstance(node, exp.Anonymous) and node.name.lower() == "row":
        return "row", 2
    if isinstance(node, exp.Anonymous) and node.name in ("@", "+"):
        return "?column?", 0
    if isinstance(node, exp.CurrentTimestamp) and not node.this:
        # now() and CURRENT_TIMESTAMP parse alike; the source span tells them apart
        span = (node.meta or {}).get("end", -1) - (node.meta or {}).get("start", 0)
        return ("now", 2) if span == 2 else ("current_timestamp", 2)
    if isinstance(node, exp.Interval):
        return "interval", 1                    # a typed literal: a cast, named after its type
    for cls, name in _KEYWORD_NAMES.items():
        if isinstance(node, cls):
            return name, (0 if name == "?column?" else 2)
    if isinstance(node, (exp.Window, exp.Filter, exp.WithinGroup)):
        return _figure_colname(node.this)
    if isinstance(node, (exp.Stddev, exp.Variance)) and type(node) in (exp.Stddev, exp.Variance):
        return ("stddev" if isinstance(node, exp.Stddev) else "variance"), 2
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary)):
        return function_name(node), 2
    return "?column?", 0


def _attnum(table: TableDef, slot: int) -> int:
    for i, c in enumerate(table.columns):
        if c.slot == slot:
            return i + 1
    return 0


def _alias_of(scope: Scope, index: int) -> str:
    for entry in scope.entries:
        for c in entry.columns:
            if c.index == index:
                return entry.alias
    return "?"


def _narrowed(node: P.Filter, settings: OutputSettings) -> P.Filter:
    """A Filter over a virtual table that can narrow what it produces (rewind.transactions
    WHERE lsn > n): the scan reads only that; the Filter still checks every row."""
    scan = node.input
    if isinstance(scan, P.VirtualScan) and scan.narrow is not None:
        producer = scan.narrow(node.predicate, settings)
        if producer is not None:
            import dataclasses
            return P.Filter(dataclasses.replace(scan, producer=producer, narrow=None), node.predicate, node.columns)
    return node


_LOCK_STRENGTHS = {(True, False): (UPDATE, "FOR UPDATE"), (True, True): (NO_KEY_UPDATE, "FOR NO KEY UPDATE"),
                   (False, False): (SHARE, "FOR SHARE"), (False, True): (KEY_SHARE, "FOR KEY SHARE")}
_WAIT_POLICY_ORDER = ("wait", "skip", "nowait")    # clauses disagree: the stricter one wins, as in PostgreSQL


def _lock_strength(lock: exp.Lock) -> tuple[int, str]:
    return _LOCK_STRENGTHS[(bool(lock.args.get("update")), bool(lock.args.get("key")))]


def _locked_aliases(tree: exp.Select, from_: exp.Expression | None, locks: list[exp.Lock]) -> dict[str, tuple[int, str, str]]:
    """FROM alias -> (lock mode, wait policy, clause) for SELECT ... FOR UPDATE [OF ...]."""
    if from_ is None:
        return {}
    joins = tree.args.get("joins") or []
    aliases = [from_.this.alias_or_name] + [j.this.alias_or_name for j in joins]
    nullable: set[str] = set()
    for k, j in enumerate(joins):
        side = (j.args.get("side") or "").upper()
        if side in ("LEFT", "FULL") or ((j.args.get("kind") or "").upper() == "OUTER" and not side):
            nullable.add(aliases[k + 1])
        if side in ("RIGHT", "FULL"):
            nullable.update(aliases[:k + 1])
    out: dict[str, tuple[int, str, str]] = {}
    for lock in locks:
        mode, clause = _lock_strength(lock)
        wait = {True: "nowait", False: "skip"}.get(lock.args.get("wait"), "wait")
        for name in [t.name for t in lock.expressions] or aliases:
            if name not in aliases:
                raise SqlError("42P01", f'relation "{name}" in {clause} clause not found in FROM clause')
            if name in nullable:
                raise SqlError("0A000", f"{clause} cannot be applied to the nullable side of an outer join")
            if name in out:
                old_mode, old_wait, old_clause = out[name]
                if old_mode > mode:
                    mode, clause = old_mode, old_clause
                wait = max(old_wait, wait, key=_WAIT_POLICY_ORDER.index)
            out[name] = (mode, wait, clause)
    return out


def _check_lockable(tree: exp.Select, locks: list[exp.Lock], *, aggs: bool, windows: bool, srfs: bool) -> None:
    """The clauses PostgreSQL refuses together with a locking clause (0A000), in its order."""
    clause = _lock_strength(locks[0])[1]
    for refused, what in ((tree.args.get("distinct"), "DISTINCT clause"), (tree.args.get("group"), "GROUP BY clause"),
                          (tree.args.get("having"), "HAVING clause"), (aggs, "aggregate functions"),
                          (windows, "window functions"), (srfs, "set-returning functions in the target list")):
        if refused:
            raise SqlError("0A000", f"{clause} is not allowed with {what}")


def _has_modifiers(node: exp.Expression) -> bool:
    return any(node.args.get(k) for k in ("order", "limit", "offset"))


def _equality_left_type(left: SqlType, right: SqlType) -> SqlType | None:
    """The type PostgreSQL's `=` between two number types casts its left operand to
    (None: it has a cross-type operator, int4 = int8 or float4 = float8, and keeps it)."""
    if left.oid == right.oid:
        return None
    floats = (FLOAT4.oid, FLOAT8.oid)
    if left.oid in _INTEGERS:
        return None if right.oid in _INTEGERS else (NUMERIC if right.oid == NUMERIC.oid else FLOAT8)
    if left.oid == NUMERIC.oid:
        return FLOAT8 if right.oid in floats else None
    return None                                 # float4 and float8 meet everything with float48 operators


def number_constant(text: str) -> Const:
    """A numeric literal as PostgreSQL types it: int4 if it fits, else int8, else numeric."""
    if re.fullmatch(r"-?\d+", text):
        v = int(text)
        if -2**31 <= v <= 2**31 - 1:
            return Const(v, INT4)
        if -2**63 <= v <= 2**63 - 1:
            return Const(v, INT8)
    return Const(text_parser(NUMERIC)(text), NUMERIC)


def undefined_named(name: str, args: list[Expr], named: dict[str, Expr]) -> SqlError:
    shown = [format_type(a.type) if a.type.oid != UNKNOWN.oid else "unknown" for a in args]
    shown += [f"{k} => {format_type(v.type) if v.type.oid != UNKNOWN.oid else 'unknown'}" for k, v in named.items()]
    from engine.errors import undefined_function
    return undefined_function(f"{name}({', '.join(shown)})")


def _collect(exprs: list[Expr], kind: type) -> list:
    """The distinct sub-expressions of type `kind`, in order of appearance."""
    found: dict = {}
    for e in exprs:
        for x in walk(e):
            if isinstance(x, kind):
                found[x] = None
    return list(found)


def _negate(e: Expr) -> Expr:
    return dataclasses.replace(e, negated=not e.negated)


def _plan_depth(node: P.Node) -> int:
    """How many query levels out a plan reaches through OuterCols (0: it is self-contained).
    A work table read counts as a reach outward: its rows change between rounds."""
    best = 1 if isinstance(node, P.WorkTableScan) else 0
    for e in P.node_expressions(node):
        for x in walk(e):
            if isinstance(x, OuterCol):
                best = max(best, x.depth)
            elif isinstance(x, Subquery):
                best = max(best, _plan_depth(x.plan) - 1)
    lateral_right = node.right if isinstance(node, P.Join) and node.lateral else None
    for child in P.inputs(node):
        best = max(best, _plan_depth(child) - (1 if child is lateral_right else 0))
    if isinstance(node, P.RecursiveUnion) and best == 1 and _plan_depth(node.anchor) < 1 and \
            not _reaches_out(node.recursive, node.key):
        best = 0
    return best


def _reaches_out(node: P.Node, own_key: int) -> bool:
    """Whether a recursive term reaches outside its query (other than its own work table)."""
    if isinstance(node, P.WorkTableScan):
        return node.key != own_key
    for e in P.node_expressions(node):
        for x in walk(e):
            if isinstance(x, OuterCol) or (isinstance(x, Subquery) and _plan_depth(x.plan) >= 2):
                return True
    return any(_reaches_out(c, own_key) for c in P.inputs(node))


def _remap_outer(node: P.Node, depth: int, fn: Callable[[int], int]) -> P.Node:
    """The plan with OuterCols that reach `depth` levels out re-pointed by fn (old index -> new)."""
    def fix(e: Expr) -> Expr:
        def visit(x: Expr) -> Expr | None:
            if isinstance(x, OuterCol) and x.depth == depth:
                return OuterCol(depth, fn(x.index), x.type)
            if isinstance(x, Subquery):
                return dataclasses.replace(x, plan=_remap_outer(x.plan, depth + 1, fn),
                                           arg=map_expr(x.arg, visit) if x.arg is not None else None)
            return None
        return map_expr(e, visit)

    lateral_right = node.right if isinstance(node, P.Join) and node.lateral else None
    children = tuple(_remap_outer(c, depth + (1 if c is lateral_right else 0), fn) for c in P.inputs(node))
    return P.map_node_expressions(P.with_inputs(node, children), fix)


def _deepen_outer(node: P.Node, levels: int, level: int = 0) -> P.Node:
    """The plan moved `levels` query levels deeper: OuterCols reaching outside it reach further."""
    def fix(e: Expr) -> Expr:
        def visit(x: Expr) -> Expr | None:
            if isinstance(x, OuterCol) and x.depth > level:
                return OuterCol(x.depth + levels, x.index, x.type)
            if isinstance(x, Subquery):
                return dataclasses.replace(x, plan=_deepen_outer(x.plan, levels, level + 1),
                                           arg=map_expr(x.arg, visit) if x.arg is not None else None)
            return None
        return map_expr(e, visit)

    lateral_right = node.right if isinstance(node, P.Join) and node.lateral else None
    children = tuple(_deepen_outer(c, levels, level + (1 if c is lateral_right else 0)) for c in P.inputs(node))
    return P.map_node_expressions(P.with_inputs(node, children), fix)


def _renamed(node: P.Node, names: list[str] | None, query: str) -> P.Node:
    """A WITH query's plan with the column names its definition gives."""
    if not names:
        return node
    if len(names) > len(node.columns):
        raise SqlError("42P10", f'WITH query "{query}" has {len(node.columns)} columns available but {len(names)} columns specified')
    cols = tuple(dataclasses.replace(c, name=n) for c, n in zip(node.columns, names)) + node.columns[len(names):]
    return dataclasses.replace(node, columns=cols)


def _mentions_table(tree: exp.Expression, name: str) -> bool:
    return any(t.name == name and not t.db for t in tree.find_all(exp.Table))


def _function_of(ref: exp.Expression) -> exp.Expression | None:
    """The function call of a FROM item like `generate_series(1, 3) AS g`, else None."""
    if isinstance(ref, exp.Table) and isinstance(ref.this, exp.Func):
        return ref.this
    if isinstance(ref, exp.Table) and ref.args.get("rows_from"):
        return ref
    return None


def _is_function_ref(ref: exp.Expression) -> bool:
    return isinstance(ref, exp.Unnest) or _function_of(ref) is not None


def _check_aliases(left: list[RangeEntry], right: list[RangeEntry]) -> None:
    seen = {e.alias for e in left if e.alias}
    for e in right:
        if e.alias and e.alias in seen:
            raise SqlError("42712", f'table name "{e.alias}" specified more than once')


def _using_column(entries: list[RangeEntry], name: str, side: str) -> ScopeColumn:
    found = [c for e in entries for c in e.columns if c.name == name and c.unqualified]
    if not found:
        raise SqlError("42703", f'column "{name}" specified in USING clause does not exist in {side} table')
    if len(found) > 1:
        raise SqlError("42702", f'common column name "{name}" appears more than once in {side} table')
    return found[0]


def _distinct_on_order(on: list[Col], keys: list[P.SortKey]) -> list[P.SortKey]:
    """The sort DISTINCT ON needs: ORDER BY must start with the DISTINCT ON expressions (in any
    order); when ORDER BY is shorter, the remaining ones are sorted on after it."""
    on_positions = {c.index for c in on}
    if len(keys) >= len(on):
        if {k.expr.index for k in keys[:len(on)]} != on_positions:
            raise SqlError("42P10", "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
        return keys
    if any(k.expr.index not in on_positions for k in keys):
        raise SqlError("42P10", "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
    used = {k.expr.index for k in keys}
    return keys + [P.SortKey(c) for c in on if c.index not in used]


def srf_columns(call: SrfCall) -> list[tuple[str, SqlType]]:
    """The columns a set-returning function call produces in FROM."""
    columns = SET_RETURNING[call.name].columns([a.type for a in call.args])
    if call.name == "scalar":
        arg = call.args[0]
        return [(arg.fn if isinstance(arg, Call) else "?column?", arg.type)]
    return columns


# -------------------------------------------------------------------- writes


class WritePlanner(Planner):
    """Plans INSERT, UPDATE and DELETE (the statements that change rows)."""

    def target_table(self, ref: exp.Expression) -> TableDef:
        if not isinstance(ref, exp.Table):
            raise feature_not_supported(f"{type(ref).__name__} as a target")
        if ref.args.get("version") is not None:
            raise SqlError("42601", "cannot change a table as of a past point",
                           hint="Read the past with FOR SYSTEM_TIME in a SELECT, e.g. INSERT INTO t SELECT ... FROM t FOR SYSTEM_TIME AS OF ...")
        found = self.env.catalog.relation(ref.name, ref.db or None, self.env.search_path)
        if found is None:
            raise SqlError("42P01", f'relation "{ref.name}" does not exist')
        if found[0] == "view":
            raise SqlError("0A000", f'cannot change view "{ref.name}"', detail="Views are read-only in rewinddb.")
        if found[0] != "table":
            raise SqlError("42809", f'"{ref.name}" is not a table')
        return self.env.catalog.tables[found[1]]

    def default_expr(self, table: TableDef, slot: int) -> Expr:
        col = table.column_by_slot(slot)
        if col is None or col.default is None:
            return Const(None, col.type if col else TEXT)
        from engine.sql.parser import parse_sql
        tree = parse_sql("SELECT " + col.default).expressions[0]
        e = self.bind(tree, Scope([]))
        return self.coerce(e, col.type.base if col.type.typmod != -1 else col.type, "DEFAULT", assignment=True)

    def returning(self, tree: exp.Expression, scope: Scope) -> tuple[tuple[Expr, ...], tuple[P.OutputColumn, ...]]:
        ret = tree.args.get("returning")
        if ret is None:
            return (), ()
        items = self.expand_select_list(ret.expressions, scope)
        exprs = []
        cols = []
        for node, name, col in items:
            e = self.bind_item(node, col, scope)
            if any(isinstance(x, AggCall) for x in walk(e)):
                raise SqlError("42803", "aggregate functions are not allowed in RETURNING")
            exprs.append(e)
            cols.append(self._output_column(e, name, col, scope))
        return tuple(exprs), tuple(cols)

    def _is_default(self, value: exp.Expression, table: TableDef) -> bool:
        """The DEFAULT keyword in VALUES or SET (sqlglot reads it as a column named default)."""
        return isinstance(value, exp.Var) and value.name.upper() == "DEFAULT" or \
            isinstance(value, exp.Column) and value.name.upper() == "DEFAULT" and not value.table \
            and not value.this.args.get("quoted") and table.column("default") is None

    def plan_write(self, tree: exp.Expression) -> P.InsertPlan | P.UpdatePlan | P.DeletePlan | P.MergePlan:
        """INSERT, UPDATE, DELETE or MERGE, with the WITH clause in front of it (if any) visible to it."""
        kind = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete", exp.Merge: "merge"}.get(type(tree))
        if kind is None:
            return super().plan_write(tree)
        return self._with(tree, None, lambda: getattr(self, "plan_" + kind)(tree))

    def plan_insert(self, tree: exp.Insert) -> P.InsertPlan:
        target = tree.this
        columns_given = None
        if isinstance(target, exp.Schema):
            columns_given = [c.name for c in target.expressions]
            target = target.this
        table = self.target_table(target)
        alias = target.alias_or_name
        cols = self._insert_columns(table, columns_given)
        source_tree = tree.expression
        base_types = [c.type.base for c in cols]
        overriding = tree.args.get("overriding")        # OVERRIDING SYSTEM | USER VALUE (parser.py)

        if isinstance(source_tree, exp.Values):
            rows_trees = [t.expressions if isinstance(t, exp.Tuple) else [t] for t in source_tree.expressions]
            if columns_given is None and any(len(r) < len(cols) for r in rows_trees):
                cols = cols[:max(len(r) for r in rows_trees)]
                base_types = base_types[:len(cols)]
            rows = [self._insert_values(r, table, cols, Scope([]), overriding) for r in rows_trees]
            source: P.Node = P.Values(tuple(rows), tuple(P.OutputColumn(c.name, t) for c, t in zip(cols, base_types)))
        elif source_tree is None:
            source = P.Result()
            cols = []
        else:
            query = self.plan_query(source_tree)
            qcols = query.columns
            if len(qcols) > len(cols):
                raise SqlError("42601", "INSERT has more expressions than target columns")
            cols = cols[:len(qcols)]
            base_types = base_types[:len(qcols)]
            exprs = tuple(self.default_expr(table, col.slot) if self._identity_value(col, overriding) else
                          self.coerce(Col(i, c.type), t, "INSERT", assignment=True)
                          for i, (c, t, col) in enumerate(zip(qcols, base_types, cols)))
            source = P.Project(query, exprs, tuple(P.OutputColumn(c.name, t) for c, t in zip(cols, base_types)))
        targeted = {c.slot for c in cols}
        defaults = tuple((c.slot, self.default_expr(table, c.slot)) for c in table.columns
                         if c.slot not in targeted and c.default is not None)
        node, entries = self.scan_node(table, alias)
        conflict = tree.args.get("conflict")
        on_conflict = self._on_conflict(conflict, table, alias, node.columns) if conflict is not None else None
        returning, ret_cols = self.returning(tree, Scope(entries))
        return P.InsertPlan(table, source, tuple(c.slot for c in cols), defaults, returning, ret_cols, on_conflict)

    def _insert_columns(self, table: TableDef, names: list[str] | None) -> list[ColumnDef]:
        """The columns an INSERT names (all of the table's, in order, when it names none)."""
        return list(table.columns) if names is None else table.named_columns(names)

    def _identity_value(self, col: ColumnDef, overriding: str | None) -> bool:
        """Whether a value given for `col` is replaced by its identity default (USER VALUE);
        a GENERATED ALWAYS column takes one only with OVERRIDING SYSTEM VALUE."""
        if col.generated is not None:
            raise SqlError("428C9", f'cannot insert a non-DEFAULT value into column "{col.name}"',
                           detail=f'Column "{col.name}" is a generated column.')
        if col.identity and overriding == "user":
            return True
        if col.identity == "a" and overriding != "system":
            raise _identity_always(col)
        return False

    def _insert_values(self, values: list[exp.Expression], table: TableDef, cols: list[ColumnDef], scope: Scope,
                       overriding: str | None) -> tuple[Expr, ...]:
        """One row of INSERT's VALUES for `cols`, each of the column's type (DEFAULT: its default)."""
        if len(values) > len(cols):
            raise SqlError("42601", "INSERT has more expressions than target columns")
        if len(values) < len(cols):
            raise SqlError("42601", "INSERT has more target columns than expressions")
        row = []
        for value, col in zip(values, cols):
            if self._is_default(value, table) or self._identity_value(col, overriding):
                row.append(self.default_expr(table, col.slot))
            else:
                row.append(self.coerce(self.bind(value, scope), col.type.base, "INSERT", assignment=True))
        return tuple(row)

    def _on_conflict(self, node: exp.OnConflict, table: TableDef, alias: str,
                     columns: tuple[P.OutputColumn, ...]) -> P.OnConflict:
        """ON CONFLICT [target] DO NOTHING | DO UPDATE SET ... [WHERE ...]: the arbiter index and
        the assignments, over the existing row (slots 0..w-1) followed by the proposed one."""
        catalog = self.env.catalog
        unique = [i for i in catalog.indexes_of(table.table_id) if i.unique]
        index_id: int | None = None
        keys = node.args.get("conflict_keys") or []
        constraint = node.args.get("constraint")
        if constraint is not None:
            found = next((i for i in unique if i.constraint == constraint.name), None)
            if found is None:
                raise SqlError("42704", f'constraint "{constraint.name}" for table "{table.name}" does not exist')
            index_id = found.index_id
        elif keys:
            slots = set()
            for k in keys:
                key = k.this if isinstance(k, exp.Ordered) else k
                col = table.column(key.name) if isinstance(key, (exp.Column, exp.Identifier)) else None
                if col is None:
                    raise SqlError("42703", f'column "{key.sql()}" does not exist') if not isinstance(key, exp.Column) \
                        else SqlError("42703", f'column "{key.name}" does not exist')
                slots.add(col.slot)
            found = next((i for i in unique if set(i.columns) == slots), None)
            if found is None:
                raise SqlError("42P10", "there is no unique or exclusion constraint matching the ON CONFLICT specification")
            index_id = found.index_id
        action = (node.args.get("action").name if node.args.get("action") is not None else "DO NOTHING").upper()
        if "NOTHING" in action:
            return P.OnConflict(index_id, False)
        if index_id is None:
            raise SqlError("42601", "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                           hint="For example, ON CONFLICT (column_name).")
        width = table.width
        existing = [ScopeColumn(c.name, c.slot, c.type, table.table_id, _attnum(table, c.slot), not c.not_null)
                    for c in table.columns]
        excluded = [ScopeColumn(c.name, width + c.slot, c.type) for c in table.columns]
        scope = Scope([RangeEntry(alias, existing, table), RangeEntry("excluded", excluded)])
        assignments = self._assignments(node.expressions, table, scope, "UPDATE")
        where = node.args.get("where")
        condition = self.bind_condition(where.this, scope, "WHERE") if where is not None else None
        return P.OnConflict(index_id, True, tuple(assignments), condition)

    def _assignments(self, items: list[exp.Expression], table: TableDef, scope: Scope,
                     context: str) -> list[tuple[int, Expr]]:
        """SET a = x, (b, c) = (y, z), (d, e) = (SELECT ...), f[i] = v: slot <- expression."""
        out: list[tuple[int, Expr]] = []
        seen: set[int] = set()

        def assign(target: exp.Expression, value: exp.Expression | Expr) -> None:
            subscripts: list[exp.Expression] = []
            while isinstance(target, exp.Bracket):
                subscripts[:0] = list(target.expressions)
                target = target.this
            if not isinstance(target, (exp.Column, exp.Identifier)):
                raise feature_not_supported(f"SET {target.sql('postgres')}")
            if isinstance(target, exp.Column) and target.table:       # a field of a composite column
                if table.column(target.table) is None:
                    raise SqlError("42703", f'column "{target.table}" of relation "{table.name}" does not exist')
                raise feature_not_supported(f"SET {target.sql('postgres')} (assigning a field of a composite column)")
            name = target.name
            col = table.column(name)
            if col is None:
                raise SqlError("42703", f'column "{name}" of relation "{table.name}" does not exist')
            if col.slot in seen:
                raise SqlError("42601", f'multiple assignments to same column "{name}"')
            seen.add(col.slot)
            is_default = isinstance(value, exp.Expression) and self._is_default(value, table)
            if (col.identity == "a" or col.generated is not None) and not is_default:
                raise SqlError("428C9", f'column "{name}" can only be updated to DEFAULT',
                               detail=f'Column "{name}" is a generated column.' if col.generated is not None else
                               f'Column "{name}" is an identity column defined as GENERATED ALWAYS.')
            if is_default:
                e = self.default_expr(table, col.slot)
            else:
                bound = value if isinstance(value, Expr) else self.bind(value, scope)
                if subscripts:
                    if col.type.element is None:
                        raise SqlError("42804", f'cannot subscript type {format_type(col.type)} because it does not support subscripting')
                    element = self.coerce(bound, col.type.element.base, context, assignment=True)
                    indexes = [self.coerce(self.bind(s, scope), INT4, "subscript") for s in subscripts]
                    args = (Col(col.slot, col.type), element) + tuple(indexes)
                    e = Call("array_set", args, col.type.base, F.find_signature("array_set", [a.type for a in args]))
                else:
                    e = self.coerce(bound, col.type.base, context, assignment=True)
            if any(isinstance(x, AggCall) for x in walk(e)):
                raise SqlError("42803", f"aggregate functions are not allowed in {context}")
            out.append((col.slot, e))

        for a in items:
            if not isinstance(a, exp.EQ):
                raise feature_not_supported(f"SET {a.sql('postgres')}")
            target, value = a.this, a.expression
            if isinstance(target, exp.Tuple):
                names = target.expressions
                source = value.this if isinstance(value, exp.Paren) else value
                if isinstance(source, exp.Tuple):
                    if len(source.expressions) != len(names):
                        raise SqlError("42601", "number of columns does not match number of values")
                    for t, v in zip(names, source.expressions):
                        assign(t, v)
                elif isinstance(source, (exp.Subquery, exp.Select)):
                    for t, v in zip(names, self._subquery_columns(source, len(names), scope, "number of columns does not match number of values")):
                        assign(t, v)
                else:
                    raise SqlError("42601", "source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression")
            else:
                assign(target, value)
        return out

    def _target_scan(self, tree: exp.Expression, table: TableDef, from_items: list[exp.Expression]):
        """The rows a target table's UPDATE/DELETE reaches: the table (with rowids), joined to
        the FROM/USING items, filtered by WHERE; plus the conditions on the table alone, which
        are re-checked on a row version that changed concurrently."""
        target = tree.this
        alias = target.alias_or_name
        node, entries = self.scan_node(table, alias, target.args.get("alias"), with_rowid=True)
        if from_items:
            first, *rest = from_items
            joins = list(first.args.get("joins") or []) if isinstance(first, exp.Table) else []
            if joins:
                first = first.copy()
                first.set("joins", None)
            rel = self.plan_from(first, joins + [exp.Join(this=item) for item in rest], None)
            width = len(node.columns)
            for e in rel.entries:
                for c in e.columns:
                    c.index += width
            _check_aliases(entries, rel.entries)
            node = P.Join(node, rel.node, "cross", (), (), None, node.columns + rel.node.columns)
            entries = entries + rel.entries
        scope = Scope(entries)
        where = tree.args.get("where")
        predicate = self.bind_condition(where.this, scope, "WHERE") if where is not None else None
        recheck = None
        if predicate is not None:
            conjuncts = list(predicate.args) if isinstance(predicate, And) else [predicate]
            own = [c for c in conjuncts if all(not isinstance(x, Col) or x.index < table.width for x in walk(c))
                   and not any(isinstance(x, (Subquery, OuterCol)) for x in walk(c))]
            recheck = own[0] if len(own) == 1 else (And(tuple(own)) if own else None)
            node = P.Filter(node, predicate, node.columns)
        return node, scope, recheck

    def plan_update(self, tree: exp.Update) -> P.UpdatePlan:
        table = self.target_table(tree.this)
        from_ = tree.args.get("from_") or tree.args.get("from")
        extra = [from_.this] if from_ is not None else []
        source, scope, recheck = self._target_scan(tree, table, extra)
        assignments = self._assignments(tree.expressions, table, scope, "UPDATE")
        returning, ret_cols = self.returning(tree, scope)
        return P.UpdatePlan(table, source, tuple(assignments), recheck, returning, ret_cols)

    def plan_delete(self, tree: exp.Delete) -> P.DeletePlan:
        table = self.target_table(tree.this)
        using = tree.args.get("using") or []
        source, scope, recheck = self._target_scan(tree, table, list(using))
        returning, ret_cols = self.returning(tree, scope)
        return P.DeletePlan(table, source, recheck, returning, ret_cols)

    def plan_merge(self, tree: exp.Merge) -> P.MergePlan:
        """MERGE INTO target USING source ON condition WHEN ...: the source left-joined to the
        target (with rowids); each WHEN clause bound over the joined row, a NOT MATCHED one
        seeing the source only."""
        if tree.args.get("returning") is not None:
            raise syntax_error('syntax error at or near "RETURNING"')
        target = tree.this
        table = self._merge_target(target)
        source = self.plan_table_ref(tree.args["using"], None)
        offset = len(source.node.columns)
        node, entries = self.scan_node(table, target.alias_or_name, target.args.get("alias"), with_rowid=True)
        for e in entries:
            for c in e.columns:
                c.index += offset
                c.nullable = True
        _check_aliases(source.entries, entries)
        scope = Scope(source.entries + entries)
        on = tree.args.get("on")
        if on is None or tree.args.get("using_cond"):
            raise syntax_error('syntax error at or near "USING"')
        condition = self.bind_condition(on, scope, "JOIN/ON")
        joined = P.Join(source.node, node, "left", (), (), condition, source.node.columns + node.columns)
        source_scope = Scope(source.entries)
        actions: list[P.MergeAction] = []
        unconditional: set[bool] = set()
        for when in tree.args["whens"].expressions:
            matched = bool(when.args.get("matched"))
            if when.args.get("source"):
                raise syntax_error('syntax error at or near "BY"')
            if matched in unconditional:
                raise SqlError("42601", "unreachable WHEN clause specified after unconditional WHEN clause")
            where = when.args.get("condition")
            if where is None:
                unconditional.add(matched)
            seen = scope if matched else source_scope
            try:
                cond = self.bind_condition(where, seen, "WHEN") if where is not None else None
                actions.append(self._merge_action(when.args["then"], matched, cond, table, seen))
            except SqlError as e:
                alias = target.alias_or_name
                if e.sqlstate == "42P01" and e.message == f'missing FROM-clause entry for table "{alias}"':
                    raise SqlError("42P01", f'invalid reference to FROM-clause entry for table "{alias}"',
                                   hint=f'There is an entry for table "{alias}", but it cannot be referenced from '
                                        f'this part of the query.') from None
                raise
        return P.MergePlan(table, joined, offset, condition, tuple(actions))

    def _merge_target(self, target: exp.Expression) -> TableDef:
        if isinstance(target, exp.Table) and target.args.get("version") is None:
            found = self.env.catalog.relation(target.name, target.db or None, self.env.search_path)
            if found is not None and found[0] != "table":
                raise SqlError("0A000", f'cannot execute MERGE on relation "{target.name}"',
                               detail="This operation is not supported for views." if found[0] == "view" else None)
        return self.target_table(target)

    def _merge_action(self, then: exp.Expression, matched: bool, condition: Expr | None, table: TableDef,
                      scope: Scope) -> P.MergeAction:
        """One WHEN clause's action: UPDATE SET and DELETE when MATCHED, INSERT when NOT MATCHED."""
        if isinstance(then, exp.Var) and then.name.upper() == "DO NOTHING":
            return P.MergeAction(matched, "nothing", condition)
        if matched and isinstance(then, exp.Var) and then.name.upper() == "DELETE":
            return P.MergeAction(matched, "delete", condition)
        if matched and isinstance(then, exp.Update):
            assigned = self._assignments(then.expressions, table, scope, "UPDATE")
            return P.MergeAction(matched, "update", condition, tuple(assigned))
        if not matched and isinstance(then, exp.Insert):
            names = then.this.expressions if isinstance(then.this, exp.Tuple) else []
            values = then.expression
            if values is None and len(names) == 1 and self._is_default(names[0], table):
                given: list[tuple[int, Expr]] = []          # INSERT DEFAULT VALUES
            else:
                cols = self._insert_columns(table, [n.name for n in names] if names else None)
                row = values.expressions if isinstance(values, exp.Tuple) else [values]
                if not names:
                    cols = cols[:len(row)]
                overriding = then.args.get("overriding")      # OVERRIDING SYSTEM | USER VALUE (parser.py)
                given = list(zip((c.slot for c in cols), self._insert_values(row, table, cols, scope, overriding)))
            slots = {slot for slot, _ in given}
            given += [(c.slot, self.default_expr(table, c.slot)) for c in table.columns
                      if c.slot not in slots and c.default is not None]
            return P.MergeAction(matched, "insert", condition, tuple(given))
        word = "INSERT" if isinstance(then, exp.Insert) else "UPDATE" if isinstance(then, exp.Update) else then.name
        raise syntax_error(f'syntax error at or near "{word.split()[0]}"')


def _identity_always(col: ColumnDef) -> SqlError:
    return SqlError("428C9", f'cannot insert a non-DEFAULT value into column "{col.name}"',
                    detail=f'Column "{col.name}" is an identity column defined as GENERATED ALWAYS.',
                    hint="Use OVERRIDING SYSTEM VALUE to override.")
