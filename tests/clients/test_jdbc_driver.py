"""The PostgreSQL JDBC driver (42.7.13) through its protocol paths: prepared statements past
the 5th execution (server-side statements, binary results), every common type, setFetchSize
(named portals and PortalSuspended), batches, CopyManager, SQLSTATEs, setQueryTimeout's
cancel (java/WireDriver.java)."""
from __future__ import annotations

from tests.clients.jdbc import jdbc_url, run_java


def test_jdbc_driver_protocol_paths(server):
    out = dict(line.split(": ", 1) for line in run_java("WireDriver", jdbc_url(server.port)).splitlines())
    rows = out["rows"].rstrip(";").split(";")
    assert len(rows) == 10
    assert rows[0] == ("1|5000000000|1.125|row 1|2024-01-02 10:20:30.5|2020-02-11|false|1|"
                       "00000000-0000-0000-0000-000000000001|0.25")
    assert rows[9] == ("10|50000000000|10.125|row 10|2024-01-02 10:20:30.5|2020-02-20|true|10|"
                       "00000000-0000-0000-0000-00000000000a|2.5")
    assert out["fetched"] == "10 55"
    assert out["batch"] == "4 1"
    assert out["after rollback"] == "0"
    assert out["copy"] == "2 2 100,from, copy/101,\\N/"
    assert out["error"] == "23505"
    assert out["timeout"] == "57014"
    assert out["isolation"] == "read committed"
