"""`rewinddb backup` while the server runs and writes; the copy opens as a data directory."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import psycopg

from tests.conftest import ROOT, RunningServer


def run_backup(data_dir, destination) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", "backup", "--data-dir", str(data_dir), str(destination)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=300)


def test_backup_during_writes_is_a_clean_prefix(tmp_path):
    server = RunningServer(tmp_path / "data", ("--segment-size", "256k")).start()
    stop = threading.Event()
    committed: list[int] = []

    def write() -> None:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            i = 0
            while not stop.is_set() and i < 20000:
                i += 1
                conn.execute("INSERT INTO b VALUES (%s, %s)", (i, "x" * 200))
                committed.append(i)

    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE b (id int PRIMARY KEY, pad text)")
            for i in range(-600, 0):
                conn.execute("INSERT INTO b VALUES (%s, %s)", (i, "before" * 100))
        writer = threading.Thread(target=write)
        writer.start()
        while len(committed) < 200:
            writer.join(0.01)
        result = run_backup(tmp_path / "data", tmp_path / "copy")
        stop.set()
        writer.join()
    finally:
        stop.set()
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "backup of" in result.stderr and "complete" in result.stderr
    assert len([n for n in os.listdir(tmp_path / "copy" / "log") if n.endswith(".seg")]) > 1
    restored = RunningServer(tmp_path / "copy").start()
    try:
        with psycopg.connect(restored.dsn) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM b WHERE id > 0 ORDER BY id")]
            assert conn.execute("SELECT count(*) FROM b WHERE id < 0").fetchone() == (600,)
    finally:
        restored.stop()
    assert ids == list(range(1, len(ids) + 1))          # a prefix: no gap, nothing half-applied
    assert 200 <= len(ids) <= len(committed)


def test_backup_refuses_a_non_empty_destination_and_a_missing_log(tmp_path):
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "file").write_text("x")
    result = run_backup(tmp_path / "nothing", tmp_path / "dest")
    assert result.returncode == 1 and "not empty" in result.stderr
    result = run_backup(tmp_path / "nothing", tmp_path / "other")
    assert result.returncode == 1 and "cannot read" in result.stderr
