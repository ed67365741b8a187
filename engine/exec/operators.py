"""Physical operators: a plan tree -> one function that, given an ExecContext, yields row batches.

`compile_plan(node, settings)` generates and compiles the code for every node once (plans are
cached), returning a `CompiledPlan` whose `open(ctx)` starts an execution. Each operator is
a generator of batches (lists of row tuples). Operators that must consume all their input
before producing output (hash join build, aggregation, sort, window) yield an empty batch
(a tick) after each input batch they consume, so a long query hands control back to its
driver regularly, and the driver lets other sessions run (see server.connection).

Generated code does the per-row work: scan + filter + project chains become one list
comprehension per batch; an aggregation over a scan is one loop with the scan's filter and
every aggregate's step inlined (states in local variables when there is no GROUP BY);
hash-join probes are comprehensions. Python-level loops remain only where a row's work is
not an expression (window frames, set-returning functions, set operations).

With `stats` (EXPLAIN ANALYZE), every operator counts the rows it produces and the time
spent in it (inputs included, as PostgreSQL reports it).
"""
from __future__ import annotations

import heapq
import time
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from engine.errors import SqlError
from engine.exec import aggregates as A
from engine.exec import plan as P
from engine.exec import windows as W
from engine.exec.casts import cast_function
from engine.exec.compiler import CodeGen, quantified
from engine.exec.context import ExecContext
from engine.exec.expr import AggCall, Col, Expr, Subquery
from engine.exec.memory import row_bytes
from engine.exec.srf import SET_RETURNING, zip_rows
from engine.txn.index import Search
from engine.types import FLOAT4, FLOAT8, NUMERIC, Interval, OutputSettings

BATCH = 1024
VALUES_CHUNK = 256   # VALUES rows compiled into one function
TICK: list = []
_DICT_ENTRY = 50       # bytes of one hash-table slot (hash, key and value pointers, spare room)

Batches = Iterator[list]
Opener = Callable[[ExecContext], Batches]


class CompiledPlan:
    """A plan compiled to Python; `open(ctx)` runs it."""

    __slots__ = ("node", "open")

    def __init__(self, node: P.Node, opener: Opener) -> None:
        self.node = node
        self.open = opener


@dataclass(slots=True)
class NodeStats:
    """What one operator did in an EXPLAIN ANALYZE run."""
    rows: int = 0
    loops: int = 0
    first: float | None = None       # seconds until its first row (summed over loops)
    total: float = 0.0               # seconds spent in it, its inputs included
    read: int = 0                    # rows a filtering scan read (EXPLAIN's "Rows Removed by Filter")


def compile_plan(node: P.Node, settings: OutputSettings, stats: dict[int, NodeStats] | None = None) -> CompiledPlan:
    return CompiledPlan(node, _Builder(settings, stats).build(node))


def run_to_list(plan: CompiledPlan, ctx: ExecContext) -> list[tuple]:
    out: list[tuple] = []
    for batch in plan.open(ctx):
        out.extend(batch)
    return out


def _chunks(rows: list) -> Batches:
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def _indent(code: str, depth: int) -> str:
    pad = "    " * depth
    return "\n".join(pad + line if line else line for line in code.split("\n"))


