"""Server logs: the slow-statement log (text and JSON), no secrets, the events that matter."""
from __future__ import annotations

import json

import psycopg

from server.logs import redact
from tests.conftest import RunningServer


def test_every_statement_is_logged_with_its_duration_and_passwords_masked(tmp_path):
    server = RunningServer(tmp_path / "data", ("--log-min-duration-statement", "0", "--log-format", "json")).start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE ROLE app LOGIN PASSWORD 'hunter2'")
            conn.execute("SELECT 42")
    finally:
        assert server.stop() == 0
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    statements = [line for line in lines if line["logger"] == "rewinddb.statement"]
    by_text = {line["message"].split("statement: ", 1)[1]: line for line in statements}
    assert "SELECT 42" in by_text
    assert by_text["SELECT 42"]["command"] == "SELECT" and by_text["SELECT 42"]["duration_ms"] >= 0
    assert "CREATE ROLE app LOGIN PASSWORD '********'" in by_text
    assert "hunter2" not in server.log()
    messages = [line["message"] for line in lines]
    assert messages[0].startswith("starting rewinddb on data directory")
    assert any(m.startswith("rewinddb ready to accept connections") for m in messages)
    assert messages[-2:] == ["shutting down", "stopped"]


def test_only_slow_statements_are_logged_by_default_threshold(tmp_path):
    server = RunningServer(tmp_path / "data", ("--log-min-duration-statement", "60000")).start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("SELECT 1")
    finally:
        server.stop()
    assert "duration:" not in server.log()


def test_redact_masks_every_password_literal():
    assert redact("ALTER ROLE a PASSWORD 'x''y' VALID UNTIL 'infinity'") == \
        "ALTER ROLE a PASSWORD '********' VALID UNTIL 'infinity'"
    assert redact("create user b with password E'p\\\\w'") == "create user b with password '********'"
    assert redact("SELECT 'password'") == "SELECT 'password'"
