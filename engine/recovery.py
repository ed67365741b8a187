"""Recovery: rebuilding the state of a data directory at startup.

Data flow: the opened log (which already truncated a torn tail and refused damage
elsewhere) and the snapshot store -> the newest intact snapshot whose LSN the log covers
and whose chain value matches the log's at that LSN (`checkpoint.load_state`) -> every
record after it, decoded and applied with `DatabaseState.apply_all` a read buffer's worth at
a time -> the state at the log's last LSN -> its indexes, built once over the final rows
(`DatabaseState.build_indexes`; cheaper than keeping them up to date through the replay).

A snapshot that fails its checksums, does not decode, or does not match the log is set
aside (`.corrupt`, logged) and the next older one is tried; with none left, replay starts
from the first record. Snapshots are only a shortcut: the log alone always suffices.

Row history (undo entries) is recorded only for the last `history_window` transactions of
the replay; older ones are applied without it, which saves time and memory.

Long recoveries report progress (`RecoveryProgress`: records and events replayed, rate,
percent, time left) on the `rewinddb.recovery` logger every few seconds; the progress
object can be read from another thread (the server serves /health from its event loop
while recovery runs in a worker thread).
"""
from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, field
from operator import itemgetter

import msgspec

from engine import events as ev
from engine.checkpoint import SnapshotContentError, load_state
from engine.state import ApplyError, DatabaseState
from engine.storage.log import SegmentedLog
from engine.storage.segment import FRAME_HEADER_SIZE
from engine.storage.snapshot import SnapshotCorruption, SnapshotInfo, SnapshotStore

log = logging.getLogger("rewinddb.recovery")
_LSN_OF, _TIME_OF = itemgetter(2), itemgetter(3)      # of a frame header

REPORT_EVERY = 5.0          # seconds between progress lines


class RecoveryError(Exception):
    """A record the state cannot take (a bug or an incompatible log): refuse to start."""


@dataclass(slots=True)
class RecoveryProgress:
    """How far recovery is; written by the recovering thread, readable from any other."""
    phase: str = "starting"           # starting, loading snapshot, replaying, building indexes, done
    snapshot_lsn: int = 0
    start_lsn: int = 0                # the first record to replay
    target_lsn: int = 0               # the log's last record
    replayed_lsn: int = 0
    events: int = 0
    started: float = field(default_factory=time.monotonic)
    replay_started: float = 0.0

    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def fraction(self) -> float:
        total = self.target_lsn - self.start_lsn + 1
        if total <= 0:
            return 1.0
        return max(0.0, min(1.0, (self.replayed_lsn - self.start_lsn + 1) / total))

    @property
    def events_per_second(self) -> float:
        elapsed = time.monotonic() - self.replay_started if self.replay_started else 0.0
        return self.events / elapsed if elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        elapsed = time.monotonic() - self.replay_started if self.replay_started else 0.0
        done = self.replayed_lsn - self.start_lsn + 1
        if elapsed <= 0 or done <= 0:
            return None
        return (self.target_lsn - self.replayed_lsn) * elapsed / done


@dataclass(frozen=True, slots=True)
class Recovered:
    """What recovery produced and what it took."""
    state: DatabaseState
    snapshot: SnapshotInfo | None
    tail_records: int
    tail_events: int
    tail_bytes: int                   # log bytes replayed after the snapshot (framing included)
    seconds: float


def recover(storage: SegmentedLog, snapshots: SnapshotStore, *, history_window: int,
            progress: RecoveryProgress | None = None) -> Recovered:
    """The state at the log's last LSN: newest usable snapshot plus the records after it."""
    progress = progress or RecoveryProgress()
    progress.started = time.monotonic()
    was_enabled = gc.isenabled()
    gc.disable()            # millions of new objects, none of them garbage: skip the scans
    try:
        progress.phase = "loading snapshot"
        state, snapshot = _newest_usable_snapshot(storage, snapshots)
        progress.snapshot_lsn = state.lsn
        state.set_history_floor(max(state.history_floor, storage.last_lsn - history_window))
        progress.phase = "replaying"
        records, tail_bytes = _replay(storage, state, progress)
        progress.phase = "building indexes"
        state.build_indexes()
    finally:
        if was_enabled:
            gc.enable()
    progress.phase = "done"
    seconds = time.monotonic() - progress.started
    if snapshot is not None or records:
        log.info("recovered to LSN %d in %.2fs: %s, then replayed %d records (%d events, %.0f events/s)",
                 state.lsn, seconds, f"snapshot at LSN {snapshot.lsn}" if snapshot else "no snapshot",
                 records, progress.events, progress.events_per_second)
    return Recovered(state, snapshot, records, progress.events, tail_bytes, seconds)


def _newest_usable_snapshot(storage: SegmentedLog, snapshots: SnapshotStore) -> tuple[DatabaseState, SnapshotInfo | None]:
    while True:
        opened = snapshots.open_newest_valid(storage.last_lsn)
        if opened is None:
            return DatabaseState(indexed=False), None
        info, chunks = opened
        started = time.monotonic()
        try:
            state, chain = load_state(chunks)
        except (SnapshotCorruption, SnapshotContentError) as exc:
            snapshots.set_aside(info, str(exc))
            continue
        if state.lsn != info.lsn:
            snapshots.set_aside(info, f"its content is as of LSN {state.lsn}, its header says {info.lsn}")
        elif storage.chain_at(info.lsn) != chain:
            snapshots.set_aside(info, f"it does not match the log: the chain values after LSN {info.lsn} differ")
        else:
            log.info("loaded snapshot %s (LSN %d, %d bytes) in %.2fs", info.path, info.lsn, info.size,
                     time.monotonic() - started)
            return state, info


def _replay(storage: SegmentedLog, state: DatabaseState, progress: RecoveryProgress) -> tuple[int, int]:
    """Apply every record after the state's LSN, a read buffer's worth at a time; returns
    (records, bytes) replayed."""
    progress.start_lsn = state.lsn + 1
    progress.target_lsn = storage.last_lsn
    progress.replayed_lsn = state.lsn
    progress.replay_started = time.monotonic()
    decode = ev.decode_transaction
    records = payload_bytes = 0
    events_before = state.events_applied
    next_report = progress.replay_started + REPORT_EVERY
    try:
        for headers, payloads in storage.record_batches(state.lsn + 1):
            # decoded lazily, one record after another is applied: a record that does not
            # decode or apply leaves the state right before it
            state.apply_all(zip(map(_LSN_OF, headers), map(_TIME_OF, headers), map(decode, payloads)))
            records += len(headers)
            payload_bytes += sum(map(len, payloads))
            progress.replayed_lsn, progress.events = state.lsn, state.events_applied - events_before
            if time.monotonic() >= next_report:
                next_report += REPORT_EVERY
                _report(progress)
    except (ApplyError, msgspec.DecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
        lsn = state.lsn + 1
        raise RecoveryError(f"record {lsn} cannot be applied ({type(exc).__name__}: {exc}); "
                            f"see `rewinddb verify` and `rewinddb log --from {lsn}`") from exc
    progress.replayed_lsn = state.lsn
    return records, payload_bytes + records * FRAME_HEADER_SIZE


def _report(progress: RecoveryProgress) -> None:
    left = progress.seconds_left
    log.info("recovery: replayed %d of %d records (%.0f%%), %d events at %.0f events/s, about %s left",
             progress.replayed_lsn - progress.start_lsn + 1, progress.target_lsn - progress.start_lsn + 1,
             100 * progress.fraction, progress.events, progress.events_per_second,
             "?" if left is None else f"{left:.0f}s")
