"""String functions and the pattern-matching operators (LIKE, SIMILAR TO, POSIX regex).

Text is a Python str; characters are code points, as in a UTF8 PostgreSQL database, and
comparison is code point order (C.UTF-8 collation). bpchar values are stored padded to
their length; the functions that PostgreSQL defines on bpchar itself (length, octet_length)
are defined here too, every other text function sees the value with its trailing spaces
removed (the bpchar -> text cast).

PostgreSQL regular expressions (Henry Spencer's ARE flavour) are translated to Python's
`re` syntax once per pattern (`pg_regex`, cached): `.` matches newlines and `$` only
matches at the very end unless the 'n' flag asks for newline-sensitive matching, POSIX
bracket classes ([[:alpha:]]) and the \\m \\M \\y \\Z escapes are mapped, and a pattern
Python cannot compile answers 2201B as PostgreSQL does.
"""
from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import Any, Callable, Iterator

from engine.catalog.system import quote_ident
from engine.errors import SqlError
from engine.exec.functions import define, runtime
from engine.exec.srf import fixed, register
from engine.types import (BOOL, BPCHAR, BYTEA, INT4, INT8, NAME, TEXT, OutputSettings, SqlType, array_of,
                          text_formatter)

TEXT_ARRAY = array_of(TEXT)

# -------------------------------------------------------------------- LIKE / ILIKE / SIMILAR TO


def like_regex(pattern: str, case_insensitive: bool = False, escape: str | None = "\\") -> re.Pattern:
    """A LIKE pattern as a compiled regex matching the whole string."""
    if escape is not None and len(escape) > 1:
        raise SqlError("22025", "invalid escape string", hint="Escape string must be empty or one character.")
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if escape and c == escape:
            i += 1
            if i >= n:
                raise SqlError("22025", "LIKE pattern must not end with escape character")
            out.append(re.escape(pattern[i]))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S | (re.I if case_insensitive else 0))


_like_cache = lru_cache(maxsize=1024)(like_regex)


@runtime
def like(value: str, pattern: str, case_insensitive: bool = False, escape: str | None = "\\") -> bool:
    return _like_cache(pattern, case_insensitive, escape).match(value) is not None


def similar_regex(pattern: str, escape: str | None = "\\", lazy: bool = False) -> str:
    """A SIMILAR TO pattern as Python regex source (whole-string match), as similar_escape();
    `lazy` makes its quantifiers match as little as they can."""
    mark = "?" if lazy else ""
    out = []
    i = 0
    n = len(pattern)
    in_bracket = False
    while i < n:
        c = pattern[i]
        if escape and c == escape:
            i += 1
            if i >= n:
                raise SqlError("2201B", "invalid regular expression: SIMILAR TO pattern must not end with escape character")
            out.append(re.escape(pattern[i]))
        elif in_bracket:
            out.append("\\\\" if c == "\\" else c)
            if c == "]":
                in_bracket = False
        elif c == "[":
            in_bracket = True
            out.append(c)
        elif c == "%":
            out.append(".*" + mark)
        elif c == "_":
            out.append(".")
        elif c in "*+?}":
            out.append(c + mark)
        elif c in "|{()":
            out.append(c)
        else:
            out.append(re.escape(c))
        i += 1
    return "(?:" + "".join(out) + r")\Z"


@lru_cache(maxsize=1024)
def _similar_compiled(pattern: str, escape: str | None) -> re.Pattern:
    return _compile(similar_regex(pattern, escape), re.S)


@runtime
def similar(value: str, pattern: str, escape: str | None = "\\") -> bool:
    return _similar_compiled(pattern, escape).match(value) is not None


# -------------------------------------------------------------------- POSIX regular expressions

_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
            "space": r" \t\n\r\f\v", "blank": r" \t", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f",
            "word": r"\w", "cntrl": r"\x00-\x1f\x7f", "print": r"\x20-\x7e", "graph": r"\x21-\x7e"}


