"""Checkpoints: the derived state as of one LSN, written to a snapshot file and read back.

Role: a snapshot lets a restart skip replaying the log up to its LSN. `StateCapture`
turns a live `DatabaseState` into the chunks `storage.snapshot.SnapshotStore` writes;
`load_state` turns them back into a `DatabaseState`; `describe_difference` compares two
states (recovery tests and `rewinddb verify` check a snapshot against a replay with it).

Content, one msgspec-msgpack chunk each (docs/log-format.md, "Snapshot content"):
    SnapshotHeader   LSN S, commit time, the log's chain value after S, the catalog's whole
                     history as the schema events that made it (so the schema at LSNs
                     before S stays known), sequences, and per table its row-id counter
    TableRows ...    row ids and rows (storage form, `events.RowCodec` of the table at S)
                     of the tables that exist at S, a few hundred rows per chunk
    SnapshotEnd      how many tables and rows were written

Consistency while writes continue: the capture fixes everything small (catalog history,
sequences, row-id counters) synchronously at S = the state's LSN, then walks each table's
rows in chunks, yielding to the event loop between chunks. Commits after S only add undo
entries after S, so the version of a row at S is its undo entry's `before` if it changed
after S, else its current row. The capture holds a pin on S (`pins`) so history pruning
keeps those undo entries until it is done. Rows of dropped tables, row history before S and
the per-LSN commit times and users (`state.TransactionIndex`) are not written: a state
loaded from a snapshot has `history_floor` S and knows commit times from S + 1 on (the log's
time index has the earlier ones).
"""
from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Union

import msgspec

from engine import events as ev
from engine.catalog.model import TableDef
from engine.events import RowCodec
from engine.state import DatabaseState, TransactionIndex
from engine.storage.snapshot import SnapshotInfo
from engine.txn.versions import TableData

if TYPE_CHECKING:
    from engine.database import Database
    from engine.recovery import Recovered

log = logging.getLogger("rewinddb.checkpoint")

SNAPSHOT_FORMAT = 1
ROWS_PER_CHUNK = 512   # one chunk is one step on the event loop: ~0.2 ms for 1M-row pgbench accounts


class SchemaChange(msgspec.Struct, frozen=True, array_like=True):
    """The schema events of transaction `lsn`."""
    lsn: int
    events: list[ev.AnyEvent]


class SequenceState(msgspec.Struct, frozen=True, array_like=True):
    seq_id: int
    value: int
    is_called: bool


class TableCounter(msgspec.Struct, frozen=True, array_like=True):
    table_id: int
    next_rowid: int


class SnapshotHeader(msgspec.Struct, frozen=True, tag="header", array_like=True):
    format: int
    lsn: int
    commit_time_us: int
    chain: bytes                         # the log's chain value after `lsn`
    schema_changes: list[SchemaChange]
    sequences: list[SequenceState]
    tables: list[TableCounter]           # the tables that exist at `lsn`


class TableRows(msgspec.Struct, frozen=True, tag="rows", array_like=True):
    table_id: int
    rowids: list[int]
    rows: list[list[Any]]                # storage form, as RowInserted.values


class SnapshotEnd(msgspec.Struct, frozen=True, tag="end", array_like=True):
    tables: int
    rows: int


Chunk = Union[SnapshotHeader, TableRows, SnapshotEnd]

_encode = msgspec.msgpack.Encoder().encode
_decode_chunk = msgspec.msgpack.Decoder(Chunk).decode


class SnapshotContentError(Exception):
    """A snapshot whose checksums are fine but whose content does not make sense."""


