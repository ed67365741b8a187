"""Record the expected output of the time-travel case files: `python -m tests.golden.rewind.record [topic ...]`.

These are rewinddb's own features (PostgreSQL has no FOR SYSTEM_TIME), so the expected
output comes from rewinddb itself: each case file runs on a fresh server (the same way
tests/golden/runner.py runs PostgreSQL's) and the result is written to
expected/<topic>.json. Review the diff before committing: it is the specification.
Case files print LSNs and relations between timestamps, never timestamps themselves, so
the output does not depend on when it was recorded.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.conftest import RunningServer
from tests.golden.runner import run_case

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"


def record(case: Path) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="rewinddb-golden-") as tmp:
        server = RunningServer(Path(tmp) / "data").start()
        try:
            return run_case(server.dsn, case)
        finally:
            server.kill()


def main(names: list[str]) -> int:
    cases = sorted(CASES.glob("*.sql"))
    if names:
        cases = [c for c in cases if c.stem in names]
    EXPECTED.mkdir(exist_ok=True)
    for case in cases:
        results = record(case)
        (EXPECTED / f"{case.stem}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        errors = sum(1 for r in results if "error" in r)
        print(f"{case.stem}: {len(results)} statements ({errors} errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
