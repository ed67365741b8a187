"""COPY, the engine's side: where COPY FROM rows go and where COPY TO rows come from.

The server runs the COPY sub-protocol and owns the data formats (text, CSV, binary; see
server/copy.py): it turns CopyData into engine values, typed by `CopyIn.types`, and hands
them over in batches of columns to `CopyIn.write`, which inserts them through the transaction
exactly as an INSERT of those columns would (defaults for the missing columns, typmods,
NOT NULL, CHECK and unique constraints), with a bulk path for tables without unique keys.
For COPY TO, `CopyOut` carries the result columns and the row batches of the query (or of
`SELECT columns FROM table`); the server formats them.

The COPY command tag is `COPY n`: the rows written (`CopyIn.count`) or sent.
"""
from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Iterator, Sequence

from engine.catalog.model import ColumnDef, TableDef
from engine.errors import SqlError
from engine.sql.parser import CopyOptions

if TYPE_CHECKING:
    from engine.exec import plan as P
    from engine.exec.context import ExecContext
    from engine.exec.dml import CompiledWrite
    from engine.txn.transaction import Transaction


class CopyIn:
    """COPY table [(columns)] FROM STDIN: rows of the listed columns go into the table."""

    __slots__ = ("table", "columns", "types", "options", "count", "_write", "_txn", "_ctx", "_lock_timeout",
                 "force_not_null", "force_null", "_unique", "_held")

    def __init__(self, table: TableDef, columns: list[ColumnDef], options: CopyOptions, write: CompiledWrite,
                 txn: Transaction, ctx: ExecContext, lock_timeout: float | None) -> None:
        self.table = table
        self.columns = columns
        self.types = [c.type for c in columns]
        self.options = options
        self.count = 0
        self._write = write
        self._txn = txn
        self._ctx = ctx
        self._lock_timeout = lock_timeout
        self.force_not_null = _positions(columns, options.force_not_null, "FORCE_NOT_NULL")
        self.force_null = _positions(columns, options.force_null, "FORCE_NULL")
        self._unique = any(index.unique for index in txn.current_catalog.indexes_of(table.table_id))
        self._held: list[list[Sequence]] = []

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    async def write(self, columns: list[Sequence]) -> None:
        """Insert a batch of rows given as columns (one sequence of values per COPY column,
        all of one length). With unique keys, batches are held until `finish`, so the keys
        are checked once for the whole COPY."""
        if not columns or not columns[0]:
            return
        if self._unique:
            self._held.append(columns)
        else:
            self.count += await self._write.insert_columns(self._txn, self._ctx, columns, self._lock_timeout)

    async def finish(self) -> str:
        """All data arrived: insert what was held; the command tag."""
        if self._held:
            held, self._held = self._held, []
            columns = [list(chain.from_iterable(batch[i] for batch in held)) for i in range(len(self.columns))]
            self.count += await self._write.insert_columns(self._txn, self._ctx, columns, self._lock_timeout)
        return f"COPY {self.count}"


class CopyOut:
    """COPY table|(query) TO STDOUT: the rows to send."""

    __slots__ = ("columns", "batches", "options", "force_quote")

    def __init__(self, columns: tuple[P.OutputColumn, ...], batches: Iterator[list], options: CopyOptions) -> None:
        self.columns = columns
        self.batches = batches
        self.options = options
        if options.force_quote == "*":
            self.force_quote = set(range(len(columns)))
        else:
            names = [c.name for c in columns]
            self.force_quote = set()
            for name in options.force_quote:
                if name not in names:
                    raise SqlError("42P10", f'FORCE_QUOTE column "{name}" not referenced by COPY')
                self.force_quote.add(names.index(name))


def _positions(columns: list[ColumnDef], names: tuple[str, ...], option: str) -> set[int]:
    listed = [c.name for c in columns]
    out = set()
    for name in names:
        if name not in listed:
            raise SqlError("42P10", f'{option} column "{name}" not referenced by COPY')
        out.add(listed.index(name))
    return out


def copy_columns(table: TableDef, names: list[str] | None) -> list[ColumnDef]:
    """The columns a COPY names (all of the table's but the generated ones, in order, when it
    names none)."""
    if names is None:
        return [c for c in table.columns if c.generated is None]
    out = table.named_columns(names)
    for column in out:
        if column.generated is not None:
            raise SqlError("42P10", f'column "{column.name}" is a generated column',
                           detail="Generated columns cannot be used in COPY.")
    return out
