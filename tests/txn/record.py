"""Record PostgreSQL 15's behaviour for every interleaving: `python -m tests.txn.record [scenario ...]`.

Starts a throwaway local PostgreSQL (tests.support.postgres), runs each scenario's permutations
at each isolation level, and writes expected/<scenario>.json. Review the diff before committing.
"""
from __future__ import annotations

import asyncio
import json
import sys

from tests.support.postgres import LocalPostgres
from tests.txn.interleave import EXPECTED, run_key, run_permutation
from tests.txn.scenarios import SCENARIOS

# long enough for PostgreSQL's deadlock check (deadlock_timeout) to run for a blocked step
STABLE_FOR = 0.5


async def record(dsn: str, names: list[str]) -> None:
    EXPECTED.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        results = {}
        for level, perm in scenario.runs():
            results[run_key(level, perm)] = await run_permutation(dsn, scenario, level, perm, STABLE_FOR)
        (EXPECTED / f"{scenario.name}.json").write_text(json.dumps(results, indent=1) + "\n")
        print(f"{scenario.name}: {len(results)} runs")


def main(names: list[str]) -> int:
    with LocalPostgres() as pg:
        asyncio.run(record(pg.dsn, names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
