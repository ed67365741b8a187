"""Quote-aware scanning of SQL text: the one place that knows what to step over.

Text-level passes that run before sqlglot (the statement split, the time-travel clause
rewrite) must not see a semicolon or keyword inside a string literal, quoted name or
comment. Both walk the lexemes found here, as `(kind, start, end)`:

- "literal": a string literal as a whole (`'...'` with `''`, `E'...'` with backslash escapes,
  `B''`/`X''`/`U&''`), a dollar-quoted string (`$tag$...$tag$`) or a quoted identifier;
- "comment": `-- ...` or a (nested) `/* ... */`;
- "semi": `;`;
- "other": an unterminated block comment (so that it reaches the parser and its error);
  an unterminated literal simply runs to the end of the text.

`coarse_lexemes` yields only those: it is the per-query fast path (a one-character-class
regex search leaps over ordinary text). `lexemes` also yields the ordinary text between them:
"word" (an unquoted identifier or keyword), "open" and "close" (`(`, `)`) and "other" (a run
of any other non-blank characters: numbers, operators, `$1`).

As in PostgreSQL's lexer, a name may contain `$`, so `a$b$` is a name and not the opening of
a dollar quote, and `ae'x'` is the name ae followed by a plain string.

Data flow: parser.split_statements -> coarse_lexemes; timetravel.rewrite_system_time_clauses
-> lexemes -> coarse_lexemes.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

_SPECIAL = re.compile(r"""[-'"$;/]""")
_STRING_BODY = re.compile(r"(?:[^']++|'')*+'?")        # possessive: linear on huge literals
_ESCAPE_STRING_BODY = re.compile(r"(?:[^'\\]++|\\.|'')*+'?", re.DOTALL)
_QUOTED_NAME = re.compile(r'"(?:[^"]++|"")*+"?')
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
_BLOCK_EDGE = re.compile(r"/\*|\*/")
_PLAIN = re.compile(r"""
    (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<other>[^\sA-Za-z_()]+)
""", re.VERBOSE)


def _name_char(sql: str, pos: int) -> bool:
    """Whether sql[pos] exists and can be part of a name (PostgreSQL: letters, digits, _, $)."""
    if pos < 0:
        return False
    c = sql[pos]
    return c.isalnum() or c == "_" or c == "$"


def _ends_name(sql: str, pos: int) -> bool:
    """Whether the text just before `pos` is a name (not a number or `$n`) that `pos` would
    continue."""
    start = pos
    while _name_char(sql, start - 1):
        start -= 1
    return start < pos and (sql[start].isalpha() or sql[start] == "_")


def coarse_lexemes(sql: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of each literal, comment and semicolon of `sql`, in order."""
    search = _SPECIAL.search
    n = len(sql)
    pos = 0
    while True:
        m = search(sql, pos)
        if m is None:
            return
        start = m.start()
        c = sql[start]
        if c == "'":
            body = _STRING_BODY
            prefix = sql[start - 1:start].lower() if start else ""
            if prefix in ("e", "b", "x") and not _name_char(sql, start - 2):
                start -= 1
                if prefix == "e":
                    body = _ESCAPE_STRING_BODY
            elif sql[start - 2:start].lower() == "u&" and not _name_char(sql, start - 3):
                start -= 2
            pos = body.match(sql, m.end()).end()
            yield "literal", start, pos
        elif c == ";":
            pos = start + 1
            yield "semi", start, pos
        elif c == '"':
            pos = _QUOTED_NAME.match(sql, start).end()
            yield "literal", start, pos
        elif c == "$":
            tag = None if _ends_name(sql, start) else _DOLLAR_TAG.match(sql, start)
            if tag is None:
                pos = start + 1
                continue
            close = sql.find(tag.group(), tag.end())
            pos = n if close < 0 else close + len(tag.group())
            yield "literal", start, pos
        elif sql.startswith("--", start):
            newline = sql.find("\n", start)
            pos = n if newline < 0 else newline
            yield "comment", start, pos
        elif sql.startswith("/*", start):
            depth, pos = 1, start + 2
            while depth:
                edge = _BLOCK_EDGE.search(sql, pos)
                if edge is None:
                    yield "other", start, n
                    return
                depth += 1 if edge.group() == "/*" else -1
                pos = edge.end()
            yield "comment", start, pos
        else:
            pos = start + 1


def lexemes(sql: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of every lexeme of `sql`, in order: the coarse ones and the words,
    parentheses and other runs of the text between them."""
    plain_from = 0
    for lexeme in coarse_lexemes(sql):
        for m in _PLAIN.finditer(sql, plain_from, lexeme[1]):
            yield m.lastgroup, m.start(), m.end()
        yield lexeme
        plain_from = lexeme[2]
    for m in _PLAIN.finditer(sql, plain_from):
        yield m.lastgroup, m.start(), m.end()
