"""Physical operators: a plan tree -> one function that, given an ExecContext, yields row batches.

`compile_plan(node, settings)` generates and compiles the code for every node once (plans are
cached), returning a `CompiledPlan` whose `open(ctx)` starts an execution. Each operator is
a generator of batches (lists of row tuples). Operators that must consume all their input
before producing output (hash join build, aggregation, sort) yield an empty batch after each
input batch they consume, so a long query hands control back to its driver regularly, and
the driver lets other sessions run (see `Session.run`).

Scan + filter + project chains compile into a single list comprehension per batch.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from engine.errors import SqlError
from engine.exec import plan as P
from engine.exec.casts import cast_function
from engine.exec.compiler import CodeGen
from engine.exec.context import ExecContext
from engine.exec.expr import AggCall, Col, Expr, Subquery
from engine.exec.functions import numeric_div
from engine.types import (FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, NUMERIC, OutputSettings,
                          Interval)

BATCH = 1024
TICK: list = []

Batches = Iterator[list]
Opener = Callable[[ExecContext], Batches]


class CompiledPlan:
    """A plan compiled to Python; `open(ctx)` runs it."""

    __slots__ = ("node", "open")

    def __init__(self, node: P.Node, opener: Opener) -> None:
        self.node = node
        self.open = opener


def compile_plan(node: P.Node, settings: OutputSettings) -> CompiledPlan:
    return CompiledPlan(node, _Builder(settings).build(node))


def run_to_list(plan: CompiledPlan, ctx: ExecContext) -> list[tuple]:
    out: list[tuple] = []
    for batch in plan.open(ctx):
        out.extend(batch)
    return out


class _Builder:
    def __init__(self, settings: OutputSettings) -> None:
        self.settings = settings

    def gen(self) -> CodeGen:
        g = CodeGen()
        settings = self.settings
        g.cast_factory = lambda s, d: cast_function(s, d, settings)
        g.subquery_runner = self.subquery_runner
        return g

    def build(self, node: P.Node) -> Opener:
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

    # ---------------------------------------------------------------- leaves

    def _Result(self, node: P.Result) -> Opener:
        def open_result(ctx: ExecContext) -> Batches:
            yield [()]
        return open_result

    def _Values(self, node: P.Values) -> Opener:
        g = self.gen()
        body = "[" + ", ".join("(" + "".join(g.expr(e) + ", " for e in row) + ")" for row in node.rows) + "]"
        make = g.function("", body)

        def open_values(ctx: ExecContext) -> Batches:
            yield make(ctx.params, ctx)()
        return open_values

    def _scan_rows(self, node: P.SeqScan | P.IndexLookup) -> Callable[[ExecContext], list]:
        table, read_point = node.table, node.read_point
        if isinstance(node, P.IndexLookup):
            g = self.gen()
            key_fn = g.function("", "(" + "".join(g.expr(k) + ", " for k in node.key) + ")")
            index_id = node.index_id
            with_rowid = node.with_rowid

            def lookup(ctx: ExecContext) -> list:
                key = key_fn(ctx.params, ctx)()
                if None in key:
                    return []
                found = ctx.reader.lookup(table, index_id, key, read_point, ctx)
                if with_rowid:
                    return [row + (rid,) for rid, row in found]
                return [row for _, row in found]
            return lookup
        if node.with_rowid:
            return lambda ctx: [row + (rid,) for rid, row in ctx.reader.items(table, read_point, ctx)]
        return lambda ctx: ctx.reader.rows(table, read_point, ctx)

    def _scan(self, node: P.SeqScan | P.IndexLookup, project: tuple[Expr, ...] | None = None) -> Opener:
        fetch = self._scan_rows(node)
        transform = self._batch_transform(node.filter, project)

        def open_scan(ctx: ExecContext) -> Batches:
            rows = fetch(ctx)
            step = transform(ctx.params, ctx) if transform is not None else None
            for i in range(0, len(rows), BATCH):
                chunk = rows[i:i + BATCH]
                yield step(chunk) if step is not None else chunk
        return open_scan

    _SeqScan = _scan
    _IndexLookup = _scan

    def _VirtualScan(self, node: P.VirtualScan) -> Opener:
        transform = self._batch_transform(node.filter, None)
        producer = node.producer

        def open_virtual(ctx: ExecContext) -> Batches:
            rows = producer(ctx)
            step = transform(ctx.params, ctx) if transform is not None else None
            for i in range(0, len(rows), BATCH):
                chunk = rows[i:i + BATCH]
                yield step(chunk) if step is not None else chunk
        return open_virtual

    def _batch_transform(self, predicate: Expr | None, project: tuple[Expr, ...] | None):
        """A compiled `batch -> batch` doing filter and/or projection in one comprehension."""
        if predicate is None and project is None:
            return None
        g = self.gen()
        element = "r" if project is None else "(" + "".join(g.expr(e) + ", " for e in project) + ")"
        condition = f" if {g.predicate(predicate)}" if predicate is not None else ""
        return g.function("batch", f"[{element} for r in batch{condition}]")

    # ---------------------------------------------------------------- row-by-row

    def _Filter(self, node: P.Filter) -> Opener:
        if isinstance(node.input, (P.SeqScan, P.IndexLookup)) and node.input.filter is None:
            return self._scan(_with_filter(node.input, node.predicate))
        child = self.build(node.input)
        transform = self._batch_transform(node.predicate, None)
        return _pipe(child, transform)

    def _Project(self, node: P.Project) -> Opener:
        inner = node.input
        if isinstance(inner, P.Filter) and isinstance(inner.input, (P.SeqScan, P.IndexLookup)) and inner.input.filter is None:
            return self._scan(_with_filter(inner.input, inner.predicate), node.exprs)
        if isinstance(inner, (P.SeqScan, P.IndexLookup)):
            return self._scan(inner, node.exprs)
        child = self.build(inner)
        transform = self._batch_transform(None, node.exprs)
        return _pipe(child, transform)

    def _Limit(self, node: P.Limit) -> Opener:
        child = self.build(node.input)
        g = self.gen()
        count_fn = g.function("", g.expr(node.count)) if node.count is not None else None
        offset_fn = g.function("", g.expr(node.offset)) if node.offset is not None else None

        def open_limit(ctx: ExecContext) -> Batches:
            count = count_fn(ctx.params, ctx)() if count_fn else None
            offset = offset_fn(ctx.params, ctx)() if offset_fn else None
            offset = offset or 0
            if count is not None and count < 0:
                raise SqlError("2201W", "LIMIT must not be negative")
            if offset < 0:
                raise SqlError("2201X", "OFFSET must not be negative")
            if count == 0:
                return
            remaining = count
            for batch in child(ctx):
                if not batch:
                    yield TICK
                    continue
                if offset:
                    if len(batch) <= offset:
                        offset -= len(batch)
                        continue
                    batch = batch[offset:]
                    offset = 0
                if remaining is not None:
                    if len(batch) >= remaining:
                        yield batch[:remaining]
                        return
                    remaining -= len(batch)
                yield batch
        return open_limit

    def _Distinct(self, node: P.Distinct) -> Opener:
        child = self.build(node.input)

        def open_distinct(ctx: ExecContext) -> Batches:
            seen: dict = {}
            for batch in child(ctx):
                for r in batch:
                    seen.setdefault(r, None)
                yield TICK
            rows = list(seen)
            for i in range(0, len(rows), BATCH):
                yield rows[i:i + BATCH]
        return open_distinct

    def _Sort(self, node: P.Sort) -> Opener:
        child = self.build(node.input)
        g = self.gen()
        key_fns = [(g.function("r", g.expr(k.expr)), k) for k in node.keys]

        def open_sort(ctx: ExecContext) -> Batches:
            rows: list = []
            for batch in child(ctx):
                rows.extend(batch)
                yield TICK
            # stable sort on each key, least significant first; NULLs are set apart
            for make, key in reversed(key_fns):
                rows = _sorted_on(rows, make(ctx.params, ctx), key.descending, key.nulls_first)
            for i in range(0, len(rows), BATCH):
                yield rows[i:i + BATCH]
        return open_sort

    # ---------------------------------------------------------------- joins

    def _Join(self, node: P.Join) -> Opener:
        left = self.build(node.left)
        right = self.build(node.right)
        g = self.gen()
        residual = g.function("r", g.predicate(node.condition)) if node.condition is not None else None
        right_width = len(node.right.columns)
        left_width = len(node.left.columns)
        kind = node.kind
        if node.left_keys:
            lkey = g.function("r", "(" + "".join(g.expr(k) + ", " for k in node.left_keys) + ")")
            rkey = g.function("r", "(" + "".join(g.expr(k) + ", " for k in node.right_keys) + ")")
            return _hash_join(left, right, lkey, rkey, residual, kind, left_width, right_width)
        return _nested_loop(left, right, residual, kind, left_width, right_width)

    # ---------------------------------------------------------------- aggregation

    def _Aggregate(self, node: P.Aggregate) -> Opener:
        child = self.build(node.input)
        g = self.gen()
        n_groups = len(node.groups)
        specs = [_agg_spec(a, g) for a in node.aggs]
        key = "(" + "".join(g.expr(e) + ", " for e in node.groups) + ")"
        init = "[" + ", ".join(s.init for s in specs) + "]"
        steps = []
        for i, s in enumerate(specs):
            step = s.step.replace("S", f"s[{i}]")
            if s.filter is not None:
                step = f"if {g.predicate(s.filter)}:\n                    " + step.replace("\n", "\n    ")
            steps.append(step)
        body = "\n".join("                " + st.replace("\n", "\n                ") for st in steps) or "                pass"
        src = (
            "def _make(p, ctx):\n"
            "    def step(batch, groups):\n"
            "        for r in batch:\n"
            f"            k = {key}\n"
            "            s = groups.get(k)\n"
            "            if s is None:\n"
            f"                s = groups[k] = {init}\n"
            "            if True:\n"
            f"{body}\n"
            "    return step\n"
        )
        make_step = g.build(src)
        finals = [s.final for s in specs]

        def open_aggregate(ctx: ExecContext) -> Batches:
            step = make_step(ctx.params, ctx)
            groups: dict = {}
            for batch in child(ctx):
                step(batch, groups)
                yield TICK
            if not groups and n_groups == 0:
                groups[()] = [s.empty() for s in specs]
            out = [k + tuple(f(v) for f, v in zip(finals, state)) for k, state in groups.items()]
            for i in range(0, len(out), BATCH):
                yield out[i:i + BATCH]
        return open_aggregate

    # ---------------------------------------------------------------- set operations

    def _SetOp(self, node: P.SetOp) -> Opener:
        left = self.build(node.left)
        right = self.build(node.right)
        kind, keep_all = node.kind, node.all

        def open_setop(ctx: ExecContext) -> Batches:
            if kind == "union" and keep_all:
                yield from left(ctx)
                yield from right(ctx)
                return
            lrows: list = []
            for b in left(ctx):
                lrows.extend(b)
                yield TICK
            rrows: list = []
            for b in right(ctx):
                rrows.extend(b)
                yield TICK
            if kind == "union":
                out = list(dict.fromkeys(lrows + rrows))
            elif keep_all:
                counts: dict = {}
                for r in rrows:
                    counts[r] = counts.get(r, 0) + 1
                out = []
                for r in lrows:
                    c = counts.get(r, 0)
                    if kind == "intersect":
                        if c:
                            out.append(r)
                            counts[r] = c - 1
                    else:
                        if c:
                            counts[r] = c - 1
                        else:
                            out.append(r)
            else:
                rset = set(rrows)
                out = [r for r in dict.fromkeys(lrows) if (r in rset) == (kind == "intersect")]
            for i in range(0, len(out), BATCH):
                yield out[i:i + BATCH]
        return open_setop

    # ---------------------------------------------------------------- subqueries

    def subquery_runner(self, e: Subquery) -> Callable:
        opener = self.build(e.plan)
        key = id(e)
        kind = e.kind
        correlated = e.correlated
        negated = e.negated

        def evaluate(ctx: ExecContext) -> Any:
            if kind == "exists":
                for batch in opener(ctx):
                    if batch:
                        return True
                return False
            rows: list = []
            for batch in opener(ctx):
                rows.extend(batch)
                if kind == "scalar" and len(rows) > 1:
                    raise SqlError("21000", "more than one row returned by a subquery used as an expression")
            if kind == "scalar":
                return rows[0][0] if rows else None
            values = [r[0] for r in rows]
            return (set(v for v in values if v is not None), any(v is None for v in values))

        def run(ctx: ExecContext, p: tuple, row: tuple, arg: Any) -> Any:
            if correlated:
                ctx.outer.append(row)
                try:
                    result = evaluate(ctx)
                finally:
                    ctx.outer.pop()
            else:
                result = ctx.cache.get(key, _MISSING)
                if result is _MISSING:
                    result = ctx.cache[key] = evaluate(ctx)
            if kind != "in":
                return result
            if arg is None:
                return None if (result[0] or result[1]) else negated
            values, has_null = result
            if arg in values:
                return not negated
            if has_null:
                return None
            return negated
        return run


_MISSING = object()


def _with_filter(scan: P.SeqScan | P.IndexLookup, predicate: Expr):
    import dataclasses
    return dataclasses.replace(scan, filter=predicate)


def _pipe(child: Opener, transform) -> Opener:
    if transform is None:
        return child

    def open_pipe(ctx: ExecContext) -> Batches:
        step = transform(ctx.params, ctx)
        for batch in child(ctx):
            yield step(batch) if batch else batch
    return open_pipe


def _sorted_on(rows: list, key: Callable, descending: bool, nulls_first: bool) -> list:
    """rows stably sorted by key(row), with rows whose key is NULL first or last."""
    keys = [key(r) for r in rows]
    if None not in keys:
        order = sorted(range(len(rows)), key=keys.__getitem__, reverse=descending)
        return [rows[i] for i in order]
    nulls = [r for r, k in zip(rows, keys) if k is None]
    present = [i for i, k in enumerate(keys) if k is not None]
    present.sort(key=keys.__getitem__, reverse=descending)
    ordered = [rows[i] for i in present]
    return nulls + ordered if nulls_first else ordered + nulls


def _hash_join(left: Opener, right: Opener, lkey, rkey, residual, kind: str, lw: int, rw: int) -> Opener:
    null_right = (None,) * rw
    null_left = (None,) * lw

    def open_hash_join(ctx: ExecContext) -> Batches:
        p = ctx.params
        rk = rkey(p, ctx)
        lk = lkey(p, ctx)
        check = residual(p, ctx) if residual is not None else None
        table: dict = {}
        right_rows: list = []
        for batch in right(ctx):
            for r in batch:
                k = rk(r)
                if None in k:
                    if kind in ("right", "full"):
                        right_rows.append(r)
                    continue
                bucket = table.get(k)
                if bucket is None:
                    table[k] = [r]
                else:
                    bucket.append(r)
                if kind in ("right", "full"):
                    right_rows.append(r)
            yield TICK
        matched: set[int] = set()
        track = kind in ("right", "full")
        for batch in left(ctx):
            out = []
            for l in batch:
                k = lk(l)
                bucket = table.get(k) if None not in k else None
                hit = False
                if bucket:
                    for r in bucket:
                        row = l + r
                        if check is None or check(row):
                            out.append(row)
                            hit = True
                            if track:
                                matched.add(id(r))
                if not hit and kind in ("left", "full"):
                    out.append(l + null_right)
            yield out
        if track:
            yield [null_left + r for r in right_rows if id(r) not in matched]
    return open_hash_join


def _nested_loop(left: Opener, right: Opener, residual, kind: str, lw: int, rw: int) -> Opener:
    null_right = (None,) * rw
    null_left = (None,) * lw

    def open_nested_loop(ctx: ExecContext) -> Batches:
        check = residual(ctx.params, ctx) if residual is not None else None
        right_rows: list = []
        for batch in right(ctx):
            right_rows.extend(batch)
            yield TICK
        matched: set[int] = set()
        for batch in left(ctx):
            out = []
            for l in batch:
                hit = False
                for i, r in enumerate(right_rows):
                    row = l + r
                    if check is None or check(row):
                        out.append(row)
                        hit = True
                        if kind in ("right", "full"):
                            matched.add(i)
                if not hit and kind in ("left", "full"):
                    out.append(l + null_right)
                if len(out) >= BATCH:
                    yield out
                    out = []
            yield out
        if kind in ("right", "full"):
            yield [null_left + r for i, r in enumerate(right_rows) if i not in matched]
    return open_nested_loop


# -------------------------------------------------------------------- aggregates


class _AggSpec:
    __slots__ = ("init", "step", "final", "empty", "filter")

    def __init__(self, init: str, step: str, final: Callable, empty: Callable, filter: Expr | None) -> None:
        self.init = init          # Python expression: the initial state
        self.step = step          # Python statement(s) updating state "S" from row "r"
        self.final = final        # state -> result
        self.empty = empty        # () -> state of a group with no rows
        self.filter = filter


def _identity(v):
    return v


def _agg_spec(a: AggCall, g: CodeGen) -> _AggSpec:
    name = a.name
    if a.distinct:
        arg = "(" + "".join(g.expr(x) + ", " for x in a.args) + ")"
        inner = _agg_spec(AggCall(a.name, a.args, a.type), g)
        # collect distinct non-null argument tuples, then aggregate them at the end
        step = f"_v = {arg}\nif None not in _v:\n    S.add(_v)"
        fold = _distinct_folder(a)
        return _AggSpec("set()", step, fold, set, a.filter)
    if name == "count":
        if a.star:
            return _AggSpec("0", "S += 1", _identity, lambda: 0, a.filter)
        return _AggSpec("0", f"if {g.expr(a.args[0])} is not None:\n    S += 1", _identity, lambda: 0, a.filter)
    v = g.expr(a.args[0])
    if name == "sum":
        return _AggSpec("None", f"_v = {v}\nif _v is not None:\n    S = _v if S is None else S + _v",
                        _sum_final(a), lambda: None, a.filter)
    if name in ("min", "max"):
        op = "<" if name == "min" else ">"
        return _AggSpec("None", f"_v = {v}\nif _v is not None and (S is None or _v {op} S):\n    S = _v",
                        _identity, lambda: None, a.filter)
    if name == "avg":
        return _AggSpec("[0, None]", f"_v = {v}\nif _v is not None:\n    S[0] += 1\n    S[1] = _v if S[1] is None else S[1] + _v",
                        _avg_final(a), lambda: [0, None], a.filter)
    if name in ("bool_and", "bool_or"):
        combine = "and" if name == "bool_and" else "or"
        return _AggSpec("None", f"_v = {v}\nif _v is not None:\n    S = _v if S is None else (S {combine} _v)",
                        _identity, lambda: None, a.filter)
    raise SqlError("0A000", f"aggregate {name} is not supported")


def _sum_final(a: AggCall) -> Callable:
    if a.type.oid == NUMERIC.oid:
        from decimal import Decimal
        return lambda s: None if s is None else Decimal(s)
    if a.type.oid == INT8.oid:
        def check_int8(s):
            if s is not None and not -(1 << 63) <= s < (1 << 63):
                raise SqlError("22003", "bigint out of range")
            return s
        return check_int8
    return _identity


def _avg_final(a: AggCall) -> Callable:
    if a.type.oid == NUMERIC.oid:
        from decimal import Decimal

        def avg_numeric(s):
            if not s[0]:
                return None
            return numeric_div(Decimal(s[1]), Decimal(s[0]))
        return avg_numeric
    if a.type.oid == INTERVAL.oid:
        from engine.exec.functions import interval_div
        return lambda s: interval_div(s[1], s[0]) if s[0] else None
    return lambda s: (s[1] / s[0]) if s[0] else None


def _distinct_folder(a: AggCall) -> Callable:
    name = a.name
    plain = AggCall(a.name, a.args, a.type)

    def fold(values: set) -> Any:
        vals = [v[0] for v in values]
        if name == "count":
            return len(values)
        if not vals:
            return None
        if name == "sum":
            return _sum_final(plain)(sum(vals[1:], vals[0]))
        if name == "avg":
            total = sum(vals[1:], vals[0])
            return _avg_final(plain)([len(vals), total])
        if name == "min":
            return min(vals)
        if name == "max":
            return max(vals)
        if name == "bool_and":
            return all(vals)
        if name == "bool_or":
            return any(vals)
        raise SqlError("0A000", f"aggregate {name}(DISTINCT ...) is not supported")
    return fold