class _Builder:
    def __init__(self, settings: OutputSettings, stats: dict[int, NodeStats] | None = None) -> None:
        self.settings = settings
        self.stats = stats

    def gen(self) -> CodeGen:
        g = CodeGen(self.settings)
        settings = self.settings
        g.cast_factory = lambda s, d: cast_function(s, d, settings)
        g.subquery_runner = self.subquery_runner
        g.env["TICK"] = TICK
        g.env["SqlError"] = SqlError
        return g

    def build(self, node: P.Node) -> Opener:
        opener = getattr(self, "_" + type(node).__name__)(node)
        if self.stats is not None:
            opener = _instrumented(opener, self.stats.setdefault(id(node), NodeStats()))
        return opener

    def _note_fused(self, node: P.Node, owner: P.Node | None = None) -> NodeStats | None:
        """EXPLAIN ANALYZE: a node compiled into another's code counts into `owner`'s stats
        (or stats of its own, which the caller keeps)."""
        if self.stats is None:
            return None
        shared = self.stats.setdefault(id(owner), NodeStats()) if owner is not None else NodeStats()
        self.stats[id(node)] = shared
        return shared

    # ---------------------------------------------------------------- leaves

    def _Result(self, node: P.Result) -> Opener:
        def open_result(ctx: ExecContext) -> Batches:
            yield [()]
        return open_result

    def _Values(self, node: P.Values) -> Opener:
        """One compiled function per VALUES_CHUNK rows: Python's compiler holds the GIL for a
        whole function, so a huge VALUES list planned in a worker thread would otherwise stall
        the event loop while it compiles (and compiling one giant function is slower)."""
        g = self.gen()
        rows = node.rows
        makes = [g.function("r=()", "[" + ", ".join("(" + "".join(g.expr(e) + ", " for e in row) + ")"
                                                    for row in rows[i:i + VALUES_CHUNK]) + "]")
                 for i in range(0, len(rows), VALUES_CHUNK)]
        if len(makes) == 1:
            make = makes[0]

            def open_values(ctx: ExecContext) -> Batches:
                yield make(ctx.params, ctx)()
            return open_values

        def open_chunked_values(ctx: ExecContext) -> Batches:
            yield [row for make in makes for row in make(ctx.params, ctx)()]
        return open_chunked_values

    def _fetch(self, node: P.SeqScan | P.IndexLookup | P.VirtualScan) -> Callable[[ExecContext], list]:
        """ctx -> the node's rows, before its filter."""
        if isinstance(node, P.VirtualScan):
            return node.producer
        table, read_point, with_rowid = node.table, node.read_point, node.with_rowid
        if isinstance(node, P.IndexLookup):
            g = self.gen()
            keys_fn = g.function("r=()", "(" + "".join("(" + "".join(g.expr(k) + ", " for k in key) + "), "
                                                   for key in node.keys) + ")")
            index_id = node.index_id
            array = node.array

            if not node.exact_keys:
                return self._index_search(node)

            def lookup(ctx: ExecContext) -> list:
                out: list = []
                seen: set = set()
                reader = ctx.reader
                keys = keys_fn(ctx.params, ctx)()
                if array:                         # key = ANY (array): the array's elements
                    keys = [(v,) for v in (keys[0][0] or ())]
                for key in keys:
                    if None in key or key in seen:
                        continue
                    seen.add(key)
                    found = reader.lookup(table, index_id, key, read_point, ctx)
                    out.extend([row + (rid,) for rid, row in found] if with_rowid else [row for _, row in found])
                return out
            return lookup
        if with_rowid:
            return lambda ctx: [row + (rid,) for rid, row in ctx.reader.items(table, read_point, ctx)]
        return lambda ctx: ctx.reader.rows(table, read_point, ctx)

    def _index_search(self, node: P.IndexLookup) -> Callable[[ExecContext], list]:
        """ctx -> the rows an index search finds (before the node's filter, in no order): what
        the index vouches for, and the candidates it does not that meet `index_cond`."""
        table, read_point, with_rowid, index_id = node.table, node.read_point, node.with_rowid, node.index_id
        searches = self._searches(node)
        g = self.gen()
        check = g.function("r", g.predicate(node.index_cond)) if node.index_cond is not None else None

        def search(ctx: ExecContext) -> list:
            out: list = []
            unsure: dict = {}
            reader = ctx.reader
            for each in searches(ctx):
                exact, candidates = reader.scan(table, index_id, each, read_point, ctx)
                out.extend([row + (rid,) for rid, row in exact] if with_rowid else [row for _, row in exact])
                unsure.update(candidates)
            if unsure:
                accept = check(ctx.params, ctx) if check is not None else None
                out.extend(row + (rid,) if with_rowid else row for rid, row in unsure.items()
                           if accept is None or accept(row))
            return out
        return search

    def _searches(self, node: P.IndexLookup) -> Callable[[ExecContext], list[Search]]:
        """ctx -> the index searches a node that is not plain equality makes: one per distinct
        key prefix; none when a value is NULL (nothing can match)."""
        g = self.gen()
        values = g.function("r=()", "((" + "".join("(" + "".join(g.expr(k) + ", " for k in key) + "), "
                                                  for key in node.keys) + "), "
                            + (g.expr(node.lower) if node.lower is not None else "None") + ", "
                            + (g.expr(node.upper) if node.upper is not None else "None") + ")")
        has_lower, has_upper = node.lower is not None, node.upper is not None
        lower_inclusive, upper_inclusive = node.lower_inclusive, node.upper_inclusive
        reverse, ordered = node.order < 0, node.order != 0

        def searches(ctx: ExecContext) -> list[Search]:
            keys, lower, upper = values(ctx.params, ctx)()
            if (has_lower and lower is None) or (has_upper and upper is None):
                return []
            prefixes = dict.fromkeys(k for k in keys if None not in k) if keys else ((),)
            return [Search(prefix, lower, upper, has_lower, has_upper, lower_inclusive, upper_inclusive, reverse,
                           ordered) for prefix in prefixes]
        return searches

    def _ordered_scan(self, node: P.IndexLookup, project: tuple[Expr, ...] | None) -> Callable[[ExecContext, int | None], Batches]:
        """An index search returning rows in key order, as (ctx, keep) -> batches: with `keep`
        (a LIMIT's count + offset) it stops after that many rows pass its filter. The index's
        rows stream in order; the candidates it cannot vouch for are checked, sorted with SQL's
        NULL placement and merged in. All of it runs before the first batch is handed out, so
        no commit can change the index in the middle."""
        table, read_point, index_id = node.table, node.read_point, node.index_id
        searches = self._searches(node)
        g = self.gen()
        check = g.function("r", g.predicate(node.index_cond)) if node.index_cond is not None else None
        residual = self._batch_transform(node.filter, None)
        shape = self._batch_transform(None, project) if project is not None else None
        reverse = node.order < 0
        ordering = node.slots[len(node.keys[0]) if node.keys else 0:]

        def merge_key(row: tuple) -> tuple:
            return tuple([_index_order_key(row[s]) for s in ordering])

        def open_ordered(ctx: ExecContext, keep: int | None) -> Batches:
            found = searches(ctx)
            if not found:
                return
            exact, candidates = ctx.reader.scan(table, index_id, found[0], read_point, ctx)
            keep_row = residual(ctx.params, ctx) if residual is not None else None
            rows = (row for _, row in exact)
            if candidates:
                accept = check(ctx.params, ctx) if check is not None else None
                extra = [row for _, row in candidates if accept is None or accept(row)]
                if keep_row is not None:
                    extra = keep_row(extra)
                if extra:
                    extra.sort(key=merge_key, reverse=reverse)
                    if keep_row is not None:
                        rows = _filtered(rows, keep_row)
                    rows = heapq.merge(rows, extra, key=merge_key, reverse=reverse)
                    keep_row = None
            out: list = []
            want = keep if keep is not None else -1
            step = max(want, 16)
            while want < 0 or len(out) < want:
                chunk = list(islice(rows, step))
                if not chunk:
                    break
                out.extend(keep_row(chunk) if keep_row is not None else chunk)
                step = min(step * 2, BATCH)
            if want >= 0:
                del out[want:]
            step_fn = shape(ctx.params, ctx) if shape is not None else None
            for chunk in _chunks(out):
                yield step_fn(chunk) if step_fn is not None else chunk
        return open_ordered

    def _scan(self, node: P.SeqScan | P.IndexLookup | P.VirtualScan, project: tuple[Expr, ...] | None = None) -> Opener:
        if isinstance(node, P.IndexLookup) and node.order:
            ordered = self._ordered_scan(node, project)
            return lambda ctx: ordered(ctx, None)
        fetch = self._fetch(node)
        transform = self._batch_transform(node.filter, project)
        if self.stats is not None and node.filter is not None:
            fetch = _counting(fetch, self.stats.setdefault(id(node), NodeStats()))

        def open_scan(ctx: ExecContext) -> Batches:
            rows = fetch(ctx)
            step = transform(ctx.params, ctx) if transform is not None else None
            for i in range(0, len(rows), BATCH):
                chunk = rows[i:i + BATCH]
                yield step(chunk) if step is not None else chunk
        return open_scan

    _SeqScan = _scan
    _IndexLookup = _scan
    _VirtualScan = _scan

    def _FunctionScan(self, node: P.FunctionScan) -> Opener:
        g = self.gen()
        args_fn = g.function("r=()", "(" + "".join("(" + "".join(g.expr(a) + ", " for a in f.args) + "), "
                                               for f in node.functions) + ")")
        producers = [SET_RETURNING[f.name].rows for f in node.functions]
        strict = [SET_RETURNING[f.name].strict for f in node.functions]
        widths = [len(SET_RETURNING[f.name].columns([a.type for a in f.args])) for f in node.functions]
        ordinality = node.ordinality
        transform = self._batch_transform(node.filter, None)

        def open_function(ctx: ExecContext) -> Batches:
            sources = []
            for produce, is_strict, args in zip(producers, strict, args_fn(ctx.params, ctx)()):
                sources.append(() if is_strict and None in args else produce(ctx, *args))
            rows = iter(zip_rows(sources, widths))
            if ordinality:
                rows = (r + (i,) for i, r in enumerate(rows, 1))
            step = transform(ctx.params, ctx) if transform is not None else None
            while chunk := list(islice(rows, BATCH)):     # lazily: generate_series(1, 10^9) streams
                yield step(chunk) if step is not None else chunk
        return open_function

    def _WorkTableScan(self, node: P.WorkTableScan) -> Opener:
        key = node.key

        def open_worktable(ctx: ExecContext) -> Batches:
            yield from _chunks(ctx.worktables[key])
        return open_worktable

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
        child = self.build(node.input)
        return _pipe(child, self._batch_transform(node.predicate, None))

    def _Project(self, node: P.Project) -> Opener:
        inner = node.input
        if isinstance(inner, (P.SeqScan, P.IndexLookup, P.VirtualScan)):
            self._note_fused(inner, node)
            return self._scan(inner, node.exprs)
        child = self.build(inner)
        return _pipe(child, self._batch_transform(None, node.exprs))

    def _ProjectSet(self, node: P.ProjectSet) -> Opener:
        child = self.build(node.input)
        g = self.gen()
        args_fn = g.function("r", "(" + "".join("(" + "".join(g.expr(a) + ", " for a in f.args) + "), "
                                                for f in node.functions) + ")")
        producers = [SET_RETURNING[f.name].rows for f in node.functions]
        # a function returning one column gives its value, one returning several a record
        single = [len(SET_RETURNING[f.name].columns([a.type for a in f.args])) == 1 for f in node.functions]
        strict = [SET_RETURNING[f.name].strict for f in node.functions]

        def open_project_set(ctx: ExecContext) -> Batches:
            arguments = args_fn(ctx.params, ctx)
            for batch in child(ctx):
                out = []
                for r in batch:
                    lists = [[] if is_strict and None in args else [v[0] if one else v for v in produce(ctx, *args)]
                             for produce, one, is_strict, args in zip(producers, single, strict, arguments(r))]
                    longest = max(len(v) for v in lists)
                    for j in range(longest):
                        out.append(r + tuple(v[j] if j < len(v) else None for v in lists))
                yield out
        return open_project_set

    def _Limit(self, node: P.Limit) -> Opener:
        source = node.input
        g = self.gen()
        count_fn = g.function("r=()", g.expr(node.count)) if node.count is not None else None
        offset_fn = g.function("r=()", g.expr(node.offset)) if node.offset is not None else None
        ties_fn = g.function("r", "(" + "".join(g.expr(e) + ", " for e in node.ties) + ")") if node.ties else None
        top_n = not node.ties and self._keeps(source)
        child = self._limited(source) if top_n else self.build(source)
        if top_n and self.stats is not None:
            sort, sort_stats = child, self.stats.setdefault(id(source), NodeStats())
            child = lambda ctx, keep: _instrumented(lambda c: sort(c, keep), sort_stats)(ctx)  # noqa: E731

        def open_limit(ctx: ExecContext) -> Batches:
            count = count_fn(ctx.params, ctx)() if count_fn else None
            offset = offset_fn(ctx.params, ctx)() if offset_fn else None
            offset = offset or 0
            if count is not None and count < 0:
                raise SqlError("2201W", "LIMIT must not be negative")
            if offset < 0:
                raise SqlError("2201X", "OFFSET must not be negative")
            if count == 0 and not ties_fn:
                return
            remaining = count
            tie = ties_fn(ctx.params, ctx) if ties_fn else None
            last_key = None
            batches = child(ctx, None if count is None else count + offset) if top_n else child(ctx)
            for batch in batches:
                if not batch:
                    yield TICK
                    continue
                if offset:
                    if len(batch) <= offset:
                        offset -= len(batch)
                        continue
                    batch = batch[offset:]
                    offset = 0
                if remaining is None:
                    yield batch
                    continue
                if tie is not None and remaining == 0:
                    kept = []
                    for r in batch:
                        if tie(r) != last_key:
                            if kept:
                                yield kept
                            return
                        kept.append(r)
                    yield kept
                    continue
                if len(batch) >= remaining:
                    head = batch[:remaining]
                    if tie is None or not head:
                        yield head
                        return
                    last_key = tie(head[-1])
                    rest = batch[remaining:]
                    remaining = 0
                    extra = []
                    for r in rest:
                        if tie(r) != last_key:
                            yield head + extra
                            return
                        extra.append(r)
                    yield head + extra
                    continue
                remaining -= len(batch)
                yield batch
        return open_limit

    @staticmethod
    def _keeps(source: P.Node) -> bool:
        """Whether `source` can stop after the rows a LIMIT keeps (`_limited`)."""
        if isinstance(source, P.Project):
            source = source.input
            return isinstance(source, P.IndexLookup) and source.order != 0
        return isinstance(source, P.Sort) or (isinstance(source, P.IndexLookup) and source.order != 0)

    def _limited(self, source: P.Node) -> Callable[[ExecContext, int | None], Batches]:
        """(ctx, keep) -> batches of a source that only needs to produce `keep` rows: a top-N
        sort, or an ordered index scan (under its projection) that stops early."""
        if isinstance(source, P.Sort):
            return self._sort(source, limited=True)
        if isinstance(source, P.Project):
            self._note_fused(source.input)
            return self._ordered_scan(source.input, source.exprs)
        return self._ordered_scan(source, None)

    def _LockRows(self, node: P.LockRows) -> Opener:
        raise SqlError("0A000", f"{node.targets[0].clause if node.targets else 'FOR UPDATE'} in a subquery is not supported")

    def _Distinct(self, node: P.Distinct) -> Opener:
        child = self.build(node.input)
        if node.on:
            g = self.gen()
            key_fn = g.function("r", "(" + "".join(g.expr(e) + ", " for e in node.on) + ")")

            def open_distinct_on(ctx: ExecContext) -> Batches:
                key = key_fn(ctx.params, ctx)
                seen: set = set()
                charge = ctx.memory.charge
                for batch in child(ctx):
                    out = []
                    for r in batch:
                        k = key(r)
                        if k not in seen:
                            seen.add(k)
                            out.append(r)
                    charge(out)
                    yield out
            return open_distinct_on

        def open_distinct(ctx: ExecContext) -> Batches:
            seen: dict = {}
            charge = ctx.memory.charge
            for batch in child(ctx):
                charge(batch)
                seen.update(dict.fromkeys(batch))
                yield TICK
            yield from _chunks(list(seen))
        return open_distinct

    def _Sort(self, node: P.Sort) -> Opener:
        run = self._sort(node, limited=False)
        return lambda ctx: run(ctx, None)

    def _sort(self, node: P.Sort, limited: bool) -> Callable[[ExecContext, int | None], Batches]:
        """The sort, as (ctx, keep) -> batches; `keep` (a LIMIT's count + offset) allows a top-N sort."""
        source = node.input
        if isinstance(source, (P.SeqScan, P.VirtualScan)) and source.filter is None:
            fetch, stats = self._fetch(source), self._note_fused(source)   # the whole list at once: no batching copies

            def child(ctx: ExecContext) -> Batches:
                rows = fetch(ctx)
                if stats is not None:
                    stats.loops += 1
                    stats.rows += len(rows)
                yield rows
        else:
            child = self.build(source)
        g = self.gen()
        key_fns = [(key_extractor(g, k.expr), k.descending, k.nulls_first) for k in node.keys]
        first = node.keys[0]
        op = ">=" if first.descending else "<="
        within = g.function("rows, bound", f"[r for r in rows if (_k := {g.expr(first.expr)}) is None or _k {op} bound]")
        may_nan = first.expr.type.oid in (FLOAT4.oid, FLOAT8.oid, NUMERIC.oid)

        def open_sort(ctx: ExecContext, keep: int | None) -> Batches:
            parts: list = []
            charge = ctx.memory.charge
            for batch in child(ctx):
                if batch:
                    charge(batch)
                    parts.append(batch)
                yield TICK
            rows = parts[0] if len(parts) == 1 else list(chain.from_iterable(parts))
            keys = [(make(ctx.params, ctx), desc, nf) for make, desc, nf in key_fns]
            if keep is not None and len(keys) == 1 and keep < len(rows) // 8:
                rows = _top_n(rows, keys[0], keep, within(ctx.params, ctx), may_nan)
            else:
                rows = sort_rows(rows, keys)
            yield from _chunks(rows)
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
        if node.lateral:
            return _lateral_join(left, right, residual, kind, right_width)
        if node.left_keys:
            single = len(node.left_keys) == 1
            lkey = g.expr(node.left_keys[0], "l") if single else "(" + "".join(g.expr(k, "l") + ", " for k in node.left_keys) + ")"
            rkey = g.function("r", g.expr(node.right_keys[0]) if single else
                              "(" + "".join(g.expr(k) + ", " for k in node.right_keys) + ")")
            probe = self._probe(g, lkey, node.condition, kind, right_width) if kind in ("inner", "left") else None
            return _hash_join(left, right, g.function("l", lkey), rkey, probe, residual, kind, left_width,
                              right_width, single)
        return _nested_loop(left, right, residual, kind, left_width, right_width)

    def _probe(self, g: CodeGen, lkey: str, condition: Expr | None, kind: str, right_width: int):
        """Compiled `(batch, get) -> joined rows` for inner and left hash joins."""
        g.env["_pad"] = (None,) * right_width
        key_fn = ""
        if ":=" in lkey:        # temporaries may not appear in a comprehension's iterable
            key_fn = f"    def _key(l):\n        return {lkey}\n"
            lkey = "_key(l)"
        check = f" if {g.predicate(condition, 'row')}" if condition is not None else ""
        if kind == "inner" and condition is None:
            body = f"        return [l + r for l in batch for r in get({lkey}, ())]\n"
        elif kind == "inner":
            body = f"        return [row for l in batch for r in get({lkey}, ()) for row in (l + r,){check}]\n"
        else:
            body = ("        out = []\n"
                    "        for l in batch:\n"
                    f"            hits = [row for r in get({lkey}, ()) for row in (l + r,){check}]\n"
                    "            if hits:\n"
                    "                out.extend(hits)\n"
                    "            else:\n"
                    "                out.append(l + _pad)\n"
                    "        return out\n")
        return g.build("def _make(p, ctx):\n" + key_fn + "    def probe(batch, get):\n" + body + "    return probe\n")

    # ---------------------------------------------------------------- aggregation

    def _Aggregate(self, node: P.Aggregate) -> Opener:
        source = node.input
        scan_filter = None
        if isinstance(source, (P.SeqScan, P.IndexLookup, P.VirtualScan)) and source.filter is not None \
                and self.stats is None:          # EXPLAIN ANALYZE keeps the scan apart, to count its rows
            scan_filter = source.filter
            child = _scan_without_filter(self, source)
        else:
            child = self.build(source)
        g = self.gen()
        if not node.groups and node.sets is None and all(map(_column_fold, node.aggs)):
            return self._column_aggregate(node, child, g, scan_filter)
        aggs = [_AggCode(a, g) for a in node.aggs]
        if any(a.collects for a in aggs):
            child = _charging(child)
        guard = f"if not {g.predicate(scan_filter)}:\n    continue\n" if scan_filter is not None else ""
        finals = [a.final for a in aggs]
        for i, f in enumerate(finals):
            g.env[f"_final{i}"] = f
        if not node.groups and node.sets is None:
            state_init = "\n".join(f"s{i} = {a.init}" for i, a in enumerate(aggs))
            steps = "\n".join(a.code(f"s{i}") for i, a in enumerate(aggs)) or "pass"
            result = "(" + "".join((f"_final{i}(s{i})" if f is not None else f"s{i}") + ", " for i, f in enumerate(finals)) + ")"
            src = ("def _make(p, ctx):\n"
                   "    def run(child):\n"
                   f"{_indent(state_init, 2)}\n"
                   "        for batch in child:\n"
                   "            for r in batch:\n"
                   f"{_indent(guard + steps, 4)}\n"
                   "            yield TICK\n"
                   f"        yield [{result}]\n"
                   "    return run\n")
            make = g.build(src)

            def open_plain(ctx: ExecContext) -> Batches:
                return make(ctx.params, ctx)(child(ctx))
            return open_plain

        single = len(node.groups) == 1 and node.sets is None
        if node.sets is None:
            key = g.expr(node.groups[0]) if single else "(" + "".join(g.expr(e) + ", " for e in node.groups) + ")"
            key_loop = f"k = {key}\n"
            depth = 0
        else:
            values = [g.temp() for _ in node.groups]
            assign = "".join(f"{v} = {g.expr(e)}\n" for v, e in zip(values, node.groups))
            keys = "(" + "".join("(" + f"{j}, " + "".join((values[i] if i in s else "None") + ", "
                                                          for i in range(len(node.groups))) + "), "
                                 for j, s in enumerate(node.sets)) + ")"
            key_loop = f"{assign}for k in {keys}:\n"
            depth = 1
        init = "[" + ", ".join(a.init for a in aggs) + "]"
        group_steps = ("s = get(k)\n"
                       "if s is None:\n"
                       f"    s = groups[k] = {init}\n"
                       + "\n".join(a.code(f"s[{i}]") for i, a in enumerate(aggs)))
        loop = guard + key_loop + _indent(group_steps, depth)
        src = ("def _make(p, ctx):\n"
               "    def run(child, groups):\n"
               "        get = groups.get\n"
               "        for batch in child:\n"
               "            for r in batch:\n"
               f"{_indent(loop, 4)}\n"
               "            yield TICK\n"
               "    return run\n")
        make = g.build(src)
        n_groups = len(node.groups)
        sets = node.sets
        grouping_values = [[_grouping_value(gc, s) for s in sets] if sets is not None else [] for gc in node.groupings]
        empty_sets = [j for j, s in enumerate(sets) if not s] if sets is not None else []
        finish = _group_finisher(finals, single, sets is not None, grouping_values)

        def open_grouped(ctx: ExecContext) -> Batches:
            groups: dict = {}
            charge = ctx.memory.charge_bytes
            held = 0
            for tick in make(ctx.params, ctx)(child(ctx), groups):
                if len(groups) > held:
                    key, states = next(reversed(groups.items()))
                    charge((len(groups) - held) * (row_bytes(key) + row_bytes(states) + _DICT_ENTRY))
                    held = len(groups)
                yield tick
            for j in empty_sets:
                k = (j,) + (None,) * n_groups
                if k not in groups:
                    groups[k] = [a.fresh() for a in aggs]
            yield from _chunks(finish(groups))
        return open_grouped

    def _column_aggregate(self, node: P.Aggregate, child: Opener, g: CodeGen, scan_filter: Expr | None) -> Opener:
        """count/sum/avg/min/max of columns without GROUP BY: each batch is filtered by one
        comprehension and folded with builtins (len, sum, min, max over a map of itemgetter)
        while its rows are still in the cache, with no Python code per row."""
        keep = f"[r for r in batch if {g.predicate(scan_filter)}]" if scan_filter is not None else "batch"
        folds = [_ColumnFold(a) for a in node.aggs]
        make = g.function("batch", keep)

        def open_plain(ctx: ExecContext) -> Batches:
            select = make(ctx.params, ctx)
            states = [f.init() for f in folds]
            for batch in child(ctx):
                rows = select(batch)
                if rows:
                    states = [f.fold(rows, state) for f, state in zip(folds, states)]
                yield TICK
            yield [tuple(f.final(state) for f, state in zip(folds, states))]
        return open_plain

    # ---------------------------------------------------------------- windows

    def _Window(self, node: P.Window) -> Opener:
        child = self.build(node.input)
        g = self.gen()
        spec = node.spec
        part_fn = g.function("r", "(" + "".join(g.expr(e) + ", " for e in spec.partition) + ")") if spec.partition else None
        part_keys = [key_extractor(g, e) for e in spec.partition]
        order_fns = [(key_extractor(g, o.expr), o.descending, o.nulls_first) for o in spec.order]
        order_key = g.function("r", "(" + "".join(g.expr(o.expr) + ", " for o in spec.order) + ")") if spec.order else None
        frame = spec.frame
        offsets = g.function("r=()", "(" + "".join((g.expr(b) if b is not None else "None") + ", "
                                               for _, b in (frame.start, frame.end)) + ")")
        functions = [_WindowCode(c, g) for c in node.functions]
        descending = bool(spec.order) and spec.order[0].descending

        def open_window(ctx: ExecContext) -> Batches:
            p = ctx.params
            rows: list = []
            charge = ctx.memory.charge
            for batch in child(ctx):
                charge(batch)
                rows.extend(batch)
                yield TICK
            keys = [(make(p, ctx), False, False) for make in part_keys] + \
                [(make(p, ctx), desc, nf) for make, desc, nf in order_fns]
            rows = sort_rows(rows, keys)
            partition_of = part_fn(p, ctx) if part_fn is not None else None
            order_of = order_key(p, ctx) if order_key is not None else None
            start_offset, end_offset = offsets(p, ctx)()
            runners = [f.runner(p, ctx) for f in functions]
            out: list = []
            i = 0
            n = len(rows)
            while i < n:
                j = i + 1
                if partition_of is not None:
                    pk = partition_of(rows[i])
                    while j < n and partition_of(rows[j]) == pk:
                        j += 1
                else:
                    j = n
                members = rows[i:j]
                part = W.Partition(members, [order_of(r) for r in members] if order_of is not None else None)
                bounds = W.FrameBounds(frame, part, start_offset, end_offset, descending, ctx.timezone)
                columns = [run(part, bounds) for run in runners]
                out.extend(r + tuple(c[k] for c in columns) for k, r in enumerate(members))
                if len(out) >= BATCH:
                    yield out
                    out = []
                i = j
            yield out
        return open_window

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
            charge = ctx.memory.charge
            lrows: list = []
            for b in left(ctx):
                charge(b)
                lrows.extend(b)
                yield TICK
            rrows: list = []
            for b in right(ctx):
                charge(b)
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
                    elif c:
                        counts[r] = c - 1
                    else:
                        out.append(r)
            else:
                rset = set(rrows)
                out = [r for r in dict.fromkeys(lrows) if (r in rset) == (kind == "intersect")]
            yield from _chunks(out)
        return open_setop

    def _RecursiveUnion(self, node: P.RecursiveUnion) -> Opener:
        anchor = self.build(node.anchor)
        recursive = self.build(node.recursive)
        key, distinct = node.key, node.distinct

        def open_recursive(ctx: ExecContext) -> Batches:
            seen: set = set()
            work: list = []
            charge = ctx.memory.charge
            for batch in anchor(ctx):
                if distinct:
                    batch = [r for r in dict.fromkeys(batch) if r not in seen]
                    seen.update(batch)
                charge(batch)
                work.extend(batch)
                yield batch
            saved = ctx.worktables.get(key)
            try:
                while work:
                    ctx.worktables[key] = work
                    produced: list = []
                    for batch in recursive(ctx):
                        if distinct:
                            batch = [r for r in dict.fromkeys(batch) if r not in seen]
                            seen.update(batch)
                        charge(batch)
                        produced.extend(batch)
                        yield batch
                    work = produced
            finally:
                if saved is None:
                    ctx.worktables.pop(key, None)
                else:
                    ctx.worktables[key] = saved
        return open_recursive

    # ---------------------------------------------------------------- subqueries

    def subquery_runner(self, e: Subquery) -> Callable:
        opener = self.build(e.plan)
        key = id(e)
        kind = e.kind
        correlated = e.correlated
        negated = e.negated
        op = e.op
        width = len(e.plan.columns)

        def evaluate(ctx: ExecContext) -> Any:
            if kind == "exists":
                for batch in opener(ctx):
                    if batch:
                        return True
                return False
            rows: list = []
            for batch in opener(ctx):
                ctx.memory.charge(batch)
                rows.extend(batch)
                if kind == "scalar" and len(rows) > 1:
                    raise SqlError("21000", "more than one row returned by a subquery used as an expression")
            if kind == "scalar":
                return rows[0][0] if rows else None
            values = [r[0] for r in rows] if width == 1 else rows
            if kind == "array":
                return tuple(values)
            if kind == "in":
                return (set(v for v in values if v is not None), any(v is None for v in values))
            return values

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
            if kind == "exists":
                return result != negated
            if kind in ("scalar", "array"):
                return result
            if kind in ("any", "all"):
                answer = quantified(op, arg, result, kind == "all")
                return answer if not negated or answer is None else not answer
            values, has_null = result
            if arg is None:
                return None if (values or has_null) else negated
            if arg in values:
                return not negated
            if has_null:
                return None
            return negated
        return run