def _translate_regex(pattern: str) -> str:
    """PostgreSQL ARE syntax -> Python re syntax (the differences that matter in practice)."""
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            mapped = {"m": r"\b(?=\w)", "M": r"\b(?<=\w)", "y": r"\b", "Y": r"\B", "Z": r"\Z", "A": r"\A"}.get(nxt)
            out.append(mapped if mapped is not None else c + nxt)
            i += 2
            continue
        if c == "$":
            out.append(r"\Z")
            i += 1
            continue
        if c == "[":
            j = i + 1
            buf = ["["]
            if j < n and pattern[j] == "^":
                buf.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                buf.append(r"\]")
                j += 1
            while j < n and pattern[j] != "]":
                if pattern.startswith("[:", j):
                    end = pattern.find(":]", j + 2)
                    if end < 0:
                        raise SqlError("2201B", "invalid regular expression: brackets [] not balanced")
                    name = pattern[j + 2:end]
                    if name not in _CLASSES:
                        raise SqlError("2201B", "invalid regular expression: invalid character class")
                    buf.append(_CLASSES[name])
                    j = end + 2
                    continue
                if pattern[j] == "\\" and j + 1 < n:
                    buf.append(pattern[j:j + 2])
                    j += 2
                    continue
                if pattern[j] == "[" :
                    buf.append(r"\[")
                    j += 1
                    continue
                buf.append(pattern[j])
                j += 1
            if j >= n:
                raise SqlError("2201B", "invalid regular expression: brackets [] not balanced")
            buf.append("]")
            out.append("".join(buf))
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _compile(source: str, flags: int) -> re.Pattern:
    try:
        return re.compile(source, flags)
    except re.error as e:
        message = str(e)
        if "missing )" in message or "unbalanced parenthesis" in message:
            message = "parentheses () not balanced"
        elif "unterminated character set" in message:
            message = "brackets [] not balanced"
        elif "nothing to repeat" in message or "multiple repeat" in message:
            message = "quantifier operand invalid"
        raise SqlError("2201B", f"invalid regular expression: {message}") from None


@lru_cache(maxsize=1024)
def pg_regex(pattern: str, flags: str = "") -> re.Pattern:
    """Compile a PostgreSQL regular expression with PostgreSQL's flag letters."""
    py = re.S
    for f in flags:
        if f == "i":
            py |= re.I
        elif f == "c":
            py &= ~re.I
        elif f in ("n", "m"):
            py = (py & ~re.S) | re.M
        elif f == "s":
            py |= re.S
        elif f == "x":
            py |= re.X
        elif f in ("g", "p", "w", "q", "t", "b", "e"):
            continue
        else:
            raise SqlError("22023", f'invalid regular expression option: "{f}"')
    source = re.escape(pattern) if "q" in flags else _translate_regex(pattern)
    if py & re.M:
        source = source.replace(r"\Z", "$")
    return _compile(source, py)


@runtime
def regex_match(value: str, pattern: str, case_insensitive: bool = False) -> bool:
    return pg_regex(pattern, "i" if case_insensitive else "").search(value) is not None


def _replacement(text: str) -> Callable[[re.Match], str]:
    """PostgreSQL's replacement syntax: \\1..\\9 groups, \\& the whole match, \\\\ a backslash."""
    parts: list[str | int] = []
    i = 0
    buf = []
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt.isdigit() or nxt == "&":
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(0 if nxt == "&" else int(nxt))
                i += 2
                continue
            if nxt == "\\":
                buf.append("\\")
                i += 2
                continue
        buf.append(c)
        i += 1
    if buf:
        parts.append("".join(buf))

    def expand(m: re.Match) -> str:
        out = []
        for p in parts:
            if isinstance(p, int):
                if p <= (m.re.groups if p else 0) or p == 0:
                    out.append(m.group(p) or "")
            else:
                out.append(p)
        return "".join(out)
    return expand


@runtime
def regexp_replace(value: str, pattern: str, replacement: str, flags: str = "") -> str:
    rx = pg_regex(pattern, flags)
    return rx.sub(_replacement(replacement), value, count=0 if "g" in flags else 1)


