"""The plan cache: simple-protocol statements that differ only in their constants are
parsed and planned once (literals lifted into parameters), prepared statements keep their
plans, DDL makes the affected plans again, and so does a join's table growing far beyond
the size its plan was estimated from. Counted by `rewinddb_statements_parsed_total` and
`rewinddb_plans_total` on /metrics."""
from __future__ import annotations

import re

import psycopg

from tests.ops.http_client import HttpServer


def _counters(server) -> tuple[int, int]:
    status, _, body = server.get("/metrics")
    assert status == 200
    text = body.decode()
    parsed = int(re.search(r"^rewinddb_statements_parsed_total (\d+)$", text, re.M).group(1))
    planned = int(re.search(r"^rewinddb_plans_total (\d+)$", text, re.M).group(1))
    return parsed, planned


def test_plan_cache_counts(tmp_path):
    server = HttpServer(tmp_path / "data").start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            simple = psycopg.ClientCursor(conn)          # literals inlined: the simple protocol
            simple.execute("CREATE TABLE acc (aid int PRIMARY KEY, abalance int, filler text)")
            simple.execute("INSERT INTO acc SELECT g, 0, 'x' FROM generate_series(1, 500) g")
            before = _counters(server)
            for aid in range(1, 201):
                simple.execute(f"SELECT abalance FROM acc WHERE aid = {aid}")
                assert simple.fetchall() == [(0,)]
                simple.execute(f"UPDATE acc SET abalance = abalance + {aid % 7 - 3} WHERE aid = {aid}")
            after = _counters(server)
            assert after[0] - before[0] == 2 and after[1] - before[1] == 2     # one parse and plan each

            prepared = "SELECT abalance FROM acc WHERE aid = %s"
            for aid in range(1, 101):                      # extended protocol, server-side prepared
                conn.execute(prepared, (aid,), prepare=True).fetchall()
            assert _counters(server)[1] - after[1] == 1

            simple.execute("CREATE INDEX acc_bal ON acc (abalance)")   # DDL: plans of acc are made again
            mark = _counters(server)
            simple.execute("SELECT abalance FROM acc WHERE aid = 3")
            simple.execute("SELECT abalance FROM acc WHERE aid = 4")
            assert _counters(server)[1] - mark[1] == 1
            assert "acc_bal" in "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT * FROM acc WHERE abalance = 2"))

            simple.execute("CREATE TABLE small (id int PRIMARY KEY, aid int)")
            simple.execute("INSERT INTO small VALUES (1, 1), (2, 2)")
            join = "SELECT count(*) FROM small s JOIN acc a ON a.aid = s.aid WHERE s.id > 0"
            simple.execute(join)
            mark = _counters(server)
            simple.execute(join)
            assert _counters(server)[1] == mark[1]         # cached
            simple.execute("INSERT INTO small SELECT g, g % 500 + 1 FROM generate_series(3, 5000) g")
            simple.execute(join)
            assert simple.fetchall() == [(5000,)]
            assert _counters(server)[1] == mark[1] + 2     # the INSERT, and the join made again
    finally:
        server.kill()
