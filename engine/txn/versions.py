"""Row versions of one table, readable at any LSN still held in memory.

`rows` maps rowid -> the newest applied version. Every applied change also appends an undo
entry (lsn, rowid, before, after) in LSN order, so the table as of LSN n is `rows` with the
changes after n undone: `overlay(n)` gives {rowid: version at n, or None if absent at n}
for just the rows that changed after n. Reads at the newest LSN, the common case, need no
overlay at all. Undo entries before `history_floor` are not kept (replay does not record
them for LSNs older than the history window, and `prune_history` drops them as the window
moves on); reads before `history_floor` are served elsewhere (snapshot + replay). Until
the first pruning the floor is `created_lsn` and the history is complete: the table was
empty before it.

Indexes (`index.TableIndex`: unique or not, hash or ordered, primary keys included) cover
the newest applied rows; a read at an older LSN, or with a transaction's own writes, takes
what the index says about the rows that did not change since and looks at the changed ones
itself (`lookup`, `scan`). The number of rows (`len(rows)`) and each index's number of
distinct keys are the planner's statistics, kept up to date by the same changes.

Invariants: only `DatabaseState.apply` mutates a TableData (through insert/update/delete),
in LSN order; every mutation at or after `history_floor` is recorded in the undo history
before it is visible.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import repeat
from typing import TYPE_CHECKING, Iterable, Iterator

from engine.txn.index import Search, TableIndex

if TYPE_CHECKING:
    from engine.catalog.model import IndexDef

ABSENT = None  # an overlay value meaning "no such row at that point"
SCAN_SHARE = 1 / 3  # an unordered range search over more of an index's keys reads the table instead


class TableData:
    __slots__ = ("table_id", "rows", "undo", "undo_lsns", "indexes", "next_rowid", "last_lsn",
                 "history_floor", "created_lsn", "_overlays")

    def __init__(self, table_id: int, created_lsn: int = 0) -> None:
        self.table_id = table_id
        self.rows: dict[int, tuple] = {}
        self.undo: list[tuple[int, int, tuple | None, tuple | None]] = []
        self.undo_lsns: list[int] = []
        self.indexes: dict[int, TableIndex] = {}
        self.next_rowid = 1
        self.last_lsn = created_lsn
        self.history_floor = created_lsn
        self.created_lsn = created_lsn
        self._overlays: dict[int, list] = {}     # lsn -> [undo entries folded in, overlay, {index id: key map}]

    # ------------------------------------------------------------ changes (apply only)

    def insert(self, lsn: int, rowid: int, row: tuple) -> None:
        self.rows[rowid] = row
        if self.indexes:
            for idx in self.indexes.values():
                idx.add(rowid, row)
        if rowid >= self.next_rowid:
            self.next_rowid = rowid + 1
        if lsn >= self.history_floor:
            self.undo.append((lsn, rowid, None, row))
            self.undo_lsns.append(lsn)
        self.last_lsn = lsn

    def insert_many(self, lsn: int, rowids: list[int], rows: list[tuple]) -> None:
        """`insert` for many new rows of one record at once (bulk loads)."""
        self.rows.update(zip(rowids, rows))
        for idx in self.indexes.values():
            for rowid, row in zip(rowids, rows):
                idx.add(rowid, row)
        top = max(rowids) + 1
        if top > self.next_rowid:
            self.next_rowid = top
        if lsn >= self.history_floor:
            self.undo.extend(zip(repeat(lsn), rowids, repeat(None), rows))
            self.undo_lsns.extend(repeat(lsn, len(rowids)))
        self.last_lsn = lsn

    def update(self, lsn: int, rowid: int, row: tuple) -> None:
        before = self.rows[rowid]
        self.rows[rowid] = row
        for idx in self.indexes.values():
            idx.replace(rowid, before, row)
        if lsn >= self.history_floor:
            self.undo.append((lsn, rowid, before, row))
            self.undo_lsns.append(lsn)
        self.last_lsn = lsn

    def delete(self, lsn: int, rowid: int) -> None:
        before = self.rows.pop(rowid)
        for idx in self.indexes.values():
            idx.remove(rowid, before)
        if lsn >= self.history_floor:
            self.undo.append((lsn, rowid, before, None))
            self.undo_lsns.append(lsn)
        self.last_lsn = lsn

    def truncate(self, lsn: int) -> None:
        for rowid in list(self.rows):
            self.delete(lsn, rowid)

    def reshape(self, lsn: int, width: int, fill_slot: int | None = None, fill=None) -> None:
        """Widen every row to `width` slots (ADD COLUMN); readers at earlier LSNs ignore the new slots."""
        for rowid, row in self.rows.items():
            if len(row) < width:
                extra = [None] * (width - len(row))
                if fill_slot is not None and fill_slot >= len(row):
                    extra[fill_slot - len(row)] = fill
                self.rows[rowid] = row + tuple(extra)
        self.last_lsn = max(self.last_lsn, lsn)

    def add_index(self, index: IndexDef) -> None:
        """Build an index over the current rows (IndexCreated, or loading a snapshot)."""
        idx = TableIndex(index.index_id, index.columns, index.unique, index.method == "btree")
        idx.build(self.rows)
        self.indexes[index.index_id] = idx

    def prune_history(self, keep_after_lsn: int) -> None:
        """Forget undo entries at or before `keep_after_lsn` (reads before it go elsewhere)."""
        cut = bisect_right(self.undo_lsns, keep_after_lsn)
        if cut:
            del self.undo[:cut]
            del self.undo_lsns[:cut]
            self._overlays.clear()
        self.history_floor = max(self.history_floor, keep_after_lsn)

    # ------------------------------------------------------------ reads

    def has_history_at(self, lsn: int) -> bool:
        """Whether the in-memory history reaches back to `lsn` (always, before any pruning)."""
        return lsn >= self.history_floor or self.history_floor == self.created_lsn

    def overlay(self, lsn: int) -> dict[int, tuple | None]:
        """{rowid: version at `lsn` or ABSENT} for the rows changed after `lsn` (callers must
        not change it). The overlays of the last few points read are kept and extended with
        the changes applied since, so repeated reads at one past point (a loop of key lookups)
        cost one pass over its newer history, not one each."""
        if lsn >= self.last_lsn:
            return {}
        undo = self.undo
        cached = self._overlays.get(lsn)
        if cached is None:
            if len(self._overlays) >= 4:
                del self._overlays[next(iter(self._overlays))]
            cached = self._overlays[lsn] = [bisect_right(self.undo_lsns, lsn), {}, {}]
        start, out, key_maps = cached
        for i in range(start, len(undo)):
            _, rowid, before, _ = undo[i]
            if rowid not in out:
                out[rowid] = before
                if key_maps and before is not None:
                    self._index_version(key_maps, rowid, before)
        cached[0] = len(undo)
        return out

    def _index_version(self, key_maps: dict[int, dict[tuple, list[int]]], rowid: int, row: tuple) -> None:
        for index_id, key_map in key_maps.items():
            idx = self.indexes.get(index_id)
            k = idx.key(row) if idx is not None else None
            if k is not None:
                key_map.setdefault(k, []).append(rowid)

    def _overlay_keys(self, lsn: int, index_id: int) -> dict[tuple, list[int]]:
        """key -> rowids, over the versions in the overlay of `lsn` (call overlay(lsn) first)."""
        key_maps = self._overlays[lsn][2]
        key_map = key_maps.get(index_id)
        if key_map is None:
            key_map = key_maps[index_id] = {}
            single = {index_id: key_map}
            for rowid, row in self._overlays[lsn][1].items():
                if row is not None:
                    self._index_version(single, rowid, row)
        return key_map

    def rows_at(self, lsn: int, own: dict[int, tuple | None] | None = None) -> list[tuple]:
        """Every row visible at `lsn`, with this transaction's own writes `own` on top."""
        ov = self.overlay(lsn)
        if own:
            ov = {**ov, **own} if ov else own
        if not ov:
            return list(self.rows.values())
        out = [r for rid, r in self.rows.items() if rid not in ov]
        out.extend(r for r in ov.values() if r is not None)
        return out

    def items_at(self, lsn: int, own: dict[int, tuple | None] | None = None) -> list[tuple[int, tuple]]:
        """(rowid, row) for every row visible at `lsn`, own writes on top."""
        ov = self.overlay(lsn)
        if own:
            ov = {**ov, **own} if ov else own
        if not ov:
            return list(self.rows.items())
        out = [(rid, r) for rid, r in self.rows.items() if rid not in ov]
        out.extend((rid, r) for rid, r in ov.items() if r is not None)
        return out

    def get_at(self, rowid: int, lsn: int, own: dict[int, tuple | None] | None = None) -> tuple | None:
        if own and rowid in own:
            return own[rowid]
        if lsn >= self.last_lsn:
            return self.rows.get(rowid)
        ov = self.overlay(lsn)
        if rowid in ov:
            return ov[rowid]
        return self.rows.get(rowid)

    def changed_after(self, rowid: int, lsn: int) -> bool:
        """Whether a change to `rowid` was applied after `lsn` (True when history before it is gone)."""
        if lsn >= self.last_lsn:
            return False
        if lsn < self.history_floor:
            return True
        undo = self.undo
        for i in range(len(undo) - 1, bisect_right(self.undo_lsns, lsn) - 1, -1):
            if undo[i][1] == rowid:
                return True
        return False

    def lookup(self, index_id: int, key: tuple, lsn: int,
               own: dict[int, tuple | None] | None = None) -> list[tuple[int, tuple]]:
        """Rows visible at `lsn` whose key on index `index_id` equals `key` (one value per
        index column, none NULL), leaving out the rows in `own` (a transaction's own writes,
        whose own versions it looks up itself)."""
        idx = self.indexes[index_id]
        normal = idx.normalize(key)
        found = idx.rowids(normal)
        rows = self.rows
        if lsn >= self.last_lsn:
            if own:
                return [(rid, rows[rid]) for rid in found if rid not in own]
            return [(rid, rows[rid]) for rid in found]
        ov = self.overlay(lsn)
        out = [(rid, rows[rid]) for rid in found if rid not in ov and not (own and rid in own)]
        for rid in self._overlay_keys(lsn, index_id).get(normal, ()):
            if not (own and rid in own):
                out.append((rid, ov[rid]))
        return out

    def scan(self, index_id: int, search: Search, lsn: int,
             own: dict[int, tuple | None] | None = None) -> tuple[Iterator[tuple[int, tuple]], list[tuple[int, tuple]]]:
        """An index search (`TableIndex.scan`) at `lsn`: (the rows it finds, in key order,
        lazily; candidates). The candidates are the rows the index cannot vouch for — changed
        after `lsn` (their versions at `lsn`), not indexed (a NULL in the key), or own writes
        (`own`, whose rows are the caller's) — for the caller to check against the search
        condition; they are in no order. A search that need not be ordered and would visit
        more than a third of the keys reads the table instead: every row is then a candidate."""
        idx = self.indexes[index_id]
        if not search.ordered and (search.has_lower or search.has_upper) and idx.share(search) > SCAN_SHARE:
            return iter(()), self.items_at(lsn, own)
        ov = self.overlay(lsn)
        skip = {**ov, **own} if own and ov else (own or ov)
        rows = self.rows
        found = idx.scan(search)
        if skip:
            exact = ((rid, rows[rid]) for rid in found if rid not in skip)
        else:
            exact = ((rid, rows[rid]) for rid in found)
        candidates = [(rid, rows[rid]) for rid in idx.unindexed if not (skip and rid in skip)]
        if ov:
            candidates.extend((rid, row) for rid, row in ov.items() if row is not None and not (own and rid in own))
        return exact, candidates

    def changes_at(self, lsn: int) -> list[tuple[int, int, tuple | None, tuple | None]]:
        """Undo entries (lsn, rowid, before, after) of transaction `lsn`, in the order applied
        (complete only if `has_history_at(lsn - 1)`)."""
        return self.undo[bisect_left(self.undo_lsns, lsn):bisect_right(self.undo_lsns, lsn)]

    def versions(self, from_lsn: int = 0) -> Iterable[tuple[int, int, tuple | None, tuple | None]]:
        """Undo entries (lsn, rowid, before, after) with lsn > from_lsn, in LSN order."""
        start = bisect_right(self.undo_lsns, from_lsn)
        return self.undo[start:]
