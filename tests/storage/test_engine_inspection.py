"""`verify_database` (log + snapshots against replay) and `read_entries` (the `rewinddb log`
view), on real data directories written through the engine."""
from __future__ import annotations

import fcntl
import os

import msgspec

from engine import checkpoint
from engine import events as ev
from engine.database import Database, StorageConfig
from engine.inspection import read_entries, verify_database
from engine.session import Session
from engine.state import DatabaseState

CONFIG = StorageConfig(segment_size=1024)


async def run(session: Session, *statements: str) -> None:
    for sql in statements:
        prepared, params = session.prepare_simple(sql)
        await session.execute(prepared, params)
        await session.end_implicit()


async def make(tmp_path) -> Database:
    db = Database.open(tmp_path / "data", CONFIG)
    await db.start()
    session = Session(db)
    await run(session, "CREATE TABLE t (id int PRIMARY KEY, v text)")
    for i in range(30):
        await run(session, f"INSERT INTO t VALUES ({i}, 'row {i}')")
    await db.checkpoint()
    await run(session, "UPDATE t SET v = 'new' WHERE id = 1", "DELETE FROM t WHERE id = 2")
    await db.checkpoint()
    return db


async def test_a_clean_directory_verifies_with_every_snapshot_checked(tmp_path):
    db = await make(tmp_path)
    await db.close()
    report = verify_database(tmp_path / "data")
    assert report.ok and report.records == 33 and len(report.segments) > 1
    assert [c.name for c in report.checks] == [f"snapshot {n:020d}.snap" for n in (31, 33)]
    assert all(c.ok and "equal to a replay" in c.detail for c in report.checks)


async def test_a_snapshot_whose_content_differs_from_the_replay_fails_verification(tmp_path, monkeypatch):
    db = await make(tmp_path)
    session = Session(db)
    await run(session, "INSERT INTO t VALUES (100, 'x')")
    original = checkpoint._rows_at

    def tampered(data, lsn, width):          # a snapshot writer bug: one row comes out wrong
        for rows in original(data, lsn, width):
            yield [(rowid, row[:1] + ("tampered",) + row[2:]) for rowid, row in rows]
    monkeypatch.setattr(checkpoint, "_rows_at", tampered)
    info = await db.checkpoint()
    await db.close()
    report = verify_database(tmp_path / "data")
    assert not report.ok and report.problem is None
    bad = [c for c in report.checks if not c.ok]
    assert [c.name for c in bad] == [f"snapshot {info.path.name}"]
    assert "differs from a replay of the log to LSN 34" in bad[0].detail and "tampered" in bad[0].detail


async def test_a_torn_tail_is_a_problem_unless_a_server_is_writing_it(tmp_path):
    db = await make(tmp_path)
    await db.close()
    last = sorted((tmp_path / "data" / "log").glob("*.seg"))[-1]
    size = last.stat().st_size
    with open(last, "r+b") as f:            # half a frame after the last record: a write in flight
        data = f.read()
        end = len(data.rstrip(b"\0"))
        f.seek(end)
        f.write(b"\x40\x00\x00\x00\x12")
    assert last.stat().st_size == size
    report = verify_database(tmp_path / "data")
    assert not report.ok and "torn tail" in report.problem and report.problem_offset == end
    fd = os.open(tmp_path / "data" / "LOCK", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)      # as a running server holds it
        report = verify_database(tmp_path / "data")
    finally:
        os.close(fd)
    assert report.ok and any(c.name == "log tail" and "server is writing" in c.detail for c in report.checks)


async def commit(db: Database, *events: ev.Event) -> None:
    """One record with these events, as Database.commit writes it (for DDL the SQL layer
    does not offer yet)."""
    payload = ev.encode_transaction(ev.Transaction("postgres", "tests", "", None, list(events)))
    lsn = db.log.append(db.state.commit_time_us + 1, payload)
    db.state.apply(lsn, db.state.commit_time_us + 1, ev.decode_transaction(payload))
    await db.log.wait_durable(lsn)


async def test_log_entries_name_tables_as_of_each_record(tmp_path):
    db = Database.open(tmp_path / "data", CONFIG)
    await db.start()
    session = Session(db)
    await run(session, "CREATE TABLE a (id int, amount numeric, at timestamptz)",
              "INSERT INTO a VALUES (1, 2.50, '2026-01-02 03:04:05+00')")
    table_id = next(iter(db.state.catalog.tables))
    await commit(db, ev.TableRenamed(table_id, "b"))
    await run(session, "INSERT INTO b VALUES (2, NULL, NULL)", "DROP TABLE b")
    await db.close()
    entries = list(read_entries(tmp_path / "data"))
    assert [e.lsn for e in entries] == [1, 2, 3, 4, 5]
    inserted = entries[1].events[0]
    assert (inserted.kind, inserted.table, inserted.rowid) == ("RowInserted", "public.a", 1)
    assert inserted.values == {"id": 1, "amount": "2.50", "at": "2026-01-02T03:04:05+00:00"}
    assert entries[3].events[0].table == "public.b"
    assert (entries[4].events[0].kind, entries[4].events[0].table) == ("TableDropped", "public.b")
    only_a = list(read_entries(tmp_path / "data", table="a"))
    assert [e.lsn for e in only_a] == [1, 2, 3]       # created, inserted into, renamed away
    assert [e.lsn for e in read_entries(tmp_path / "data", from_lsn=4)] == [4, 5]
    as_json = msgspec.json.decode(msgspec.json.encode(entries[0].to_json()))
    assert as_json["events"][0]["definition"]["name"] == "a" and as_json["user"] == "postgres"


def test_describe_difference_ignores_nothing_that_matters():
    a, b = DatabaseState(), DatabaseState()
    assert checkpoint.describe_difference(a, b) is None
    b.apply(1, 1, ev.Transaction("u", "", "", None, [ev.SchemaCreated("s")]))
    assert "LSN" in checkpoint.describe_difference(a, b)
