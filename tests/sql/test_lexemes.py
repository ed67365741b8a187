"""engine.sql.lexemes: the quote-aware scan shared by the statement split and the
time-travel rewrite. Pure functions on text, so tested directly."""
from __future__ import annotations

from hypothesis import given, strategies as st

from engine.sql.lexemes import coarse_lexemes, lexemes
from engine.sql.parser import split_statements
from engine.sql.timetravel import rewrite_system_time_clauses


def kinds(sql: str) -> list[tuple[str, str]]:
    return [(kind, sql[start:end]) for kind, start, end in lexemes(sql)]


def test_literals_are_whole_lexemes():
    assert kinds("select 'a;b', E'it\\'s;', B'01', U&'x;', $$;$$, $q$ $$ ; $q$, \"a;\"\"b\"") == [
        ("word", "select"), ("literal", "'a;b'"), ("other", ","), ("literal", "E'it\\'s;'"),
        ("other", ","), ("literal", "B'01'"), ("other", ","), ("literal", "U&'x;'"), ("other", ","),
        ("literal", "$$;$$"), ("other", ","), ("literal", "$q$ $$ ; $q$"), ("other", ","),
        ("literal", '"a;""b"'),
    ]


def test_names_may_hold_dollars_and_end_in_a_prefix_letter():
    assert kinds("a$b$ + $1 + ae'x'") == [
        ("word", "a$b$"), ("other", "+"), ("other", "$1"), ("other", "+"), ("word", "ae"), ("literal", "'x'"),
    ]
    assert kinds("$1$$;$$") == [("other", "$1"), ("literal", "$$;$$")]


def test_comments_nest_and_are_not_content():
    sql = "/* a /* ; */ b */ x -- ; y\n;"
    assert [k for k, _, _ in coarse_lexemes(sql)] == ["comment", "comment", "semi"]
    assert split_statements(sql) == [("/* a /* ; */ b */ x -- ; y\n", 0)]
    assert split_statements("select 1; -- done\n/* really */ ;;") == [("select 1", 0)]
    assert split_statements("/* a /* b */ still open") == [("/* a /* b */ still open", 0)]


def test_split_keeps_offsets():
    sql = "select ';' ; select $x$;$x$;\nselect E'\\';'"
    assert split_statements(sql) == [("select ';' ", 0), (" select $x$;$x$", 12), ("\nselect E'\\';'", 28)]


def test_time_travel_rewrite_sees_only_real_clauses():
    sql = "SELECT 'for system_time as of transaction 1' FROM t FOR SYSTEM_TIME AS OF TRANSACTION 3 -- for system_time as of transaction 2"
    rewritten = rewrite_system_time_clauses(sql)
    assert len(rewritten) == len(sql)
    assert rewritten.split(" FROM t ")[0] == "SELECT 'for system_time as of transaction 1'"
    assert "FOR VERSION     AS OF             3" in rewritten
    assert rewritten.endswith("-- for system_time as of transaction 2")


_PIECES = st.sampled_from([
    "a", "E", "x", "U&", "'", "''", '"', ";", "--", "\n", "/*", "*/", "$$", "$a$", "\\", " ", "(", ")",
    "1", "$1", "-", "/", "*", "select",
])


@given(st.lists(_PIECES, max_size=16).map("".join))
def test_split_pieces_and_lexemes_cover_the_text(sql):
    for piece, offset in split_statements(sql):
        assert sql[offset:offset + len(piece)] == piece
        assert piece.strip()
    spans = [(start, end) for _, start, end in lexemes(sql)]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    covered = set().union(*(range(start, end) for start, end in spans))
    assert all(sql[i].isspace() for i in range(len(sql)) if i not in covered)


def test_parameters_are_spaced_only_outside_literals_and_names():
    from engine.sql.parser import _space_parameters
    assert _space_parameters("SELECT $1,$2::int, a$1, '$3,x', E'\\'$4,', \"$5,\" -- $6,\n") == \
        "SELECT $1 ,$2 ::int, a$1, '$3,x', E'\\'$4,', \"$5,\" -- $6,\n"
    assert _space_parameters("SELECT $1") == "SELECT $1"
    assert _space_parameters("SELECT $1$$x$$") == "SELECT $1 $$x$$"
