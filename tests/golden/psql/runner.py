r"""Run a psql script (SQL and meta-commands such as `\d users`) and capture what psql prints.

A case (`cases/<name>.psql`) is fed to the real psql 15 binary with `-X -a` (no psqlrc, echo
every input line), so the output interleaves each command with what psql printed for it.
`record.py` captures the output from a real PostgreSQL 15 into `expected/<name>.out`;
`test_psql.py` runs the same scripts against rewinddb and compares byte for byte.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"


def run_psql(port: int, case: Path) -> str:
    env = {**os.environ, "PGCLIENTENCODING": "UTF8", "PAGER": "", "PSQL_PAGER": "",
           "PGOPTIONS": "", "COLUMNS": "200"}
    out = subprocess.run(["psql", "-X", "-a", "-P", "pager=off", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                          "-d", "postgres", "-f", case.name],
                         cwd=case.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=120)
    return out.stdout