_MISSING = object()


def _instrumented(opener: Opener, stats: NodeStats) -> Opener:
    def open_instrumented(ctx: ExecContext) -> Batches:
        stats.loops += 1
        it = opener(ctx)
        started = time.perf_counter()
        elapsed = 0.0
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                elapsed += time.perf_counter() - t0
                break
            elapsed += time.perf_counter() - t0
            if batch:
                if stats.first is None:
                    stats.first = time.perf_counter() - started
                stats.rows += len(batch)
            yield batch
        stats.total += elapsed
    return open_instrumented


def _scan_without_filter(builder: _Builder, scan: P.SeqScan | P.IndexLookup | P.VirtualScan) -> Opener:
    fetch = builder._fetch(scan)

    def open_rows(ctx: ExecContext) -> Batches:
        yield from _chunks(fetch(ctx))
    return open_rows


def _counting(fetch: Callable[[ExecContext], list], stats: NodeStats) -> Callable[[ExecContext], list]:
    """fetch, counting the rows it returns into stats.read (EXPLAIN ANALYZE)."""
    def counted(ctx: ExecContext) -> list:
        rows = fetch(ctx)
        stats.read += len(rows)
        return rows
    return counted


def _filtered(rows: Iterator[tuple], keep: Callable[[list], list]) -> Iterator[tuple]:
    """The rows a compiled batch filter keeps, still one by one (for merging)."""
    for row in rows:
        if keep([row]):
            yield row


