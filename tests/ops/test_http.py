"""The HTTP API against the real server, with http.client: health, metrics, SQL, changes, OpenAPI."""
from __future__ import annotations

import asyncio
import base64
import json
import re

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from engine import events as ev
from engine.catalog.model import ColumnDef, ConstraintDef, IndexDef, TableDef
from engine.storage.log import SegmentedLog
from server import http as api
from server.auth import is_loopback
from tests.ops.http_client import HttpServer, SseReader


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = HttpServer(tmp_path_factory.mktemp("http") / "data").start()
    yield server
    if server.proc is not None:
        server.kill()


@pytest.fixture
def fresh(tmp_path):
    server = HttpServer(tmp_path / "data").start()
    yield server
    if server.proc is not None:
        server.kill()


def lsn_of(server: HttpServer) -> int:
    status, _, body = server.get("/health")
    assert status == 200
    return json.loads(body)["lsn"]


# ------------------------------------------------------------------ health


def test_health_reports_the_durable_lsn(server):
    before = lsn_of(server)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE health_t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO health_t VALUES (1)")
    status, headers, body = server.get("/health")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"status": "ok", "lsn": before + 2}


def test_health_is_503_while_recovering(tmp_path):
    """A log whose replay takes a while: /health answers 503 until the server is ready."""
    data = tmp_path / "data"
    table = TableDef(1, "public", "big", (ColumnDef(0, "id", 23, not_null=True), ColumnDef(1, "v", 25)), 2,
                     (ConstraintDef("big_pkey", "p", (0,)),))
    index = IndexDef(2, "big_pkey", 1, (0,), unique=True, constraint="big_pkey", primary=True)
    events: list = [ev.TableCreated(table), ev.IndexCreated(index)]
    events += [ev.RowInserted(1, i, [i, "x" * 20]) for i in range(1, 200_001)]
    log = SegmentedLog.open(data / "log")
    log.append_durable(1_700_000_000_000_000, ev.encode_transaction(ev.Transaction("postgres", "", "", None, events)))
    asyncio.run(log.close())
    server = HttpServer(data).start_listening()
    try:
        seen = []
        while not seen or seen[-1][0] != 200:
            status, _, body = server.get("/health")
            seen.append((status, json.loads(body)))
        assert seen[0][0] == 503 and seen[0][1]["status"] == "recovering"
        assert {body["phase"] for status, body in seen if status == 503} <= {"starting", "loading snapshot",
                                                                              "replaying", "building indexes", "done"}
        assert {body["target_lsn"] for status, body in seen if status == 503} <= {0, 1}   # 0: log not open yet
        assert seen[-1] == (200, {"status": "ok", "lsn": 1})
        assert server.post_sql("SELECT count(*) FROM big") == (200, {
            "columns": [{"name": "count", "type": "int8"}], "rows": [[200_000]], "command": "SELECT 1"})
    finally:
        server.stop()


# ------------------------------------------------------------------ metrics


def scrape(server: HttpServer) -> dict[str, float]:
    status, headers, body = server.get("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_commits_statements_and_fsyncs(server):
    before = scrape(server)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE metrics_t (id int PRIMARY KEY)")
        for i in range(5):
            conn.execute("INSERT INTO metrics_t VALUES (%s)", (i,))
        conn.execute("SELECT * FROM metrics_t").fetchall()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO metrics_t VALUES (1)")
        during = scrape(server)
    after = scrape(server)

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert delta("rewinddb_commits_total") == 6
    assert delta('rewinddb_statement_duration_seconds_count{command="INSERT"}') == 5
    assert delta('rewinddb_statement_duration_seconds_count{command="SELECT"}') >= 1
    assert delta('rewinddb_statement_duration_seconds_count{command="CREATE TABLE"}') == 1
    assert delta('rewinddb_statement_errors_total{sqlstate_class="23"}') == 1
    assert delta("rewinddb_fsync_duration_seconds_count") >= 1
    assert delta("rewinddb_group_commit_size_sum") == 6
    assert after["rewinddb_durable_lsn"] == before["rewinddb_durable_lsn"] + 6
    assert after['rewinddb_fsync_duration_seconds_bucket{le="+Inf"}'] == after["rewinddb_fsync_duration_seconds_count"]
    assert during["rewinddb_connections"] == before["rewinddb_connections"] + 1
    assert delta("rewinddb_connections_total") == 1
    assert after["rewinddb_log_bytes"] > 0 and after["rewinddb_up"] == 1


def test_metrics_text_is_well_formed(server):
    status, _, body = server.get("/metrics")
    text = body.decode()
    declared = set(re.findall(r"^# TYPE (\S+) (counter|gauge|histogram)$", text, re.M))
    names = {name for name, _ in declared}
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r'[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+', line), line
            base = re.sub(r"(_bucket|_sum|_count)$", "", line.split("{")[0].split(" ")[0])
            assert base in names or line.split("{")[0].split(" ")[0] in names, line


