"""Random and mutated SQL never crashes the server: deep nesting becomes 54001 (statement too
complex) wherever Python's limits are hit (parsing, planning, compiling, executing), oversized
values and results get PostgreSQL's SQLSTATEs, and everything else is a proper SQLSTATE,
never XX000 (internal error), a dropped connection or a hang. A watchdog client runs queries
throughout.

Inputs: hand-written extremes; statements from a small SQL grammar (hypothesis); token soup;
and the golden case files' statements, mutated. REWINDDB_FUZZ_SCALE runs them longer.
"""
from __future__ import annotations

import random

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import pq

from tests.conftest import RunningServer
from tests.golden.runner import CASES, statements
from tests.robust import hostile as H


@pytest.fixture(scope="module")
def sql_server(tmp_path_factory):
    server = RunningServer(tmp_path_factory.mktemp("sqlfuzz") / "data", ("--query-memory-limit", "64MiB")).start()
    H.prepare_database(server.port)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a int, b text, c float8, d numeric, e boolean, f date, g int[])")
        conn.execute("INSERT INTO t SELECT i, 'v' || i, i / 3.0, i * 1.5, i % 2 = 0, date '2024-01-01' + i, "
                     "ARRAY[i, i + 1] FROM generate_series(1, 50) i")
        conn.execute("INSERT INTO t VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
    with H.Watchdog(server.port) as watchdog:
        yield server, watchdog
    watchdog.check()
    server.kill()
    assert "internal error" not in server.log() and "Traceback" not in server.log()


class Session:
    """One connection, simple protocol; a fuzzed statement's session changes are undone."""

    TIMEOUT = 20_000      # ms: statements that run away are canceled (57014)

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.conn = psycopg.connect(server.dsn, autocommit=True)
        self.conn.execute(f"SET statement_timeout = {self.TIMEOUT}")
        self.seen: dict[str, int] = {}

    def run(self, sql: str) -> str | None:
        """The statement's SQLSTATE (None: it succeeded); fails on XX000 or a lost connection."""
        pgconn = self.conn.pgconn
        res = pgconn.exec_(sql.encode("utf-8", "surrogatepass"))
        code = None
        while res is not None:
            if res.status == pq.ExecStatus.FATAL_ERROR:
                code = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
                message = (res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
                assert code and code != "XX000", f"{code} {message!r} for {sql[:500]!r}"
            elif res.status == pq.ExecStatus.COPY_IN:
                pgconn.put_copy_end(b"fuzz")
            elif res.status == pq.ExecStatus.COPY_OUT:
                while pgconn.get_copy_data(0)[0] > 0:
                    pass
            res = pgconn.get_result() if res.status in (pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_OUT) else None
        assert pgconn.status == pq.ConnStatus.OK, f"connection lost after {sql[:500]!r}"
        if code is not None:
            self.seen[code] = self.seen.get(code, 0) + 1
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            pgconn.exec_(b"ROLLBACK")
        return code

    def reset(self) -> None:
        self.conn.pgconn.exec_(b"RESET ALL")
        self.conn.pgconn.exec_(f"SET statement_timeout = {self.TIMEOUT}".encode())

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def session(sql_server):
    server, watchdog = sql_server
    s = Session(server)
    yield s
    s.close()
    watchdog.check()


# -------------------------------------------------------------------- extremes

TOO_COMPLEX = {
    "parentheses": "SELECT " + "(" * 5000 + "1" + ")" * 5000,
    "arithmetic": "SELECT " + "1 + " * 20000 + "1",
    "subqueries": "SELECT " + "(SELECT " * 2000 + "1" + ")" * 2000,
    "not_chain": "SELECT " + "NOT " * 20000 + "true",
    "case_whens": "SELECT CASE " + "WHEN a = 0 THEN 1 " * 5000 + "END FROM t",
    "nested_functions": "SELECT " + "abs(" * 5000 + "1" + ")" * 5000,
    "array_nesting": "SELECT ARRAY" + "[" * 5000 + "1" + "]" * 5000,
    "array_literal": "SELECT '" + "{" * 20000 + "}" * 20000 + "'::int[]",
    "concatenation": "SELECT 'x' " + "|| 'x' " * 20000,
    "and_chain": "SELECT 1 FROM t WHERE " + " AND ".join(f"a <> {i}" for i in range(20000)),
    "union_chain": " UNION ALL ".join(["SELECT 1"] * 5000),
    "cte_chain": "WITH " + ", ".join(f"c{i} AS (SELECT {'1' if i == 0 else f'x + 1 FROM c{i - 1}'} AS x)"
                                     for i in range(3000)) + " SELECT x FROM c2999",
}


@pytest.mark.parametrize("name", sorted(TOO_COMPLEX))
def test_deep_nesting_is_statement_too_complex_or_works(session, name: str) -> None:
    code = session.run(TOO_COMPLEX[name])
    assert code in (None, "54001"), code
    assert session.run("SELECT 1") is None


BIG = {
    "in_list_10000": ("SELECT count(*) FROM t WHERE a IN (" + ", ".join(map(str, range(10000))) + ")", None),
    "values_10000": ("SELECT count(*) FROM (VALUES " + ", ".join(f"({i})" for i in range(10000)) + ") v(x)", None),
    "columns_3000": ("SELECT " + ", ".join(f"{i} AS c{i}" for i in range(3000)), None),
    "identifier_100k": (f"SELECT 1 AS {'x' * 100_000}", None),
    "quoted_identifier_100k": (f'SELECT 1 AS "{"y" * 100_000}"', None),
    "literal_10mb": ("SELECT length('" + "z" * 10_000_000 + "')", None),
    # E'' strings with millions of escapes: sqlglot's scanner for queries, ours for utility
    # statements (SET, CREATE ROLE ... PASSWORD, COPY options, NOTIFY): linear, not quadratic
    "e_string_2m_escapes": ("SELECT length(E'" + "\\101\\x41\\n" * 700_000 + "')", None),
    "e_string_1m_escapes_in_set": ("SET fuzz.escapes = E'" + "\\101\\x41\\u00e9" * 350_000 + "'", None),
    "e_string_1m_escapes_in_password": ("CREATE ROLE escapes PASSWORD E'" + "\\101" * 1_000_000 + "'", None),
    "prefix_operator_without_operand": ("SELECT + -- nothing follows", "42601"),
    "repeat_huge": ("SELECT length(repeat('x', 2000000000))", "54000"),
    "lpad_huge": ("SELECT length(lpad('x', 2000000000))", "54000"),
    "sort_over_budget": ("SELECT count(*) FROM (SELECT g FROM generate_series(1, 10000000) g ORDER BY g DESC) s",
                         "53200"),
    "hash_over_budget": ("SELECT count(*) FROM (SELECT DISTINCT g FROM generate_series(1, 10000000) g) s", "53200"),
    "group_over_budget": ("SELECT count(*) FROM (SELECT g % 5000000, count(*) FROM generate_series(1, 10000000) g "
                          "GROUP BY 1) s", "53200"),
    "string_agg_over_budget": ("SELECT length(string_agg(g::text, ',')) FROM generate_series(1, 10000000) g",
                               "53200"),
    "join_build_over_budget": ("SELECT count(*) FROM generate_series(1, 3000000) a "
                               "JOIN generate_series(1, 10000000) b ON a = b", "53200"),
    "runs_for_ever": ("SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b", "57014"),
    "counts_for_ever": ("SELECT count(*) FROM generate_series(1, 10000000000)", "57014"),
    "recursive_for_ever": ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                           ("53200", "57014")),
}


@pytest.mark.parametrize("name", sorted(BIG))
def test_oversized_inputs_and_runaway_statements(session, name: str) -> None:
    sql, expected = BIG[name]
    if expected and "57014" in expected:
        session.run("SET statement_timeout = 1000")
    code = session.run(sql)
    assert code in expected if isinstance(expected, tuple) else code == expected, code
    assert session.run("SELECT 1") is None


# E'' escapes that PostgreSQL, sqlglot's scanner and ours all read alike (a NUL is refused by
# PostgreSQL; whitespace at the ends of a SET value is trimmed by rewinddb, hence the brackets)
E_ESCAPES = ("\\n", "\\t", "\\b", "\\f", "\\r", "\\\\", "\\'", "''", "\\q", "\\101", "\\7", "\\177", "\\x4",
             "\\x41", "\\xg", "\\u00e9", "\\u20AC", "\\U0001F600", "\\8", "\\\n")


def test_e_strings_read_alike_in_queries_and_utility_statements(session) -> None:
    """The same E'' literal gives the same value through a query (sqlglot's scanner) and SET
    (our utility parser's)."""
    plain = st.text(st.characters(blacklist_characters="\x00'\\", blacklist_categories=("Cs",)), max_size=3)

    @H.fuzz_settings(150)
    @given(body=st.lists(st.one_of(st.sampled_from(E_ESCAPES), plain), max_size=12).map("".join))
    def run(body: str) -> None:
        literal = f"E'<{body}>'"
        assert session.run(f"SET fuzz.e = {literal}") is None
        row = session.conn.execute(f"SELECT current_setting('fuzz.e') = {literal}, {literal}").fetchone()
        assert row[0], (body, row[1])
    run()


# -------------------------------------------------------------------- grammar-based generation

COLUMNS = ("a", "b", "c", "d", "e", "f", "g", "t.a", "x")
FUNCTIONS = ("abs", "length", "upper", "lower", "coalesce", "nullif", "greatest", "least", "round", "substr",
             "md5", "concat", "trim", "sqrt", "ln", "exp", "power", "mod", "date_trunc", "to_char", "array_length",
             "unnest", "generate_series", "json_build_object", "jsonb_typeof", "string_agg", "count", "sum",
             "avg", "min", "max", "array_agg", "row_number", "lag", "repeat", "left", "split_part", "regexp_replace")
TYPES = ("int", "bigint", "smallint", "text", "float8", "numeric", "numeric(5,2)", "boolean", "date", "timestamp",
         "timestamptz", "interval", "json", "jsonb", "bytea", "int[]", "text[]", "varchar(3)", "char(2)", "uuid",
         "oid", "regclass")
OPERATORS = ("+", "-", "*", "/", "%", "^", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "LIKE", "ILIKE",
             "~", "@>", "->", "->>", "&", "|", "<<", "IS DISTINCT FROM")

literals = st.one_of(
    st.integers(-2**70, 2**70).map(str), st.floats(allow_nan=False).map(repr),
    st.sampled_from(["NULL", "true", "false", "'nan'", "'infinity'", "'-infinity'", "1e400", "-0", "''",
                     "'2024-02-30'", "'{1,2,}'", "'{\"a\":}'", "E'\\\\x00'", "'\\xzz'", "$$dollar$$", "B'101'",
                     "interval '1 century'", "date 'epoch'", "'9999999999999999999999'::numeric", "9223372036854775807",
                     "-9223372036854775808", "2147483648", "'a''b'", "U&'\\0041'"]),
    st.text(max_size=20).map(lambda s: "'" + s.replace("\x00", "").replace("'", "''") + "'"))


def expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        st.one_of(literals, st.sampled_from(COLUMNS)),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "NOT ", "~", "+"]), inner).map(lambda t: f"({t[0]}{t[1]})"),
            st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, st.sampled_from(TYPES)).map(lambda t: f"CAST({t[0]} AS {t[1]})"),
            st.tuples(inner, st.sampled_from(TYPES)).map(lambda t: f"{t[0]}::{t[1]}"),
            st.tuples(inner, inner, inner).map(lambda t: f"CASE WHEN {t[0]} THEN {t[1]} ELSE {t[2]} END"),
            st.tuples(inner, st.lists(inner, min_size=1, max_size=4)).map(lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
            st.tuples(inner, inner).map(lambda t: f"(SELECT {t[0]} FROM t WHERE {t[1]} LIMIT 1)"),
            st.tuples(inner).map(lambda t: f"EXISTS (SELECT 1 FROM t WHERE {t[0]})"),
            st.tuples(inner).map(lambda t: f"{t[0]} IS NULL"),
            st.tuples(st.lists(inner, min_size=1, max_size=3)).map(lambda t: f"ARRAY[{', '.join(t[0])}]"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        ),
        max_leaves=12)