class StateCapture:
    """The state as of its LSN right now, to be written out while writes continue.

    Construct it synchronously (that fixes S and the small parts), then iterate `chunks()`
    on the event loop; `pins[S]` is held from construction until `chunks()` finishes or
    `release()` is called."""

    def __init__(self, state: DatabaseState, pins: Counter[int]) -> None:
        self.lsn = state.lsn
        self.commit_time_us = state.commit_time_us
        self.rows = 0
        self._pins = pins
        pins[self.lsn] += 1
        self._pinned = True
        catalog = state.catalog
        self._tables: list[tuple[TableDef, TableData]] = [
            (table, state.tables[tid]) for tid, table in sorted(catalog.tables.items())]
        self._header = SnapshotHeader(
            SNAPSHOT_FORMAT, self.lsn, self.commit_time_us, b"",
            [SchemaChange(lsn, events) for lsn, events in state.schema_changes],
            [SequenceState(seq_id, value, called) for seq_id, (value, called) in sorted(state.sequences.items())
             if seq_id in catalog.sequences],
            [TableCounter(table.table_id, data.next_rowid) for table, data in self._tables])

    def set_chain(self, chain: bytes) -> None:
        """The log's chain value after S (known once S is durable); needed before `chunks()`."""
        self._header = msgspec.structs.replace(self._header, chain=chain)

    def release(self) -> None:
        if self._pinned:
            self._pinned = False
            self._pins[self.lsn] -= 1
            if not self._pins[self.lsn]:
                del self._pins[self.lsn]

    async def chunks(self) -> AsyncIterator[bytes]:
        """The snapshot's chunks, yielding to the event loop after each."""
        try:
            yield _encode(self._header)
            for table, data in self._tables:
                encode = _live_encoder(table)
                for rows in _rows_at(data, self.lsn, table.width):
                    await asyncio.sleep(0)
                    self.rows += len(rows)
                    yield _encode(TableRows(table.table_id, [rowid for rowid, _ in rows],
                                            [encode(row) for _, row in rows]))
            yield _encode(SnapshotEnd(len(self._tables), self.rows))
        finally:
            self.release()


def _live_encoder(table: TableDef) -> Callable[[tuple], list]:
    """row -> storage form, with NULL in the slots of dropped columns (nobody reads them)."""
    encode = RowCodec(table).encode
    live = {c.slot for c in table.columns}
    dropped = [slot for slot in range(table.width) if slot not in live]
    if not dropped:
        return encode

    def encode_live(row: tuple) -> list:
        values = encode(row)
        for slot in dropped:
            values[slot] = None
        return values
    return encode_live


def _rows_at(data: TableData, lsn: int, width: int) -> Iterable[list[tuple[int, tuple]]]:
    """(rowid, row at `lsn`, cut or padded to `width`) in chunks; safe across commits
    between chunks as long as the undo entries after `lsn` are kept."""
    undo, undo_lsns, rows = data.undo, data.undo_lsns, data.rows
    at_lsn: dict[int, tuple | None] = {}     # rowid -> version at lsn, for rows changed since
    seen = 0                                 # undo entries after lsn folded into at_lsn

    def catch_up() -> None:
        nonlocal seen
        start = bisect_right(undo_lsns, lsn)
        for i in range(start + seen, len(undo)):
            _, rowid, before, _ = undo[i]
            if rowid not in at_lsn:
                at_lsn[rowid] = before
        seen = len(undo) - start

    catch_up()
    rowids = list(rows)
    rowids.extend(rowid for rowid, row in at_lsn.items() if row is not None and rowid not in rows)
    for start in range(0, len(rowids), ROWS_PER_CHUNK):
        catch_up()
        out = []
        for rowid in rowids[start:start + ROWS_PER_CHUNK]:
            row = at_lsn[rowid] if rowid in at_lsn else rows[rowid]
            if row is not None:
                if len(row) != width:
                    row = row[:width] if len(row) > width else row + (None,) * (width - len(row))
                out.append((rowid, row))
        if out:
            yield out


