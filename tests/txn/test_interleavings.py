"""Concurrent sessions interleaved step by step behave as they do in PostgreSQL 15.

Every (scenario, isolation level, permutation) of scenarios.py runs against one rewinddb
server and must produce the events PostgreSQL produced (expected/<scenario>.json, recorded
by record.py): the same statements block, the same ones fail with the same SQLSTATE, and
the same rows come back. Runs listed in KNOWN_DIFFERENCES are where rewinddb deliberately
answers differently (docs/transactions.md explains each); they must still differ.
"""
from __future__ import annotations

import json

import pytest

from tests.txn.interleave import EXPECTED, differences, run_key, run_permutation
from tests.txn.scenarios import SCENARIOS

KNOWN_DIFFERENCES: dict[str, str] = {}

RUNS = [(scenario, level, perm) for scenario in SCENARIOS for level, perm in scenario.runs()]


@pytest.mark.parametrize("scenario,level,permutation", RUNS,
                         ids=[f"{s.name}[{run_key(lv, p)}]" for s, lv, p in RUNS])
async def test_interleaving(server, scenario, level, permutation):
    expected = json.loads((EXPECTED / f"{scenario.name}.json").read_text())[run_key(level, permutation)]
    actual = await run_permutation(server.dsn, scenario, level, permutation)
    diff = differences(expected, actual)
    key = f"{scenario.name}[{run_key(level, permutation)}]"
    if key in KNOWN_DIFFERENCES:
        assert diff, f"{key} now behaves as PostgreSQL: remove it from KNOWN_DIFFERENCES"
    else:
        assert not diff, "\n".join([f"{key} differs from PostgreSQL:"] + diff + ["got:"] + [str(e) for e in actual])
