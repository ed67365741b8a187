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

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlglot import exp

from engine.catalog.model import Catalog, TableDef
from engine.catalog.system import system_catalog
from engine.errors import SqlError, feature_not_supported, syntax_error
from engine.exec import functions as F
from engine.exec import plan as P
from engine.exec.expr import (AggCall, And, Call, Case, Cast, Coalesce, Col, Compare, Const, Expr,
                              InList, IsBool, IsNull, Like, Not, Or, OuterCol, Param, Subquery,
                              children, walk)
from engine.exec.casts import cast_function, castable
from engine.rewind.points import PointTable
from engine.sql.timetravel import version_point
from engine.types import (OID, REG_TYPES, REGCLASS, OutputSettings, BOOL, BPCHAR, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, NAME,
                          NUMERIC, NUMERIC_PRECEDENCE, STRING_TYPES, TEXT, TIME, TIMESTAMP,
                          TIMESTAMPTZ, TYPES_BY_OID, UNKNOWN, VARCHAR, SqlType, array_of,
                          format_type, type_from_name)


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


@dataclass(slots=True)
class RangeEntry:
    alias: str
    columns: list[ScopeColumn]
    table: TableDef | None = None


class Scope:
    """Names visible in one query level; `parent` is the enclosing query (correlation)."""

    def __init__(self, entries: list[RangeEntry], parent: Scope | None = None) -> None:
        self.entries = entries
        self.parent = parent
        self.correlated = False

    def resolve(self, name: str, qualifier: str | None) -> Expr:
        depth = 0
        scope: Scope | None = self
        while scope is not None:
            found = scope._find(name, qualifier)
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
                if c.name == name:
                    matches.append(c)
        if len(matches) > 1:
            raise SqlError("42702", f'column reference "{name}" is ambiguous')
        return matches[0] if matches else None

    def column_info(self, index: int) -> ScopeColumn | None:
        for entry in self.entries:
            for c in entry.columns:
                if c.index == index:
                    return c
        return None


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
        return TEXT if any(t.oid == TEXT.oid for t in known) or len({t.oid for t in known}) > 1 else first.base
    datetimes = {DATE.oid: 0, TIMESTAMP.oid: 1, TIMESTAMPTZ.oid: 2}
    if all(t.oid in datetimes for t in known):
        return max(known, key=lambda t: datetimes[t.oid]).base
    raise SqlError("42804", f"{context} types {format_type(known[0])} and "
                   f"{format_type(next(t for t in known if t.oid != first.oid))} cannot be matched")


AGGREGATES = {"count", "sum", "avg", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or",
              "every", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop",
              "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg"}

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
                       exp.LogicalOr: "bool_or"}


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


@dataclass
class SelectParts:
    node: P.Node
    columns: tuple[P.OutputColumn, ...]


