"""The per-statement memory budget: operators that hold rows charge them here, and a statement
over budget fails with 53200 (out_of_memory) instead of taking the machine down.

One `MemoryBudget` lives in each statement's ExecContext (`ctx.memory`). Operators that
keep their input (sort, hash-join build side, DISTINCT, grouped and collecting aggregates,
window partitions, set operations, recursive unions, materialized subquery results) call
`charge(rows)` once per input batch they keep. The cost is an estimate, cheap by design: the
batch's length times the size of its first row (the tuple and its values, one level deep),
so a batch costs one `sys.getsizeof` per column, never a walk over every value. Shared rows
(a sort of a stored table holds references to rows the table already has) are charged as if
they were copies: the budget is a ceiling on what a statement may pin, not an account.

The limit is the server's `query_memory_limit` (Database.query_memory_limit; 0 = none).

A transaction's own writes (the rows it inserted or updated and the events it will commit)
are held until COMMIT, across statements, so they have a budget of their own: the
transaction's `WriteBudget` (`transaction_memory_limit`). A `RowMeasure` per table shape
counts each written row as a constant for its fixed-size columns plus the length of its
variable-length values (strings and bytes by `len`, arrays one level deep): a huge value
is counted for what it is, while fixed-size columns cost nothing per row. Bulk inserts
(COPY) measure a whole batch with C-level passes over its variable-length columns.
"""
from __future__ import annotations

from operator import itemgetter
from sys import getsizeof
from typing import Callable

from engine.catalog.model import TableDef
from engine.errors import SqlError
from engine.types import BYTEA, JSON, JSONB, STRING_TYPES

_POINTER = 8          # a list slot holding the row
_FIXED_VALUE = 32     # a fixed-size value (integer, float, date, ...) and its slot in the row
_WRITTEN_ROW = 200    # per row written: its tuple, its event, its entries in the write set and undo list
_STR_HEADER = 49      # sys.getsizeof("")
_LEN_TYPES = STRING_TYPES | {BYTEA.oid, JSON.oid, JSONB.oid}   # values that are str or bytes


def row_bytes(row: object) -> int:
    """Estimated bytes of one row: the tuple plus each of its values (not nested ones)."""
    if isinstance(row, tuple):
        return getsizeof(row) + sum(map(getsizeof, row)) + _POINTER
    return getsizeof(row) + _POINTER


class MemoryBudget:
    """What one statement's operators hold, estimated, against a limit in bytes (0: none)."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, rows: list) -> None:
        """Account for a batch of rows an operator keeps; 53200 once over the limit."""
        if rows and self.limit:
            self.used += len(rows) * row_bytes(rows[0])
            if self.used > self.limit:
                self.exceeded()

    def charge_bytes(self, size: int) -> None:
        if self.limit:
            self.used += size
            if self.used > self.limit:
                self.exceeded()

    def exceeded(self) -> None:
        raise SqlError("53200", "out of memory",
                       detail=f"The statement needs more than query_memory_limit ({self.limit >> 20} MiB) "
                              "for sorting, hashing or buffering rows.",
                       hint="Narrow the query (filters, LIMIT) or raise the server's query_memory_limit.")


def value_bytes(value: object) -> int:
    """Estimated bytes of one variable-length value: strings and bytes by their length,
    arrays (tuples) one level deep, anything else by `sys.getsizeof`."""
    if value is None:
        return 0
    if type(value) is tuple or type(value) is list:
        return getsizeof(value) + sum(map(getsizeof, value))
    return getsizeof(value)


class RowMeasure:
    """The estimated bytes of rows of one table shape, as a transaction holds them: `row` is
    compiled for the shape (one call per row written), `rows` measures a batch."""

    __slots__ = ("table", "base", "texts", "others", "row")

    def __init__(self, table: TableDef) -> None:
        self.table = table
        columns = table.columns
        self.texts = tuple(c.slot for c in columns if c.type.size == -1 and c.type.oid in _LEN_TYPES)
        self.others = tuple(c.slot for c in columns if c.type.size == -1 and c.type.oid not in _LEN_TYPES)
        fixed = len(columns) - len(self.texts) - len(self.others)
        self.base = _WRITTEN_ROW + _POINTER * table.width + _FIXED_VALUE * fixed + _STR_HEADER * len(self.texts)
        terms = [str(self.base)]
        terms += [f"(len(x) if (x := r[{slot}]) else 0)" for slot in self.texts]
        terms += [f"value_bytes(r[{slot}])" for slot in self.others]
        namespace = {"value_bytes": value_bytes}
        exec(f"def row(r):\n    return {' + '.join(terms)}\n", namespace)
        self.row: Callable[[tuple], int] = namespace["row"]

    def rows(self, rows: list[tuple]) -> int:
        size = self.base * len(rows)
        for slot in self.texts:
            size += sum(map(len, filter(None, map(itemgetter(slot), rows))))
        for slot in self.others:
            size += sum(map(value_bytes, map(itemgetter(slot), rows)))
        return size


_measures: dict[int, RowMeasure] = {}      # id(table) -> its measure, shared by all transactions


def row_measure(table: TableDef) -> RowMeasure:
    """The measure of a table shape, compiled once per TableDef (the cache holds the TableDef,
    so its id is not reused while the entry lives)."""
    found = _measures.get(id(table))
    if found is None or found.table is not table:
        if len(_measures) > 4096:
            _measures.clear()
        found = _measures[id(table)] = RowMeasure(table)
    return found


class WriteBudget:
    """What one transaction's own writes hold until COMMIT, estimated, against a limit in
    bytes (0: none). Savepoints remember `used` and a rollback to one restores it."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge_row(self, table: TableDef, row: tuple) -> None:
        if self.limit:
            found = _measures.get(id(table))
            self.used += (found.row if found is not None and found.table is table else row_measure(table).row)(row)
            if self.used > self.limit:
                self.exceeded()

    def charge_rows(self, table: TableDef, rows: list[tuple]) -> None:
        if self.limit:
            self.used += row_measure(table).rows(rows)
            if self.used > self.limit:
                self.exceeded()

    def charge_deleted(self, count: int = 1) -> None:
        if self.limit:
            self.used += _WRITTEN_ROW * count
            if self.used > self.limit:
                self.exceeded()

    def exceeded(self) -> None:
        raise SqlError("53200", "out of memory",
                       detail=f"The transaction's writes need more than transaction_memory_limit "
                              f"({self.limit >> 20} MiB) until COMMIT.",
                       hint="Write in several smaller transactions or raise the server's transaction_memory_limit.")