def _charging(child: Opener) -> Opener:
    """`child`, with every batch charged to the statement's memory budget (its consumer keeps it)."""
    def open_charging(ctx: ExecContext) -> Batches:
        charge = ctx.memory.charge
        for batch in child(ctx):
            charge(batch)
            yield batch
    return open_charging


def _pipe(child: Opener, transform) -> Opener:
    if transform is None:
        return child

    def open_pipe(ctx: ExecContext) -> Batches:
        step = transform(ctx.params, ctx)
        for batch in child(ctx):
            yield step(batch) if batch else batch
    return open_pipe


def key_extractor(g: CodeGen, e: Expr) -> Callable[[tuple, ExecContext], Callable[[list], list]]:
    """(p, ctx) -> (rows -> the value of `e` for each row), one C-level pass for a column."""
    if isinstance(e, Col):
        extract = _column_values(e.index)
        return lambda p, ctx: extract
    return g.function("rows", f"[{g.expr(e)} for r in rows]")


def _column_values(index: int) -> Callable[[list], list]:
    getter = itemgetter(index)
    return lambda rows: list(map(getter, rows))


def sort_rows(rows: list, keys: list[tuple[Callable[[list], list], bool, bool]]) -> list:
    """rows in SQL order on (key values of rows, descending, nulls first) keys, most
    significant first; equal rows keep their order."""
    for extract, descending, nulls_first in reversed(keys):
        rows = _sorted_on(rows, extract(rows), descending, nulls_first)
    return rows