def load_state(chunks: Iterable[bytes]) -> tuple[DatabaseState, bytes]:
    """The state a snapshot holds, and the log chain value it was taken after. The state
    has no indexes yet (see `DatabaseState.build_indexes`): callers replay after it first.

    Raises SnapshotContentError if the content is not a complete snapshot."""
    it = iter(chunks)
    try:
        header = _decode_chunk(next(it))
    except (StopIteration, msgspec.DecodeError) as exc:
        raise SnapshotContentError(f"no readable header: {exc}") from exc
    if not isinstance(header, SnapshotHeader) or header.format != SNAPSHOT_FORMAT:
        raise SnapshotContentError("the first chunk is not a snapshot header of a known format")
    state = DatabaseState(indexed=False)
    state.restore_catalog_history([(change.lsn, change.events) for change in header.schema_changes])
    catalog = state.catalog
    state.lsn = header.lsn
    state.commit_time_us = header.commit_time_us
    state.history_floor = header.lsn
    state.transactions = TransactionIndex(header.lsn + 1)
    state.sequences = {s.seq_id: (s.value, s.is_called) for s in header.sequences}
    created = {event.table.table_id: change.lsn for change in header.schema_changes
               for event in change.events if isinstance(event, ev.TableCreated)}
    decoders = {}
    for counter in header.tables:
        table = catalog.tables.get(counter.table_id)
        if table is None:
            raise SnapshotContentError(f"table {counter.table_id} is not in the catalog at LSN {header.lsn}")
        # created_lsn tells readers the history back to creation is complete; it is not for
        # a table created at S itself, whose rows inserted at S have no undo entries here
        created_lsn = created.get(counter.table_id, 0)
        data = state.tables[counter.table_id] = TableData(counter.table_id, 0 if created_lsn == header.lsn else created_lsn)
        data.history_floor = data.last_lsn = header.lsn
        data.next_rowid = counter.next_rowid
        codec = state.codecs[counter.table_id] = RowCodec(table)
        decoders[counter.table_id] = (data.rows, codec.decode)
    rows = 0
    end = None
    try:
        for raw in it:
            chunk = _decode_chunk(raw)
            if type(chunk) is TableRows:
                target, decode = decoders[chunk.table_id]
                for rowid, values in zip(chunk.rowids, chunk.rows):
                    target[rowid] = decode(values)
                rows += len(chunk.rowids)
            elif type(chunk) is SnapshotEnd:
                end = chunk
            else:
                raise SnapshotContentError("a second header")
    except msgspec.DecodeError as exc:
        raise SnapshotContentError(f"undecodable chunk: {exc}") from exc
    except KeyError as exc:
        raise SnapshotContentError(f"rows of table {exc} which the header does not list") from exc
    if end is None or end.rows != rows or end.tables != len(header.tables):
        raise SnapshotContentError(f"incomplete: {rows} rows read, the end marker says {end}")
    return state, header.chain


def describe_difference(a: DatabaseState, b: DatabaseState) -> str | None:
    """None if `a` and `b` hold the same database (same LSN, catalog history, sequences,
    tables and rows, row-id counters far enough along); else the first difference found.

    Row-id counters only need to be past every row id used: live transactions allocate
    ids that a rollback leaves unused, so a snapshot's counter may be ahead of a replay's."""
    if a.lsn != b.lsn:
        return f"LSN {a.lsn} != {b.lsn}"
    if a.schema_changes != b.schema_changes:
        for (la, ea), (lb, eb) in zip(a.schema_changes, b.schema_changes):
            if (la, ea) != (lb, eb):
                return f"catalog history differs at LSN {min(la, lb)}"
        return f"catalog history has {len(a.schema_changes)} changes, not {len(b.schema_changes)}"
    live = set(a.catalog.tables)
    sequences_a = {k: v for k, v in a.sequences.items() if k in a.catalog.sequences}
    sequences_b = {k: v for k, v in b.sequences.items() if k in b.catalog.sequences}
    if sequences_a != sequences_b:
        return f"sequences differ: {sequences_a} != {sequences_b}"
    for table_id in sorted(live):
        table = a.catalog.tables[table_id]
        if table_id not in a.tables or table_id not in b.tables:
            return f"table {table.name} ({table_id}) has no rows on one side"
        da, db = a.tables[table_id], b.tables[table_id]
        encode = _live_encoder(table)
        if da.rows.keys() != db.rows.keys():
            missing = sorted(da.rows.keys() ^ db.rows.keys())[:5]
            return f"table {table.name} ({table_id}): row ids differ, e.g. {missing}"
        for rowid, row in da.rows.items():
            if _encode(encode(row)) != _encode(encode(db.rows[rowid])):
                return f"table {table.name} ({table_id}): row {rowid} is {row} on one side, {db.rows[rowid]} on the other"
        used = max(da.rows, default=0)
        if min(da.next_rowid, db.next_rowid) <= used:
            return f"table {table.name} ({table_id}): row-id counter {min(da.next_rowid, db.next_rowid)} is not past row {used}"
        if da.indexes.keys() != db.indexes.keys() or any(
                da.indexes[i].entries != db.indexes[i].entries or da.indexes[i].unindexed != db.indexes[i].unindexed
                for i in da.indexes):
            return f"table {table.name} ({table_id}): indexes differ"
    return None


