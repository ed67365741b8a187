"""The date/time values Python's datetime lacks ('infinity', '-infinity' as date, timestamp and
timestamptz; time '24:00:00') are stored, replayed and restored from a snapshot as they were
written, and travel through the binary protocol and binary COPY as PostgreSQL sends them.

The storage forms are numbers no real value can have (INT32/INT64 max and min, 86,400,000,000
microseconds), so rows written before these values existed decode as before: the unit test
here pins the finite forms. Checked against the real server with psycopg and asyncpg."""
from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import psycopg

from engine.events import storage_value, value_from_storage
from engine.types import DATE, END_OF_DAY, INFINITY, MINUS_INFINITY, TIME, TIMESTAMP, TIMESTAMPTZ, UTC, array_of

SETUP = [
    "CREATE TABLE span (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz, t time, ds date[], ts_list timestamp[],"
    " ts_list_tz timestamptz[], ts_times time[])",
    "INSERT INTO span VALUES (1, 'infinity', '-infinity', 'infinity', '24:00', '{infinity,2024-01-01,-infinity}',"
    " '{-infinity,infinity}', '{infinity}', '{24:00,00:00}')",
    "INSERT INTO span VALUES (2, '-infinity', 'infinity', '-infinity', '23:59:59.999999', NULL, NULL, NULL, NULL)",
    "INSERT INTO span VALUES (3, '2024-02-29', '2024-02-29 12:00', '2024-02-29 12:00+00', '00:00', '{}', '{}', '{}', '{}')",
    "CREATE INDEX span_d ON span (d)",
    "CREATE TABLE moved (id int PRIMARY KEY, d date)",
    "INSERT INTO moved VALUES (1, 'infinity'), (2, '2024-01-01')",
    "ALTER TABLE moved ALTER COLUMN d TYPE timestamptz",
    "ALTER TABLE moved ADD COLUMN until timestamp NOT NULL DEFAULT 'infinity'",
    "UPDATE span SET ts = ts + interval '1 day' WHERE id = 3",
]

CHECKS = [
    "SELECT id, d::text, ts::text, tz::text, t::text, ds::text, ts_list::text, ts_list_tz::text, ts_times::text"
    " FROM span ORDER BY id",
    "SELECT id FROM span ORDER BY d",
    "SELECT id FROM span WHERE d = 'infinity' OR t = '24:00'",
    "SELECT id FROM span WHERE d > '2000-01-01' ORDER BY d",
    "SELECT id, d::text, until::text FROM moved ORDER BY id",
    "SELECT isfinite(d), isfinite(ts), t > '23:59:59' FROM span ORDER BY id",
]

AFTER_CHECKPOINT = [
    "INSERT INTO span (id, d, ts, tz, t) VALUES (4, '-infinity', 'infinity', 'infinity', '24:00:00')",
    "UPDATE span SET t = '24:00' WHERE id = 2",
]


def _run(dsn: str, statements: list[str]) -> list:
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for sql in statements:
            cur = conn.execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
    return out


def test_special_values_survive_replay_and_snapshot(fresh_server):
    _run(fresh_server.dsn, SETUP)
    before = _run(fresh_server.dsn, CHECKS)
    assert before[0][0] == (1, "infinity", "-infinity", "infinity", "24:00:00", "{infinity,2024-01-01,-infinity}",
                            "{-infinity,infinity}", "{infinity}", "{24:00:00,00:00:00}")
    assert before[1] == [(2,), (3,), (1,)]
    assert before[4] == [(1, "infinity", "infinity"), (2, "2024-01-01 00:00:00+00", "infinity")]

    fresh_server.restart()                                  # every record replayed
    assert _run(fresh_server.dsn, CHECKS) == before

    _run(fresh_server.dsn, ["CHECKPOINT"])                  # a snapshot holding the special values
    _run(fresh_server.dsn, AFTER_CHECKPOINT)                # and a tail after it
    expected = _run(fresh_server.dsn, CHECKS)
    assert expected[0][3][:5] == (4, "-infinity", "infinity", "infinity", "24:00:00")
    assert expected[0][1][4] == "24:00:00"
    snapshots = list((fresh_server.data_dir / "snapshots").iterdir())
    assert snapshots
    fresh_server.restart()                                  # snapshot + tail
    assert "snapshot at LSN" in fresh_server.log()
    assert _run(fresh_server.dsn, CHECKS) == expected