def _sorted_on(rows: list, keys: list, descending: bool, nulls_first: bool) -> list:
    """rows stably sorted by their `keys`, with rows whose key is NULL first or last."""
    keys = _orderable(keys)
    if None not in keys:
        order = sorted(range(len(rows)), key=keys.__getitem__, reverse=descending)
        return [rows[i] for i in order]
    nulls = [r for r, k in zip(rows, keys) if k is None]
    present = [i for i, k in enumerate(keys) if k is not None]
    present.sort(key=keys.__getitem__, reverse=descending)
    ordered = [rows[i] for i in present]
    return nulls + ordered if nulls_first else ordered + nulls


def _orderable(keys: list) -> list:
    """Floating-point and numeric keys with NaN made sortable: NaN above every number and
    equal to itself, as in PostgreSQL. Other keys are returned as they are."""
    sample = next((k for k in keys if k is not None), None)
    if not isinstance(sample, (float, Decimal)) or not any(k != k for k in keys if k is not None):
        return keys
    return [None if k is None else ((1, 0) if k != k else (0, k)) for k in keys]


def _top_n(rows: list, key: tuple[Callable[[list], list], bool, bool], keep: int,
           within: Callable[[list, Any], list], may_nan: bool) -> list:
    """The first `keep` rows in SQL order on one key (a LIMIT over a sort), without sorting
    them all: the keep-th best key of a sample bounds the candidates, `within(rows, bound)`
    keeps the rows at or before the bound (and those with NULL keys), and only those are
    sorted. Keys with NaN take the full sort."""
    extract, descending, nulls_first = key
    sample = [k for k in extract(rows[:max(keep * 64, 4096)]) if k is not None]
    if len(sample) < keep or (may_nan and _orderable(keys := extract(rows)) is not keys):
        return _sorted_on(rows, extract(rows), descending, nulls_first)[:keep]
    sample.sort(reverse=descending)
    chosen = within(rows, sample[keep - 1])
    return _sorted_on(chosen, extract(chosen), descending, nulls_first)[:keep]


