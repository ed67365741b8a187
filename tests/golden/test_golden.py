"""SQL behaviour checked against PostgreSQL: every golden case file, run against rewinddb.

Each case file runs on a fresh server; each statement must answer as PostgreSQL 15 did
(same command tag, columns, types and text values; same SQLSTATE for errors), except the
ones listed in known_failures.txt, which docs/sql.md explains. A listed statement that now
passes fails the test too, so the list stays true. Together these make the pass rate exactly
1 - listed / total, which test_pass_rate holds at the issue's 98% or better
(`python -m tests.golden.rate` measures it by running the corpus).
"""
from __future__ import annotations

import pytest

from tests.conftest import RunningServer
from tests.golden.rate import REQUIRED_RATE
from tests.golden.runner import CASES, compare, known_failures, load_expected, run_case, statements

CASE_FILES = sorted(CASES.glob("*.sql"))


@pytest.mark.parametrize("case", CASE_FILES, ids=[c.stem for c in CASE_FILES])
def test_case(case, tmp_path):
    expected = load_expected(case)
    server = RunningServer(tmp_path / "data").start()
    try:
        actual = run_case(server.dsn, case)
    finally:
        server.kill()
    assert len(actual) == len(expected), "the case file changed: re-record it (python -m tests.golden.record)"
    known = known_failures()
    unexpected, fixed = [], []
    for i, (exp, act) in enumerate(zip(expected, actual)):
        assert exp["sql"] == act["sql"], "the case file changed: re-record it"
        diff = compare(exp, act)
        key = f"{case.stem}:{i + 1}"
        if diff and key not in known:
            unexpected.append(f"{key}: {exp['sql'][:120]}\n    {diff}")
        elif not diff and key in known:
            fixed.append(key)
    assert not unexpected, "answers differ from PostgreSQL:\n" + "\n".join(unexpected)
    assert not fixed, f"now passing, remove from known_failures.txt: {fixed}"


def test_pass_rate():
    counts = {case.stem: len(statements(case)) for case in CASE_FILES}
    listed = known_failures()
    for key in listed:
        topic, _, index = key.partition(":")
        assert topic in counts and 1 <= int(index) <= counts[topic], f"known_failures.txt names no statement: {key}"
    total = sum(counts.values())
    rate = 1 - len(listed) / total
    print(f"golden corpus: {total - len(listed)}/{total} statements answer as PostgreSQL 15 does ({rate:.2%})")
    assert rate >= REQUIRED_RATE