@st.composite
def statements_from_grammar(draw: st.DrawFn) -> str:
    e = expressions()
    kind = draw(st.sampled_from(["select", "select", "select", "insert", "update", "delete", "join", "setop", "values"]))
    if kind == "select":
        sql = f"SELECT {', '.join(draw(st.lists(e, min_size=1, max_size=3)))} FROM t"
        if draw(st.booleans()):
            sql += f" WHERE {draw(e)}"
        if draw(st.booleans()):
            sql += f" GROUP BY {draw(e)}"
        if draw(st.booleans()):
            sql += f" ORDER BY {draw(e)} {draw(st.sampled_from(['', 'DESC', 'NULLS FIRST']))}"
        if draw(st.booleans()):
            sql += f" LIMIT {draw(st.sampled_from(['0', '1', '-1', 'NULL', 'ALL', '1e10', '(SELECT 2)']))}"
        return sql
    if kind == "insert":
        return f"INSERT INTO t (a, b) VALUES ({draw(e)}, {draw(e)})"
    if kind == "update":
        return f"UPDATE t SET a = {draw(e)} WHERE {draw(e)}"
    if kind == "delete":
        return f"DELETE FROM t WHERE {draw(e)}"
    if kind == "join":
        how = draw(st.sampled_from(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN LATERAL"]))
        on = f" ON {draw(e)}" if "CROSS" not in how else ""
        right = "t u" if "CROSS" not in how else f"(SELECT {draw(e)} AS x) u"
        return f"SELECT t.a, {draw(e)} FROM t {how} {right}{on} LIMIT 5"
    if kind == "setop":
        op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]))
        return f"SELECT {draw(e)} FROM t {op} SELECT {draw(e)} FROM t"
    return f"VALUES ({draw(e)}), ({draw(e)})"