class Planner:
    """Plans one statement. Create one per statement; it records parameter types as it goes."""

    def __init__(self, env: PlanEnv) -> None:
        self.env = env
        self.ctes: list[dict[str, tuple[exp.Expression, list[str] | None]]] = []
        # FOR SYSTEM_TIME: the statement's clauses (by ReadPoint.index), each time-travel table
        # reference with the catalog it was bound against, and the point a view body is read at
        self.read_points: list[P.ReadPoint] = [P.ReadPoint(0, "as_of", True)] if env.session_point else []
        self.point_tables: list[PointTable] = []
        self._view_point: tuple[P.ReadPoint, Catalog] | None = None

    # ---------------------------------------------------------------- queries

    def plan_query(self, tree: exp.Expression, parent: Scope | None = None) -> P.Node:
        if isinstance(tree, exp.Subquery):
            inner = self.plan_query(tree.this, parent)
            return self._apply_modifiers(tree, inner, parent)
        if isinstance(tree, exp.Select):
            return self.plan_select(tree, parent)
        if isinstance(tree, (exp.Union, exp.Intersect, exp.Except)):
            return self.plan_setop(tree, parent)
        if isinstance(tree, exp.Values):
            return self.plan_values(tree, parent)
        raise feature_not_supported(f"query {type(tree).__name__}")

    def _with(self, tree: exp.Expression):
        w = tree.args.get("with_") or tree.args.get("with")
        if not w:
            return False
        if w.args.get("recursive"):
            raise feature_not_supported("WITH RECURSIVE")
        frame: dict[str, tuple[exp.Expression, list[str] | None]] = {}
        self.ctes.append(frame)
        for cte in w.expressions:
            alias = cte.args.get("alias")
            names = [c.name for c in alias.columns] if alias is not None and alias.columns else None
            frame[cte.alias_or_name] = (cte.this, names)
        return True

    def plan_select(self, tree: exp.Select, parent: Scope | None) -> P.Node:
        pushed = self._with(tree)
        try:
            return self._plan_select(tree, parent)
        finally:
            if pushed:
                self.ctes.pop()

    def _plan_select(self, tree: exp.Select, parent: Scope | None) -> P.Node:
        from_ = tree.args.get("from_") or tree.args.get("from")
        if from_ is not None:
            node, scope = self.plan_from(from_.this, tree.args.get("joins") or [], parent)
        else:
            if tree.args.get("joins"):
                raise syntax_error("syntax error at or near \"JOIN\"")
            node, scope = P.Result(), Scope([], parent)
        where = tree.args.get("where")
        if where is not None:
            predicate = self.bind_condition(where.this, scope, "WHERE")
            node = P.Filter(node, predicate, _columns(node))

        select_items = self.expand_select_list(tree.expressions, scope)
        bound = [(self.bind(e, scope), name, col) for e, name, col in select_items]
        group = tree.args.get("group")
        having = tree.args.get("having")
        order = tree.args.get("order")
        distinct = tree.args.get("distinct")

        order_items = []
        if order is not None:
            for o in order.expressions:
                order_items.append(self._bind_order_item(o, scope, select_items, bound))

        having_expr = self.bind_condition(having.this, scope, "HAVING") if having is not None else None
        group_exprs: list[Expr] = []
        if group is not None:
            for g in group.expressions:
                if isinstance(g, exp.Literal) and not g.is_string:
                    pos = int(g.this)
                    if not 1 <= pos <= len(bound):
                        raise SqlError("42P10", f"GROUP BY position {pos} is not in select list")
                    group_exprs.append(bound[pos - 1][0])
                elif isinstance(g, exp.Column) and not g.table and any(n == g.name for _, n, _ in select_items) \
                        and scope._find(g.name, None) is None:
                    group_exprs.append(next(b for b, n, _ in bound if n == g.name))
                elif isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets)):
                    raise feature_not_supported("GROUPING SETS, ROLLUP and CUBE")
                else:
                    group_exprs.append(self.bind(g, scope))
            for key in ("rollup", "cube", "grouping_sets"):
                if group.args.get(key):
                    raise feature_not_supported("GROUPING SETS, ROLLUP and CUBE")

        all_exprs = [b for b, _, _ in bound] + [k.expr for k in order_items] + ([having_expr] if having_expr else [])
        aggs = _collect_aggs(all_exprs)
        if aggs or group_exprs:
            node, rewrite = self._aggregate(node, scope, group_exprs, aggs)
            bound = [(rewrite(b), n, c) for b, n, c in bound]
            order_items = [P.SortKey(rewrite(k.expr), k.descending, k.nulls_first) for k in order_items]
            if having_expr is not None:
                node = P.Filter(node, rewrite(having_expr), _columns(node))
        elif having_expr is not None:
            node, rewrite = self._aggregate(node, scope, [], [])
            bound = [(rewrite(b), n, c) for b, n, c in bound]
            node = P.Filter(node, rewrite(having_expr), _columns(node))

        out_cols = tuple(self._output_column(b, name, col, scope) for b, name, col in bound)
        exprs = [b for b, _, _ in bound]
        n_visible = len(exprs)
        # ORDER BY keys not in the select list travel as hidden trailing columns
        sort_keys: list[P.SortKey] = []
        for k in order_items:
            try:
                pos = exprs.index(k.expr)
            except ValueError:
                if distinct is not None:
                    raise SqlError("42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
                exprs.append(k.expr)
                pos = len(exprs) - 1
            sort_keys.append(P.SortKey(Col(pos, k.expr.type), k.descending, k.nulls_first))
        hidden = tuple(P.OutputColumn("?sort?", e.type) for e in exprs[n_visible:])
        node = P.Project(node, tuple(exprs), out_cols + hidden)
        if distinct is not None:
            if distinct.args.get("on"):
                raise feature_not_supported("DISTINCT ON")
            node = P.Distinct(node, node.columns)
        if sort_keys:
            node = P.Sort(node, tuple(sort_keys), node.columns)
        node = self._limit(tree, node, scope)
        if hidden:
            node = P.Project(node, tuple(Col(i, c.type) for i, c in enumerate(out_cols)), out_cols)
        return node

    def _bind_order_item(self, o: exp.Ordered, scope: Scope, select_items, bound) -> P.SortKey:
        target = o.this
        desc = bool(o.args.get("desc"))
        nulls_first = o.args.get("nulls_first")
        nulls_first = bool(nulls_first) if nulls_first is not None else desc
        if isinstance(target, exp.Literal) and not target.is_string:
            pos = int(target.this)
            if not 1 <= pos <= len(bound):
                raise SqlError("42P10", f"ORDER BY position {pos} is not in select list")
            return P.SortKey(bound[pos - 1][0], desc, nulls_first)
        if isinstance(target, exp.Parameter):
            raise NeedsLiteral()
        if isinstance(target, exp.Column) and not target.table:
            matches = [b for b, n, _ in bound if n == target.name]
            if matches and (scope._find(target.name, None) is None or len(matches) >= 1):
                if len(matches) > 1 and len(set(matches)) > 1:
                    raise SqlError("42702", f'ORDER BY "{target.name}" is ambiguous')
                return P.SortKey(matches[0], desc, nulls_first)
        return P.SortKey(self.bind(target, scope), desc, nulls_first)

    def _limit(self, tree: exp.Expression, node: P.Node, scope: Scope) -> P.Node:
        limit = tree.args.get("limit")
        offset = tree.args.get("offset")
        if limit is None and offset is None:
            return node
        count = None
        if limit is not None:
            target = limit.expression if isinstance(limit, exp.Limit) else limit.args.get("count") or limit.this
            if isinstance(limit, exp.Fetch):
                target = limit.args.get("count") or exp.Literal.number(1)
            if not (isinstance(target, exp.Null)):
                count = self.coerce(self.bind(target, Scope([], scope.parent)), INT8, "LIMIT")
        off = None
        if offset is not None:
            off = self.coerce(self.bind(offset.expression, Scope([], scope.parent)), INT8, "OFFSET")
        return P.Limit(node, count, off, _columns(node))

    def _apply_modifiers(self, tree: exp.Expression, node: P.Node, parent: Scope | None) -> P.Node:
        order = tree.args.get("order")
        if order is not None:
            scope = self._scope_for_output(node, parent)
            keys = []
            for o in order.expressions:
                target = o.this
                desc = bool(o.args.get("desc"))
                nf = o.args.get("nulls_first")
                nf = bool(nf) if nf is not None else desc
                if isinstance(target, exp.Literal) and not target.is_string:
                    pos = int(target.this)
                    if not 1 <= pos <= len(_columns(node)):
                        raise SqlError("42P10", f"ORDER BY position {pos} is not in select list")
                    keys.append(P.SortKey(Col(pos - 1, _columns(node)[pos - 1].type), desc, nf))
                else:
                    keys.append(P.SortKey(self.bind(target, scope), desc, nf))
            node = P.Sort(node, tuple(keys), _columns(node))
        return self._limit(tree, node, Scope([], parent))

    def _scope_for_output(self, node: P.Node, parent: Scope | None) -> Scope:
        cols = [ScopeColumn(c.name, i, c.type) for i, c in enumerate(_columns(node))]
        return Scope([RangeEntry("", cols)], parent)

    def plan_setop(self, tree: exp.Expression, parent: Scope | None) -> P.Node:
        pushed = self._with(tree)
        try:
            left = self.plan_query(tree.this, parent)
            right = self.plan_query(tree.expression, parent)
            lc, rc = _columns(left), _columns(right)
            kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(tree)]
            if len(lc) != len(rc):
                raise SqlError("42601", f"each {kind.upper()} query must have the same number of columns")
            types = [common_type([a.type, b.type], kind.upper()) for a, b in zip(lc, rc)]
            left = self._cast_columns(left, types)
            right = self._cast_columns(right, types)
            cols = tuple(P.OutputColumn(c.name, t) for c, t in zip(lc, types))
            distinct = tree.args.get("distinct")
            node: P.Node = P.SetOp(kind, not distinct, left, right, cols)
            return self._apply_modifiers(tree, node, parent)
        finally:
            if pushed:
                self.ctes.pop()

    def _cast_columns(self, node: P.Node, types: list[SqlType]) -> P.Node:
        cols = _columns(node)
        if all(c.type == t for c, t in zip(cols, types)):
            return node
        exprs = tuple(self.coerce(Col(i, c.type), t, "UNION") if c.type != t else Col(i, c.type)
                      for i, (c, t) in enumerate(zip(cols, types)))
        return P.Project(node, exprs, tuple(P.OutputColumn(c.name, t) for c, t in zip(cols, types)))

    def plan_values(self, tree: exp.Values, parent: Scope | None, target_types: list[SqlType] | None = None) -> P.Node:
        scope = Scope([], parent)
        rows = [[self.bind(v, scope) for v in (t.expressions if isinstance(t, exp.Tuple) else [t])]
                for t in tree.expressions]
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise SqlError("42601", "VALUES lists must all be the same length")
        if target_types is None:
            types = [common_type([r[i].type for r in rows], "VALUES") for i in range(width)]
        else:
            types = target_types
        rows = [[self.coerce(v, t, "VALUES", assignment=target_types is not None) for v, t in zip(r, types)] for r in rows]
        cols = tuple(P.OutputColumn(f"column{i + 1}", t) for i, t in enumerate(types))
        return P.Values(tuple(tuple(r) for r in rows), cols)

    # ---------------------------------------------------------------- FROM

    def plan_from(self, first: exp.Expression, joins: list[exp.Join], parent: Scope | None) -> tuple[P.Node, Scope]:
        node, entries = self.plan_table_ref(first, parent)
        for j in joins:
            right, right_entries = self.plan_table_ref(j.this, parent)
            width = len(_columns(node))
            for e in right_entries:
                for c in e.columns:
                    c.index += width
            kind = (j.args.get("side") or "").lower() or ("cross" if (j.args.get("kind") or "").upper() == "CROSS" else "inner")
            if (j.args.get("kind") or "").upper() in ("OUTER",) and not j.args.get("side"):
                kind = "full"
            combined_entries = entries + right_entries
            scope = Scope(combined_entries, parent)
            condition = None
            using = j.args.get("using")
            if j.args.get("method") and str(j.args.get("method")).upper() == "NATURAL":
                raise feature_not_supported("NATURAL JOIN")
            if using:
                conds = []
                for ident in using:
                    name = ident.name
                    left_col = Scope(entries, parent).resolve(name, None)
                    right_col = Scope(right_entries, parent).resolve(name, None)
                    conds.append(self._compare("=", left_col, right_col))
                condition = conds[0] if len(conds) == 1 else And(tuple(conds))
            elif j.args.get("on") is not None:
                condition = self.bind_condition(j.args["on"], scope, "JOIN/ON")
            elif kind not in ("cross", "inner"):
                raise syntax_error("syntax error: JOIN requires ON or USING")
            if kind == "inner" and condition is None:
                kind = "cross"
            if kind in ("left", "full"):
                for e in right_entries:
                    for c in e.columns:
                        c.nullable = True
            if kind in ("right", "full"):
                for e in entries:
                    for c in e.columns:
                        c.nullable = True
            lkeys, rkeys, residual = _split_equi(condition, width) if condition is not None else ((), (), None)
            cols = _columns(node) + _columns(right)
            node = P.Join(node, right, kind, lkeys, rkeys, residual, cols)
            entries = combined_entries
        return node, Scope(entries, parent)

    def plan_table_ref(self, ref: exp.Expression, parent: Scope | None) -> tuple[P.Node, list[RangeEntry]]:
        if isinstance(ref, exp.Table):
            return self._plan_table(ref, parent)
        if isinstance(ref, exp.Subquery):
            if ref.args.get("lateral"):
                raise feature_not_supported("LATERAL")
            node = self.plan_query(ref.this if not _has_modifiers(ref) else ref, None)
            alias = ref.alias_or_name
            return node, [self._entry_for(node, alias, ref.args.get("alias"))]
        if isinstance(ref, exp.Lateral):
            raise feature_not_supported("LATERAL")
        if isinstance(ref, exp.Values):
            node = self.plan_values(ref, None)
            alias = ref.alias_or_name or "*VALUES*"
            return node, [self._entry_for(node, alias, ref.args.get("alias"))]
        raise feature_not_supported(f"FROM item {type(ref).__name__}")

    def _entry_for(self, node: P.Node, alias: str, alias_node: exp.TableAlias | None) -> RangeEntry:
        names = [c.name for c in _columns(node)]
        if alias_node is not None and alias_node.columns:
            renamed = [c.name for c in alias_node.columns]
            if len(renamed) > len(names):
                raise SqlError("42P10", f'table "{alias}" has {len(names)} columns available but {len(renamed)} columns specified')
            names = renamed + names[len(renamed):]
        cols = [ScopeColumn(n, i, c.type) for i, (n, c) in enumerate(zip(names, _columns(node)))]
        return RangeEntry(alias, cols)

    def _plan_table(self, ref: exp.Table, parent: Scope | None) -> tuple[P.Node, list[RangeEntry]]:
        name = ref.name
        schema = ref.db or None
        alias = ref.alias_or_name
        alias_node = ref.args.get("alias")
        if ref.args.get("joins"):
            raise feature_not_supported("nested joins in parentheses")
        version = ref.args.get("version")
        if schema is None:
            for frame in reversed(self.ctes):
                if name in frame:
                    if version is not None:
                        raise feature_not_supported("FOR SYSTEM_TIME on a WITH query (use it on the tables inside)")
                    body, col_names = frame[name]
                    node = self.plan_query(body, None)
                    entry = self._entry_for(node, alias, alias_node)
                    if col_names:
                        for c, n in zip(entry.columns, col_names):
                            c.name = n
                    return node, [entry]
        if isinstance(ref.this, exp.Anonymous) or isinstance(ref.this, exp.Func):
            raise feature_not_supported("set-returning functions in FROM")
        point, catalog = self._table_point(version, schema, name)
        found = catalog.relation(name, schema, self.env.search_path)
        if found is None and self.env.virtual_table is not None:
            virtual = self.env.virtual_table(schema, name)
            if virtual is not None:
                if version is not None:
                    raise feature_not_supported(f"FOR SYSTEM_TIME on {name} (a system table)")
                cols = tuple(P.OutputColumn(n, t) for n, t in virtual.columns)
                node = P.VirtualScan(virtual.name, virtual.producer, cols)
                return node, [self._entry_for(node, alias, alias_node)]
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
            entry = self._entry_for(node, alias, alias_node)
            for c, n in zip(entry.columns, view.column_names):
                c.name = n
            return node, [entry]
        if kind != "table":
            raise SqlError("42809", f'"{name}" is not a table')
        table = catalog.tables[oid]
        return self.scan_node(table, alias, alias_node, read_point=point)

    # ---------------------------------------------------------------- time travel

    def _table_point(self, version: exp.Version | None, schema: str | None,
                     name: str) -> tuple[P.ReadPoint | None, Catalog]:
        """The point a table reference is read at (None: the statement's snapshot) and the
        catalog its name binds against (the schema of that point)."""
        if version is None:
            if self._view_point is not None:
                return self._view_point
            return (self.read_points[0] if self.env.session_point else None), self.env.catalog
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
        out: list[tuple[exp.Expression, str, ScopeColumn | None]] = []
        for item in items:
            if isinstance(item, exp.Star):
                if not scope.entries:
                    raise SqlError("42601", "SELECT * with no tables specified is not valid")
                for entry in scope.entries:
                    out.extend(self._entry_star(entry))
                continue
            if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                qualifier = item.table
                entries = [e for e in scope.entries if e.alias == qualifier]
                if not entries:
                    raise SqlError("42P01", f'missing FROM-clause entry for table "{qualifier}"')
                out.extend(self._entry_star(entries[0]))
                continue
            if isinstance(item, exp.Alias):
                out.append((item.this, item.alias, None))
                continue
            out.append((item, output_name(item), None))
        return out

    def _entry_star(self, entry: RangeEntry):
        for c in entry.columns:
            if not c.hidden:
                yield (exp.column(c.name, table=entry.alias or None, quoted=True), c.name, c)

    def _output_column(self, e: Expr, name: str, col: ScopeColumn | None, scope: Scope) -> P.OutputColumn:
        t = e.type if e.type.oid != UNKNOWN.oid else TEXT
        if isinstance(e, Col):
            info = col or scope.column_info(e.index)
            if info is not None and info.table_oid:
                return P.OutputColumn(name, t, info.table_oid, info.attnum, e.nullable)
        return P.OutputColumn(name, t)

    # ---------------------------------------------------------------- aggregation

    def _aggregate(self, node: P.Node, scope: Scope, groups: list[Expr], aggs: list[AggCall]):
        groups = list(dict.fromkeys(groups))
        cols = tuple([P.OutputColumn("?group?", g.type) for g in groups] +
                     [P.OutputColumn(a.name, a.type) for a in aggs])
        agg_node = P.Aggregate(node, tuple(groups), tuple(aggs), cols)
        group_pos = {g: i for i, g in enumerate(groups)}
        agg_pos = {a: len(groups) + i for i, a in enumerate(aggs)}

        def rewrite(e: Expr) -> Expr:
            if e in group_pos:
                return Col(group_pos[e], e.type)
            if isinstance(e, AggCall):
                return Col(agg_pos[e], e.type)
            if isinstance(e, Col):
                info = scope.column_info(e.index)
                label = f"{_alias_of(scope, e.index)}.{info.name}" if info else "?"
                raise SqlError("42803", f'column "{label}" must appear in the GROUP BY clause or be used in an aggregate function')
            return _map_children(e, rewrite)

        return agg_node, rewrite

    # ---------------------------------------------------------------- expressions

    def bind_condition(self, node: exp.Expression, scope: Scope, clause: str) -> Expr:
        e = self.bind(node, scope)
        if e.type.oid == UNKNOWN.oid:
            e = self.coerce(e, BOOL, clause)
        if e.type.oid != BOOL.oid:
            raise SqlError("42804", f"argument of {clause} must be type boolean, not type {format_type(e.type)}")
        if clause in ("WHERE", "JOIN/ON") and any(isinstance(x, AggCall) for x in walk(e)):
            raise SqlError("42803", f"aggregate functions are not allowed in {clause}")
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
        if isinstance(node.this, exp.Star):
            raise feature_not_supported("row values (table.*) in expressions")
        qualifier = node.table or None
        try:
            return scope.resolve(node.name, qualifier)
        except SqlError as e:
            raise at_position(e, node.args.get("table") or node.this)

    def _bind_Identifier(self, node, scope):
        return scope.resolve(node.name, None)

    def _bind_Literal(self, node: exp.Literal, scope) -> Expr:
        if node.is_string:
            return Const(node.this, UNKNOWN)
        text = node.this
        if re.fullmatch(r"-?\d+", text):
            v = int(text)
            if -2**31 <= v <= 2**31 - 1:
                return Const(v, INT4)
            if -2**63 <= v <= 2**63 - 1:
                return Const(v, INT8)
        from decimal import Decimal
        return Const(Decimal(text), NUMERIC)

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
        target = datatype_to_sql(node.args["to"])
        return self.cast(self.bind(node.this, scope), target, explicit=True)

    _bind_TryCast = _bind_Cast

    def _bind_Alias(self, node, scope):
        return self.bind(node.this, scope)

    def _binary_numeric(self, op: str, left: Expr, right: Expr) -> Expr:
        lt, rt = left.type, right.type
        if lt.oid == UNKNOWN.oid and rt.oid == UNKNOWN.oid:
            if op == "||":
                left, right = self.coerce(left, TEXT, op), self.coerce(right, TEXT, op)
            else:
                raise SqlError("42725", f"operator is not unique: unknown {op} unknown")
        elif lt.oid == UNKNOWN.oid:
            left = self.coerce(left, _unknown_partner(rt, op), op)
        elif rt.oid == UNKNOWN.oid:
            right = self.coerce(right, _unknown_partner(lt, op), op)
        lt, rt = left.type, right.type
        if op != "||":
            common = F.numeric_result_type(lt, rt)
            if common is not None:
                left = self.coerce(left, common, op)
                right = self.coerce(right, common, op)
                return Call(op, (left, right), common)
        if op == "||" and (lt.oid in STRING_TYPES or rt.oid in STRING_TYPES):
            left = self.cast(left, TEXT, explicit=False) if lt.oid in STRING_TYPES or lt.oid == UNKNOWN.oid else self.cast(left, TEXT, explicit=True)
            right = self.cast(right, TEXT, explicit=False) if rt.oid in STRING_TYPES else self.cast(right, TEXT, explicit=True)
            return Call("||", (left, right), TEXT)
        sig, targets = F.resolve(op, [lt, rt])
        left = self.coerce(left, targets[0], op)
        right = self.coerce(right, targets[1], op)
        return Call(op, (left, right), _returns(sig, targets))

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
        return self._binary_numeric("||", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_Neg(self, node, scope):
        inner = node.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return self._bind_Literal(exp.Literal(this="-" + inner.this, is_string=False), scope)
        arg = self.bind(inner, scope)
        if arg.type.oid == UNKNOWN.oid:
            arg = self.coerce(arg, NUMERIC, "-")
        sig, targets = F.resolve("-u", [arg.type])
        return Call("-u", (self.coerce(arg, targets[0], "-"),), _returns(sig, targets))

    def _compare(self, op: str, left: Expr, right: Expr) -> Expr:
        lt, rt = left.type, right.type
        if lt.oid == UNKNOWN.oid and rt.oid == UNKNOWN.oid:
            left, right = self.coerce(left, TEXT, op), self.coerce(right, TEXT, op)
        elif lt.oid == UNKNOWN.oid:
            left = self.coerce(left, rt.base if rt.oid != BPCHAR.oid else rt, op)
        elif rt.oid == UNKNOWN.oid:
            right = self.coerce(right, lt.base if lt.oid != BPCHAR.oid else lt, op)
        lt, rt = left.type, right.type
        if lt.oid != rt.oid:
            if lt.oid in NUMERIC_PRECEDENCE and rt.oid in NUMERIC_PRECEDENCE:
                if not self.env.fold_constants:      # deparsing shows the coercion PostgreSQL adds
                    common = F.numeric_result_type(lt, rt)
                    left, right = self.coerce(left, common, op), self.coerce(right, common, op)
                # else: Python compares int, Decimal and float exactly
            elif lt.oid in _OID_FAMILY and (rt.oid in _OID_FAMILY or rt.oid in _INTEGERS) or \
                    rt.oid in _OID_FAMILY and lt.oid in _INTEGERS:
                pass   # oid, the reg* types and integers compare as oids
            elif lt.oid in STRING_TYPES and rt.oid in STRING_TYPES:
                if BPCHAR.oid in (lt.oid, rt.oid) and not (lt.oid == rt.oid):
                    left = self.cast(left, TEXT, explicit=False) if lt.oid == BPCHAR.oid else left
                    right = self.cast(right, TEXT, explicit=False) if rt.oid == BPCHAR.oid else right
            else:
                try:
                    common = common_type([lt, rt], "comparison")
                except SqlError:
                    raise SqlError("42883", f"operator does not exist: {format_type(lt)} {op} {format_type(rt)}",
                                   hint="No operator matches the given name and argument types. You might need to add explicit type casts.") from None
                left = self.coerce(left, common, op)
                right = self.coerce(right, common, op)
        elif lt.oid in (TEXT.oid,) or lt.oid == rt.oid:
            pass
        if lt.oid == BOOL.oid and rt.oid != BOOL.oid or rt.oid == BOOL.oid and lt.oid != BOOL.oid:
            raise SqlError("42883", f"operator does not exist: {format_type(lt)} {op} {format_type(rt)}")
        return Compare(op, left, right)

    def _bind_EQ(self, node, scope):
        return self._compare("=", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_NEQ(self, node, scope):
        return self._compare("<>", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_GT(self, node, scope):
        return self._compare(">", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_GTE(self, node, scope):
        return self._compare(">=", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_LT(self, node, scope):
        return self._compare("<", self.bind(node.this, scope), self.bind(node.expression, scope))

    def _bind_LTE(self, node, scope):
        return self._compare("<=", self.bind(node.this, scope), self.bind(node.expression, scope))

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
        if node.args.get("symmetric"):
            raise feature_not_supported("BETWEEN SYMMETRIC")
        return And((self._compare(">=", arg, low), self._compare("<=", arg, high)))

    def _bind_In(self, node: exp.In, scope) -> Expr:
        arg = self.bind(node.this, scope)
        query = node.args.get("query")
        if query is not None:
            sub = query.this if isinstance(query, exp.Subquery) else query
            return self._subquery("in", sub, scope, arg)
        if node.args.get("unnest") or node.args.get("field"):
            raise feature_not_supported("IN (UNNEST ...)")
        items = [self.bind(v, scope) for v in node.expressions]
        types = [arg.type] + [i.type for i in items]
        common = common_type(types, "IN")
        arg = self.coerce(arg, common, "IN") if arg.type.oid == UNKNOWN.oid or arg.type.oid not in NUMERIC_PRECEDENCE else arg
        items = [self._compare("=", arg, i).right for i in items]
        return InList(arg, tuple(items))

    def _bind_Like(self, node, scope, case_insensitive=False):
        arg = self.bind(node.this, scope)
        pattern = self.bind(node.expression, scope)
        if node.args.get("escape") is not None:
            raise feature_not_supported("LIKE ... ESCAPE")
        arg = self.coerce(arg, TEXT, "LIKE") if arg.type.oid in STRING_TYPES or arg.type.oid == UNKNOWN.oid else arg
        pattern = self.coerce(pattern, TEXT, "LIKE") if pattern.type.oid in STRING_TYPES or pattern.type.oid == UNKNOWN.oid else pattern
        if arg.type.oid != TEXT.oid or pattern.type.oid != TEXT.oid:
            op = "~~*" if case_insensitive else "~~"
            raise SqlError("42883", f"operator does not exist: {format_type(arg.type)} {op} {format_type(pattern.type)}")
        return Like(arg, pattern, case_insensitive, bool(node.args.get("negate")))

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
        types = [r.type for r in results] + ([default.type] if default is not None else [])
        t = common_type(types, "CASE")
        results = [self.coerce(r, t, "CASE") for r in results]
        if default is not None:
            default = self.coerce(default, t, "CASE")
        return Case(tuple(zip(conds, results)), default, t)

    def _bind_If(self, node, scope):
        cond = self._bool_arg(node.this, scope, "CASE/WHEN")
        true = self.bind(node.args["true"], scope)
        false = self.bind(node.args["false"], scope) if node.args.get("false") is not None else None
        t = common_type([true.type] + ([false.type] if false is not None else []), "CASE")
        return Case(((cond, self.coerce(true, t, "CASE")),), self.coerce(false, t, "CASE") if false is not None else None, t)

    def _bind_Coalesce(self, node, scope):
        args = [self.bind(a, scope) for a in [node.this] + list(node.expressions)]
        t = common_type([a.type for a in args], "COALESCE")
        return Coalesce(tuple(self.coerce(a, t, "COALESCE") for a in args), t)

    def _bind_Nullif(self, node, scope):
        a = self.bind(node.this, scope)
        b = self.bind(node.expression, scope)
        cond = self._compare("=", a, b)
        return Case(((cond, Const(None, a.type)),), a, a.type)

    def _bind_Greatest(self, node, scope):
        raise feature_not_supported("GREATEST")

    def _bind_Subquery(self, node, scope):
        return self._subquery("scalar", node.this, scope)

    def _bind_Exists(self, node, scope):
        return self._subquery("exists", node.this, scope)

    def _subquery(self, kind: str, tree: exp.Expression, scope: Scope, arg: Expr | None = None) -> Expr:
        inner_scope_parent = scope
        plan = self.plan_query(tree, inner_scope_parent)
        cols = _columns(plan)
        correlated = _plan_is_correlated(plan)
        if kind == "exists":
            return Subquery("exists", plan, BOOL, correlated=correlated)
        if len(cols) != 1:
            raise SqlError("42601", "subquery must return only one column" if kind == "scalar" else "subquery has too many columns")
        if kind == "scalar":
            return Subquery("scalar", plan, cols[0].type, correlated=correlated)
        common = common_type([arg.type, cols[0].type], "IN")
        arg = self.coerce(arg, common, "IN")
        return Subquery("in", plan, BOOL, arg=arg, correlated=correlated)

    def _bind_Interval(self, node: exp.Interval, scope) -> Expr:
        this = node.this
        unit = node.args.get("unit")
        if isinstance(this, exp.Parameter):
            raise NeedsLiteral()
        if not isinstance(this, exp.Literal):
            raise feature_not_supported("INTERVAL with a non-literal value")
        text = this.this + (" " + unit.sql() if unit is not None else "")
        return self.coerce(Const(text, UNKNOWN), INTERVAL, "INTERVAL")

    def _bind_function(self, node: exp.Func, scope: Scope) -> Expr:
        name = function_name(node)
        if name in AGGREGATES:
            return self._bind_aggregate(name, node, scope)
        if isinstance(node, exp.Window) or node.find(exp.Window):
            raise feature_not_supported("window functions")
        raw_args = function_args(node)
        args = [self.bind(a, scope) for a in raw_args]
        if name in ("now",) and args:
            raise SqlError("42883", "function now() takes no arguments")
        sig, targets = F.resolve(name, [a.type for a in args])
        args = [self.coerce(a, t, name) for a, t in zip(args, targets)]
        return Call(name, tuple(args), _returns(sig, targets))

    def _bind_Anonymous(self, node, scope):
        return self._bind_function(node, scope)

    def _bind_aggregate(self, name: str, node: exp.Func, scope: Scope) -> Expr:
        distinct = False
        star = False
        raw = function_args(node)
        if raw and isinstance(raw[0], exp.Distinct):
            distinct = True
            raw = list(raw[0].expressions) + raw[1:]
        if raw and isinstance(raw[0], exp.Star):
            star = True
            raw = []
        args = [self.bind(a, scope) for a in raw]
        if any(isinstance(x, AggCall) for a in args for x in walk(a)):
            raise SqlError("42803", "aggregate function calls cannot be nested")
        if name == "count":
            if not star and len(args) != 1:
                raise SqlError("42883", "function count() does not exist")
            if args and args[0].type.oid == UNKNOWN.oid:
                args = [self.coerce(args[0], TEXT, name)]
            return AggCall("count", tuple(args), INT8, distinct, star)
        if len(args) != 1 or star:
            raise feature_not_supported(f"aggregate {name} with these arguments")
        a = args[0]
        if a.type.oid == UNKNOWN.oid:
            a = self.coerce(a, TEXT if name in ("min", "max") else NUMERIC, name)
        t = a.type
        if name == "sum":
            result = {INT2.oid: INT8, INT4.oid: INT8, INT8.oid: NUMERIC, NUMERIC.oid: NUMERIC,
                      FLOAT4.oid: FLOAT4, FLOAT8.oid: FLOAT8, INTERVAL.oid: INTERVAL}.get(t.oid)
        elif name == "avg":
            result = {INT2.oid: NUMERIC, INT4.oid: NUMERIC, INT8.oid: NUMERIC, NUMERIC.oid: NUMERIC,
                      FLOAT4.oid: FLOAT8, FLOAT8.oid: FLOAT8, INTERVAL.oid: INTERVAL}.get(t.oid)
        elif name in ("min", "max"):
            result = t.base if t.oid not in (BOOL.oid,) else None
            if t.oid == BPCHAR.oid:
                result = t.base
        elif name in ("bool_and", "bool_or"):
            result = BOOL if t.oid == BOOL.oid else None
        else:
            raise feature_not_supported(f"aggregate function {name}")
        if result is None:
            raise SqlError("42883", f"function {name}({format_type(t)}) does not exist",
                           hint="No function matches the given name and argument types. You might need to add explicit type casts.")
        return AggCall(name, (a,), result, distinct)

    # ---------------------------------------------------------------- coercion

    def coerce(self, e: Expr, target: SqlType, context: str, assignment: bool = False) -> Expr:
        """`e` as `target`, by implicit (or assignment) cast; unknown literals are parsed now."""
        if e.type == target or (e.type.oid == target.oid and target.typmod == -1):
            return e
        if isinstance(e, Param) and e.type.oid == UNKNOWN.oid:
            types = self.env.param_types
            types[e.index] = target.base if target.oid != BPCHAR.oid else target.base
            return Param(e.index, types[e.index]) if types[e.index] == target else self.cast(Param(e.index, types[e.index]), target, explicit=False)
        if isinstance(e, Const) and e.type.oid == UNKNOWN.oid:
            if e.value is None:
                return Const(None, target)
            return self.cast(e, target, explicit=True)
        if castable(e.type, target, assignment):
            return self.cast(e, target, explicit=True)
        if assignment:
            raise SqlError("42804", f'column is of type {format_type(target)} but expression is of type {format_type(e.type)}',
                           hint="You will need to rewrite or cast the expression.")
        raise SqlError("42804", f"{context} types {format_type(e.type)} and {format_type(target)} cannot be matched")

    def cast(self, e: Expr, target: SqlType, explicit: bool) -> Expr:
        """`e` converted to `target`; `explicit` is CAST/:: (anything castable), else implicit only."""
        if e.type == target:
            return e
        if not castable(e.type, target, explicit):
            raise SqlError("42846", f"cannot cast type {format_type(e.type)} to {format_type(target)}")
        if target.oid in REG_TYPES:
            return self._reg_cast(e, target)
        if isinstance(e, Const):
            if e.value is None:
                return Const(None, target)
            if not self.env.fold_constants and e.type.oid != UNKNOWN.oid:
                return Cast(e, target)
            return Const(cast_function(e.type, target, self.env.settings)(e.value), target)
        return Cast(e, target)

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


def output_name(node: exp.Expression) -> str:
    """The column name PostgreSQL gives a select-list expression without an alias."""
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Paren):
        return output_name(node.this)
    if isinstance(node, exp.Cast):
        return _cast_name(node)[0]
    if isinstance(node, (exp.Case, exp.If)):
        return "case"
    if isinstance(node, exp.Exists):
        return "exists"
    if isinstance(node, exp.Subquery):
        inner = node.this
        if isinstance(inner, exp.Select) and len(inner.expressions) == 1:
            return output_name(inner.expressions[0]) if not isinstance(inner.expressions[0], exp.Alias) else inner.expressions[0].alias
        return "?column?"
    if isinstance(node, exp.Nullif):
        return "nullif"
    if isinstance(node, exp.Coalesce):
        return "coalesce"
    if isinstance(node, exp.Interval):
        return "interval"
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary)):
        name = function_name(node)
        return {"now": "now" if node.key != "currenttimestamp" else "current_timestamp"}.get(name, name)
    return "?column?"


def _cast_name(node: exp.Cast) -> tuple[str, int]:
    """A cast's column name and its strength (FigureColname): the name of what is cast if it
    has a real one, else the type's name."""
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Cast):
        name, strength = _cast_name(inner)
    else:
        name = output_name(inner)
        strength = 0 if name == "?column?" else 2
    if strength <= 1:
        try:
            return datatype_to_sql(node.args["to"]).name, 1
        except (SqlError, NeedsLiteral):
            pass
    return name, strength


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


def _columns(node: P.Node) -> tuple[P.OutputColumn, ...]:
    return node.columns


def _has_modifiers(node: exp.Expression) -> bool:
    return any(node.args.get(k) for k in ("order", "limit", "offset"))


def _returns(sig: F.Signature, targets: list[SqlType]) -> SqlType:
    if isinstance(sig.returns, SqlType):
        return sig.returns
    if sig.returns == "arg0":
        return targets[0]
    if sig.returns == "name":
        return NAME
    return TYPES_BY_OID.get(sig.returns) if isinstance(sig.returns, int) else TEXT


def _unknown_partner(known: SqlType, op: str) -> SqlType:
    """The type an unknown literal takes opposite `known` in an arithmetic operator."""
    if known.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid, DATE.oid, TIME.oid) and op in ("+", "-"):
        return INTERVAL
    if known.oid in STRING_TYPES:
        return TEXT
    return known.base


