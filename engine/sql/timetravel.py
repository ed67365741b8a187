"""The time-travel clause: `FOR SYSTEM_TIME ...` on a table reference, as sqlglot sees it.

sqlglot's postgres dialect parses `FOR SYSTEM_TIME AS OF <expr>`, `BETWEEN a AND b`,
`FROM a TO b` and `ALL` after a table name into `exp.Version(this="TIMESTAMP", kind=...)`,
but not our transaction forms (`AS OF TRANSACTION n`, `BETWEEN TRANSACTION a AND
TRANSACTION b`, `FROM TRANSACTION a TO TRANSACTION b`). `rewrite_system_time_clauses`
rewrites those, in the SQL text and before sqlglot sees it, into the version form sqlglot
does parse (`FOR VERSION AS OF n`, `this="VERSION"`), padding with spaces so that every
character keeps its position (error positions stay right); it also turns the TO of
`FROM a TO b` into AND (which sqlglot accepts there too): sqlglot would read
`interval '1 day' TO now()` as an interval `DAY TO ...`.

The scan walks `engine.sql.lexemes`, which steps over string literals (E'' and dollar
quotes included), quoted identifiers and comments, so a `for system_time` inside any of
them is left alone. `version_point` turns a parsed `exp.Version` into a `TimeTravel`
description the planner binds.

Data flow: parser.parse_sql -> rewrite_system_time_clauses -> sqlglot -> planner (version_point);
sqlglot's generator -> version_sql (registered by the parser's dialect set-up).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.generator import Generator

from engine.errors import syntax_error
from engine.sql.lexemes import lexemes

_MARKER = re.compile(r"(?i)system_time")


@dataclass(frozen=True, slots=True)
class _Word:
    text: str          # lower-cased
    start: int
    end: int
    depth: int         # parenthesis depth


def _words(sql: str) -> list[_Word | None]:
    """The words of `sql` outside literals and comments; None stands for any other lexeme."""
    out: list[_Word | None] = []
    depth = 0
    for kind, start, end in lexemes(sql):
        if kind == "comment":
            continue
        if kind == "word":
            out.append(_Word(sql[start:end].lower(), start, end, depth))
            continue
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        out.append(None)
    return out


def rewrite_system_time_clauses(sql: str) -> str:
    """`sql` with every `FOR SYSTEM_TIME ... TRANSACTION n` form in sqlglot's `FOR VERSION`
    form, and the TO of every `FROM a TO b` as AND, each the same length as before."""
    if _MARKER.search(sql) is None:
        return sql
    words = _words(sql)
    chars = list(sql)

    def blank(w: _Word) -> None:
        chars[w.start:w.end] = " " * (w.end - w.start)

    def word(i: int) -> _Word | None:
        return words[i] if 0 <= i < len(words) else None

    def is_(i: int, text: str) -> bool:
        w = word(i)
        return w is not None and w.text == text

    for i, w in enumerate(words):
        if w is None or w.text != "for" or not is_(i + 1, "system_time"):
            continue
        system_time = words[i + 1]
        j = i + 2
        if is_(j, "as") and is_(j + 1, "of"):
            if is_(j + 2, "transaction"):
                chars[system_time.start:system_time.end] = "VERSION".ljust(len("system_time"))
                blank(words[j + 2])
            continue
        if is_(j, "between") or is_(j, "from"):
            separator = "and" if words[j].text == "between" else "to"
            first_is_tx = is_(j + 1, "transaction")
            k = j + 2
            while k < len(words) and not (is_(k, separator) and words[k].depth == words[j].depth):
                k += 1
            second_is_tx = is_(k + 1, "transaction")
            if first_is_tx != second_is_tx:
                raise syntax_error(
                    f"FOR SYSTEM_TIME {words[j].text.upper()}: both ends must be TRANSACTION numbers "
                    "or both timestamps", words[j].start + 1)
            if first_is_tx:
                chars[system_time.start:system_time.end] = "VERSION".ljust(len("system_time"))
                blank(words[j + 1])
                blank(words[k + 1])
            if separator == "to" and k < len(words):
                to = words[k]
                # sqlglot takes a TO right after an interval literal for the interval's
                # `DAY TO SECOND` form; its FROM form accepts AND as well, which nothing eats.
                # The blank before (or after) TO makes room for the third letter.
                if to.start > 0 and sql[to.start - 1].isspace():
                    chars[to.start - 1:to.end] = "AND"
                elif to.end < len(sql) and sql[to.end].isspace():
                    chars[to.start:to.end + 1] = "AND"
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class TimeTravel:
    """A parsed FOR SYSTEM_TIME clause: kind "as_of", "between", "from_to" or "all";
    `by_lsn` for the TRANSACTION forms; the point expressions (sqlglot trees)."""
    kind: str
    by_lsn: bool
    bounds: tuple[exp.Expression, ...]


def version_sql(generator: Generator, version: exp.Version) -> str:
    """A parsed clause printed back in rewinddb's syntax (sqlglot would print `FOR TIMESTAMP
    BETWEEN (a, b)`), so that SQL text generated from a tree (a view's stored query, its
    definition) reads back the same through `rewrite_system_time_clauses`."""
    travel = version_point(version)
    points = [("TRANSACTION " if travel.by_lsn else "") + generator.sql(b) for b in travel.bounds]
    if travel.kind == "as_of":
        return f"FOR SYSTEM_TIME AS OF {points[0]}"
    if travel.kind == "between":
        return f"FOR SYSTEM_TIME BETWEEN {points[0]} AND {points[1]}"
    if travel.kind == "from_to":
        return f"FOR SYSTEM_TIME FROM {points[0]} TO {points[1]}"
    return "FOR SYSTEM_TIME ALL"


def version_point(version: exp.Version) -> TimeTravel:
    kind = str(version.args.get("kind") or "").upper()
    by_lsn = str(version.this).upper() == "VERSION"
    expression = version.args.get("expression")
    if kind == "AS OF":
        return TimeTravel("as_of", by_lsn, (expression,))
    if kind == "ALL":
        return TimeTravel("all", by_lsn, ())
    if kind in ("BETWEEN", "FROM") and isinstance(expression, exp.Tuple) and len(expression.expressions) == 2:
        return TimeTravel("between" if kind == "BETWEEN" else "from_to", by_lsn, tuple(expression.expressions))
    raise syntax_error(f"FOR SYSTEM_TIME {kind} is not a time-travel form rewinddb knows "
                       "(AS OF, BETWEEN ... AND, FROM ... TO, ALL)")
