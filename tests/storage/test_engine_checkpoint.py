"""Snapshots of the derived state: content equals replay, consistency while writes go on.

The property at the heart of recovery: for any history of DDL and DML, the state loaded from
a snapshot at LSN S plus the records after S equals the state from replaying every record,
including the catalog at every LSN (also those before S).
"""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import checkpoint
from engine import events as ev
from engine.checkpoint import SnapshotContentError, StateCapture, describe_difference, load_state
from engine.state import DatabaseState
from engine_histories import History

CHAIN = bytes(range(32))


def replay(transactions: list[ev.Transaction], state: DatabaseState | None = None, upto: int | None = None) -> DatabaseState:
    state = state or DatabaseState()
    for txn in transactions[state.lsn:upto]:
        state.apply(state.lsn + 1, 1_000_000 + state.lsn, _roundtrip(txn))
    return state


def _roundtrip(txn: ev.Transaction) -> ev.Transaction:
    """As the log hands it back: encoded and decoded (apply may consume the values)."""
    return ev.decode_transaction(ev.encode_transaction(txn))


async def collect(capture: StateCapture) -> list[bytes]:
    return [chunk async for chunk in capture.chunks()]


def snapshot_of(state: DatabaseState) -> list[bytes]:
    capture = StateCapture(state, Counter())
    capture.set_chain(CHAIN)
    return asyncio.run(collect(capture))


def assert_same_catalogs(a: DatabaseState, b: DatabaseState, upto: int) -> None:
    for lsn in range(upto + 1):
        ca, cb = a.catalog_at(lsn), b.catalog_at(lsn)
        assert (ca.tables, ca.indexes, ca.sequences, ca.schemas) == (cb.tables, cb.indexes, cb.sequences, cb.schemas), lsn


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), cut=st.floats(0, 1))
def test_snapshot_plus_tail_equals_full_replay(seed, n, cut):
    transactions = list(History(seed).transactions(n))
    full = replay(transactions)
    at = int(cut * n)
    loaded, chain = load_state(snapshot_of(replay(transactions, upto=at)))
    assert chain == CHAIN and loaded.lsn == at and loaded.history_floor == at
    replay(transactions, loaded)
    loaded.build_indexes()          # as recovery does: a loaded state has none until replay is done
    assert describe_difference(loaded, full) is None
    assert describe_difference(full, loaded) is None
    assert_same_catalogs(loaded, full, n)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_indexes_built_after_a_replay_equal_indexes_kept_through_it(seed, n):
    transactions = list(History(seed).transactions(n))
    kept = replay(transactions)
    built = replay(transactions, DatabaseState(indexed=False))
    assert all(not data.indexes for data in built.tables.values())
    built.build_indexes()
    assert describe_difference(built, kept) is None


def test_a_difference_is_described():
    transactions = list(History(7).transactions(40))
    a, b = replay(transactions), replay(transactions)
    table_id, data = next((tid, d) for tid, d in b.tables.items() if d.rows and tid in b.catalog.tables)
    rowid = next(iter(data.rows))
    data.rows[rowid] = (data.rows[rowid][0] + 1,) + data.rows[rowid][1:]
    assert f"row {rowid}" in describe_difference(a, b)
    del data.rows[rowid]
    assert "row ids differ" in describe_difference(a, b)


def test_a_snapshot_is_consistent_while_writes_continue(monkeypatch):
    """Records committed between the chunks (updates, deletes, inserts, DDL, truncation, a
    dropped table) do not leak into a snapshot that was started before them."""
    monkeypatch.setattr(checkpoint, "ROWS_PER_CHUNK", 3)
    history = History(11)
    transactions = list(history.transactions(400))
    state = replay(transactions, upto=150)
    expected = snapshot_of(replay(transactions, upto=150))
    pins: Counter[int] = Counter()
    capture = StateCapture(state, pins)
    capture.set_chain(CHAIN)

    async def interleave() -> list[bytes]:
        chunks = []
        async for chunk in capture.chunks():
            assert pins == {150: 1}
            chunks.append(chunk)
            if state.lsn < len(transactions):
                state.apply(state.lsn + 1, 2_000_000 + state.lsn, _roundtrip(transactions[state.lsn]))
        return chunks

    chunks = asyncio.run(interleave())
    assert not pins, "the pin is released when the snapshot is done"
    assert state.lsn > 200, "writes went on during the snapshot"
    assert len(chunks) > 20
    loaded, _ = load_state(chunks)
    reference, _ = load_state(expected)
    assert describe_difference(loaded, reference) is None


def test_a_capture_that_is_abandoned_releases_its_pin():
    state = replay(list(History(3).transactions(20)))
    pins: Counter[int] = Counter()
    capture = StateCapture(state, pins)
    assert pins[state.lsn] == 1
    capture.release()
    capture.release()
    assert not pins


@pytest.mark.parametrize("damage", ["no chunks", "not a header", "missing end", "rows of an unknown table", "second header"])
def test_content_that_does_not_make_sense_is_refused(damage):
    chunks = snapshot_of(replay(list(History(5).transactions(30))))
    header = chunks[0]
    rows = checkpoint._encode(checkpoint.TableRows(999_999, [1], [[1]]))
    broken = {
        "no chunks": [],
        "not a header": chunks[1:],
        "missing end": chunks[:-1],
        "rows of an unknown table": chunks[:-1] + [rows] + chunks[-1:],
        "second header": chunks[:-1] + [header] + chunks[-1:],
    }[damage]
    with pytest.raises(SnapshotContentError):
        load_state(broken)


def test_dropped_columns_are_not_written():
    """A dropped column's slot is written as NULL: nobody can read it at or after S."""
    history = History(1)
    transactions = list(history.transactions(3))
    while not any(isinstance(e, ev.ColumnDropped) for t in transactions for e in t.events):
        transactions.extend(history.transactions(1))
    state = replay(transactions)
    loaded, _ = load_state(snapshot_of(state))
    for table_id, table in state.catalog.tables.items():
        live = {c.slot for c in table.columns}
        for row in loaded.tables[table_id].rows.values():
            assert all(v is None for slot, v in enumerate(row) if slot not in live)
    assert describe_difference(loaded, state) is None