def test_statements_from_a_sql_grammar(session) -> None:
    @H.fuzz_settings(150)
    @given(sql=statements_from_grammar())
    def run(sql: str) -> None:
        session.run(sql)
    run()
    assert session.run("SELECT 1") is None


TOKENS = ("SELECT", "FROM", "WHERE", "t", "a", "b", "(", ")", ",", "1", "'x'", "NULL", "+", "*", "=", "AND", "OR",
          "NOT", "IN", "EXISTS", "CASE", "WHEN", "THEN", "END", "::", "int", "text", "[", "]", "GROUP", "BY", "ORDER",
          "HAVING", "LIMIT", "OFFSET", "UNION", "JOIN", "ON", "AS", "WITH", "RECURSIVE", "INSERT", "INTO", "VALUES",
          "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "DROP", "ALTER", "INDEX", "BEGIN", "COMMIT", "ROLLBACK",
          "SAVEPOINT", "FOR", "SYSTEM_TIME", "AS OF", "TRANSACTION", ";", "$1", "E'\\", "$$", "--", "/*", "*/", '"',
          "ARRAY", "ROW", "LATERAL", "WINDOW", "OVER", "PARTITION", "COPY", "STDIN", "EXPLAIN", "ANALYZE", "PREPARE",
          "EXECUTE", "DECLARE", "CURSOR", "FETCH", "LISTEN", "NOTIFY", "SHOW", "RESET", "\\", "@", "#", "?")