def test_binary_protocol_and_binary_copy(server):
    """asyncpg reads and sends PostgreSQL's binary infinities as datetime.max/min and
    date.max/min; binary COPY (copy_records_to_table) stores them."""
    async def scenario() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres")
        try:
            row = await conn.fetchrow("SELECT 'infinity'::date a, '-infinity'::timestamp b, 'infinity'::timestamptz c,"
                                      " '{infinity,2020-01-01}'::date[] d")
            assert row["a"] == dt.date.max and row["b"] == dt.datetime.min
            assert row["c"] == dt.datetime.max          # asyncpg gives infinity naive, as from PostgreSQL
            assert row["d"] == [dt.date.max, dt.date(2020, 1, 1)]
            sent = await conn.fetchrow("SELECT $1::date::text a, $2::timestamp::text b, $3::timestamptz::text c,"
                                       " $4::date[]::text d, $1::date = 'infinity' e",
                                       dt.date.max, dt.datetime.min, dt.datetime.max.replace(tzinfo=dt.timezone.utc),
                                       [dt.date.min, dt.date(2020, 1, 1)])
            assert tuple(sent) == ("infinity", "-infinity", "infinity", "{-infinity,2020-01-01}", True)
            await conn.execute("CREATE TABLE bin_copy (d date, ts timestamp, tz timestamptz, t time)")
            await conn.copy_records_to_table("bin_copy", records=[
                (dt.date.max, dt.datetime.min, dt.datetime.min.replace(tzinfo=dt.timezone.utc), dt.time(1))])
            copied = await conn.fetchrow("SELECT d::text, ts::text, tz::text, t::text FROM bin_copy")
            assert tuple(copied) == ("infinity", "-infinity", "-infinity", "01:00:00")
        finally:
            await conn.close()
    asyncio.run(scenario())


def test_psycopg_binary_results_and_text_copy(server):
    """The binary result forms are PostgreSQL's: Int64/Int32 max and min, 24:00:00 as
    86,400,000,000 microseconds; COPY text reads and writes the PostgreSQL spellings."""
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        raw = conn.pgconn.exec_params(
            b"SELECT 'infinity'::timestamp, '-infinity'::date, '24:00'::time, '-infinity'::timestamptz", [], result_format=1)
        assert [raw.get_value(0, i) for i in range(4)] == [
            (2**63 - 1).to_bytes(8, "big", signed=True), (-2**31).to_bytes(4, "big", signed=True),
            (86_400_000_000).to_bytes(8, "big"), (-2**63).to_bytes(8, "big", signed=True)]
        conn.execute("CREATE TABLE text_copy (d date, ts timestamptz, t time)")
        with conn.cursor().copy("COPY text_copy FROM STDIN") as copy:
            copy.write("infinity\t-infinity\t24:00\n-Infinity\tINFINITY\t24:00:00\n")
        out = b""
        with conn.cursor().copy("COPY text_copy TO STDOUT") as copy:
            for chunk in copy:
                out += bytes(chunk)
        assert out == b"infinity\t-infinity\t24:00:00\n-infinity\tinfinity\t24:00:00\n"


def test_storage_forms_of_finite_values_are_unchanged():
    """Logs are forever: the forms old records hold still decode to the same values, and the
    special values use numbers no finite value can have."""
    assert storage_value(DATE, dt.date(2024, 2, 29)) == dt.date(2024, 2, 29).toordinal()
    assert storage_value(TIMESTAMP, dt.datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000
    assert storage_value(TIMESTAMPTZ, dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)) == -1_000_000
    assert storage_value(TIME, dt.time(23, 59, 59, 999999)) == 86_399_999_999
    for t, value, stored in ((DATE, INFINITY, 2**31 - 1), (DATE, MINUS_INFINITY, -2**31),
                             (TIMESTAMP, INFINITY, 2**63 - 1), (TIMESTAMPTZ, MINUS_INFINITY, -2**63),
                             (TIME, END_OF_DAY, 86_400_000_000)):
        assert storage_value(t, value) == stored
        assert value_from_storage(t, stored) is value
    for t, value in ((DATE, dt.date(1, 1, 1)), (DATE, dt.date(9999, 12, 31)), (TIMESTAMP, dt.datetime(9999, 12, 31, 23, 59)),
                     (TIMESTAMPTZ, dt.datetime(1, 1, 1, tzinfo=UTC)), (TIME, dt.time(0))):
        assert value_from_storage(t, storage_value(t, value)) == value
    dates = array_of(DATE)
    grid = ((INFINITY, None), (dt.date(2020, 1, 1), MINUS_INFINITY))
    assert value_from_storage(dates, storage_value(dates, grid)) == grid