def _parameter(name: str, value: int, lowest: int) -> int:
    if value < lowest:
        raise SqlError("22023", f'invalid value for parameter "{name}": {value}')
    return value


def _matches_from(function: str, value: str, pattern: str, start: int, flags: str) -> Iterator[re.Match]:
    """The matches at or after the 1-based `start` of the PostgreSQL 15 regexp_* functions that
    count matches themselves (so the "g" flag is an error)."""
    _parameter("start", start, 1)
    if "g" in flags:
        raise SqlError("22023", f'{function}() does not support the "global" option')
    return pg_regex(pattern, flags).finditer(value, start - 1)


def _nth_match(function: str, value: str, pattern: str, start: int, n: int, flags: str,
               subexpr: int) -> tuple[re.Match | None, int]:
    """The n-th match at or after start and the group asked for (None when there is none)."""
    _parameter("n", n, 1)
    _parameter("subexpr", subexpr, 0)
    m = next(itertools.islice(_matches_from(function, value, pattern, start, flags), n - 1, None), None)
    if m is None or subexpr > m.re.groups or m.start(subexpr) < 0:
        return None, 0
    return m, subexpr


@runtime
def regexp_count(value: str, pattern: str, start: int = 1, flags: str = "") -> int:
    return sum(1 for _ in _matches_from("regexp_count", value, pattern, start, flags))


@runtime
def regexp_instr(value: str, pattern: str, start: int = 1, n: int = 1, endoption: int = 0, flags: str = "",
                 subexpr: int = 0) -> int:
    if endoption not in (0, 1):
        raise SqlError("22023", f'invalid value for parameter "endoption": {endoption}')
    m, group = _nth_match("regexp_instr", value, pattern, start, n, flags, subexpr)
    if m is None:
        return 0
    return (m.end(group) if endoption else m.start(group)) + 1


@runtime
def regexp_substr(value: str, pattern: str, start: int = 1, n: int = 1, flags: str = "",
                  subexpr: int = 0) -> str | None:
    m, group = _nth_match("regexp_substr", value, pattern, start, n, flags, subexpr)
    return None if m is None else m.group(group)


@runtime
def regexp_like(value: str, pattern: str, flags: str = "") -> bool:
    if "g" in flags:
        raise SqlError("22023", 'regexp_like() does not support the "global" option')
    return pg_regex(pattern, flags).search(value) is not None


@runtime
def regexp_replace_from(value: str, pattern: str, replacement: str, start: int, n: int | None = None,
                        flags: str = "") -> str:
    """regexp_replace with a start position: the n-th match at or after it (all of them for n = 0,
    or without n under the "g" flag)."""
    _parameter("start", start, 1)
    if n is None:
        n = 0 if "g" in flags else 1
    _parameter("n", n, 0)
    rx = pg_regex(pattern, flags)
    expand = _replacement(replacement)
    out: list[str] = [value[:start - 1]]
    done = start - 1
    for i, m in enumerate(rx.finditer(value, start - 1), 1):
        if n and i < n:
            continue
        out.append(value[done:m.start()])
        out.append(expand(m))
        done = m.end()
        if n:
            break
    out.append(value[done:])
    return "".join(out)


@runtime
def regexp_match(value: str, pattern: str, flags: str = "") -> tuple | None:
    if "g" in flags:
        raise SqlError("22023", "regexp_match() does not support the \"global\" option",
                       hint="Use the regexp_matches function instead.")
    m = pg_regex(pattern, flags).search(value)
    if m is None:
        return None
    return m.groups() if m.re.groups else (m.group(0),)


def regexp_matches(value: str, pattern: str, flags: str = "") -> list[tuple]:
    """The rows of regexp_matches (a set-returning function): one text[] per match."""
    rx = pg_regex(pattern, flags)
    found = rx.finditer(value) if "g" in flags else [m for m in [rx.search(value)] if m is not None]
    return [m.groups() if rx.groups else (m.group(0),) for m in found]


