"""Measure the golden corpus pass rate: `python -m tests.golden.rate [topic ...]`.

Runs every case file (or the ones named) against a fresh rewinddb server each, compares
every statement with PostgreSQL 15's recording exactly as test_golden.py does, and prints
per topic and in total how many statements answer as PostgreSQL did, then every miss with
its known_failures.txt reason (or UNLISTED). Exits 1 when the rate is below the issue's 98%
or a miss is unlisted.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.conftest import RunningServer
from tests.golden.runner import CASES, compare, known_failures, load_expected, run_case

REQUIRED_RATE = 0.98


def misses(case: Path, data_dir: Path) -> tuple[int, list[tuple[str, str]]]:
    """(statements, [(topic:N, difference)]) for one case file run on a fresh server."""
    expected = load_expected(case)
    server = RunningServer(data_dir).start()
    try:
        actual = run_case(server.dsn, case)
    finally:
        server.kill()
    found = [(f"{case.stem}:{i + 1}", diff) for i, (exp, act) in enumerate(zip(expected, actual))
             if (diff := compare(exp, act))]
    return len(expected), found


def main(names: list[str]) -> int:
    cases = [c for c in sorted(CASES.glob("*.sql")) if not names or c.stem in names]
    known = known_failures()
    total = matching = 0
    all_misses: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            count, found = misses(case, Path(tmp) / case.stem)
            total += count
            matching += count - len(found)
            all_misses += found
            print(f"{case.stem:24} {count - len(found):5}/{count:<5}")
    rate = matching / total if total else 1.0
    print(f"{'TOTAL':24} {matching:5}/{total:<5} {rate:.2%} of statements answer as PostgreSQL 15 does")
    for key, diff in all_misses:
        print(f"  miss {key}: {known.get(key, 'UNLISTED — ' + diff[:200])}")
    unlisted = [key for key, _ in all_misses if key not in known]
    return 0 if rate >= REQUIRED_RATE and not unlisted else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
