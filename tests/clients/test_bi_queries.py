"""The connect and browse queries of DBeaver, Metabase, Grafana and pgAdmin, replayed against
rewinddb with psycopg (extended protocol, bound parameters, as the tools' drivers send them):
each must succeed and return the shape the tool relies on for the sample schema."""
from __future__ import annotations

import psycopg
import pytest

from tests.clients.bi_queries import PROBES, SAMPLE_SCHEMA, Probe


@pytest.fixture(scope="module")
def sample(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for statement in SAMPLE_SCHEMA:
            conn.execute(statement)
        params = {
            "database": "postgres",
            "table_oid": conn.execute("SELECT 'bi_orders'::regclass::oid").fetchone()[0],
            "public_oid": conn.execute("SELECT oid FROM pg_namespace WHERE nspname = 'public'").fetchone()[0],
        }
    return server, params


@pytest.mark.parametrize("probe", PROBES, ids=[f"{p.tool}-{p.purpose}".replace(" ", "_") for p in PROBES])
def test_tool_query(sample, probe: Probe):
    server, params = sample
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        if ";" in probe.sql.strip().rstrip(";"):
            conn.execute(probe.sql)          # a batch: the simple query protocol, as the tool sends it
            return
        cur = conn.execute(probe.sql, params)
        if probe.columns is None:
            assert cur.description is None
            return
        rows = cur.fetchall()
        assert len(cur.description) == probe.columns, [d.name for d in cur.description]
        assert len(rows) >= probe.min_rows, rows