@runtime
def regexp_split(value: str, pattern: str, flags: str = "") -> tuple:
    """regexp_split_to_array: the pieces between matches; empty matches at either end of the
    string or right after another match do not split."""
    if "g" in flags:
        raise SqlError("22023", "regexp_split_to_array() does not support the \"global\" option")
    pieces = []
    start = 0
    previous_end = None
    for m in pg_regex(pattern, flags).finditer(value):
        if m.start() == m.end() and m.start() in (0, len(value), previous_end):
            continue
        pieces.append(value[start:m.start()])
        start = previous_end = m.end()
    pieces.append(value[start:])
    return tuple(pieces)


@runtime
def regex_substring(value: str, pattern: str) -> str | None:
    m = pg_regex(pattern).search(value)
    if m is None:
        return None
    if m.re.groups:
        return m.group(1)
    return m.group(0)


@runtime
def similar_substring(value: str, pattern: str, escape: str) -> str | None:
    """substring(value similar pattern escape e): the part between the two escape-" markers."""
    marker = escape + '"'
    pieces = pattern.split(marker)
    if len(pieces) == 3:
        # the part before the match is as short as it can be (PostgreSQL makes it non-greedy)
        source = "(?:" + similar_regex(pieces[0], escape, lazy=True)[3:-3] + ")(" + similar_regex(pieces[1], escape)[3:-3] + \
                 ")(?:" + similar_regex(pieces[2], escape)[3:-3] + r")\Z"
        m = _compile(source, re.S).match(value)
        return m.group(1) if m else None
    if len(pieces) != 1:
        raise SqlError("2201B", "SQL regular expression may not contain more than two escape-double-quote separators")
    m = _similar_compiled(pattern, escape).match(value)
    return m.group(0) if m else None


# -------------------------------------------------------------------- plain string functions


@runtime
def text_substr(s: str, start: int, length: int | None = None) -> str:
    if length is not None and length < 0:
        raise SqlError("22011", "negative substring length not allowed")
    begin = start - 1
    end = None if length is None else begin + length
    if end is not None and end <= 0:
        return ""
    return s[max(begin, 0):end]


@runtime
def text_upper(s: str) -> str:
    """upper() character by character, as the C library does (no 'ß' -> 'SS')."""
    u = s.upper()
    return u if len(u) == len(s) else "".join(c if len(c.upper()) != 1 else c.upper() for c in s)


@runtime
def text_lower(s: str) -> str:
    low = s.lower()
    return low if len(low) == len(s) else "".join(c if len(c.lower()) != 1 else c.lower() for c in s)


@runtime
def initcap(s: str) -> str:
    out = []
    in_word = False
    for c in s:
        if c.isalnum():
            changed = c.lower() if in_word else c.upper()
            out.append(changed if len(changed) == 1 else c)
            in_word = True
        else:
            out.append(c)
            in_word = False
    return "".join(out)


@runtime
def translate(s: str, source: str, target: str) -> str:
    table: dict[str, str | None] = {}
    for i, c in enumerate(source):
        if c not in table:
            table[c] = target[i] if i < len(target) else None
    out = []
    for c in s:
        if c in table:
            replacement = table[c]
            if replacement is not None:
                out.append(replacement)
        else:
            out.append(c)
    return "".join(out)


# PostgreSQL refuses to build a text longer than 1 GiB / 4 (its longest UTF-8 character)
MAX_TEXT_CHARS = 268435455