def test_token_soup(session) -> None:
    @H.fuzz_settings(200)
    @given(tokens=st.lists(st.sampled_from(TOKENS), max_size=25))
    def run(tokens: list[str]) -> None:
        session.run(" ".join(tokens))
    run()
    assert session.run("SELECT 1") is None


def _corpus() -> list[str]:
    out = []
    for case in sorted(CASES.glob("*.sql")):
        out += [s for s in statements(case) if "COPY" not in s.upper() and "ROLE" not in s.upper()]
    return out


CORPUS = _corpus()


def _mutate(sql: str, rng: random.Random) -> str:
    tokens = sql.split(" ")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(tokens))
        how = rng.randrange(6)
        if how == 0:
            del tokens[i]
        elif how == 1:
            tokens.insert(i, rng.choice(tokens))
        elif how == 2:
            tokens[i] = rng.choice(TOKENS)
        elif how == 3:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif how == 4 and tokens[i]:
            k = rng.randrange(len(tokens[i]))
            tokens[i] = tokens[i][:k] + rng.choice("()',;:[]{}\\$\"0-9eE.\x01é") + tokens[i][k + 1:]
        else:
            tokens[i] = tokens[i] * rng.randint(2, 50)
        if not tokens:
            tokens = [""]
    return " ".join(tokens)


def test_mutated_golden_statements(session) -> None:
    """Statements of the golden case files (PostgreSQL-checked SQL), mutated token-wise."""
    @H.fuzz_settings(400)
    @given(index=st.integers(0, len(CORPUS) - 1), seed=st.integers(0, 2**32))
    def run(index: int, seed: int) -> None:
        session.run(_mutate(CORPUS[index], random.Random(seed)))
        session.reset()
    run()
    assert session.run("SELECT 1") is None