# ------------------------------------------------------------------ SQL


def test_sql_select_with_json_values(server):
    status, result = server.post_sql(
        "SELECT 1 AS i, 9007199254740993::int8 AS big, 1.50::numeric AS n, 0.1::float8 AS f, "
        "'NaN'::float8 AS nan, true AS b, NULL::text AS nothing, 'x' AS t, "
        "'2024-05-01 12:00:00.5+02'::timestamptz AS ts, '2024-05-01'::date AS d, "
        "'{\"k\": [1, 2.50]}'::jsonb AS j, '{1,NULL,3}'::int[] AS a, '1 day'::interval AS iv")
    assert status == 200, result
    assert result["command"] == "SELECT 1"
    assert [c["name"] for c in result["columns"]] == ["i", "big", "n", "f", "nan", "b", "nothing", "t", "ts", "d",
                                                      "j", "a", "iv"]
    assert [c["type"] for c in result["columns"]][:4] == ["int4", "int8", "numeric", "float8"]
    assert result["rows"] == [[1, 9007199254740993, 1.5, 0.1, "NaN", True, None, "x", "2024-05-01T10:00:00.5+00:00",
                               "2024-05-01", {"k": [1, 2.5]}, [1, None, 3], "1 day"]]


def test_sql_numbers_keep_their_exact_digits(server):
    conn = server.connection()
    try:
        conn.request("POST", "/v1/sql", body=json.dumps({"sql": "SELECT 1.50::numeric, 12345678901234567890.123::numeric"}))
        raw = conn.getresponse().read()
    finally:
        conn.close()
    assert b"[[1.50,12345678901234567890.123]]" in raw