@runtime
def pad(s: str, length: int, fill: str, left: bool) -> str:
    if length <= 0:
        return ""
    if length > MAX_TEXT_CHARS:
        raise SqlError("54000", "requested length too large")
    if len(s) >= length:
        return s[:length]
    if not fill:
        return s
    need = length - len(s)
    padding = (fill * (need // len(fill) + 1))[:need]
    return padding + s if left else s + padding


@runtime
def text_left(s: str, n: int) -> str:
    return s[:n] if n >= 0 else s[:max(len(s) + n, 0)]


@runtime
def text_right(s: str, n: int) -> str:
    if n >= 0:
        return s[len(s) - n:] if n else ""
    return s[-n:]


@runtime
def split_part(s: str, delimiter: str, n: int) -> str:
    if n == 0:
        raise SqlError("22023", "field position must not be zero")
    if delimiter == "":
        return s if n in (1, -1) else ""
    parts = s.split(delimiter)
    if n > 0:
        return parts[n - 1] if n <= len(parts) else ""
    return parts[n] if -n <= len(parts) else ""


@runtime
def text_strpos(s: str, sub: str) -> int:
    return s.find(sub) + 1


@runtime
def text_replace(s: str, old: str, new: str) -> str:
    return s.replace(old, new) if old else s


@runtime
def text_repeat(s: str, n: int) -> str:
    if n > 0 and len(s) * n > MAX_TEXT_CHARS:
        raise SqlError("54000", "requested length too large")
    return s * max(n, 0)


@runtime
def chr_(code: int) -> str:
    if code == 0:
        raise SqlError("54000", "null character not permitted")
    if code < 0:
        raise SqlError("22023", "character number must be positive")
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise SqlError("54000", f"requested character too large for encoding: {code}")
    return chr(code)


@runtime
def ascii_(s: str) -> int:
    return ord(s[0]) if s else 0


@runtime
def to_hex(v: int, bits: int) -> str:
    return format(v & ((1 << bits) - 1), "x")


@runtime
def overlay(s: str, placing: str, start: int, count: int | None = None) -> str:
    if count is None:
        count = len(placing)
    if start <= 0:
        raise SqlError("22011", "negative substring length not allowed")
    return s[:start - 1] + placing + s[start - 1 + count:]


@runtime
def string_to_array(s: str | None, delimiter: str | None, null_string: str | None = None) -> tuple | None:
    if s is None:
        return None
    if s == "":
        return ()
    if delimiter is None:
        parts = list(s)
    elif delimiter == "":
        parts = [s]
    else:
        parts = s.split(delimiter)
    if null_string is not None:
        return tuple(None if p == null_string else p for p in parts)
    return tuple(parts)


runtime(quote_ident)


@runtime
def quote_literal(s: str) -> str:
    body = s.replace("'", "''")
    if "\\" in s:
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"


def _formatter(t: SqlType, settings: OutputSettings) -> Callable[[Any], str]:
    if t.oid == BPCHAR.oid:
        return str
    return text_formatter(t, settings)


def _concat_builder(args: list, settings: OutputSettings) -> Callable:
    formats = [_formatter(a.type, settings) for a in args]

    def concat(*values: Any) -> str:
        return "".join(f(v) for f, v in zip(formats, values) if v is not None)
    return concat


def _concat_ws_builder(args: list, settings: OutputSettings) -> Callable:
    formats = [_formatter(a.type, settings) for a in args[1:]]

    def concat_ws(separator: str | None, *values: Any) -> str | None:
        if separator is None:
            return None
        return separator.join(f(v) for f, v in zip(formats, values) if v is not None)
    return concat_ws


_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-)?(\*(?:\d+\$)?|\d+)?([sIL%])")


def _format_builder(args: list, settings: OutputSettings) -> Callable:
    formats = [_formatter(a.type, settings) for a in args[1:]]

    def format_(fmt: str | None, *values: Any) -> str | None:
        if fmt is None:
            return None
        texts = [None if v is None else f(v) for f, v in zip(formats, values)]
        out = []
        pos = 0
        next_arg = 0
        while True:
            i = fmt.find("%", pos)
            if i < 0:
                out.append(fmt[pos:])
                break
            out.append(fmt[pos:i])
            m = _FORMAT_SPEC.match(fmt, i)
            if m is None:
                if i + 1 >= len(fmt):
                    raise SqlError("22023", "unterminated format() type specifier",
                                   hint='For a single "%" use "%%".')
                raise SqlError("22023", f'unrecognized format() type specifier "{fmt[i + 1]}"',
                               hint='For a single "%" use "%%".')
            position, left, width_text, kind = m.groups()
            pos = m.end()
            if kind == "%":
                out.append("%")
                continue
            width = 0
            if width_text:
                if width_text.startswith("*"):
                    index = int(width_text[1:-1]) - 1 if len(width_text) > 1 else next_arg
                    if len(width_text) == 1:
                        next_arg += 1
                    if index >= len(texts):
                        raise SqlError("22023", "too few arguments for format()")
                    width = int(texts[index] or 0)
                else:
                    width = int(width_text)
                if width < 0:
                    left, width = "-", -width
            if position is not None:
                index = int(position) - 1
                if index < 0:
                    raise SqlError("22023", "format specifies argument 0, but arguments are numbered from 1")
            else:
                index = next_arg
            next_arg = index + 1
            if index >= len(texts):
                raise SqlError("22023", "too few arguments for format()")
            value = texts[index]
            if kind == "s":
                piece = "" if value is None else value
            elif kind == "I":
                if value is None:
                    raise SqlError("22004", "null values cannot be formatted as an SQL identifier")
                piece = quote_ident(value)
            else:
                piece = "NULL" if value is None else quote_literal(value)
            out.append(piece.ljust(width) if left else piece.rjust(width))
        return "".join(out)
    return format_


# -------------------------------------------------------------------- signatures

define("||", (TEXT, TEXT), TEXT, "({0} + {1})")
for _name in ("length", "char_length", "character_length"):
    define(_name, (TEXT,), INT4, "len({0})")
    define(_name, (BPCHAR,), INT4, "len({0}.rstrip(' '))")
define("octet_length", (TEXT,), INT4, "len({0}.encode())")
define("octet_length", (BPCHAR,), INT4, "len({0}.encode())")
define("bit_length", (TEXT,), INT4, "len({0}.encode()) * 8")
define("lower", (TEXT,), TEXT, "text_lower({0})")
define("upper", (TEXT,), TEXT, "text_upper({0})")
define("initcap", (TEXT,), TEXT, "initcap({0})")
for _name in ("substring", "substr"):
    define(_name, (TEXT, INT4), TEXT, "text_substr({0}, {1})")
    define(_name, (TEXT, INT4, INT4), TEXT, "text_substr({0}, {1}, {2})")
define("substring", (TEXT, TEXT), TEXT, "regex_substring({0}, {1})")
define("substring", (TEXT, TEXT, TEXT), TEXT, "similar_substring({0}, {1}, {2})")
define("strpos", (TEXT, TEXT), INT4, "text_strpos({0}, {1})")
define("position", (TEXT, TEXT), INT4, "text_strpos({1}, {0})")
define("replace", (TEXT, TEXT, TEXT), TEXT, "text_replace({0}, {1}, {2})")
define("translate", (TEXT, TEXT, TEXT), TEXT, "translate({0}, {1}, {2})")
define("btrim", (TEXT,), TEXT, "{0}.strip(' ')")
define("ltrim", (TEXT,), TEXT, "{0}.lstrip(' ')")
define("rtrim", (TEXT,), TEXT, "{0}.rstrip(' ')")
define("btrim", (TEXT, TEXT), TEXT, "{0}.strip({1})")
define("ltrim", (TEXT, TEXT), TEXT, "{0}.lstrip({1})")
define("rtrim", (TEXT, TEXT), TEXT, "{0}.rstrip({1})")
define("lpad", (TEXT, INT4), TEXT, "pad({0}, {1}, ' ', True)")
define("lpad", (TEXT, INT4, TEXT), TEXT, "pad({0}, {1}, {2}, True)")
define("rpad", (TEXT, INT4), TEXT, "pad({0}, {1}, ' ', False)")
define("rpad", (TEXT, INT4, TEXT), TEXT, "pad({0}, {1}, {2}, False)")
define("left", (TEXT, INT4), TEXT, "text_left({0}, {1})")
define("right", (TEXT, INT4), TEXT, "text_right({0}, {1})")
define("repeat", (TEXT, INT4), TEXT, "text_repeat({0}, {1})")
define("reverse", (TEXT,), TEXT, "{0}[::-1]")
define("split_part", (TEXT, TEXT, INT4), TEXT, "split_part({0}, {1}, {2})")
define("concat", ("any",), TEXT, builder=_concat_builder, strict=False, variadic=True)
define("concat_ws", (TEXT, "any"), TEXT, builder=_concat_ws_builder, strict=False, variadic=True)
define("format", (TEXT,), TEXT, builder=_format_builder, strict=False)
define("format", (TEXT, "any"), TEXT, builder=_format_builder, strict=False, variadic=True)
define("quote_ident", (TEXT,), TEXT, "quote_ident({0})")
define("quote_literal", (TEXT,), TEXT, "quote_literal({0})")
define("quote_literal", ("anyelement",), TEXT, builder=lambda args, settings: (
    lambda f: lambda v: quote_literal(f(v)))(_formatter(args[0].type, settings)))
define("quote_nullable", (TEXT,), TEXT, "('NULL' if {0} is None else quote_literal({0}))", strict=False)
define("quote_nullable", ("anyelement",), TEXT, builder=lambda args, settings: (
    lambda f: lambda v: "NULL" if v is None else quote_literal(f(v)))(_formatter(args[0].type, settings)), strict=False)
define("md5", (TEXT,), TEXT, "md5_hex({0}.encode())")
define("md5", (BYTEA,), TEXT, "md5_hex({0})")
define("to_hex", (INT4,), TEXT, "to_hex({0}, 32)")
define("to_hex", (INT8,), TEXT, "to_hex({0}, 64)")
define("chr", (INT4,), TEXT, "chr_({0})")
define("ascii", (TEXT,), INT4, "ascii_({0})")
define("starts_with", (TEXT, TEXT), BOOL, "{0}.startswith({1})")
define("normalize", (TEXT, TEXT), TEXT, "text_normalize({0}, {1})")
define("unistr", (TEXT,), TEXT, "unistr({0})")
define("string_to_array", (TEXT, TEXT), TEXT_ARRAY, "string_to_array({0}, {1})", strict=False)
define("string_to_array", (TEXT, TEXT, TEXT), TEXT_ARRAY, "string_to_array({0}, {1}, {2})", strict=False)
define("overlay", (TEXT, TEXT, INT4), TEXT, "overlay({0}, {1}, {2})")
define("overlay", (TEXT, TEXT, INT4, INT4), TEXT, "overlay({0}, {1}, {2}, {3})")
define("regexp_replace", (TEXT, TEXT, TEXT), TEXT, "regexp_replace({0}, {1}, {2})")
define("regexp_replace", (TEXT, TEXT, TEXT, TEXT), TEXT, "regexp_replace({0}, {1}, {2}, {3})")
define("regexp_replace", (TEXT, TEXT, TEXT, INT4), TEXT, "regexp_replace_from({0}, {1}, {2}, {3})")
define("regexp_replace", (TEXT, TEXT, TEXT, INT4, INT4), TEXT, "regexp_replace_from({0}, {1}, {2}, {3}, {4})")
define("regexp_replace", (TEXT, TEXT, TEXT, INT4, INT4, TEXT), TEXT,
       "regexp_replace_from({0}, {1}, {2}, {3}, {4}, {5})")
define("regexp_match", (TEXT, TEXT), TEXT_ARRAY, "regexp_match({0}, {1})")
define("regexp_match", (TEXT, TEXT, TEXT), TEXT_ARRAY, "regexp_match({0}, {1}, {2})")
for _n in range(2, 5):
    define("regexp_count", (TEXT, TEXT, INT4, TEXT)[:_n], INT4, f"regexp_count({', '.join(f'{{{i}}}' for i in range(_n))})")
for _n in range(2, 8):
    define("regexp_instr", (TEXT, TEXT, INT4, INT4, INT4, TEXT, INT4)[:_n], INT4,
           f"regexp_instr({', '.join(f'{{{i}}}' for i in range(_n))})")
for _n in range(2, 7):
    define("regexp_substr", (TEXT, TEXT, INT4, INT4, TEXT, INT4)[:_n], TEXT,
           f"regexp_substr({', '.join(f'{{{i}}}' for i in range(_n))})")
define("regexp_like", (TEXT, TEXT), BOOL, "regexp_like({0}, {1})")
define("regexp_like", (TEXT, TEXT, TEXT), BOOL, "regexp_like({0}, {1}, {2})")
define("regexp_split_to_array", (TEXT, TEXT), TEXT_ARRAY, "regexp_split({0}, {1})")
define("regexp_split_to_array", (TEXT, TEXT, TEXT), TEXT_ARRAY, "regexp_split({0}, {1}, {2})")
define("~", (TEXT, TEXT), BOOL, "regex_match({0}, {1})")
define("~*", (TEXT, TEXT), BOOL, "regex_match({0}, {1}, True)")
define("~~", (TEXT, TEXT), BOOL, "like({0}, {1})")
define("~~*", (TEXT, TEXT), BOOL, "like({0}, {1}, True)")
define("similar_to", (TEXT, TEXT), BOOL, "similar({0}, {1})")
define("similar_to", (TEXT, TEXT, TEXT), BOOL, "similar({0}, {1}, {2})")
define("~", (NAME, TEXT), BOOL, "regex_match({0}, {1})")
define("~*", (NAME, TEXT), BOOL, "regex_match({0}, {1}, True)")


_UNISTR_ESCAPE = re.compile(r"\\(?:\\|\+([0-9A-Fa-f]{6})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|([0-9A-Fa-f]{4}))?")


@runtime
def unistr(s: str) -> str:
    """unistr(): \\XXXX, \\+XXXXXX, \\uXXXX and \\UXXXXXXXX are code points (surrogate pairs
    combine), \\\\ is a backslash."""
    out: list[str] = []
    high: int | None = None
    pos = 0
    for m in _UNISTR_ESCAPE.finditer(s):
        if m.group(0) == "\\" or (high is not None and m.start() != pos):
            raise SqlError("42601", "invalid Unicode escape" if high is None else "invalid Unicode surrogate pair",
                           hint="Unicode escapes must be \\XXXX, \\+XXXXXX, \\uXXXX, or \\UXXXXXXXX."
                           if high is None else None)
        out.append(s[pos:m.start()])
        pos = m.end()
        digits = next((g for g in m.groups() if g is not None), None)
        if digits is None:                      # a doubled backslash
            out.append("\\")
            continue
        code = int(digits, 16)
        if high is not None:
            if not 0xDC00 <= code <= 0xDFFF:
                raise SqlError("42601", "invalid Unicode surrogate pair")
            code, high = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00), None
        elif 0xD800 <= code <= 0xDBFF:
            high = code
            continue
        elif 0xDC00 <= code <= 0xDFFF:
            raise SqlError("42601", "invalid Unicode surrogate pair")
        if code == 0 or code > 0x10FFFF:
            raise SqlError("22023", f"invalid Unicode code point: {digits}")
        out.append(chr(code))
    if high is not None:
        raise SqlError("42601", "invalid Unicode surrogate pair")
    out.append(s[pos:])
    return "".join(out)


@runtime
def text_normalize(s: str, form: str) -> str:
    return unicodedata.normalize(form, s)


@runtime
def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -------------------------------------------------------------------- set-returning functions

# each returns a setof a plain type, not of a composite: a table alias names its column
register("regexp_matches", replace(fixed("regexp_matches", ((TEXT, TEXT), (TEXT, TEXT, TEXT)),
                                         [("regexp_matches", TEXT_ARRAY)],
                                         lambda ctx, *args: ((m,) for m in regexp_matches(*args))), composite=False))
register("string_to_table", replace(
    fixed("string_to_table", ((TEXT, TEXT), (TEXT, TEXT, TEXT)), [("string_to_table", TEXT)],
          lambda ctx, *args: ((piece,) for piece in string_to_array(*args) or ())),
    composite=False, strict=False))           # not strict: a NULL delimiter splits into characters
register("regexp_split_to_table", replace(fixed("regexp_split_to_table", ((TEXT, TEXT), (TEXT, TEXT, TEXT)),
                                                [("regexp_split_to_table", TEXT)],
                                                lambda ctx, *args: ((piece,) for piece in regexp_split(*args))),
                                          composite=False))