def _index_order_key(v: Any) -> tuple:
    """A value's place in an ascending index order: NULL last, NaN after every number."""
    if v is None:
        return (3,)
    if v != v:
        return (2,)
    return (1, v)


def _hash_join(left: Opener, right: Opener, lkey, rkey, probe, residual, kind: str, lw: int, rw: int,
               single: bool) -> Opener:
    null_right = (None,) * rw
    null_left = (None,) * lw
    track = kind in ("right", "full")

    def open_hash_join(ctx: ExecContext) -> Batches:
        p = ctx.params
        rk = rkey(p, ctx)
        table: dict = {}
        right_rows: list = []
        charge = ctx.memory.charge
        for batch in right(ctx):
            charge(batch)
            for r in batch:
                k = rk(r)
                if k is None if single else None in k:
                    if track:
                        right_rows.append(r)
                    continue
                bucket = table.get(k)
                if bucket is None:
                    table[k] = [r]
                else:
                    bucket.append(r)
                if track:
                    right_rows.append(r)
            yield TICK
        if probe is not None:
            run = probe(p, ctx)
            get = table.get
            for batch in left(ctx):
                yield run(batch, get)
            return
        lk = lkey(p, ctx)
        check = residual(p, ctx) if residual is not None else None
        if kind in ("semi", "anti"):
            keep = kind == "semi"
            get = table.get
            for batch in left(ctx):
                if check is None:
                    yield [l for l in batch if (lk(l) in table) == keep]
                else:
                    yield [l for l in batch if any(check(l + r) for r in get(lk(l), ())) == keep]
            return
        matched: set[int] = set()
        for batch in left(ctx):
            out = []
            for l in batch:
                bucket = table.get(lk(l))
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
            ctx.memory.charge(batch)
            right_rows.extend(batch)
            yield TICK
        matched: set[int] = set()
        for batch in left(ctx):
            out = []
            for l in batch:
                hit = False
                if check is None and kind in ("inner", "cross"):
                    out.extend([l + r for r in right_rows])
                else:
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


