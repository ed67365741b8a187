"""Reading tables in the past: a table as of one LSN, and every version in a range.

`PastReader` is the `TableReader` side of FOR SYSTEM_TIME (the transaction delegates every
read with a `ReadPoint` to it): `ctx.points[point.index]` holds the clause's resolved
(low, high) LSNs.

- AS OF (low == high == n): the rows visible right after transaction n, from the table's
  in-memory versions (`TableData.rows_at`). Own uncommitted writes never show in the past.
- A range [low, high] (BETWEEN, FROM ... TO, ALL) yields one row per version that was
  visible in some state of the range — the versions alive at `low` and every version
  written in (low, high] — plus one row per deletion in (low, high], carrying the deleted
  row; each row ends with the system columns (plan.SYSTEM_COLUMNS): `_tx` (the LSN that
  wrote the version, or deleted the row), `_valid_from` / `_valid_to` (commit times of
  that LSN and of the next change of the row; NULL while current as of the statement's
  snapshot; equal for a deletion), `_op` ('insert', 'update', 'delete') and `_user`.

Rows are shaped to the width of the table definition the statement was bound against
(the catalog of that point): a version written before ADD COLUMN is padded with NULLs, a
newer, wider one is cut; slots are stable, so positions always agree.

Invariant: the undo history of a table reaches back to `TableData.history_floor`; a read
needing versions before it is refused with 0A000 naming the window.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from engine.catalog.model import TableDef
from engine.errors import SqlError
from engine.exec.context import ExecContext
from engine.exec.plan import ReadPoint
from engine.rewind.points import from_micros
from engine.txn.versions import TableData

if TYPE_CHECKING:
    from engine.database import Database

_OPS = ("insert", "update", "delete")


class PastReader:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- TableReader

    def rows(self, table: TableDef, point: ReadPoint, ctx: ExecContext) -> list[tuple]:
        low, high = ctx.points[point.index]
        data = self.db.state.tables.get(table.table_id)
        if data is None:
            return []
        if not point.history:
            rows = data.rows_at(self._checked(data, table, low))
            if _needs_shaping(self.db, table):
                width = table.width
                return [_fit(r, width) for r in rows]
            return rows
        return self._versions(data, table, low, high, ctx.snapshot_lsn)

    def items(self, table: TableDef, point: ReadPoint, ctx: ExecContext) -> list[tuple[int, tuple]]:
        if point.history:
            raise SqlError("0A000", "row identities of a history read are not available")
        low, _ = ctx.points[point.index]
        data = self.db.state.tables.get(table.table_id)
        if data is None:
            return []
        items = data.items_at(self._checked(data, table, low))
        width = table.width
        if _needs_shaping(self.db, table):
            return [(rid, _fit(r, width)) for rid, r in items]
        return items

    def lookup(self, table: TableDef, index_id: int, key: tuple, point: ReadPoint,
               ctx: ExecContext) -> list[tuple[int, tuple]]:
        low, high = ctx.points[point.index]
        data = self.db.state.tables.get(table.table_id)
        if data is None:
            return []
        slots = self._index_slots(index_id, high)
        if point.history:
            n = len(slots)
            return [(0, r) for r in self._versions(data, table, low, high, ctx.snapshot_lsn)
                    if tuple([r[s] for s in slots]) == key[:n]]
        lsn = self._checked(data, table, low)
        if index_id in data.unique:
            found = data.lookup_unique(index_id, key, lsn)
        else:
            found = [(rid, r) for rid, r in data.items_at(lsn) if tuple([r[s] for s in slots]) == key]
        if _needs_shaping(self.db, table):
            width = table.width
            return [(rid, _fit(r, width)) for rid, r in found]
        return found

    # ---------------------------------------------------------------- internals

    def _index_slots(self, index_id: int, lsn: int) -> tuple[int, ...]:
        state = self.db.state
        index = state.catalog_at(lsn).indexes.get(index_id) or state.catalog.indexes.get(index_id)
        if index is None:
            raise SqlError("XX000", f"index {index_id} is unknown at transaction {lsn}")
        return index.columns

    def _checked(self, data: TableData, table: TableDef, lsn: int) -> int:
        if not data.has_history_at(lsn):
            raise SqlError("0A000", f'the history of "{table.name}" before transaction {data.history_floor} '
                           "is outside the in-memory history window")
        return lsn

    def _versions(self, data: TableData, table: TableDef, low: int, high: int, snapshot_lsn: int) -> list[tuple]:
        """Every version visible in some state of [low, high], and the deletions in (low, high]."""
        if low > high:
            return []
        self._checked(data, table, low)
        lsns = data.undo_lsns
        undo = data.undo
        start = bisect_right(lsns, low)
        stop = bisect_right(lsns, high)
        # versions: [begin, end, row, op]; `open` maps rowid -> the version still alive
        versions: list[list] = []
        open_: dict[int, list] = {}
        if low:
            alive = dict(data.items_at(low))
            # the version alive at `low` began at the row's last change at or before it
            i = start - 1
            pending = set(alive)
            while pending and i >= 0:
                lsn, rowid, before, after = undo[i]
                if rowid in pending:
                    pending.discard(rowid)
                    v = [lsn, None, alive[rowid], 1 if before is not None else 0]
                    versions.append(v)
                    open_[rowid] = v
                i -= 1
            if pending:
                raise SqlError("0A000", f'the history of "{table.name}" before transaction {data.history_floor} '
                               "is outside the in-memory history window")
        for i in range(start, stop):
            lsn, rowid, before, after = undo[i]
            current = open_.pop(rowid, None)
            if current is not None:
                current[1] = lsn
            if after is not None:
                v = [lsn, None, after, 1 if before is not None else 0]
                versions.append(v)
                open_[rowid] = v
            else:
                versions.append([lsn, lsn, before, 2])
        # a version alive at `high` ended at the row's next change the snapshot sees
        limit = bisect_right(lsns, snapshot_lsn)
        i = stop
        while open_ and i < limit:
            lsn, rowid, _, _ = undo[i]
            current = open_.pop(rowid, None)
            if current is not None:
                current[1] = lsn
            i += 1
        txs = self.db.state.transactions
        times: dict[int, object] = {}

        def time_of(lsn: int):
            t = times.get(lsn)
            if t is None:
                t = times[lsn] = from_micros(txs.time_of(lsn))
            return t

        width = table.width
        out = []
        for begin, end, row, op in versions:
            out.append(_fit(row, width) + (begin, time_of(begin), None if end is None else time_of(end),
                                           _OPS[op], txs.user_of(begin)))
        return out


def _fit(row: tuple, width: int) -> tuple:
    n = len(row)
    if n == width:
        return row
    if n > width:
        return row[:width]
    return row + (None,) * (width - n)


def _needs_shaping(db: Database, table: TableDef) -> bool:
    """Whether rows read at a past point may be wider or narrower than `table` (the
    definition of that point): only when the table's width changed since."""
    codec = db.state.codecs.get(table.table_id)
    return codec is not None and codec.width != table.width

