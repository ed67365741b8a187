"""Time travel past the in-memory history window: reads older than the window are served
from the nearest snapshot kept as a checkpoint plus replay (AS OF, rewind.changes,
rewind.diff), and a table's whole history from a replay of the log (ALL) — with exactly
the answers the full history gives. The server runs with a 3-transaction window and is
restarted, so recovery loads a snapshot and keeps almost no row history in memory."""
from __future__ import annotations

import psycopg

from tests.conftest import RunningServer


def test_reads_older_than_the_window_are_rebuilt_from_checkpoints(tmp_path):
    server = RunningServer(tmp_path / "data", ("--history-window", "3", "--checkpoint-spacing", "1",
                                               "--snapshots-kept", "1")).start()
    try:
        model: dict[int, dict[int, str]] = {}           # lsn -> the table's rows after it
        rows: dict[int, str] = {}
        versions = []                                    # (id, v, _tx, _op) in order
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE w (id int PRIMARY KEY, v text)")
            for i in range(1, 31):
                if i % 3 == 0 and i - 2 in rows:
                    conn.execute("DELETE FROM w WHERE id = %s", (i - 2,))
                    versions.append((i - 2, rows.pop(i - 2), "delete"))
                elif i % 3 == 1 and rows:
                    key = min(rows)
                    conn.execute("UPDATE w SET v = %s WHERE id = %s", (f"u{i}", key))
                    rows[key] = f"u{i}"
                    versions.append((key, f"u{i}", "update"))
                else:
                    conn.execute("INSERT INTO w VALUES (%s, %s)", (i, f"v{i}"))
                    rows[i] = f"v{i}"
                    versions.append((i, f"v{i}", "insert"))
                lsn = conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0]
                versions[-1] = versions[-1] + (lsn,)
                model[lsn] = dict(rows)
                if i % 7 == 0:
                    conn.execute("CHECKPOINT")
        server.restart()
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            for lsn, expected in model.items():
                got = conn.execute("SELECT id, v FROM w FOR SYSTEM_TIME AS OF TRANSACTION %s ORDER BY id", (lsn,)).fetchall()
                assert got == sorted(expected.items()), lsn
                if expected:
                    key = min(expected)
                    got = conn.execute("SELECT v FROM w FOR SYSTEM_TIME AS OF TRANSACTION %s WHERE id = %s", (lsn, key)).fetchall()
                    assert got == [(expected[key],)], lsn
            history = conn.execute("SELECT id, v, _op, _tx FROM w FOR SYSTEM_TIME ALL ORDER BY _tx, id").fetchall()
            assert history == [(i, v, op, tx) for i, v, op, tx in versions]
            changes = conn.execute("SELECT lsn, op, key->>'id', before->>'v', after->>'v' FROM rewind.changes "
                                   "WHERE table_name = 'public.w' ORDER BY lsn").fetchall()
            assert [(lsn, op) for lsn, op, *_ in changes] == [(tx, op) for _, _, op, tx in versions]
            first, later = min(model), min(model) + 12
            diff = conn.execute("SELECT change, key->>'id' FROM rewind.diff('w', %s, %s) ORDER BY 2::int",
                                (first, later)).fetchall()
            before, after = model[first], model[later]
            expected = sorted([("added", str(k)) for k in after.keys() - before.keys()] +
                              [("removed", str(k)) for k in before.keys() - after.keys()] +
                              [("changed", str(k)) for k in before.keys() & after.keys() if before[k] != after[k]],
                              key=lambda r: int(r[1]))
            assert diff == expected
    finally:
        server.kill()


def test_index_searches_of_rebuilt_states_agree_with_scans(tmp_path):
    """A state rebuilt for a point outside the window builds an index when a search first
    uses it (with the state, or later on the cached state) and keeps it up to date while
    later points replay it forward: every key and value looked up through the primary key
    and a secondary index, at every point in order, agrees with a scan at that point —
    rows inserted, updated (the key too) and deleted after the state was rebuilt included."""
    server = RunningServer(tmp_path / "data", ("--history-window", "3", "--checkpoint-spacing", "1",
                                               "--snapshots-kept", "1")).start()
    try:
        points = []
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE k (id int PRIMARY KEY, v text)")
            conn.execute("CREATE INDEX k_v ON k (v)")
            for i in range(1, 41):
                if i % 4 == 0:
                    conn.execute("DELETE FROM k WHERE id = %s", (i - 3,))
                elif i % 4 == 1 and i > 1:
                    conn.execute("UPDATE k SET id = id + 100, v = %s WHERE id = %s", (f"m{i}", i - 2))
                elif i % 4 == 2 and i > 2:
                    conn.execute("UPDATE k SET v = %s WHERE id = %s", (f"u{i}", i - 1))
                else:
                    conn.execute("INSERT INTO k VALUES (%s, %s)", (i, f"v{i}"))
                points.append(conn.execute("SELECT max(lsn) FROM rewind.transactions").fetchone()[0])
                if i == 12:
                    conn.execute("CHECKPOINT")
            conn.execute("CHECKPOINT")
            plan = "\n".join(r[0] for r in conn.execute(
                f"EXPLAIN SELECT v FROM k FOR SYSTEM_TIME AS OF TRANSACTION {points[0]} WHERE id = 1"))
            assert "Index Scan" in plan, plan
            plan = "\n".join(r[0] for r in conn.execute(
                f"EXPLAIN SELECT id FROM k FOR SYSTEM_TIME AS OF TRANSACTION {points[0]} WHERE v = 'v1'"))
            assert "Index Scan" in plan, plan
        server.restart()
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            keys = sorted({r[0] for r in conn.execute("SELECT id FROM k FOR SYSTEM_TIME ALL")})
            values = sorted({r[0] for r in conn.execute("SELECT v FROM k FOR SYSTEM_TIME ALL")})
            for lsn in points[12:]:
                rows = dict(conn.execute(f"SELECT id, v FROM k FOR SYSTEM_TIME AS OF TRANSACTION {lsn}").fetchall())
                for key in keys:
                    got = conn.execute(f"SELECT v FROM k FOR SYSTEM_TIME AS OF TRANSACTION {lsn} WHERE id = %s",
                                       (key,)).fetchall()
                    assert got == ([(rows[key],)] if key in rows else []), (lsn, key)
                for value in values:
                    got = conn.execute(f"SELECT id FROM k FOR SYSTEM_TIME AS OF TRANSACTION {lsn} WHERE v = %s",
                                       (value,)).fetchall()
                    assert got == [(k,) for k, v in rows.items() if v == value], (lsn, value)
                got = conn.execute(f"SELECT id FROM k FOR SYSTEM_TIME AS OF TRANSACTION {lsn} "
                                   "WHERE id BETWEEN 5 AND 120 ORDER BY id").fetchall()
                assert got == [(k,) for k in sorted(rows) if 5 <= k <= 120], lsn
    finally:
        server.kill()