def _lateral_join(left: Opener, right: Opener, residual, kind: str, rw: int) -> Opener:
    """For each left row, run `right` with that row as the innermost outer row."""
    null_right = (None,) * rw

    def open_lateral(ctx: ExecContext) -> Batches:
        check = residual(ctx.params, ctx) if residual is not None else None
        outer = ctx.outer
        for batch in left(ctx):
            out = []
            for l in batch:
                outer.append(l)
                try:
                    matches = [l + r for b in right(ctx) for r in b]
                finally:
                    outer.pop()
                if check is not None:
                    matches = [row for row in matches if check(row)]
                if matches:
                    out.extend(matches)
                elif kind == "left":
                    out.append(l + null_right)
            yield out
    return open_lateral


# -------------------------------------------------------------------- aggregate code


class _AggCode:
    """One aggregate call compiled for the aggregation loop: its state's initial value, the
    statements folding one row into the state (`code(state)`), and its final function."""

    __slots__ = ("init", "final", "fresh", "collects", "_assign", "_args", "_body", "_filter", "_strict")

    def __init__(self, a: AggCall, g: CodeGen) -> None:
        d = A.definition(a.name, [x.type for x in a.args], a.type, a.star)
        args = [g.temp() for _ in a.args]
        self._assign = "".join(f"{v} = {g.expr(x)}\n" for v, x in zip(args, a.args))
        self._args = args
        if a.distinct or a.order:
            order = [g.temp() for _ in a.order]
            self._assign += "".join(f"{v} = {g.expr(o.expr)}\n" for v, o in zip(order, a.order))
            item = "(" + "".join(v + ", " for v in order + args) + ")"
            self._body = lambda state: f"{state}.append({item})"
            self.init = "[]"
            self.final = _collected_final(a, d, g)
        else:
            self._body = lambda state: A.step_source(d, state, args)
            self.init = d.init
            self.final = d.final
        self._strict = d.strict and bool(args)
        self._filter = g.predicate(a.filter) if a.filter is not None else None
        init_fn = g.function("r=()", self.init)
        self.fresh = lambda: init_fn(None, None)()
        self.collects = self.init == "[]"       # keeps its inputs (array_agg, string_agg, DISTINCT, ORDER BY)

    def code(self, state: str) -> str:
        body = self._body(state)
        if self._strict:
            body = f"if {' and '.join(f'{v} is not None' for v in self._args)}:\n" + _indent(body, 1)
        code = self._assign + body
        if self._filter is not None:
            code = f"if {self._filter}:\n" + _indent(code, 1)
        return code


def _column_fold(a: AggCall) -> bool:
    """Whether the aggregate is one _ColumnFold computes: count/sum/avg/min/max of a column."""
    return (a.name in ("count", "sum", "avg", "min", "max") and not a.distinct and not a.order
            and a.filter is None and (a.star or (len(a.args) == 1 and isinstance(a.args[0], Col))))


