"""Property: for random histories, `FOR SYSTEM_TIME AS OF TRANSACTION n` shows exactly the
state of a fresh database fed the log's first n records — through DDL (tables dropped and
created again), TRUNCATE, snapshots taken along the way, and a history window so small
that most points are rebuilt from checkpoints. `FOR SYSTEM_TIME ALL` has one row per row
event the table ever had.

In-process (a real Database on a temporary directory and a Session), so that hypothesis
can try many histories quickly.
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import events as ev
from engine.database import Database, StorageConfig
from engine.session import Session
from engine.state import DatabaseState

TABLES = ("p", "q")

operations = st.lists(st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(TABLES), st.integers(0, 6), st.text("ab'", max_size=3)),
    st.tuples(st.just("update"), st.sampled_from(TABLES), st.integers(0, 6), st.text("ab'", max_size=3)),
    st.tuples(st.just("delete"), st.sampled_from(TABLES), st.integers(0, 6)),
    st.tuples(st.just("truncate"), st.sampled_from(TABLES)),
    st.tuples(st.just("recreate"), st.sampled_from(TABLES)),
    st.tuples(st.just("checkpoint"),),
    st.tuples(st.just("prune"),),
), min_size=1, max_size=30)


async def run(session: Session, sql: str) -> list[tuple]:
    prepared, params = session.prepare_simple(sql)
    cursor = await session.execute(prepared, params)
    out = [r for batch in (cursor.batches or []) for r in batch]
    await session.end_implicit()
    return out


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def state_after(db: Database, n: int) -> DatabaseState:
    state = DatabaseState()
    for record in db.log.records(1, n):
        state.apply(record.lsn, record.commit_time_us, ev.decode_transaction(record.payload))
    return state


def visible(state: DatabaseState, name: str) -> list[tuple] | None:
    found = state.catalog.relation(name, "public", ("public",))
    if found is None:
        return None
    table = state.catalog.tables[found[1]]
    return sorted(tuple(row[c.slot] for c in table.columns) for row in state.tables[table.table_id].rows.values())


async def scenario(directory: str, ops: list[tuple]) -> None:
    config = StorageConfig(history_window=2, checkpoint_spacing=1, snapshots_kept=1)
    db = Database.open(directory, config)
    await db.start()
    try:
        session = Session(db)
        for name in TABLES:
            await run(session, f"CREATE TABLE {name} (k int PRIMARY KEY, v text, n int)")
        present: dict[str, set[int]] = {name: set() for name in TABLES}
        for op in ops:
            kind = op[0]
            if kind == "insert" and op[2] not in present[op[1]]:
                await run(session, f"INSERT INTO {op[1]} VALUES ({op[2]}, {literal(op[3])}, {len(op[3])})")
                present[op[1]].add(op[2])
            elif kind == "update":
                await run(session, f"UPDATE {op[1]} SET v = {literal(op[3])}, n = n + 1 WHERE k = {op[2]}")
            elif kind == "delete":
                await run(session, f"DELETE FROM {op[1]} WHERE k = {op[2]}")
                present[op[1]].discard(op[2])
            elif kind == "truncate":
                await run(session, f"TRUNCATE {op[1]}")
                present[op[1]].clear()
            elif kind == "recreate":
                await run(session, f"DROP TABLE {op[1]}")
                await run(session, f"CREATE TABLE {op[1]} (k int PRIMARY KEY, v text, n int)")
                present[op[1]].clear()
            elif kind == "checkpoint":
                await run(session, "CHECKPOINT")
            else:
                db.checkpointer.prune_history()
        db.checkpointer.prune_history()
        last = db.state.lsn
        for n in range(0, last + 1):
            expected = state_after(db, n)
            for name in TABLES:
                want = visible(expected, name)
                sql = f"SELECT k, v, n FROM {name} FOR SYSTEM_TIME AS OF TRANSACTION {n}"
                if want is None:
                    try:
                        await run(session, sql)
                    except Exception as e:               # the table did not exist at n: 42P01
                        assert getattr(e, "sqlstate", None) == "42P01", e
                        session._rollback()
                        continue
                    raise AssertionError(f"{name} should not exist at {n}")
                assert sorted(await run(session, sql)) == want, (name, n)
        everything = state_after(db, last)          # a full replay keeps every row change (TRUNCATE: one per row)
        for name in TABLES:
            table_id = everything.catalog.relation(name, "public", ("public",))[1]
            (count,) = (await run(session, f"SELECT count(*) FROM {name} FOR SYSTEM_TIME ALL"))[0]
            assert count == len(everything.tables[table_id].undo), name
        session.close()
    finally:
        await db.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_as_of_equals_a_fresh_database_fed_the_first_n_records(ops):
    directory = tempfile.mkdtemp(prefix="rewinddb-prop-")
    try:
        asyncio.run(scenario(directory, ops))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