class Checkpointer:
    """When to take snapshots, taking them, and keeping row history within its window.

    A background task (`run`) looks every second: when at least `snapshot_interval`
    seconds passed since the last snapshot and the log grew by max(`snapshot_log_bytes`,
    the last snapshot's size) bytes or by `snapshot_events` events since, it takes one
    (`take`). `CHECKPOINT` and `rewinddb snapshot` call `take` directly. Snapshots are
    taken one at a time; after each, all but the newest `snapshots_kept` are deleted.
    A failed snapshot is logged and tried again later: snapshots are derived data, the
    log is untouched by them.

    The same task moves the state's history floor to `history_window` transactions
    behind the newest, but never past a pinned LSN (a snapshot being written) or the
    read point of an open transaction.

    Counters for monitoring: `last_lsn`, `last_taken_at` (wall clock, seconds), `last_bytes`,
    `last_seconds`, `taken`, `failures`, `in_progress`.
    """

    def __init__(self, db: Database, recovered: Recovered) -> None:
        self._db = db
        self.config = db.storage_config
        self.pins: Counter[int] = Counter()
        self.in_progress: StateCapture | None = None
        self._lock = asyncio.Lock()
        self.taken = 0
        self.failures = 0
        self.last_seconds = 0.0
        snapshot = recovered.snapshot
        self.last_lsn = snapshot.lsn if snapshot else 0
        self.last_bytes = snapshot.size if snapshot else 0
        self.last_taken_at = snapshot.commit_time_us / 1e6 if snapshot else 0.0
        self._log_bytes_at_last = db.log.record_bytes - recovered.tail_bytes
        self._events_at_last = db.state.events_applied - recovered.tail_events
        self._last_attempt = time.monotonic() - self.config.snapshot_interval

    def due(self) -> bool:
        """Whether the triggers call for a snapshot now."""
        config = self.config
        if time.monotonic() - self._last_attempt < config.snapshot_interval:
            return False
        grown = self._db.log.record_bytes - self._log_bytes_at_last
        events = self._db.state.events_applied - self._events_at_last
        return grown >= max(config.snapshot_log_bytes, self.last_bytes) or events >= config.snapshot_events

    async def take(self) -> SnapshotInfo | None:
        """Snapshot the state as of now (after any snapshot in progress); None when the
        newest snapshot is already as of the current LSN."""
        wanted = self._db.state.lsn
        async with self._lock:
            if wanted <= self.last_lsn or self._db.state.lsn == 0:
                return None
            return await self._take()

    async def _take(self) -> SnapshotInfo:
        db = self._db
        self._last_attempt = started = time.monotonic()
        log_bytes, events = db.log.record_bytes, db.state.events_applied
        capture = StateCapture(db.state, self.pins)
        self.in_progress = capture
        try:
            await db.log.wait_durable(capture.lsn)
            capture.set_chain(db.log.chain_at(capture.lsn))
            info = await db.snapshots.write(capture.lsn, capture.commit_time_us, capture.chunks())
            removed = await asyncio.to_thread(db.snapshots.prune, self.config.snapshots_kept,
                                              self.config.checkpoint_spacing)
        except BaseException:
            self.failures += 1
            raise
        finally:
            capture.release()
            self.in_progress = None
        self.taken += 1
        self.last_lsn, self.last_bytes = info.lsn, info.size
        self.last_taken_at = time.time()
        self.last_seconds = time.monotonic() - started
        self._log_bytes_at_last, self._events_at_last = log_bytes, events
        log.info("snapshot at LSN %d written in %.2fs (%d rows, %d bytes)%s", info.lsn, self.last_seconds,
                 capture.rows, info.size, f"; removed {len(removed)} older" if removed else "")
        return info

    async def run(self) -> None:
        """The background loop (see the class docstring); cancel it to stop."""
        while True:
            await asyncio.sleep(1.0)
            try:
                self.prune_history()
                self._db.past.rebuilt.expire()
                if self.due() and not self._lock.locked():
                    await self.take()
            except asyncio.CancelledError:
                raise
            except OSError as exc:
                log.error("taking a snapshot failed (the log is unaffected; trying again later): %s", exc)
            except Exception:
                log.exception("the checkpointer failed (the log is unaffected; trying again later)")

    def prune_history(self) -> None:
        state = self._db.state
        floor = state.lsn - self.config.history_window
        if self.pins:
            floor = min(floor, min(self.pins))
        floor = min(floor, self._db.oldest_read_lsn())
        if floor > state.history_floor:
            state.set_history_floor(floor)
