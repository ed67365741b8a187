"""`MemoryLog`: the `Log` contract held in a Python list, for tests and ephemeral servers.

Role: behaves exactly like `SegmentedLog` as seen through the `Log` protocol (dense LSNs,
the same hash chain and digests, group commit through a writer task, durable-only reads,
the failure contract) but keeps records in memory, so engine tests need no files. It is
checked by the same contract tests (tests/storage/test_storage_log_contract.py).

Invariants: `_records[i]` holds LSN i + 1; records up to `durable_lsn` are "durable"; a
failure injected with `fail_next_flush` behaves like a failed fsync of the next batch.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Iterator

from .log import GroupCommitLog
from .segment import FRAME_HEADER_SIZE, GENESIS_CHAIN, StoredRecord, next_chain

__all__ = ["MemoryLog"]


class MemoryLog(GroupCommitLog):
    """An in-memory `Log`."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[StoredRecord] = []
        self._times: list[int] = []
        self._queued_from = 0  # index of the first record not yet handed to the writer
        self._next_failure: BaseException | None = None

    def fail_next_flush(self, error: BaseException) -> None:
        """Make the next batch fail with `error`, as a failed write or fsync would."""
        self._next_failure = error

    def append(self, commit_time_us: int, payload: bytes) -> int:
        """Queue one record; returns its LSN. Durable only after `wait_durable(lsn)`."""
        payload = bytes(payload)
        self._check_append(commit_time_us, payload)
        lsn = self._last_lsn + 1
        chain = next_chain(self._last_chain, lsn, commit_time_us, payload)
        self._records.append(StoredRecord(lsn, commit_time_us, payload, chain))
        self._times.append(commit_time_us)
        self._appended(lsn, commit_time_us, chain, FRAME_HEADER_SIZE + len(payload))
        return lsn

    def _has_queue(self) -> bool:
        return self._queued_from < len(self._records)

    def _take(self) -> int:
        self._queued_from = len(self._records)
        return self._queued_from

    async def _persist(self, batch: object) -> None:
        await asyncio.sleep(0)  # let appends pile up, as they would during an fsync
        self._persist_here(batch)

    def _persist_here(self, batch: object) -> None:
        error, self._next_failure = self._next_failure, None
        if error is not None:
            raise error

    def chain_at(self, lsn: int) -> bytes:
        """The chain value after record `lsn` (0 <= lsn <= durable_lsn)."""
        if not 0 <= lsn <= self._durable_lsn:
            raise ValueError(f"LSN {lsn} is not a durable record of this log")
        return self._records[lsn - 1].chain if lsn else GENESIS_CHAIN

    def records(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[StoredRecord]:
        """Durable records from `from_lsn` to `to_lsn` (inclusive), in LSN order."""
        lsn = max(from_lsn, 1)
        while lsn <= (self._durable_lsn if to_lsn is None else min(to_lsn, self._durable_lsn)):
            yield self._records[lsn - 1]
            lsn += 1

    def lsn_at_time(self, commit_time_us: int) -> int:
        """The last durable LSN with commit time <= `commit_time_us` (0 if none)."""
        return min(bisect_right(self._times, commit_time_us), self._durable_lsn)
