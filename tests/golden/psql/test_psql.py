r"""psql's meta-commands (\d, \dt, \d table, \d+ table, \di, \dv, \ds, \dn, \du, \l, \df) print
exactly what they print against PostgreSQL 15 for the same schema: each case script runs on a
fresh server and its whole output is compared with the recording from PostgreSQL."""
from __future__ import annotations

import pytest

from tests.conftest import RunningServer
from tests.golden.psql.runner import CASES, EXPECTED, run_psql

CASE_FILES = sorted(CASES.glob("*.psql"))


@pytest.mark.parametrize("case", CASE_FILES, ids=[c.stem for c in CASE_FILES])
def test_psql_case(case, tmp_path):
    server = RunningServer(tmp_path / "data").start()
    try:
        actual = run_psql(server.port, case)
    finally:
        server.kill()
    expected = (EXPECTED / f"{case.stem}.out").read_text()
    assert actual == expected
