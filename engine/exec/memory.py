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
"""
from __future__ import annotations

from sys import getsizeof

from engine.errors import SqlError

_POINTER = 8          # a list slot holding the row


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