def _collect_aggs(exprs: list[Expr]) -> list[AggCall]:
    found: dict[AggCall, None] = {}
    for e in exprs:
        for x in walk(e):
            if isinstance(x, AggCall):
                found[x] = None
    return list(found)


def _map_children(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    import dataclasses
    if isinstance(e, (Col, Const, Param, OuterCol)):
        return e
    if isinstance(e, Subquery):
        return dataclasses.replace(e, arg=fn(e.arg)) if e.arg is not None else e
    changes = {}
    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            changes[f.name] = fn(v)
        elif isinstance(v, tuple) and v and isinstance(v[0], Expr):
            changes[f.name] = tuple(fn(x) for x in v)
        elif isinstance(v, tuple) and v and isinstance(v[0], tuple):
            changes[f.name] = tuple(tuple(fn(x) for x in pair) for pair in v)
    return dataclasses.replace(e, **changes)


def map_expr(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Rebuild `e` bottom-up, replacing any node for which fn returns non-None."""
    replaced = fn(e)
    if replaced is not None:
        return replaced
    return _map_children(e, lambda c: map_expr(c, fn))


def _negate(e: Expr) -> Expr:
    import dataclasses
    return dataclasses.replace(e, negated=not e.negated)


def _split_equi(condition: Expr, left_width: int) -> tuple[tuple[Expr, ...], tuple[Expr, ...], Expr | None]:
    """Pull `left = right` equalities out of a join condition for a hash join."""
    conjuncts = list(condition.args) if isinstance(condition, And) else [condition]
    lkeys, rkeys, rest = [], [], []
    for c in conjuncts:
        if isinstance(c, Compare) and c.op == "=":
            sides = (_side(c.left, left_width), _side(c.right, left_width))
            if sides == ("L", "R"):
                lkeys.append(c.left)
                rkeys.append(_shift(c.right, -left_width))
                continue
            if sides == ("R", "L"):
                lkeys.append(c.right)
                rkeys.append(_shift(c.left, -left_width))
                continue
        rest.append(c)
    residual = None if not rest else (rest[0] if len(rest) == 1 else And(tuple(rest)))
    return tuple(lkeys), tuple(rkeys), residual


def _side(e: Expr, left_width: int) -> str | None:
    cols = [x for x in walk(e) if isinstance(x, Col)]
    if not cols or any(isinstance(x, (Subquery, OuterCol)) for x in walk(e)):
        return None
    if all(c.index < left_width for c in cols):
        return "L"
    if all(c.index >= left_width for c in cols):
        return "R"
    return None


def _shift(e: Expr, delta: int) -> Expr:
    return map_expr(e, lambda x: Col(x.index + delta, x.type, x.nullable) if isinstance(x, Col) else None)


def _plan_is_correlated(node: P.Node) -> bool:
    for n in _plan_nodes(node):
        for e in _node_exprs(n):
            for x in walk(e):
                if isinstance(x, OuterCol):
                    return True
                if isinstance(x, Subquery) and x.correlated:
                    return True
    return False


def _plan_nodes(node: P.Node):
    yield node
    for child in P.inputs(node):
        yield from _plan_nodes(child)


def _node_exprs(n: P.Node) -> list[Expr]:
    out: list[Expr] = []
    for name in ("filter", "predicate", "condition", "count", "offset"):
        v = getattr(n, name, None)
        if isinstance(v, Expr):
            out.append(v)
    for name in ("exprs", "groups", "aggs", "key", "left_keys", "right_keys"):
        out.extend(getattr(n, name, ()) or ())
    if isinstance(n, P.Sort):
        out.extend(k.expr for k in n.keys)
    if isinstance(n, P.Values):
        out.extend(x for row in n.rows for x in row)
    return out


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
            e = self.bind(node, scope)
            if any(isinstance(x, AggCall) for x in walk(e)):
                raise SqlError("42803", "aggregate functions are not allowed in RETURNING")
            exprs.append(e)
            cols.append(self._output_column(e, name, col, scope))
        return tuple(exprs), tuple(cols)

    def plan_insert(self, tree: exp.Insert) -> P.InsertPlan:
        target = tree.this
        columns_given = None
        if isinstance(target, exp.Schema):
            columns_given = [c.name for c in target.expressions]
            target = target.this
        table = self.target_table(target)
        alias = target.alias_or_name
        if columns_given is None:
            cols = list(table.columns)
        else:
            cols = []
            for name in columns_given:
                c = table.column(name)
                if c is None:
                    raise SqlError("42703", f'column "{name}" of relation "{table.name}" does not exist')
                if c in cols:
                    raise SqlError("42701", f'column "{name}" specified more than once')
                cols.append(c)
        source_tree = tree.expression
        base_types = [c.type.base for c in cols]
        if isinstance(source_tree, exp.Values):
            rows_trees = [t.expressions if isinstance(t, exp.Tuple) else [t] for t in source_tree.expressions]
            if columns_given is None and any(len(r) < len(cols) for r in rows_trees):
                cols = cols[:max(len(r) for r in rows_trees)]
                base_types = base_types[:len(cols)]
            rows = []
            defaults_in_values: list[list[bool]] = []
            for r in rows_trees:
                if len(r) > len(cols):
                    raise SqlError("42601", "INSERT has more expressions than target columns")
                if len(r) < len(cols):
                    raise SqlError("42601", "INSERT has more target columns than expressions")
                row = []
                for value, col, t in zip(r, cols, base_types):
                    if isinstance(value, exp.Var) and value.name.upper() == "DEFAULT" or isinstance(value, exp.Column) and value.name.upper() == "DEFAULT" and not value.table and table.column("default") is None:
                        row.append(self.default_expr(table, col.slot))
                    else:
                        row.append(self.coerce(self.bind(value, Scope([])), t, "INSERT", assignment=True))
                rows.append(tuple(row))
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
            exprs = tuple(self.coerce(Col(i, c.type), t, "INSERT", assignment=True) for i, (c, t) in enumerate(zip(qcols, base_types)))
            source = P.Project(query, exprs, tuple(P.OutputColumn(c.name, t) for c, t in zip(cols, base_types)))
        targeted = {c.slot for c in cols}
        defaults = tuple((c.slot, self.default_expr(table, c.slot)) for c in table.columns
                         if c.slot not in targeted and c.default is not None)
        for c in cols:
            if c.identity == "a":
                raise SqlError("428C9", f'cannot insert a non-DEFAULT value into column "{c.name}"',
                               detail=f'Column "{c.name}" is an identity column defined as GENERATED ALWAYS.',
                               hint="Use OVERRIDING SYSTEM VALUE to override.")
        if tree.args.get("conflict") is not None:
            raise feature_not_supported("INSERT ... ON CONFLICT")
        _, entries = self.scan_node(table, alias)
        returning, ret_cols = self.returning(tree, Scope(entries))
        return P.InsertPlan(table, source, tuple(c.slot for c in cols), defaults, returning, ret_cols)

    def _target_scan(self, tree: exp.Expression, table: TableDef, extra_from: list[exp.Expression]):
        target = tree.this
        alias = target.alias_or_name
        node, entries = self.scan_node(table, alias, target.args.get("alias"), with_rowid=True)
        for item in extra_from:
            right, right_entries = self.plan_table_ref(item, None)
            width = len(node.columns)
            for e in right_entries:
                for c in e.columns:
                    c.index += width
            node = P.Join(node, right, "cross", (), (), None, node.columns + right.columns)
            entries = entries + right_entries
        scope = Scope(entries)
        where = tree.args.get("where")
        predicate = self.bind_condition(where.this, scope, "WHERE") if where is not None else None
        recheck = None
        if predicate is not None:
            conjuncts = list(predicate.args) if isinstance(predicate, And) else [predicate]
            own = [c for c in conjuncts if all(not isinstance(x, Col) or x.index < table.width for x in walk(c))
                   and not any(isinstance(x, (Subquery, OuterCol)) for x in walk(c))]
            recheck = own[0] if len(own) == 1 else (And(tuple(own)) if own else None)
            if extra_from:
                lk, rk, residual = _split_equi(predicate, table.width + 1)
                if lk and isinstance(node, P.Join):
                    node = P.Join(node.left, node.right, "inner", lk, rk, residual, node.columns)
                    predicate = None
            if predicate is not None:
                node = P.Filter(node, predicate, node.columns)
        return node, scope, recheck

    def plan_update(self, tree: exp.Update) -> P.UpdatePlan:
        table = self.target_table(tree.this)
        from_ = tree.args.get("from_") or tree.args.get("from")
        extra = [from_.this] + [j.this for j in (from_.args.get("joins") or [])] if from_ is not None else []
        if from_ is not None and from_.args.get("joins"):
            raise feature_not_supported("JOIN in UPDATE ... FROM")
        source, scope, recheck = self._target_scan(tree, table, extra)
        assignments = []
        seen = set()
        for a in tree.expressions:
            if not isinstance(a, exp.EQ) or not isinstance(a.this, exp.Column):
                raise feature_not_supported("this form of SET")
            name = a.this.name
            col = table.column(name)
            if col is None:
                raise SqlError("42703", f'column "{name}" of relation "{table.name}" does not exist')
            if col.slot in seen:
                raise SqlError("42601", f'multiple assignments to same column "{name}"')
            seen.add(col.slot)
            value = a.expression
            if isinstance(value, exp.Column) and value.name.upper() == "DEFAULT" and not value.table and table.column("default") is None:
                e = self.default_expr(table, col.slot)
            else:
                e = self.coerce(self.bind(value, scope), col.type.base, "UPDATE", assignment=True)
            if any(isinstance(x, AggCall) for x in walk(e)):
                raise SqlError("42803", "aggregate functions are not allowed in UPDATE")
            if col.identity == "a" and not (isinstance(value, exp.Column) and value.name.upper() == "DEFAULT"):
                raise SqlError("428C9", f'column "{name}" can only be updated to DEFAULT',
                               detail=f'Column "{name}" is an identity column defined as GENERATED ALWAYS.')
            assignments.append((col.slot, e))
        returning, ret_cols = self.returning(tree, scope)
        return P.UpdatePlan(table, source, tuple(assignments), recheck, returning, ret_cols)

    def plan_delete(self, tree: exp.Delete) -> P.DeletePlan:
        table = self.target_table(tree.this)
        using = tree.args.get("using") or []
        source, scope, recheck = self._target_scan(tree, table, list(using))
        returning, ret_cols = self.returning(tree, scope)
        return P.DeletePlan(table, source, recheck, returning, ret_cols)
