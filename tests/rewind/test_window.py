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
