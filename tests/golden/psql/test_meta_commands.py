r"""Every other psql 15 list command runs against rewinddb without an error: the catalog
queries psql sends for them (with `\set ECHO_HIDDEN`-visible SQL over pg_catalog) all plan
and execute, and each prints its titled table. The golden cases (test_psql.py) check the
output of the common ones byte for byte; these list objects rewinddb has none of, or built-in
objects whose descriptions and counts differ from PostgreSQL's (casts, operators, data types,
functions), so only their success is asserted."""
from __future__ import annotations

import os
import subprocess

import pytest

COMMANDS = [
    r"\dA", r"\dA+", r"\dAc", r"\dAf", r"\db+", r"\dc", r"\dC",
    r"\dC+ integer", r"\dd", r"\dD+", r"\ddp", r"\dE", r"\des+", r"\det+", r"\deu+", r"\dew+", r"\df+", r"\dfa",
    r"\dfp", r"\dfw", r"\dfS+ lower", r"\dF+", r"\dFd+", r"\dFp+", r"\dFt+", r"\dg+", r"\di+", r"\dl", r"\dL+",
    r"\dm+", r"\dn+", r"\do+", r"\dO+", r"\dp", r"\dP+", r"\drds", r"\dRp+", r"\dRs+", r"\ds+", r"\dS+",
    r"\dt+", r"\dT+", r"\dTS+ int*", r"\du+", r"\dv+", r"\dx+", r"\dX", r"\dy+", r"\l+", r"\z", r"\dconfig+",
    r"\d+ pg_class", r"\d+ information_schema.columns", r"\lo_list",
    r"\dAo", r"\dAo+", r"\dAp", r"\dAp+", r"\dfn+", r"\dft+", r"\dfS", r"\dTS", r"\dCS", r"\dL", r"\dx",
]

SETUP = """
CREATE TABLE meta_users (id serial PRIMARY KEY, name varchar(50) NOT NULL, email text UNIQUE);
CREATE TABLE meta_orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                          user_id int REFERENCES meta_users (id), total numeric CHECK (total >= 0));
CREATE VIEW meta_big AS SELECT id, total FROM meta_orders WHERE total > 100;
CREATE ROLE meta_reader LOGIN;
COMMENT ON TABLE meta_users IS 'people';
"""


def _psql(port: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGCLIENTENCODING": "UTF8", "PAGER": "", "PSQL_PAGER": "", "PGOPTIONS": ""}
    return subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-P", "pager=off", "-h", "127.0.0.1", "-p",
                           str(port), "-U", "postgres", "-d", "postgres", *args],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def described(server):
    done = _psql(server.port, "-c", SETUP)
    assert done.returncode == 0, done.stderr
    return server


@pytest.mark.parametrize("command", COMMANDS)
def test_meta_command_succeeds(described, command):
    out = _psql(described.port, "-c", command)
    assert "ERROR" not in out.stderr, out.stderr
    assert out.returncode == 0 and out.stdout.strip() or out.stderr.startswith("Did not find any"), out.stderr
