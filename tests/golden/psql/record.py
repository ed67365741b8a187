r"""Re-record the psql golden files from a real PostgreSQL 15: `python -m tests.golden.psql.record [name ...]`.

Each case runs in a fresh throwaway cluster (tests.support.postgres), in its "postgres"
database, so `\l`, `\du` and `\dn` see exactly what a new server has. Review the diff.
"""
from __future__ import annotations

import sys

from tests.golden.psql.runner import CASES, EXPECTED, run_psql
from tests.support.postgres import LocalPostgres


def main(names: list[str]) -> int:
    cases = sorted(CASES.glob("*.psql"))
    if names:
        cases = [c for c in cases if c.stem in names]
    EXPECTED.mkdir(exist_ok=True)
    for case in cases:
        with LocalPostgres() as pg:
            (EXPECTED / f"{case.stem}.out").write_text(run_psql(pg.port, case))
        print(f"recorded {case.stem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
