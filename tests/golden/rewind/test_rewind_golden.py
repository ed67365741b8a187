"""The time-travel case files answer as recorded: FOR SYSTEM_TIME in every form, history
with its system columns, the rewind schema, session-wide time travel.

Expected files come from rewinddb itself (`python -m tests.golden.rewind.record`), reviewed
when recorded; every statement must match exactly (tag, columns, values, SQLSTATE).
"""
from __future__ import annotations

import json

import pytest

from tests.golden.rewind.record import CASES, EXPECTED, record
from tests.golden.runner import compare

CASE_FILES = sorted(CASES.glob("*.sql"))


@pytest.mark.parametrize("case", CASE_FILES, ids=[c.stem for c in CASE_FILES])
def test_case(case):
    expected = json.loads((EXPECTED / f"{case.stem}.json").read_text())
    actual = record(case)
    assert len(actual) == len(expected), "the case file changed: re-record it (python -m tests.golden.rewind.record)"
    differences = []
    for i, (exp, act) in enumerate(zip(expected, actual)):
        assert exp["sql"] == act["sql"], "the case file changed: re-record it"
        diff = compare(exp, act)
        if diff:
            differences.append(f"{case.stem}:{i + 1}: {exp['sql'][:120]}\n    {diff}")
    assert not differences, "answers differ from the recorded ones:\n" + "\n".join(differences)
