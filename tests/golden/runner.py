"""Run a golden case file against a server and capture what PostgreSQL clients would see.

A case file (`cases/<topic>.sql`) is a sequence of statements. Each one is sent on its own
with libpq's simple query protocol (psycopg's `pgconn.exec_`), on one connection, so
transactions and session settings carry over from statement to statement. For each
statement we keep the command tag, the column names and type OIDs (compared as "user-defined"
from 16384 up: a table's row type has a different oid in rewinddb), and every value exactly
as the server sent it in text format; for an error, its SQLSTATE and message; and the
notifications (LISTEN/NOTIFY) that arrived with its answer, as channel, payload and whether
this session sent it.

`record.py` writes these results, taken from a real PostgreSQL 15, into `expected/<topic>.json`;
`test_golden.py` runs the same files against rewinddb and compares.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
from psycopg import pq

from engine.sql.parser import split_statements

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"
KNOWN_FAILURES = HERE / "known_failures.txt"

_ORDER_BY = re.compile(r"\border\s+by\b", re.I)


def statements(case: Path) -> list[str]:
    return [text.strip() for text, _ in split_statements(case.read_text())]


def run_case(dsn: str, case: Path) -> list[dict]:
    results = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        pgconn = conn.pgconn
        for sql in statements(case):
            res = pgconn.exec_(sql.encode())
            result = _result(sql, res)
            notifications = []
            while (n := pgconn.notifies()) is not None:
                notifications.append([n.relname.decode(), n.extra.decode(), n.be_pid == pgconn.backend_pid])
            if notifications:
                result["notifications"] = notifications
            results.append(result)
    return results


def _result(sql: str, res: pq.PGresult) -> dict:
    out: dict = {"sql": sql}
    status = res.status
    if status == pq.ExecStatus.FATAL_ERROR:
        out["error"] = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        out["message"] = (res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
        return out
    out["tag"] = (res.command_status or b"").decode()
    if status == pq.ExecStatus.TUPLES_OK:
        out["columns"] = [[res.fname(i).decode(), res.ftype(i)] for i in range(res.nfields)]
        out["rows"] = [[None if (v := res.get_value(r, c)) is None else v.decode() for c in range(res.nfields)]
                       for r in range(res.ntuples)]
        out["ordered"] = bool(_ORDER_BY.search(sql))
    return out


def compare(expected: dict, actual: dict) -> str | None:
    """None when rewinddb answered as PostgreSQL did, else what differs."""
    if "error" in expected:
        if actual.get("error") != expected["error"]:
            got = f"error {actual['error']} ({actual.get('message')})" if "error" in actual else f"success {actual.get('tag')}"
            return f"expected error {expected['error']} ({expected['message']}), got {got}"
        return None
    if "error" in actual:
        return f"expected success, got error {actual['error']}: {actual['message']}"
    if actual.get("notifications", []) != expected.get("notifications", []):
        return f"notifications {actual.get('notifications', [])} != {expected.get('notifications', [])}"
    if actual.get("tag") != expected.get("tag"):
        return f"tag {actual.get('tag')!r} != {expected.get('tag')!r}"
    if "columns" in expected:
        if _user_oids(actual.get("columns")) != _user_oids(expected["columns"]):
            return f"columns {actual.get('columns')} != {expected['columns']}"
        exp_rows, act_rows = expected["rows"], actual["rows"]
        if not expected["ordered"]:
            key = lambda r: [(v is None, v or "") for v in r]
            exp_rows, act_rows = sorted(exp_rows, key=key), sorted(act_rows, key=key)
        if act_rows != exp_rows:
            return f"rows {act_rows[:10]} != {exp_rows[:10]}"
    return None


def _user_oids(columns: list | None) -> list | None:
    """Column type oids with every user-defined one (a table's row type, 16384 and up) the
    same: PostgreSQL numbers user objects in creation order, rewinddb derives their oids."""
    return None if columns is None else [[name, oid if oid < 16384 else "user"] for name, oid in columns]


def load_expected(case: Path) -> list[dict]:
    return json.loads((EXPECTED / f"{case.stem}.json").read_text())


def known_failures() -> dict[str, str]:
    """{"case:index": reason} for the statements rewinddb is known to answer differently."""
    out = {}
    if KNOWN_FAILURES.exists():
        for line in KNOWN_FAILURES.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, reason = line.partition(" ")
                out[key] = reason.strip()
    return out
