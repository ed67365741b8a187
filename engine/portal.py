"""Portals: statements bound to parameters and being read, a batch or a few rows at a time.

PostgreSQL keeps protocol portals (Bind/Execute) and SQL cursors (DECLARE/FETCH) in one
namespace per session, and so do we: `Session.portals` maps a name to a `Portal`; the
unnamed portal ("") is the protocol's scratch portal, replaced by every Bind. A portal is
opened lazily (its statement runs at the first Execute or FETCH; DECLARE opens at once, so
the cursor reads the snapshot of its DECLARE) and then read with `take(limit)`, which yields
row batches of at most `limit` rows in all and keeps the remainder of a batch for the next
call, so an Execute with a row limit (PortalSuspended) or a FETCH resumes exactly where the
previous one stopped.

Invariants: `position` counts the rows handed out so far (PostgreSQL's portalPos); a
scrollable cursor (`DECLARE ... SCROLL`) materializes its rows on the first read, so it can
move in both directions; a cursor declared with neither SCROLL nor NO SCROLL keeps the rows
it handed out and materializes the rest when first asked to move backward (PostgreSQL
allows that too); NO SCROLL cursors and protocol portals read forward only. Portals die with their
transaction (`Session` drops them at COMMIT, ROLLBACK and the end of an implicit
transaction) unless holdable (`WITH HOLD`), which are materialized before the commit.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from engine.errors import SqlError

if TYPE_CHECKING:
    from engine.session import Cursor, Prepared


class Portal:
    __slots__ = ("name", "prepared", "params", "formats", "cursor", "pending", "position", "exhausted",
                 "ran", "holdable", "held", "scroll", "binary", "rows", "history")

    def __init__(self, name: str, prepared: Prepared, params: tuple, formats: tuple[int, ...] = (), *,
                 holdable: bool = False, scroll: bool | None = False, binary: bool = False) -> None:
        self.name = name
        self.prepared = prepared
        self.params = params
        self.formats = formats                 # result format codes as the client asked for them
        self.cursor: Cursor | None = None      # set once the statement ran
        self.pending: list = []                # rows of a batch not handed out yet
        self.position = 0
        self.exhausted = False                 # no rows are left
        self.ran = False                       # a command (not a query) already ran to completion
        self.holdable = holdable
        self.held = False                      # a WITH HOLD cursor whose transaction committed
        self.scroll = bool(scroll)
        self.history: list | None = [] if scroll is None else None   # rows handed out, to scroll back
        self.binary = binary                   # DECLARE ... BINARY: FETCH answers in binary
        self.rows: list | None = None          # all rows, once materialized (scroll, WITH HOLD)

    @property
    def columns(self):
        if self.cursor is not None:
            return self.cursor.columns
        return self.prepared.columns

    def take(self, limit: int = 0) -> Iterator[list]:
        """Yield the next row batches, `limit` rows in all at most (0 = every remaining row)."""
        if self.rows is not None:
            end = len(self.rows) if not limit else min(len(self.rows), self.position + limit)
            if end > self.position:
                batch = self.rows[self.position:end]
                self.position = end
                yield batch
            self.exhausted = self.position >= len(self.rows)
            return
        remaining = limit
        if self.pending:
            batch = self.pending
            self.pending = []
            if limit and len(batch) > remaining:
                self.pending = batch[remaining:]
                batch = batch[:remaining]
            remaining -= len(batch)
            yield self._handed_out(batch)
            if limit and remaining <= 0:
                return
        batches = self.cursor.batches if self.cursor is not None else None
        if batches is None or self.exhausted:
            self.exhausted = True
            return
        for batch in batches:
            if not batch:
                yield batch         # a blocking operator's tick: the reader may yield to other sessions
                continue
            if limit and len(batch) >= remaining:
                if len(batch) > remaining:
                    self.pending = batch[remaining:]
                    batch = batch[:remaining]
                yield self._handed_out(batch)
                return
            remaining -= len(batch)
            yield self._handed_out(batch)
        self.exhausted = True

    def _handed_out(self, batch: list) -> list:
        self.position += len(batch)
        if self.history is not None:
            self.history.extend(batch)
        return batch

    def materialize(self) -> None:
        """Read every remaining row into memory (before the transaction ends, or to scroll).
        Rows already handed out are kept only by cursors that may scroll back (`history`);
        a forward-only portal never reads them again."""
        if self.rows is not None:
            return
        before, past_end = self.position, self.exhausted     # a read ran off the end: after the last row
        rows: list = self.history if self.history is not None else [None] * before
        self.history = None
        for batch in self.take(0):
            rows.extend(batch)
        self.rows = rows
        self.position = len(rows) + 1 if past_end else before

    def fetch(self, how: str, count: int | None) -> list:
        """The rows of FETCH/MOVE `how` (forward, backward, absolute, relative) `count`."""
        if how == "forward" and count == 0:
            how = "relative"
        if not self.scroll and (how == "backward" or (how == "absolute" and (count or 0) <= self.position)
                                or (how == "relative" and (count or 0) <= 0)):
            if self.history is None:
                raise SqlError("55000", "cursor can only scan forward",
                               hint="Declare it with SCROLL option to enable backward scan.")
            self.scroll = True
        if self.scroll:
            self.materialize()
            return self._fetch_materialized(how, count)
        if how == "forward":
            return [row for batch in self.take(count or 0) for row in batch]
        skip = (count - self.position - 1) if how == "absolute" else count - 1
        for _ in self.take(skip) if skip > 0 else ():
            pass
        return [row for batch in self.take(1) for row in batch]

    def _fetch_materialized(self, how: str, count: int | None) -> list:
        """Scrolling over materialized rows; `position` as in PostgreSQL: 0 before the first
        row, k on row k, len + 1 after the last."""
        rows = self.rows
        assert rows is not None
        total = len(rows)
        if how == "forward":
            out = rows[self.position:] if count is None else rows[self.position:self.position + count]
            self.position = total + 1 if count is None or len(out) < count else self.position + count
            return out
        if how == "backward":
            start = min(self.position, total + 1) - 2
            stop = -1 if count is None else max(-1, start - count)
            out = [rows[i] for i in range(start, stop, -1)]
            self.position = 0 if count is None or len(out) < count else self.position - count
            return out
        if how == "absolute":
            target = count if count >= 0 else total + count + 1
        else:
            target = self.position + count
        if target <= 0:
            self.position = 0
            return []
        if target > total:
            self.position = total + 1
            return []
        self.position = target
        return [rows[target - 1]]
