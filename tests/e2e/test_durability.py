"""Durability end to end: the real server, real clients, real files, real crashes.

- A SIGKILL loop over concurrent multi-table transactions with an ok/fail/unknown ledger
  (tests/support/ledger.py), with background snapshots and segment rolls happening.
- A flipped byte in the middle of the log: the server refuses to start and names file and
  offset; `rewinddb verify` points at the same place.
- A flipped byte in a snapshot: the server sets it aside and falls back to the previous one.
- A write that fails (the file-size limit of the process, set with prlimit): every pending
  commit fails, the server exits non-zero, nothing acknowledged is lost.
- The tools: CHECKPOINT, `rewinddb snapshot`, `rewinddb verify [--digest]`, `rewinddb log`.

REWINDDB_KILL_ROUNDS sets the number of SIGKILL rounds (default 5; bench/kill_loop.py runs 20).
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from engine.storage.files import OsFileLayer
from engine.storage.segment import SEGMENT_HEADER_SIZE, FrameReader
from tests.conftest import ROOT, RunningServer
from tests.support.ledger import Ledger, create_schema, run_writers

ROUNDS = int(os.environ.get("REWINDDB_KILL_ROUNDS", "5"))
SMALL = ("--segment-size", "256KiB", "--snapshot-log-bytes", "64KiB", "--snapshot-interval", "0")


def rewinddb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def frames(path: Path) -> list[tuple[int, int, int]]:
    """(lsn, offset, end) of the records of a segment file."""
    handle = OsFileLayer().open(str(path))
    try:
        reader = FrameReader(handle, SEGMENT_HEADER_SIZE, handle.size())
        return [(r.lsn, reader.pos, reader.pos + 61 + len(r.payload)) for r in reader]
    finally:
        handle.close()


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def fill(server: RunningServer, rows: int, per_transaction: int = 1) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)")
        for first in range(0, rows, per_transaction):
            keys = range(first, min(rows, first + per_transaction))
            conn.execute("INSERT INTO kv VALUES " + ", ".join("(%s, %s)" for _ in keys),
                         [x for i in keys for x in (i, f"value {i} " + "x" * 200)])


def count(server: RunningServer) -> int:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM kv").fetchone()[0]


def test_sigkill_loop_loses_nothing_acknowledged(tmp_path):
    server = RunningServer(tmp_path / "data", SMALL).start()
    create_schema(server.dsn)
    ledger = Ledger()
    rng = random.Random(1234)
    try:
        for round_ in range(ROUNDS):
            def kill_soon(delay: float = rng.uniform(0.3, 1.2)) -> None:
                time.sleep(delay)
                if round_ % 2:
                    with psycopg.connect(server.dsn, autocommit=True) as conn:
                        conn.execute("CHECKPOINT")
                server.kill()
            run_writers(server.dsn, ledger, writers=4, seconds=30, seed=round_, during=[kill_soon])
            server.start()
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                ledger.check(conn)
    finally:
        if server.proc is not None:
            server.kill()
    counts = ledger.counts()
    assert counts["ok"] > 20 * ROUNDS and counts["fail"] > 0, counts
    assert "snapshot at LSN" in server.log(), "background snapshots ran during the loop"
    assert "loaded snapshot" in server.log(), "restarts recovered from snapshots"
    assert rewinddb("verify", "--data-dir", str(server.data_dir)).returncode == 0


@pytest.mark.parametrize("where", ["sealed segment", "last segment"])
def test_a_flipped_byte_in_the_middle_of_the_log_refuses_to_start(tmp_path, where):
    server = RunningServer(tmp_path / "data", ("--segment-size", "64KiB")).start()
    fill(server, 600, per_transaction=10)
    assert server.stop() == 0
    segments = sorted((server.data_dir / "log").glob("*.seg"))
    assert len(segments) >= 3
    target = segments[1] if where == "sealed segment" else segments[-1]
    records = frames(target)
    lsn, offset, end = records[len(records) // 2]
    flip(target, (offset + end) // 2)
    with pytest.raises(RuntimeError) as refused:
        server.start()
    message = str(refused.value)
    assert "server exited with 1" in message
    assert str(target) in message and re.search(r"offset \d+", message), message
    verify = rewinddb("verify", "--data-dir", str(server.data_dir))
    assert verify.returncode == 1
    assert f"PROBLEM: {target}: offset {offset}" in verify.stdout, verify.stdout


def test_a_flipped_byte_in_a_snapshot_falls_back_to_the_previous_one(tmp_path):
    server = RunningServer(tmp_path / "data").start()
    fill(server, 50)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        conn.execute("INSERT INTO kv VALUES (1000, 'between')")
        assert conn.execute("CHECKPOINT").statusmessage == "CHECKPOINT"
        conn.execute("INSERT INTO kv VALUES (1001, 'after')")
    assert server.stop() == 0
    older, newer = sorted((server.data_dir / "snapshots").glob("*.snap"))
    flip(newer, newer.stat().st_size // 2)
    server.start()
    assert count(server) == 52
    assert f"snapshot {newer} is damaged" in server.log()
    assert f"loaded snapshot {older}" in server.log()
    assert (newer.parent / (newer.name + ".corrupt")).exists()
    server.kill()


def test_a_failed_log_write_stops_the_server_and_acknowledges_nothing_after(tmp_path):
    """The process may not write files beyond 1 MiB (prlimit), segments are 256 KiB: a
    transaction bigger than that gets a segment of its own and its write fails (EFBIG)."""
    limited = RunningServer(tmp_path / "data", ("--segment-size", "256KiB"),
                            prefix=("prlimit", f"--fsize={1 << 20}"))
    limited.start()
    create_schema(limited.dsn)
    ledger = Ledger()

    def big_transaction() -> None:
        time.sleep(0.5)
        with psycopg.connect(limited.dsn) as conn:
            conn.execute("CREATE TABLE blobs (v text)")
            conn.commit()
            with pytest.raises(psycopg.Error):
                conn.execute("INSERT INTO blobs VALUES (%s)", ("x" * (1200 << 10),))
                conn.commit()

    run_writers(limited.dsn, ledger, writers=3, seconds=30, during=[big_transaction])
    assert limited.proc.wait(30) == 1
    assert "the log failed" in limited.log()
    limited.proc = None
    counts = ledger.counts()
    assert counts["ok"] > 10, counts
    server = RunningServer(tmp_path / "data", ("--segment-size", "256KiB")).start()
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        ledger.check(conn)
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0
    server.kill()


def test_synchronous_commit_off_as_a_server_setting(tmp_path):
    server = RunningServer(tmp_path / "data", ("--synchronous-commit", "off")).start()
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
        conn.execute("SET synchronous_commit = on")
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    create_schema(server.dsn)
    ledger = Ledger()

    def kill_soon() -> None:
        time.sleep(0.8)
        server.kill()

    run_writers(server.dsn, ledger, writers=4, seconds=30, during=[kill_soon])
    server.start()
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        ledger.check(conn, synchronous=False)   # the last commits may be lost, never half of one
    server.kill()


def test_snapshot_verify_and_log_tools(tmp_path):
    server = RunningServer(tmp_path / "data").start()
    fill(server, 20)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("UPDATE kv SET v = 'changed' WHERE k = 3")
        conn.execute("DELETE FROM kv WHERE k = 4")
    with psycopg.connect(server.dsn, autocommit=True, application_name="tools-test") as conn:
        conn.execute("CREATE TABLE other (x int)")
        conn.execute("INSERT INTO other VALUES (1)")
    busy = rewinddb("snapshot", "--data-dir", str(server.data_dir))
    assert busy.returncode == 1 and "in use" in busy.stderr
    live = rewinddb("verify", "--data-dir", str(server.data_dir))
    assert live.returncode == 0 and "records:   25" in live.stdout, live.stdout
    assert server.stop() == 0

    made = rewinddb("snapshot", "--data-dir", str(server.data_dir))
    assert made.returncode == 0 and "snapshot at LSN 25" in made.stdout, made.stdout + made.stderr
    again = rewinddb("snapshot", "--data-dir", str(server.data_dir))
    assert again.returncode == 0 and "already as of LSN 25" in again.stdout

    verify = rewinddb("verify", "--data-dir", str(server.data_dir))
    assert verify.returncode == 0, verify.stdout
    out = verify.stdout
    assert "records:   25" in out and "segments:  1" in out and "last:      LSN 25 at 20" in out
    assert "ok: snapshot 00000000000000000025.snap: LSN 25: equal to a replay" in out
    digest = re.search(r"digest:\s+([0-9a-f]{64})", out).group(1)
    assert rewinddb("verify", "--data-dir", str(server.data_dir), "--digest", digest, "--lsn", "25").returncode == 0
    wrong = rewinddb("verify", "--data-dir", str(server.data_dir), "--digest", "ab" * 32, "--lsn", "25")
    assert wrong.returncode == 1 and "MISMATCH" in wrong.stdout

    log = rewinddb("log", "--data-dir", str(server.data_dir), "--from", "22")
    assert log.returncode == 0
    lines = log.stdout.splitlines()
    assert lines[0].startswith("LSN 22  20") and "postgres" in lines[0]
    assert lines[1].startswith('  RowUpdated public.kv rowid=4 {"k": 3, "v": "changed"}')
    as_json = [json.loads(line) for line in rewinddb("log", "--data-dir", str(server.data_dir), "--json",
                                                     "--table", "other").stdout.splitlines()]
    assert [entry["lsn"] for entry in as_json] == [24, 25]
    assert as_json[1]["events"] == [{"type": "RowInserted", "table": "public.other", "rowid": 1, "values": {"x": 1}}]
    assert {k: as_json[1][k] for k in ("user", "application_name", "client_addr")} == {
        "user": "postgres", "application_name": "tools-test", "client_addr": "127.0.0.1"}, "who committed it"
    assert as_json[0]["events"][0]["definition"]["name"] == "other"

    server.start()
    assert "loaded snapshot" in server.log() and count(server) == 19
    server.kill()


def test_a_restart_without_snapshot_replays_the_whole_log(tmp_path):
    server = RunningServer(tmp_path / "data").start()
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (k int PRIMARY KEY, v text)")
        for chunk in range(4):
            with conn.cursor().copy("COPY big FROM STDIN") as copy:
                for i in range(5000):
                    copy.write_row((chunk * 5000 + i, "v"))
    assert server.stop() == 0
    server.start()
    assert re.search(r"recovered to LSN 5 in [\d.]+s: no snapshot, then replayed 5 records \(20002 events",
                     server.log()), server.log()[-2000:]
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == 20_000
    server.kill()