def test_sql_params_writes_and_command_tags(server):
    assert server.post_sql("CREATE TABLE sql_t (id int PRIMARY KEY, name text, tags text[], doc jsonb)") == \
        (200, {"columns": [], "rows": [], "command": "CREATE TABLE"})
    status, result = server.post_sql("INSERT INTO sql_t VALUES ($1, $2, $3, $4)",
                                     [1, "O'Brien \"q\"", ["a", "b c", None], {"x": [1, 2]}])
    assert (status, result["command"]) == (200, "INSERT 0 1"), result
    status, result = server.post_sql("SELECT $1::text[] AS a, $2::jsonb AS j, $3::int[] AS e, $4::json AS s",
                                     [["x", None, "y z"], [1, {"b": 2}], [], '{"as": "text"}'])
    assert result["rows"] == [[["x", None, "y z"], [1, {"b": 2}], [], {"as": "text"}]], result
    status, result = server.post_sql("INSERT INTO sql_t (id, doc) VALUES (3, $1) RETURNING doc", [[1, {"b": 2}]])
    assert result["rows"] == [[[1, {"b": 2}]]], result
    server.post_sql("DELETE FROM sql_t WHERE id = 3")
    status, result = server.post_sql("SELECT id, name, tags, doc FROM sql_t WHERE id = $1", [1])
    assert result["rows"] == [[1, "O'Brien \"q\"", ["a", "b c", None], {"x": [1, 2]}]]
    status, result = server.post_sql("INSERT INTO sql_t (id) VALUES (2); UPDATE sql_t SET name = 'n' WHERE id > 0")
    assert (status, result) == (200, {"columns": [], "rows": [], "command": "UPDATE 2"})
    with psycopg.connect(server.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM sql_t WHERE name = 'n'").fetchone() == (2,)


def test_sql_errors_are_400_with_sqlstate(server):
    assert server.post_sql("SELECT 1/0") == (400, {"sqlstate": "22012", "message": "division by zero"})
    status, result = server.post_sql("SELECT * FROM no_such_table")
    assert (status, result["sqlstate"]) == (400, "42P01")
    status, result = server.post_sql("SELEC 1")
    assert (status, result["sqlstate"]) == (400, "42601")
    status, result = server.post_sql("SELECT $1::int", ["x"])
    assert (status, result["sqlstate"]) == (400, "22P02")
    status, result = server.post_sql("SELECT $1::int", [])
    assert (status, result["sqlstate"]) == (400, "08P01")
    status, result = server.post_sql("SELECT '[]'::text[]")           # not an array literal
    assert (status, result["sqlstate"]) == (400, "22P02"), result


def test_sql_failed_request_rolls_back_as_a_whole(server):
    server.post_sql("CREATE TABLE atomic_t (id int PRIMARY KEY)")
    status, result = server.post_sql("INSERT INTO atomic_t VALUES (1); INSERT INTO atomic_t VALUES (1)")
    assert (status, result["sqlstate"]) == (400, "23505")
    assert server.post_sql("SELECT count(*) FROM atomic_t")[1]["rows"] == [[0]]


@pytest.mark.parametrize("body, sqlstate", [
    (b"not json", "22P02"),
    (b'{"query": "SELECT 1"}', "22023"),
    (b'{"sql": "SELECT 1", "params": {"a": 1}}', "22023"),
    (b"[1]", "22023"),
])
def test_sql_malformed_requests(server, body, sqlstate):
    status, headers, data = server.request("POST", "/v1/sql", body)
    assert status == 400 and json.loads(data)["sqlstate"] == sqlstate


def test_unknown_path_and_wrong_method(server):
    status, _, body = server.get("/nope")
    assert status == 404 and json.loads(body)["sqlstate"] == "42704"
    status, headers, _ = server.request("GET", "/v1/sql")
    assert status == 405 and headers["allow"] == "POST"
    status, headers, _ = server.request("POST", "/health", b"{}")
    assert status == 405 and headers["allow"] == "GET"


def test_keep_alive_serves_several_requests_on_one_connection(server):
    conn = server.connection()
    try:
        for _ in range(3):
            conn.request("POST", "/v1/sql", body=json.dumps({"sql": "SELECT 2"}))
            response = conn.getresponse()
            assert json.loads(response.read())["rows"] == [[2]]
    finally:
        conn.close()


def test_oversized_body_is_413(tmp_path):
    server = HttpServer(tmp_path / "data", ("--max-message-size", "1k")).start()
    try:
        status, _, body = server.request("POST", "/v1/sql", json.dumps({"sql": "SELECT '" + "x" * 2000 + "'"}).encode())
        assert status == 413 and json.loads(body)["sqlstate"] == "54000"
    finally:
        server.stop()


# ------------------------------------------------------------------ changes


def test_changes_history_live_and_resume(fresh):
    with psycopg.connect(fresh.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO users VALUES (1, 'Alice'), (2, 'Bob')")
        conn.execute("UPDATE users SET name = 'Bobby' WHERE id = 2")
        conn.execute("DELETE FROM users WHERE id = 1")
    stream = SseReader(fresh, "/v1/changes?since=0")
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("content-type") == "text/event-stream; charset=utf-8"
        history = stream.changes(4)
        assert history == [
            ("2:0", {"lsn": 2, "table": "public.users", "op": "insert", "key": {"id": 1},
                     "after": {"id": 1, "name": "Alice"}}),
            ("2:1", {"lsn": 2, "table": "public.users", "op": "insert", "key": {"id": 2},
                     "after": {"id": 2, "name": "Bob"}}),
            ("3:0", {"lsn": 3, "table": "public.users", "op": "update", "key": {"id": 2},
                     "after": {"id": 2, "name": "Bobby"}}),
            ("4:0", {"lsn": 4, "table": "public.users", "op": "delete", "key": {"id": 1}, "after": None}),
        ]
        with psycopg.connect(fresh.dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO users VALUES (3, 'Carol')")
        assert stream.changes(1) == [("5:0", {"lsn": 5, "table": "public.users", "op": "insert", "key": {"id": 3},
                                              "after": {"id": 3, "name": "Carol"}})]
    finally:
        stream.close()
    resumed = SseReader(fresh, "/v1/changes?since=0", {"Last-Event-ID": "2:0"})
    try:
        assert [id_ for id_, _ in resumed.changes(4)] == ["2:1", "3:0", "4:0", "5:0"]
    finally:
        resumed.close()
    since = SseReader(fresh, "/v1/changes?since=3")
    try:
        assert [id_ for id_, _ in since.changes(2)] == ["4:0", "5:0"]
    finally:
        since.close()


def test_changes_without_since_start_at_the_newest_commit(fresh):
    with psycopg.connect(fresh.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
        stream = SseReader(fresh, "/v1/changes")
        try:
            conn.execute("INSERT INTO t VALUES (2)")
            assert stream.changes(1) == [("3:0", {"lsn": 3, "table": "public.t", "op": "insert", "key": {"id": 2},
                                                  "after": {"id": 2}})]
        finally:
            stream.close()


def test_changes_key_changes_rowids_truncate_and_transactions(fresh):
    with psycopg.connect(fresh.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE k (id int PRIMARY KEY, v text)")                 # 1
        conn.execute("CREATE TABLE nokey (v text)")                                 # 2
        conn.execute("INSERT INTO k VALUES (1, 'a')")                               # 3
        conn.execute("UPDATE k SET id = 10 WHERE id = 1")                           # 4
        with conn.transaction():                                                    # 5
            conn.execute("INSERT INTO nokey VALUES ('x'), ('y')")
            conn.execute("UPDATE nokey SET v = 'z' WHERE v = 'x'")
            conn.execute("INSERT INTO k VALUES (2, 'b')")
        conn.execute("TRUNCATE nokey")                                              # 6
        conn.execute("NOTIFY ch, 'no row change'")                                  # 7
        conn.execute("INSERT INTO k VALUES (3, 'c')")                               # 8
    stream = SseReader(fresh, "/v1/changes?since=0")
    try:
        got = [(id_, c["table"], c["op"], c["key"], c["after"]) for id_, c in stream.changes(10)]
    finally:
        stream.close()
    assert got == [
        ("3:0", "public.k", "insert", {"id": 1}, {"id": 1, "v": "a"}),
        ("4:0", "public.k", "delete", {"id": 1}, None),
        ("4:1", "public.k", "insert", {"id": 10}, {"id": 10, "v": "a"}),
        ("5:0", "public.nokey", "insert", {"_rowid": 1}, {"v": "x"}),
        ("5:1", "public.nokey", "insert", {"_rowid": 2}, {"v": "y"}),
        ("5:2", "public.nokey", "update", {"_rowid": 1}, {"v": "z"}),
        ("5:3", "public.k", "insert", {"id": 2}, {"id": 2, "v": "b"}),
        ("6:0", "public.nokey", "delete", {"_rowid": 1}, None),
        ("6:1", "public.nokey", "delete", {"_rowid": 2}, None),
        ("8:0", "public.k", "insert", {"id": 3}, {"id": 3, "v": "c"}),
    ]


@pytest.mark.parametrize("query, headers", [("?since=x", {}), ("?since=-1", {}), ("", {"Last-Event-ID": "a:b"})])
def test_changes_bad_positions_are_400(server, query, headers):
    status, _, body = server.get("/v1/changes" + query, headers)
    assert status == 400 and json.loads(body)["sqlstate"] == "22023"


def test_shutdown_ends_open_streams(fresh):
    stream = SseReader(fresh, "/v1/changes")
    try:
        assert fresh.stop() == 0
        with pytest.raises(EOFError):
            stream.next_event()
    finally:
        stream.close()


# ------------------------------------------------------------------ OpenAPI and access


def test_openapi_document_is_valid_and_complete(server):
    status, _, body = server.get("/openapi.json")
    document = json.loads(body)
    validate(document)
    assert set(document["paths"]) == set(api._ROUTES)
    for path, (method, _) in api._ROUTES.items():
        assert method.lower() in document["paths"][path]


def test_loopback_is_recognised():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.1.2.3") and not is_loopback("2001:db8::1")


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_trusted_clients_name_their_role_with_basic_credentials(server):
    server.post_sql("CREATE ROLE alice LOGIN")
    status, _, body = server.request("POST", "/v1/sql", json.dumps({"sql": "SELECT current_user"}).encode(),
                                     basic("alice", ""))
    assert (status, json.loads(body)["rows"]) == (200, [["alice"]])
    status, _, body = server.request("POST", "/v1/sql", b'{"sql": "SELECT 1"}', basic("nobody", ""))
    assert (status, json.loads(body)["sqlstate"]) == (403, "28000")
    status, headers, body = server.request("POST", "/v1/sql", b'{"sql": "SELECT 1"}', {"authorization": "Bearer x"})
    assert status == 401 and headers["www-authenticate"].startswith("Basic")


def test_password_authentication_over_http(tmp_path):
    """With a password method for this client (here loopback, configured like a remote one),
    every endpoint but /health and /openapi.json needs Basic credentials that match."""
    server = HttpServer(tmp_path / "data", ("--local-auth", "scram-sha-256", "--password", "s3cret")).start()
    try:
        sql = json.dumps({"sql": "SELECT current_user"}).encode()
        status, headers, body = server.request("POST", "/v1/sql", sql)
        assert status == 401 and headers["www-authenticate"].startswith("Basic")
        status, _, body = server.request("POST", "/v1/sql", sql, basic("postgres", "wrong"))
        assert (status, json.loads(body)["sqlstate"]) == (401, "28P01")
        status, _, body = server.request("POST", "/v1/sql", sql, basic("postgres", "s3cret"))
        assert (status, json.loads(body)["rows"]) == (200, [["postgres"]])
        status, _, body = server.request("POST", "/v1/sql", json.dumps(
            {"sql": "CREATE ROLE bob LOGIN PASSWORD 'b0b'; CREATE ROLE carol NOLOGIN PASSWORD 'c'"}).encode(),
            basic("postgres", "s3cret"))
        assert status == 200, body
        status, _, body = server.request("POST", "/v1/sql", sql, basic("bob", "b0b"))
        assert (status, json.loads(body)["rows"]) == (200, [["bob"]])
        status, _, body = server.request("POST", "/v1/sql", sql, basic("carol", "c"))
        assert (status, json.loads(body)["sqlstate"]) == (403, "28000")
        assert server.get("/metrics")[0] == 401
        assert server.get("/metrics", basic("postgres", "s3cret"))[0] == 200
        assert server.get("/v1/changes")[0] == 401
        assert server.get("/health")[0] == 200 and server.get("/openapi.json")[0] == 200
    finally:
        server.stop()
    assert "s3cret" not in server.log() and "b0b" not in server.log()


def test_changes_older_than_the_history_window_come_from_a_rebuilt_state(tmp_path):
    """After a restart with a 3-transaction history window, the row history of older
    transactions is not in memory: the stream rebuilds it from the log and still sends it."""
    server = HttpServer(tmp_path / "data", ("--history-window", "3")).start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE w (id int PRIMARY KEY, v text)")
            for i in range(10):
                conn.execute("INSERT INTO w VALUES (%s, 'a')", (i,))
            conn.execute("DELETE FROM w WHERE id = 0")
            conn.execute("CHECKPOINT")
        server.restart()
        stream = SseReader(server, "/v1/changes?since=0")
        try:
            got = stream.changes(11)
        finally:
            stream.close()
    finally:
        server.stop()
    assert [id_ for id_, _ in got] == [f"{lsn}:0" for lsn in range(2, 13)]
    assert got[0][1] == {"lsn": 2, "table": "public.w", "op": "insert", "key": {"id": 0}, "after": {"id": 0, "v": "a"}}
    assert got[-1][1] == {"lsn": 12, "table": "public.w", "op": "delete", "key": {"id": 0}, "after": None}


def test_a_damaged_log_ends_the_stream_with_an_error_event(tmp_path):
    """Damage in a sealed segment that recovery (from a snapshot) never reads is found by the
    stream when it reads that history: it sends `event: error` and ends."""
    server = HttpServer(tmp_path / "data", ("--segment-size", "64k")).start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE d (id int PRIMARY KEY, pad text)")
            for i in range(400):
                conn.execute("INSERT INTO d VALUES (%s, %s)", (i, "x" * 400))
            conn.execute("CHECKPOINT")
        server.stop()
        first = sorted((tmp_path / "data" / "log").glob("*.seg"))[0]
        data = bytearray(first.read_bytes())
        data[len(data) // 2] ^= 0xFF
        first.write_bytes(bytes(data))
        server.start()
        stream = SseReader(server, "/v1/changes?since=0")
        try:
            events = []
            while True:
                try:
                    events.append(stream.next_event())
                except EOFError:
                    break
        finally:
            stream.close()
    finally:
        server.stop()
    assert events[-1]["event"] == "error"
    error = json.loads(events[-1]["data"])
    assert error["sqlstate"] == "XX001" and first.name in error["message"]
    assert all("event" not in e for e in events[:-1])


def test_requests_do_not_share_session_state(server):
    assert server.post_sql("SET application_name = 'leaky'; SHOW application_name")[1]["rows"] == [["leaky"]]
    for _ in range(3):
        assert server.post_sql("SHOW application_name")[1]["rows"] == [["rewinddb-http"]]
    status, result = server.post_sql("BEGIN; SELECT 1")
    assert status == 200
    assert server.post_sql("SELECT 2")[1]["rows"] == [[2]]
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE pool_t (id int PRIMARY KEY)")
    server.post_sql("BEGIN; INSERT INTO pool_t VALUES (1)")            # never committed
    assert server.post_sql("SELECT count(*) FROM pool_t")[1]["rows"] == [[0]]


def test_expect_100_continue_is_answered_before_the_body(server):
    import socket
    body = json.dumps({"sql": "SELECT 7"}).encode()
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=60) as sock:
        sock.sendall(b"POST /v1/sql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        sock.shutdown(socket.SHUT_WR)
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 ") and b'"rows":[[7]]' in response


def test_malformed_http_is_answered_with_400(server):
    import socket
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=60) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        response = sock.recv(4096)
    assert response.startswith(b"HTTP/1.1 400 ")


# ------------------------------------------------------------------ robustness

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"sql": st.sampled_from(["SELECT $1", "SELECT $1::int", "SELECT $1::text[]",
                                                   "SELECT $1::jsonb", "SELECT 1; SELECT 2", "", ";",
                                                   "SELECT $2", "VALUES ($1)"])},
                          optional={"params": st.lists(JSON_VALUES, max_size=3)}).map(lambda v: json.dumps(v).encode()),
))
def test_any_sql_request_gets_a_json_answer(server, body):
    status, headers, data = server.request("POST", "/v1/sql", body, {"content-type": "application/json"})
    answer = json.loads(data)
    if status == 200:
        assert set(answer) == {"columns", "rows", "command"}
    else:
        assert status == 400 and re.fullmatch(r"[0-9A-Z]{5}", answer["sqlstate"]), (status, answer)
        assert answer["sqlstate"] not in ("XX000",), answer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet="/abcdefghijklmnopqrstuvwxyz0123456789?=&%:.-", max_size=30),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
def test_any_path_and_method_gets_an_answer(server, path, method):
    target = "/" + path.lstrip("/")
    if target.startswith("/v1/changes") and method == "GET":
        return                                   # a valid stream stays open; covered above
    status, _, data = server.request(method, target, b"{}" if method != "GET" else None)
    assert status in (200, 400, 404, 405), (status, data)
    if status != 200:
        assert "sqlstate" in json.loads(data)
