"""The execution context: what running operators may ask of the session and transaction.

One `ExecContext` lives for one statement execution. Generated code reaches it as `ctx`
(parameters as `p`). Table access goes through `reader`, which applies the statement's
snapshot and the transaction's own writes, so operators never see MVCC details.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Protocol

from engine.catalog.model import Catalog, TableDef
from engine.exec.memory import MemoryBudget
from engine.exec.plan import ReadPoint
from engine.txn.index import Search


class TableReader(Protocol):
    def rows(self, table: TableDef, read_point: ReadPoint | None, ctx: ExecContext) -> list[tuple]: ...
    def items(self, table: TableDef, read_point: ReadPoint | None, ctx: ExecContext) -> list[tuple[int, tuple]]: ...
    def lookup(self, table: TableDef, index_id: int, key: tuple, read_point: ReadPoint | None,
               ctx: ExecContext) -> list[tuple[int, tuple]]: ...
    def scan(self, table: TableDef, index_id: int, search: Search, read_point: ReadPoint | None,
             ctx: ExecContext) -> tuple[Iterable[tuple[int, tuple]], list[tuple[int, tuple]]]: ...


class ExecContext:
    __slots__ = ("params", "snapshot_lsn", "reader", "session", "timezone", "transaction_time", "user", "database",
                 "backend_pid", "version_string", "outer", "cache", "points", "catalog", "worktables", "memory")

    def __init__(self, params: tuple, snapshot_lsn: int, reader: TableReader, session: Any,
                 timezone: dt.tzinfo, transaction_time: dt.datetime, user: str, database: str,
                 backend_pid: int, version_string: str, catalog: Catalog | None = None,
                 memory_limit: int = 0) -> None:
        self.params = params
        self.snapshot_lsn = snapshot_lsn      # the statement's read point (MVCC snapshot)
        self.reader = reader
        self.session = session
        self.timezone = timezone
        self.transaction_time = transaction_time
        self.user = user
        self.database = database
        self.backend_pid = backend_pid
        self.version_string = version_string
        self.outer: list[tuple] = []          # rows of enclosing queries, innermost last
        self.cache: dict[int, Any] = {}       # uncorrelated subquery results
        self.points: list[tuple[int, int]] = []   # FOR SYSTEM_TIME clauses: (low, high) LSNs by ReadPoint.index
        self.catalog = catalog                # the catalog the statement reads (catalog functions use it)
        self.worktables: dict[int, list] = {}  # WITH RECURSIVE: each recursive query's previous round
        self.memory = MemoryBudget(memory_limit)  # what operators hold (engine/exec/memory.py)

    def current_schema(self) -> str | None:
        return self.session.current_schema()