class _ColumnFold:
    """One count/sum/avg/min/max of a column, folded over lists of rows with builtins. States
    have the shape the aggregate's definition uses, so its final function applies."""

    __slots__ = ("name", "star", "values", "final", "init")

    def __init__(self, a: AggCall) -> None:
        d = A.definition(a.name, [x.type for x in a.args], a.type, a.star)
        self.name = a.name
        self.star = a.star
        self.values = _column_values(a.args[0].index) if a.args else None
        self.final = d.final or _same
        init = d.init
        self.init = (lambda: 0) if init == "0" else (lambda: None) if init == "None" else \
            (lambda: [0, Interval(0, 0, 0)]) if "Interval" in init else (lambda: [0, 0])

    def fold(self, rows: list, state: Any) -> Any:
        if self.star:
            return state + len(rows)
        values = self.values(rows)
        if None in values:
            values = [v for v in values if v is not None]
            if not values:
                return state
        name = self.name
        if name == "count":
            return state + len(values)
        if name == "sum":
            total = sum(values[1:], values[0])
            return total if state is None else state + total
        if name == "min":
            low = min(values)
            return low if state is None or low < state else state
        if name == "max":
            high = max(values)
            return high if state is None or high > state else state
        state[0] += len(values)
        state[1] += sum(values[1:], values[0])
        return state


def _same(v: Any) -> Any:
    return v


def make_folder(d: A.AggregateDef, nargs: int, g: CodeGen) -> tuple[Callable[[], Any], Callable[..., Any]]:
    """(init, step) functions for folding argument tuples one by one: `S = step(S, *args)`."""
    params = ", ".join(f"_a{i}" for i in range(nargs))
    guard = f"        if {' or '.join(f'_a{i} is None' for i in range(nargs))}:\n            return S\n" \
        if d.strict and nargs else ""
    src = ("def _make(p, ctx):\n"
           "    def init():\n"
           f"        return {d.init}\n"
           f"    def step(S{', ' + params if params else ''}):\n"
           f"{guard}"
           f"{_indent(A.step_source(d, 'S', [f'_a{i}' for i in range(nargs)]), 2)}\n"
           "        return S\n"
           "    return init, step\n")
    return g.build(src)(None, None)


def _collected_final(a: AggCall, d: A.AggregateDef, g: CodeGen) -> Callable[[list], Any]:
    """The final function of an aggregate with DISTINCT or ORDER BY in its call: sort and/or
    de-duplicate the collected (order keys..., args...) tuples, then fold them."""
    if a.name in A.HYPOTHETICAL_NAMES:
        return _hypothetical_final(a)
    init, step = make_folder(d, len(a.args), g)
    final = d.final
    n_order = len(a.order)
    n_args = len(a.args)
    keys = [(_column_values(i), o.descending, o.nulls_first) for i, o in enumerate(a.order)]
    if a.distinct and not a.order:
        keys = [(_column_values(i), False, False) for i in range(n_args)]
    distinct = a.distinct

    def fold(items: list) -> Any:
        if keys:
            items = sort_rows(items, keys)
        values = [it[n_order:] for it in items]
        if distinct:
            values = list(dict.fromkeys(values))
        state = init()
        for v in values:
            state = step(state, *v)
        return final(state) if final is not None else state
    return fold


def _hypothetical_final(a: AggCall) -> Callable[[list], Any]:
    """A hypothetical-set aggregate's final function: the collected (order keys..., args...)
    tuples sorted together with the row of the arguments (which are the same in every
    tuple: they are evaluated per group), added last so that the stable sort leaves it last
    among its peers; then where it landed."""
    n = len(a.order)
    keys = [(_column_values(i), o.descending, o.nulls_first) for i, o in enumerate(a.order)]

    def fold(items: list) -> Any:
        if not items:
            return A.hypothetical_result(a.name, [()], 0)
        hypothetical = items[0][n:] * 2            # its order keys are its arguments
        rows = sort_rows(items + [hypothetical], keys)
        position = next(i for i, r in enumerate(rows) if r is hypothetical)
        return A.hypothetical_result(a.name, [r[:n] for r in rows], position)
    return fold


def _grouping_value(gc, grouping_set: tuple[int, ...]) -> int:
    """grouping(a, b, ...) in one grouping set: bit i set when argument i is not grouped."""
    value = 0
    for arg in gc.args:
        value = (value << 1) | (0 if arg.index in grouping_set else 1)
    return value


def _group_finisher(finals: list, single: bool, with_sets: bool, grouping_values: list[list[int]]):
    """groups dict -> output rows (group values, aggregate results, grouping() values)."""
    def finish(groups: dict) -> list:
        out = []
        for k, state in groups.items():
            results = tuple(f(v) if f is not None else v for f, v in zip(finals, state))
            if with_sets:
                j = k[0]
                out.append(k[1:] + results + tuple(values[j] for values in grouping_values))
            elif single:
                out.append((k,) + results)
            else:
                out.append(k + results)
        return out
    return finish


# -------------------------------------------------------------------- window code


class _WindowCode:
    """One window function compiled: `runner(p, ctx)` gives partition -> values."""

    def __init__(self, call, g: CodeGen) -> None:
        self.name = call.name
        self.args = g.function("r", "(" + "".join(g.expr(a) + ", " for a in call.args) + ")")
        self.filter = g.function("r", g.predicate(call.filter)) if call.filter is not None else None
        self.aggregate = None
        if call.name in A.AGGREGATE_NAMES:
            d = A.definition(call.name, [a.type for a in call.args], call.type, call.star)
            init, step = make_folder(d, len(call.args), g)
            self.aggregate = (init, step, d.final or (lambda s: s))

    def runner(self, p: tuple, ctx: ExecContext) -> Callable[[W.Partition, W.FrameBounds], list]:
        args = self.args(p, ctx)
        accept = self.filter(p, ctx) if self.filter is not None else None
        name = self.name
        if self.aggregate is not None:
            init, step, final = self.aggregate
            return lambda part, bounds: W.aggregate_values(part, bounds, args, accept, init, step, final)
        if name in ("lag", "lead"):
            return lambda part, bounds: W.offset_values(name == "lead", part, args)
        if name in ("first_value", "last_value", "nth_value"):
            return lambda part, bounds: W.frame_values(name, part, bounds, args)
        first_arg = (lambda r: args(r)[0]) if name == "ntile" else None
        return lambda part, bounds: W.ranking(name, part, first_arg)
