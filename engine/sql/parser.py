"""Turn SQL text into statements: utility commands, or sqlglot trees with their source text.

`split_statements` cuts a query string at top-level semicolons (respecting quotes, dollar
quotes and comments). `parse_statement` recognises the utility commands sqlglot does not
parse faithfully (transaction control, SET/SHOW/RESET, LISTEN/NOTIFY, PREPARE/EXECUTE,
cursors, VACUUM, ...; see COMPAT.md's parsing pitfalls) with a small hand-written parser,
and hands everything else to sqlglot.

`lift_literals` is the hot path of the simple protocol: it replaces numeric and string
literals with $n parameters (typed like the literals), so statements that differ only in
constants share one cached plan. It bails out (returns None) on anything it cannot lift
with certainty: dollar quotes, E'' strings, existing $n parameters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.tokens import TokenType

from engine.errors import SqlError, feature_not_supported, syntax_error
from engine.sql.lexemes import coarse_lexemes, lexemes
from engine.sql.timetravel import rewrite_system_time_clauses, version_sql
from engine.types import SqlType, type_from_name

# -------------------------------------------------------------------- splitting

def split_statements(sql: str) -> list[tuple[str, int]]:
    """[(statement text, offset in sql)]; pieces holding nothing but blanks and comments dropped."""
    if "'" not in sql and '"' not in sql and "--" not in sql and "/*" not in sql and "$" not in sql:
        return _split_plain(sql)
    out: list[tuple[str, int]] = []
    start = 0              # where the current piece begins
    unread = 0             # where the text between lexemes not yet looked at begins
    has_content = False
    for kind, lexeme_start, lexeme_end in coarse_lexemes(sql):
        if not has_content:
            has_content = kind in ("literal", "other") or bool(sql[unread:lexeme_start].strip())
        unread = lexeme_end
        if kind == "semi":
            if has_content:
                out.append((sql[start:lexeme_start], start))
            start, has_content = lexeme_end, False
    if has_content or sql[unread:].strip():
        out.append((sql[start:], start))
    return out


def _split_plain(sql: str) -> list[tuple[str, int]]:
    """`split_statements` for text without quotes, comments or dollar signs (the common
    case): every semicolon ends a statement."""
    if ";" not in sql:
        return [(sql, 0)] if sql.strip() else []
    out = []
    start = 0
    for piece in sql.split(";"):
        if piece.strip():
            out.append((piece, start))
        start += len(piece) + 1
    return out


# -------------------------------------------------------------------- literal lifting

_LIFT_RE = re.compile(
    r"""
    (?=["'\d.$/-])                  # (a first-character test that lets the scan skip ahead fast)
    (?:
      (?P<qident>"(?:[^"]++|"")*+")
    | (?P<string>'(?:[^']++|'')*+')
    | (?<![\w$.])(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<bad>\$|--|/\*)
    )
    """,
    re.VERBOSE,
)
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1


class Lifted(NamedTuple):
    """A statement with its literals lifted out (a NamedTuple: one is made per simple-protocol
    statement, and it is a third of the cost of a frozen dataclass)."""
    template: str                    # the statement with literals replaced by $1..$n
    kinds: tuple[str, ...]           # per parameter: "int4", "int8", "numeric" or "unknown"
    values: tuple[str, ...]          # the literal texts (strings unquoted)


def lift_literals(sql: str) -> Lifted | None:
    parts: list[str] = []
    kinds: list[str] = []
    values: list[str] = []
    pos = 0
    for m in _LIFT_RE.finditer(sql):
        kind = m.lastgroup
        if kind == "bad":
            return None
        if kind == "qident":
            continue
        text = m.group()
        start = m.start()
        if kind == "string":
            # E'..', B'..', X'..', U&'..' and typed literals (DATE '...') are kept as written.
            if start and (sql[start - 1].isalnum() or sql[start - 1] in "_&") or \
                    _previous_word(sql, start) in _TYPED_LITERAL_WORDS:
                continue
            value = text[1:-1].replace("''", "'")
            lifted_kind = "unknown"
            between = sql[pos:start]
            if kinds and kinds[-1] == "unknown" and parts[-1] == f"${len(kinds)}" and between.isspace():
                # 'a'<newline>'b' is one constant; on one line it is a syntax error
                if "\n" not in between:
                    raise syntax_error(f'syntax error at or near "{text}"')
                values[-1] += value
                pos = m.end()
                continue
        else:
            if _previous_word(sql, start) in ("by", "::"):
                # ORDER BY 1 / GROUP BY 1 are column positions, not values
                continue
            minus = _unary_minus(sql, start, pos)
            if minus is not None and not sql[m.end():].lstrip().startswith(("::", "[")):
                start, text = minus, "-" + text
            if _negated_parenthesis(sql, start, pos):
                return None         # -(-2147483648): the grammar folds both minus signs (the binder does)
            if "." in text or "e" in text or "E" in text:
                lifted_kind = "numeric"
            else:
                v = int(text)
                lifted_kind = ("int4" if -INT4_MAX - 1 <= v <= INT4_MAX else
                               ("int8" if -INT8_MAX - 1 <= v <= INT8_MAX else "numeric"))
            value = text
        parts.append(sql[pos:start])
        kinds.append(lifted_kind)
        values.append(value)
        parts.append(f"${len(kinds)}")
        pos = m.end()
    if not kinds:
        return Lifted(sql, (), ())
    parts.append(sql[pos:])
    return Lifted("".join(parts), tuple(kinds), tuple(values))


def _previous_word(sql: str, start: int) -> str:
    """The token before `start` that decides whether a literal is lifted: a word
    (lowercased), "::", or "" (a quoted token or a number); operators and punctuation in
    between do not count."""
    j = start - 1
    while j >= 0 and not (sql[j].isalnum() or sql[j] in "_$'\":"):
        j -= 1
    if j < 0:
        return ""
    c = sql[j]
    if c == ":":
        return "::" if j and sql[j - 1] == ":" else ""
    if c in "'\"":
        return ""
    k = j
    while k >= 0 and (sql[k].isalnum() or sql[k] in "_$"):
        k -= 1
    word = sql[k + 1:j + 1]
    return "" if word[0].isdigit() else word.lower()


def _unary_minus(sql: str, start: int, floor: int) -> int | None:
    """The position of a unary minus right before the number at `start`, if there is one:
    PostgreSQL folds it into the constant, so -2147483648 is an integer (but a cast binds
    tighter: -1::int is -(1::int), so the caller keeps the minus out then)."""
    j = start - 1
    while j >= floor and sql[j].isspace():
        j -= 1
    if j < floor or sql[j] != "-":
        return None
    k = j - 1
    while k >= 0 and sql[k].isspace():
        k -= 1
    if k < 0 or sql[k] in "(,=<>+-*/%[|&^~":
        return j
    end = k + 1
    while k >= 0 and (sql[k].isalnum() or sql[k] == "_"):
        k -= 1
    return j if sql[k + 1:end].lower() in _BEFORE_UNARY else None


def _negated_parenthesis(sql: str, start: int, floor: int) -> bool:
    """Whether the constant at `start` is right inside `-(`."""
    j = start - 1
    while j >= floor and sql[j].isspace():
        j -= 1
    return j >= floor and sql[j] == "(" and _unary_minus(sql, j, floor) is not None


_BEFORE_UNARY = frozenset({"select", "where", "and", "or", "not", "then", "else", "when", "case", "in",
                           "between", "is", "return", "values", "having", "on", "set", "limit", "offset"})


_TYPED_LITERAL_WORDS = frozenset({
    "date", "time", "timestamp", "timestamptz", "interval", "zone", "uuid", "json", "jsonb",
    "numeric", "decimal", "int", "integer", "bigint", "smallint", "int2", "int4", "int8", "real",
    "float", "float4", "float8", "double", "precision", "boolean", "bool", "text", "varchar",
    "char", "character", "bytea", "inet", "name", "oid", "regclass", "regtype", "regproc",
    "varying", "without", "with", "bpchar", "uescape",
})

# -------------------------------------------------------------------- utility statements


@dataclass(frozen=True, slots=True)
class Utility:
    """A statement parsed by our own parser: `kind` plus keyword arguments."""
    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True, slots=True)
class Parsed:
    """A statement sqlglot parsed, with the text it came from and its kind:
    "query" (SELECT, VALUES, set operations), "insert", "update", "delete", "merge", or "ddl"."""
    tree: exp.Expression
    text: str
    kind: str


def statement_kind(tree: exp.Expression) -> str:
    if isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)):
        return "query"
    if isinstance(tree, exp.Insert):
        return "insert"
    if isinstance(tree, exp.Update):
        return "update"
    if isinstance(tree, exp.Delete):
        return "delete"
    if isinstance(tree, exp.Merge):
        return "merge"
    return "ddl"


@dataclass(frozen=True, slots=True)
class Explain:
    """EXPLAIN [ANALYZE] [VERBOSE] statement, or EXPLAIN (option [value], ...) statement."""
    statement: Parsed
    analyze: bool = False
    verbose: bool = False
    timing: bool = True
    summary: bool | None = None      # None: on with ANALYZE, as in PostgreSQL
    format: str = "text"
    text: str = ""


Statement = Utility | Parsed | Explain

_EXPLAIN = re.compile(r"(?is)\s*explain\b")
_EXPLAIN_OPTIONS = {"analyze", "analyse", "verbose", "costs", "settings", "buffers", "wal", "timing", "summary",
                    "format"}


def parse_explain(text: str) -> Explain | None:
    """EXPLAIN's options and the statement it explains; None when `text` is not an EXPLAIN."""
    m = _EXPLAIN.match(text)
    if m is None:
        return None
    rest = text[m.end():]
    options: dict[str, Any] = {}
    stripped = rest.lstrip()
    if stripped.startswith("("):
        close = stripped.find(")")
        if close < 0:
            raise syntax_error("syntax error at end of input")
        for part in stripped[1:close].split(","):
            words = part.split()
            if not words:
                raise syntax_error('syntax error at or near ")"')
            name = words[0].lower()
            if name not in _EXPLAIN_OPTIONS:
                raise SqlError("42601", f'unrecognized EXPLAIN option "{name}"')
            value = words[1].lower() if len(words) > 1 else "true"
            if name == "format":
                if value not in ("text", "json", "xml", "yaml"):
                    raise SqlError("22023", f'unrecognized value for EXPLAIN option "format": "{value}"')
                options[name] = value
            elif value in ("true", "on", "1", "yes"):
                options[name] = True
            elif value in ("false", "off", "0", "no"):
                options[name] = False
            else:
                raise SqlError("22023", f'{name} requires a Boolean value')
        rest = stripped[close + 1:]
    else:
        while True:
            w = re.match(r"(?i)\s*(analy[sz]e|verbose)\b", rest)
            if w is None:
                break
            options[w.group(1).lower()] = True
            rest = rest[w.end():]
    inner = parse_statement(rest)
    if not isinstance(inner, Parsed) or inner.kind not in ("query", "insert", "update", "delete", "merge"):
        raise SqlError("0A000", "EXPLAIN of this statement is not supported")
    if options.get("timing") is False and not (options.get("analyze") or options.get("analyse")):
        raise SqlError("22023", "EXPLAIN option TIMING requires ANALYZE")
    return Explain(inner, bool(options.get("analyze") or options.get("analyse")), bool(options.get("verbose")),
                   options.get("timing", True), options.get("summary"), options.get("format", "text"), text)

def _transaction_modes(w: Tokens) -> dict[str, Any]:
    modes: dict[str, Any] = {}
    while not w.at_end():
        if w.word("isolation"):
            w.expect_word("level")
            if w.word("read"):
                modes["isolation"] = "read committed" if w.expect_word("committed", "uncommitted") == "committed" else "read uncommitted"
            elif w.word("repeatable"):
                w.expect_word("read")
                modes["isolation"] = "repeatable read"
            else:
                w.expect_word("serializable")
                modes["isolation"] = "serializable"
        elif w.word("read"):
            modes["read_only"] = w.expect_word("only", "write") == "only"
        elif w.word("not"):
            w.expect_word("deferrable")
            modes["deferrable"] = False
        elif w.word("deferrable"):
            modes["deferrable"] = True
        else:
            raise w.error()
        w.punct(",")
    return modes


_SET_VALUE = re.compile(r"""\s*(?:[Ee]'((?:[^'\\]|\\.|'')*)'|'((?:[^']|'')*)'|([^,\s']+))\s*,?""", re.DOTALL)


def _set_values(text: str) -> list[str]:
    values = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _SET_VALUE.match(text, pos)
        if not m or m.end() == pos:
            raise syntax_error(f'syntax error at or near "{text[pos:pos + 20]}"')
        escaped, quoted, bare = m.groups()
        values.append(_unescape_e_string(escaped) if escaped is not None else
                      quoted.replace("''", "'") if quoted is not None else bare)
        pos = m.end()
    return values


_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


def parse_utility(text: str) -> Utility | None:
    """Our parser for the commands sqlglot gets wrong; None means "give it to sqlglot"."""
    if text[:1] in "-/" or text[:1].isspace():
        text = text[_LEADING_COMMENTS.match(text).end():]
    w = Tokens(text)
    kind, first = w.peek()
    if kind != "word":
        return None
    if first in ("begin", "start"):
        w.expect_word()
        if first == "start":
            w.expect_word("transaction")
        else:
            w.word("transaction", "work")
        return Utility("begin", _transaction_modes(w), text)
    if first in ("commit", "end"):
        w.expect_word()
        w.word("transaction", "work")
        chain = w.word("and") and (w.word("no") is False) and w.word("chain")
        return Utility("commit", {"chain": bool(chain)}, text)
    if first in ("rollback", "abort"):
        w.expect_word()
        w.word("transaction", "work")
        if w.word("to"):
            w.word("savepoint")
            return Utility("rollback_to", {"name": w.name()}, text)
        chain = w.word("and") and (w.word("no") is False) and w.word("chain")
        return Utility("rollback", {"chain": bool(chain)}, text)
    if first == "savepoint":
        w.expect_word()
        return Utility("savepoint", {"name": w.name()}, text)
    if first == "release":
        w.expect_word()
        w.word("savepoint")
        return Utility("release", {"name": w.name()}, text)
    if first == "set":
        w.expect_word()
        local = False
        if w.word("local"):
            local = True
        else:
            w.word("session")
        if w.word("transaction"):
            return Utility("set_transaction", _transaction_modes(w), text)
        if w.peek() == ("word", "characteristics"):
            w.expect_word()
            w.expect_word("as")
            w.expect_word("transaction")
            return Utility("set_session_characteristics", _transaction_modes(w), text)
        if w.peek() == ("word", "time"):
            save = w.i
            w.expect_word()
            if w.word("zone"):
                rest = w.rest_text()
                if rest.lower() in ("local", "default"):
                    return Utility("reset", {"name": "timezone", "local": local, "tag": "SET"}, text)
                m = re.fullmatch(r"(?i)interval\s+'([^']*)'\s*(hour\s+to\s+minute)?", rest)
                value = m.group(1) if m else _set_values(rest)[0]
                return Utility("set", {"name": "timezone", "values": [value], "local": local}, text)
            w.i = save
        name = _setting_name(w)
        rest = w.rest_text()
        m = re.match(r"(?i)(to\b|=)", rest)
        if not m:
            raise syntax_error(f'syntax error at or near "{rest.split()[0] if rest else "end of input"}"')
        value_text = rest[m.end():].strip()
        if value_text.lower() == "default":
            return Utility("reset", {"name": name, "local": local, "tag": "SET"}, text)
        return Utility("set", {"name": name, "values": _set_values(value_text), "local": local}, text)
    if first == "show":
        w.expect_word()
        if w.word("all"):
            return Utility("show", {"name": "all"}, text)
        if w.peek() == ("word", "transaction"):
            w.expect_word()
            w.expect_word("isolation")
            w.expect_word("level")
            return Utility("show", {"name": "transaction_isolation"}, text)
        if w.peek() == ("word", "time"):
            w.expect_word()
            w.expect_word("zone")
            return Utility("show", {"name": "timezone"}, text)
        return Utility("show", {"name": _setting_name(w)}, text)
    if first == "reset":
        w.expect_word()
        if w.word("all"):
            return Utility("reset_all", {}, text)
        if w.peek() == ("word", "time"):
            w.expect_word()
            w.expect_word("zone")
            return Utility("reset", {"name": "timezone"}, text)
        return Utility("reset", {"name": _setting_name(w)}, text)
    if first == "discard":
        w.expect_word()
        what = w.expect_word("all", "plans", "sequences", "temporary", "temp")
        return Utility("discard", {"what": what}, text)
    if first in ("listen", "unlisten", "notify"):
        return _notification_statement(w, text)
    if first == "deallocate":
        w.expect_word()
        w.word("prepare")
        if w.word("all"):
            return Utility("deallocate", {"name": None}, text)
        return Utility("deallocate", {"name": w.name()}, text)
    if first in _STATEMENT_PARSERS:
        return _STATEMENT_PARSERS[first](w, text)
    if first in ("create", "alter", "drop") and _ROLE_WORD.match(text):
        return _role_statement(w, text)
    if first == "checkpoint":
        return Utility("checkpoint", {}, text)
    if first in ("vacuum", "analyze", "analyse"):
        return Utility("noop", {"tag": "VACUUM" if first == "vacuum" else "ANALYZE"}, text)
    return None


_ROLE_WORD = re.compile(r"(?is)\s*(create|alter|drop)\s+(role|user|group)\b")

_TOKEN = re.compile(r"""\s*(?:
    (?P<estring>[Ee]'(?:[^'\\]|\\.|'')*')
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<punct>::|\S))""", re.VERBOSE | re.DOTALL)
_E_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_E_ESCAPE = re.compile(r"''|\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([Dd][89ABab][0-9A-Fa-f]{2})\\u([Dd][C-Fc-f][0-9A-Fa-f]{2})"
                       r"|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)


def _e_escape(m: re.Match) -> str:
    octal, hexa, high, low, u4, u8, other = m.groups()
    if other is not None:
        return _E_ESCAPES.get(other, other)
    if octal is not None:
        return chr(int(octal, 8) & 0xFF)
    if hexa is not None:
        return chr(int(hexa, 16))
    if m.group() == "''":
        return "'"
    if high is not None:            # a UTF-16 surrogate pair, as PostgreSQL accepts it
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
    code = int(u4 or u8, 16)
    if 0xD800 <= code <= 0xDFFF:
        raise syntax_error("invalid Unicode surrogate pair")
    if code > 0x10FFFF:
        raise syntax_error("invalid Unicode escape value")
    return chr(code)


def _unescape_e_string(body: str) -> str:
    """The value of an E'...' string body (without the quotes): one regular-expression pass,
    linear in the body however many escapes it holds."""
    return _E_ESCAPE.sub(_e_escape, body)


class Tokens:
    """A token cursor for the statements read by hand rather than by sqlglot: COPY, cursors,
    roles, ... here, sequences, COMMENT and some ALTER TABLE forms in `engine.sql.ddl`.

    A token is (kind, value, start, end): words are lowercased, quoted identifiers and
    strings carry their unquoted value; `rest_text` and `parenthesized_text` recover raw
    source text (queries embedded in COPY, DECLARE and PREPARE; SET's values). The text is
    read only as far as the tokens asked for (`parse_utility` looks at the first word of
    every statement)."""

    def __init__(self, text: str) -> None:
        self.text = text
        end = len(text.rstrip())
        while end and text[end - 1] == ";":
            end = len(text[:end - 1].rstrip())
        self.end = end
        self.tokens: list[tuple[str, str, int, int]] = []
        self._scanned = 0              # where reading the next token starts
        self.i = 0

    def _has(self, j: int) -> bool:
        """Whether there is a token j, reading the text as far as it."""
        tokens, text, end = self.tokens, self.text, self.end
        while len(tokens) <= j:
            m = _TOKEN.match(text, self._scanned, end) if self._scanned < end else None
            if m is None:
                self._scanned = end
                return False
            kind = m.lastgroup
            raw = m.group(kind)
            if kind == "word":
                value = raw.lower()
            elif kind == "ident":
                value = raw[1:-1].replace('""', '"')
            elif kind == "string":
                value = raw[1:-1].replace("''", "'")
            elif kind == "estring":
                kind, value = "string", _unescape_e_string(raw[2:-1])
            else:
                value = raw
            tokens.append((kind, value, m.start(kind), m.end()))
            self._scanned = m.end()
        return True

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        j = self.i + ahead
        if self._has(j):
            kind, value, _, _ = self.tokens[j]
            return kind, value
        return "end", ""

    def at_end(self) -> bool:
        return not self._has(self.i)

    def skip_rest(self) -> None:
        """Take every token left."""
        while self._has(self.i):
            self.i += 1

    def error(self) -> SqlError:
        if self.at_end():
            return syntax_error("syntax error at end of input", self.end + 1)
        _, _, start, end = self.tokens[self.i]
        return syntax_error(f'syntax error at or near "{self.text[start:end]}"', start + 1)

    def word(self, *words: str) -> bool:
        kind, value = self.peek()
        if kind == "word" and value in words:
            self.i += 1
            return True
        return False

    def expect_word(self, *words: str) -> str:
        kind, value = self.peek()
        if kind != "word" or (words and value not in words):
            raise self.error()
        self.i += 1
        return value

    def punct(self, char: str) -> bool:
        if self.peek() == ("punct", char):
            self.i += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.punct(char):
            raise self.error()

    def name(self) -> str:
        kind, value = self.peek()
        if kind not in ("word", "ident"):
            raise self.error()
        self.i += 1
        return value

    def qualified_name(self) -> tuple[str | None, str]:
        first = self.name()
        if self.punct("."):
            return first, self.name()
        return None, first

    def string(self) -> str:
        kind, value = self.peek()
        if kind != "string":
            raise self.error()
        self.i += 1
        return value

    def integer(self) -> int:
        kind, value = self.peek()
        if kind != "number" or not value.lstrip("+-").isdigit():
            raise self.error()
        self.i += 1
        return int(value)

    def name_list(self) -> list[str]:
        """( name, ... ) -- the opening parenthesis not yet taken."""
        self.expect_punct("(")
        names = [self.name()]
        while self.punct(","):
            names.append(self.name())
        self.expect_punct(")")
        return names

    def parenthesized_text(self) -> str:
        """The raw text inside balanced parentheses; the opening one not yet taken."""
        self.expect_punct("(")
        depth = 1
        start = self.tokens[self.i][2] if not self.at_end() else self.end
        while not self.at_end():
            kind, value, tstart, _ = self.tokens[self.i]
            self.i += 1
            if kind == "punct" and value == "(":
                depth += 1
            elif kind == "punct" and value == ")":
                depth -= 1
                if depth == 0:
                    return self.text[start:tstart].strip()
        raise self.error()

    def rest_text(self) -> str:
        """The raw text of everything not yet taken."""
        if self.at_end():
            return ""
        return self.text[self.tokens[self.i][2]:self.end].strip()

    def done(self) -> None:
        if not self.at_end():
            raise self.error()


def quote_ident(name: str) -> str:
    """An identifier quoted for SQL text we generate (always quoted: safe for any name)."""
    return '"' + name.replace('"', '""') + '"'


def split_top_level(text: str) -> list[str]:
    """Cut a comma-separated list at the commas outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    start = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind != "punct":
            continue
        value = m.group(kind)
        if value in "([":
            depth += 1
        elif value in ")]":
            depth -= 1
        elif value == "," and depth == 0:
            parts.append(text[start:m.start(kind)].strip())
            start = m.end()
    last = text[start:].strip()
    if last or parts:
        parts.append(last)
    return parts


# COPY -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """The validated options of one COPY statement (PostgreSQL's ProcessCopyOptions)."""
    format: str = "text"                     # text, csv or binary
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool | str = False               # False, True or "match"
    quote: str = '"'
    escape: str = '"'
    force_quote: tuple[str, ...] | str = ()  # column names, or "*"
    force_not_null: tuple[str, ...] = ()
    force_null: tuple[str, ...] = ()
    freeze: bool = False


_BOOL_WORDS = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}


def _copy_statement(t: Tokens, text: str) -> Utility:
    t.expect_word("copy")
    options: dict[str, Any] = {}
    if t.word("binary"):
        options["format"] = "binary"
    table = columns = query = None
    if t.peek() == ("punct", "("):
        query = t.parenthesized_text()
    else:
        table = t.qualified_name()
        if t.peek() == ("punct", "("):
            columns = t.name_list()
    direction = t.expect_word("from", "to")
    if t.word("stdin", "stdout"):
        target = "stdin" if direction == "from" else "stdout"
        if t.tokens[t.i - 1][1] != target:
            raise syntax_error(f"COPY {direction.upper()} cannot use {t.tokens[t.i - 1][1].upper()}")
    elif t.word("program"):
        t.string()
        target = "program"
    else:
        t.string()
        target = "file"
    if query is not None and direction == "from":
        raise syntax_error('syntax error at or near "("')
    if t.word("with"):
        pass
    if t.peek() == ("punct", "("):
        _copy_option_list(t, options)
    else:
        _copy_legacy_options(t, options)
    where = None
    if t.word("where"):
        if direction != "from":
            raise SqlError("0A000", "WHERE clause not allowed with COPY TO")
        where = t.rest_text()
        t.skip_rest()
    t.done()
    return Utility("copy", {"table": table, "columns": columns, "query": query, "direction": direction,
                            "target": target, "options": copy_options(options, direction), "where": where},
                   text)


def _option_value(t: Tokens) -> Any:
    kind, value = t.peek()
    if kind == "punct" and value == "(":
        return tuple(t.name_list())
    if kind == "punct" and value == "*":
        t.i += 1
        return "*"
    if kind in ("word", "string", "number", "ident"):
        t.i += 1
        return value
    return None


def _set_copy_option(options: dict[str, Any], name: str, value: Any) -> None:
    if name in options:
        raise syntax_error("conflicting or redundant options")
    options[name] = value


def _copy_option_list(t: Tokens, options: dict[str, Any]) -> None:
    t.expect_punct("(")
    while True:
        name = t.name()
        value = None if t.peek() in (("punct", ","), ("punct", ")")) else _option_value(t)
        _set_copy_option(options, name, value)
        if t.punct(")"):
            return
        t.expect_punct(",")


def _copy_legacy_options(t: Tokens, options: dict[str, Any]) -> None:
    """The pre-9.0 option syntax psql users still type: WITH CSV HEADER DELIMITER ',' ..."""
    while not t.at_end() and t.peek() != ("word", "where"):
        if t.word("binary"):
            _set_copy_option(options, "format", "binary")
        elif t.word("csv"):
            _set_copy_option(options, "format", "csv")
        elif t.word("header"):
            _set_copy_option(options, "header", True)
        elif t.word("freeze"):
            _set_copy_option(options, "freeze", True)
        elif t.word("delimiter", "null", "quote", "escape", "encoding"):
            name = t.tokens[t.i - 1][1]
            t.word("as")
            _set_copy_option(options, name, t.string())
        elif t.word("force"):
            if t.word("quote"):
                name = "force_quote"
            else:
                t.expect_word("not")
                t.expect_word("null")
                name = "force_not_null"
            if t.punct("*"):
                _set_copy_option(options, name, "*")
            else:
                names = [t.name()]
                while t.punct(","):
                    names.append(t.name())
                _set_copy_option(options, name, tuple(names))
        elif t.word("oids"):
            raise SqlError("0A000", "COPY with OIDS is not supported")
        else:
            raise t.error()


def _copy_bool(name: str, value: Any) -> bool:
    if value is None:
        return True
    found = _BOOL_WORDS.get(str(value).lower())
    if found is None:
        raise SqlError("22023", f"{name} requires a Boolean value")
    return found


def copy_options(given: dict[str, Any], direction: str) -> CopyOptions:
    """Check COPY's options as PostgreSQL does and fill in the format's defaults."""
    fmt = str(given.get("format", "text")).lower()
    if fmt not in ("text", "csv", "binary"):
        raise SqlError("22023", f'COPY format "{fmt}" not recognized')
    known = {"format", "freeze", "delimiter", "null", "header", "quote", "escape", "force_quote",
             "force_not_null", "force_null", "encoding"}
    for name in given:
        if name not in known:
            raise syntax_error(f'option "{name}" not recognized')
    csv = fmt == "csv"
    binary = fmt == "binary"
    for name in ("delimiter", "null", "header"):
        if binary and name in given:
            raise syntax_error(f"cannot specify {name.upper()} in BINARY mode")
    for name in ("quote", "escape", "force_quote", "force_not_null", "force_null"):
        if name in given and not csv:
            label = name.replace("_", " ")
            raise SqlError("0A000", f"COPY {label} available only in CSV mode")
    if "force_quote" in given and direction != "to":
        raise SqlError("0A000", "COPY force quote only available using COPY TO")
    for name in ("force_not_null", "force_null"):
        if name in given and direction != "from":
            raise SqlError("0A000", f"COPY {name.replace('_', ' ')} only available using COPY FROM")
    encoding = given.get("encoding")
    if encoding is not None and str(encoding).upper().replace("-", "").replace("_", "") not in ("UTF8", "UNICODE", "SQLASCII"):
        raise SqlError("0A000", f'COPY encoding "{encoding}" is not supported (only UTF8)')
    delimiter = str(given.get("delimiter", "," if csv else "\t"))
    null = str(given.get("null", "" if csv else "\\N"))
    quote = str(given.get("quote", '"'))
    escape = str(given.get("escape", quote))
    if len(delimiter.encode()) != 1:
        raise SqlError("0A000", "COPY delimiter must be a single one-byte character")
    if delimiter in "\r\n":
        raise SqlError("22023", "COPY delimiter cannot be newline or carriage return")
    if "\r" in null or "\n" in null:
        raise SqlError("22023", "COPY null representation cannot use newline or carriage return")
    if not csv and not binary and delimiter in "\\.abcdefghijklmnopqrstuvwxyz0123456789":
        raise SqlError("22023", f'COPY delimiter cannot be "{delimiter}"')
    if csv:
        if len(quote.encode()) != 1:
            raise SqlError("0A000", "COPY quote must be a single one-byte character")
        if len(escape.encode()) != 1:
            raise SqlError("0A000", "COPY escape must be a single one-byte character")
        if delimiter == quote:
            raise SqlError("22023", "COPY delimiter and quote must be different")
        if quote in null:
            raise SqlError("22023", "CSV quote character must not appear in the NULL specification")
    if not binary and delimiter in null:
        raise SqlError("22023", "COPY delimiter must not appear in the NULL specification")
    header: bool | str = False
    if "header" in given:
        raw = given["header"]
        if raw is not None and str(raw).lower() == "match":
            if direction != "from":
                raise SqlError("0A000", "cannot use \"match\" with HEADER in COPY TO")
            header = "match"
        else:
            header = _copy_bool("header", raw)
    force_quote = given.get("force_quote", ())
    for name in ("force_quote", "force_not_null", "force_null"):
        value = given.get(name, ())
        if not (value == "*" and name == "force_quote") and not isinstance(value, tuple):
            raise SqlError("22023", f'argument to option "{name}" must be a list of column names')
    return CopyOptions(fmt, delimiter, null, header, quote, escape, force_quote,
                       tuple(given.get("force_not_null", ())), tuple(given.get("force_null", ())),
                       _copy_bool("freeze", given["freeze"]) if "freeze" in given else False)


# PREPARE / EXECUTE, cursors -------------------------------------------------------------------


def _notification_statement(t: Tokens, text: str) -> Utility:
    """LISTEN channel | UNLISTEN { channel | * } | NOTIFY channel [ , 'payload' ]."""
    kind = t.expect_word("listen", "unlisten", "notify")
    if kind == "unlisten" and t.punct("*"):
        channel = "*"
    else:
        channel = t.name()
    a = {"channel": channel}
    if kind == "notify":
        a["payload"] = t.string() if t.punct(",") else ""
    t.done()
    return Utility(kind, a, text)


def _prepare_statement(t: Tokens, text: str) -> Utility:
    t.expect_word("prepare")
    if t.peek() == ("word", "transaction"):
        raise SqlError("0A000", "PREPARE TRANSACTION is not supported")
    name = t.name()
    types: list[str] = []
    if t.peek() == ("punct", "("):
        types = split_top_level(t.parenthesized_text())
    t.expect_word("as")
    query = t.rest_text()
    if not query:
        raise t.error()
    return Utility("prepare", {"name": name, "types": types, "query": query}, text)


def _execute_statement(t: Tokens, text: str) -> Utility:
    t.expect_word("execute")
    name = t.name()
    args: list[str] = []
    if t.peek() == ("punct", "("):
        args = split_top_level(t.parenthesized_text())
    t.done()
    return Utility("execute", {"name": name, "args": args}, text)


def _declare_statement(t: Tokens, text: str) -> Utility:
    t.expect_word("declare")
    name = t.name()
    binary = hold = False
    scroll: bool | None = None          # None: PostgreSQL's default (backward fetches allowed)
    while True:
        if t.word("binary"):
            binary = True
        elif t.word("insensitive", "asensitive"):
            pass
        elif t.word("scroll"):
            scroll = True
        elif t.word("no"):
            t.expect_word("scroll")
            scroll = False
        else:
            break
    t.expect_word("cursor")
    if t.word("with"):
        t.expect_word("hold")
        hold = True
    elif t.word("without"):
        t.expect_word("hold")
    t.expect_word("for")
    query = t.rest_text()
    if not query:
        raise t.error()
    return Utility("declare", {"name": name, "binary": binary, "scroll": scroll, "hold": hold, "query": query},
                   text)


def _fetch_statement(t: Tokens, text: str) -> Utility:
    """FETCH/MOVE [direction] [FROM | IN] name; the direction becomes (how, count):
    ("forward", n or None for ALL), ("backward", n or None), ("absolute", n), ("relative", n)."""
    move = t.expect_word("fetch", "move") == "move"
    how, count = "forward", 1
    kind, value = t.peek()
    if kind == "number":
        count = t.integer()
    elif t.word("next"):
        pass
    elif t.word("prior"):
        how = "backward"
    elif t.word("first"):
        how, count = "absolute", 1
    elif t.word("last"):
        how, count = "absolute", -1
    elif t.word("absolute", "relative"):
        how = t.tokens[t.i - 1][1]
        count = t.integer()
    elif t.word("all"):
        count = None
    elif t.word("forward", "backward"):
        how = t.tokens[t.i - 1][1]
        if t.word("all"):
            count = None
        elif t.peek()[0] == "number":
            count = t.integer()
    if how == "forward" and count is not None and count < 0:
        how, count = "backward", -count
    elif how == "backward" and count is not None and count < 0:
        how, count = "forward", -count
    t.word("from", "in")
    name = t.name()
    t.done()
    return Utility("fetch", {"name": name, "how": how, "count": count, "move": move}, text)


def _close_statement(t: Tokens, text: str) -> Utility:
    t.expect_word("close")
    name = None if t.word("all") else t.name()
    t.done()
    return Utility("close", {"name": name}, text)


_TYPE_TEXT = re.compile(r"\s*(.*?)\s*(?:\(\s*([-\d\s,]*)\))?\s*((?:\[\s*\d*\s*\]\s*)*)", re.DOTALL)


def parse_type_name(text: str) -> SqlType:
    """A type as written in SQL, e.g. `numeric(10,2)`, `double precision[]`, `"char"`."""
    m = _TYPE_TEXT.fullmatch(text)
    if m is None or not m.group(1):
        raise syntax_error(f'syntax error at or near "{text}"')
    modifiers = tuple(int(x) for x in m.group(2).split(",")) if m.group(2) and m.group(2).strip() else ()
    arrays = "[]" if "[" in m.group(3) else ""   # int[][] is int[], as in PostgreSQL
    return type_from_name(m.group(1) + arrays, modifiers)


# Roles ----------------------------------------------------------------------------------------

_ROLE_FLAGS = {
    "superuser": ("superuser", True), "nosuperuser": ("superuser", False),
    "login": ("login", True), "nologin": ("login", False),
    "createdb": ("createdb", True), "nocreatedb": ("createdb", False),
    "createrole": ("createrole", True), "nocreaterole": ("createrole", False),
    "inherit": ("inherit", True), "noinherit": ("inherit", False),
    "replication": ("replication", True), "noreplication": ("replication", False),
    "bypassrls": ("bypassrls", True), "nobypassrls": ("bypassrls", False),
}


def _role_options(t: Tokens) -> dict[str, Any]:
    options: dict[str, Any] = {}
    t.word("with")
    while not t.at_end():
        word = t.expect_word()
        if word in _ROLE_FLAGS:
            key, value = _ROLE_FLAGS[word]
        elif word in ("encrypted", "unencrypted", "password"):
            if word != "password":
                t.expect_word("password")
            key = "password"
            value = None if t.word("null") else t.string()
        elif word == "connection":
            t.expect_word("limit")
            key, value = "connection_limit", t.integer()
        elif word == "valid":
            t.expect_word("until")
            key, value = "valid_until", t.string()
        elif word in ("in", "role", "admin", "user", "sysid"):
            raise SqlError("0A000", f"role membership ({word.upper()}) is not supported")
        else:
            t.i -= 1
            raise t.error()
        if key in options:
            raise syntax_error("conflicting or redundant options")
        options[key] = value
    return options


def _role_statement(t: Tokens, text: str) -> Utility:
    action = t.expect_word("create", "alter", "drop")
    noun = t.expect_word("role", "user", "group")
    if action == "drop":
        if_exists = False
        if t.word("if"):
            t.expect_word("exists")
            if_exists = True
        names = [t.name()]
        while t.punct(","):
            names.append(t.name())
        t.done()
        return Utility("drop_role", {"names": names, "if_exists": if_exists}, text)
    if action == "alter" and t.word("current_user", "session_user"):
        name = None
    else:
        name = t.name()
    if action == "alter" and t.peek() == ("word", "rename"):
        raise SqlError("0A000", "ALTER ROLE ... RENAME is not supported")
    if action == "alter" and t.peek()[1] in ("set", "reset"):
        raise SqlError("0A000", "per-role settings (ALTER ROLE ... SET) are not supported")
    options = _role_options(t)
    if action == "create" and "login" not in options:
        options["login"] = noun == "user"
    return Utility("create_role" if action == "create" else "alter_role", {"name": name, "options": options}, text)


_STATEMENT_PARSERS = {
    "copy": _copy_statement,
    "prepare": _prepare_statement,
    "execute": _execute_statement,
    "declare": _declare_statement,
    "fetch": _fetch_statement,
    "move": _fetch_statement,
    "close": _close_statement,
}


def _setting_name(w: Tokens) -> str:
    name = w.name()
    while w.punct("."):
        name += "." + w.name()
    return name


# -------------------------------------------------------------------- sqlglot


def _configure_dialect() -> None:
    """Adjust sqlglot's postgres dialect (once, at import) to read SQL as PostgreSQL does:

    - calls of the scalar functions rewinddb implements (`exec.functions.FUNCTIONS`) stay
      plain calls of that name (sqlglot would turn to_hex into Hex, div into a cast of an
      integer division, date_part into EXTRACT, ...); special syntax (SUBSTRING(x FROM y),
      TRIM(BOTH ...), POSITION(a IN b), EXTRACT, OVERLAY) is still parsed by sqlglot;
    - array subscripts stay as written (sqlglot shifts literal subscripts to 0-based);
    - interval literals stay as written;
    - the prefix operator `@ x` (absolute value) is read as a call of the function `@` (sqlglot
      would read a parameter named x; `@(x)` is also how PostgreSQL may write it). Its operand
      extends over `+ - * / % ^`, as PostgreSQL's grammar binds a prefix operator more loosely;
    - unary plus stays, as a call of the function `+` (sqlglot drops it; in PostgreSQL it is an
      operator, so `+a` is named ?column?);
    - a FOR SYSTEM_TIME clause prints in our syntax (timetravel.version_sql).
    """
    from engine.exec.functions import FUNCTIONS
    parser = Postgres.Parser
    for name in FUNCTIONS:
        if name.isidentifier():
            parser.FUNCTIONS.pop(name.upper(), None)
    for name in ("CHR", "INITCAP", "DECODE", "DATE_PART", "JSON_OBJECT"):
        parser.FUNCTION_PARSERS.pop(name, None)
    Postgres.INDEX_OFFSET = 0
    # interval literals stay as written (sqlglot keeps only the first number and unit of
    # '1 day 01:02:03' when it canonicalizes them)
    exp.INTERVAL_STRING_RE = re.compile(r"(?!)")
    substring = parser.FUNCTION_PARSERS["SUBSTRING"]
    parser.FUNCTION_PARSERS = {**parser.FUNCTION_PARSERS,
                               "SUBSTRING": lambda self: _parse_substring_similar(self) or substring(self)}
    parser.UNARY_PARSERS = {
        **parser.UNARY_PARSERS,
        TokenType.PARAMETER: _parse_prefix_at,
        TokenType.PLUS: lambda self: _prefix_call(self, "+", self._parse_unary()),
    }
    Postgres.Generator.TRANSFORMS[exp.Version] = version_sql


def _parse_substring_similar(parser: Any) -> exp.Expression | None:
    """`substring(s SIMILAR pattern ESCAPE e)`, the SQL-standard form of substring(s, pattern,
    e); None (nothing read) for the other forms."""
    start = parser._index
    value = parser._parse_bitwise()
    if value is None or not parser._match_text_seq("SIMILAR"):
        parser._retreat(start)
        return None
    pattern = parser._parse_bitwise()
    if not parser._match_text_seq("ESCAPE"):
        parser.raise_error("Expected ESCAPE")
    return exp.Anonymous(this="substring", expressions=[value, pattern, parser._parse_bitwise()])


def _prefix_call(parser: Any, operator: str, operand: exp.Expression | None) -> exp.Expression:
    """A prefix operator as a call of the function named `operator` (an operand is required)."""
    if operand is None:
        parser.raise_error(f"syntax error at or near \"{operator}\"")
    return parser.expression(exp.Anonymous(this=operator, expressions=[operand]))


def _parse_prefix_at(parser: Any) -> exp.Expression | None:
    """`@ x` after its `@` token (the token type sqlglot also gives the `$` of `$n`)."""
    if parser._prev.text != "@":
        parser._advance(-1)
        return parser._parse_type()
    return _prefix_call(parser, "@", parser._parse_term())


_configure_dialect()

_PARAMETER = re.compile(r"\$\d+")


def _space_parameters(text: str) -> str:
    """Put a space after each $n that is directly followed by something else: sqlglot reads
    `$1,$2` as the start of a dollar-quoted string. (Parameters are in the "other" lexemes:
    never inside literals, quoted names, comments or names like `a$1`.)"""
    parts: list[str] = []
    pos = 0
    n = len(text)
    for kind, start, end in lexemes(text):
        if kind != "other":
            continue
        for m in _PARAMETER.finditer(text, start, end):
            after = m.end()
            if after < n and not text[after].isspace() and not text[after].isdigit():
                parts.append(text[pos:after])
                parts.append(" ")
                pos = after
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def parse_sql(text: str) -> exp.Expression:
    """Parse one statement with sqlglot; syntax errors become 42601 with a position."""
    if "$" in text:
        text = _space_parameters(text)
    source = _OID_ARRAY_TYPE.sub(lambda m: m.group(1) or f"{m.group(2)}pg_catalog.{m.group(3)}", text) \
        if "[]" in text else text
    if "::" in source and "'" in source:
        source = _TYPED_LITERAL_CAST.sub(_typed_literal_cast, source)
    if "-" in source and "(" in source:
        source = _NEGATIVE_SCALE.sub(lambda m: m.group(1) or f'{m.group(2)}({m.group(3)}, "-{m.group(4)}")', source)
    if _USING_OPERATOR.search(source) is not None:
        source = _ordering_operators(source)
    overriding = None
    if "overriding" in source.lower():
        source, overriding = _without_overriding(source)
    try:
        trees = sqlglot.parse(rewrite_system_time_clauses(source), read="postgres")
    except ParseError as e:
        trees = _parse_with_keyword_labels(text)
        if trees is None:
            raise _syntax_error_from(e, text) from None
    except TokenError as e:
        raise syntax_error(f"syntax error: {e}") from None
    except RecursionError:
        raise SqlError("54001", "statement is too complex") from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise syntax_error("syntax error: expected one statement")
    tree = trees[0]
    if isinstance(tree, exp.Command):
        words = " ".join(text.split())
        raise SqlError("0A000", f"{words if len(words) <= 80 else words[:77] + '...'} is not supported")
    tree = normalize_identifiers(tree, dialect="postgres")     # unquoted names fold to lower case
    if overriding is not None:
        insert = tree if isinstance(tree, exp.Insert) else tree.find(exp.Insert)
        if insert is None:
            raise syntax_error('syntax error at or near "OVERRIDING"')
        insert.args["overriding"] = overriding
    if "pg_catalog." in text or "information_schema." in text or "COLLATE" in text.upper():
        tree = tree.transform(_plain_catalog_syntax)
    if tree.find(exp.WindowSpec) is not None:
        _frame_offset_sides(tree)
    return tree


_USING_OPERATOR = re.compile(r"(?i)\busing\s*(?:operator\s*\(|[-<>=~!@#%^&|`?+*/])")
_OPERATOR_CHARS = re.compile(r"[-<>=~!@#%^&|`?+*/]+")


def _ordering_operators(text: str) -> str:
    """`ORDER BY x USING <` (or `>`, or `OPERATOR(pg_catalog.<)`), which sqlglot does not
    read, as `ASC` / `DESC`, padded to the same length. Other operators: 42809 for the
    comparisons that do not order, 0A000 for the rest (`~<~`, an operator class's own)."""
    items = list(lexemes(text))
    chars = list(text)
    for i, (kind, start, end) in enumerate(items):
        if kind != "word" or text[start:end].lower() != "using" or i + 1 == len(items):
            continue
        next_kind, next_start, next_end = items[i + 1]
        if next_kind == "other":
            op = _OPERATOR_CHARS.match(text, next_start, next_end)
            if op is None:
                continue
            name, stop = op.group(), op.end()
        elif next_kind == "word" and text[next_start:next_end].lower() == "operator" and i + 2 < len(items) \
                and items[i + 2][0] == "open":
            close = next((j for j in range(i + 3, len(items)) if items[j][0] == "close"), None)
            if close is None:
                continue
            inner = "".join(text[items[i + 2][2]:items[close][1]].split())
            schema, _, name = inner.rpartition(".")
            if schema not in ("", "pg_catalog"):
                continue
            stop = items[close][2]
        else:
            continue
        if name not in ("<", ">"):
            if name in ("=", "<>", "!=", "<=", ">="):
                raise SqlError("42809", f"operator {name} is not a valid ordering operator",
                               hint='Ordering operators must be "<" or ">" members of btree operator families.')
            raise feature_not_supported(f"ORDER BY ... USING {name}")
        chars[start:stop] = ("ASC" if name == "<" else "DESC").ljust(stop - start)
    return "".join(chars)


def _frame_offset_sides(tree: exp.Expression) -> None:
    """`RANGE BETWEEN interval '1 day' PRECEDING ...`: with interval strings kept as written,
    sqlglot reads PRECEDING/FOLLOWING as the interval's unit; make them the bound's side again."""
    for spec in tree.find_all(exp.WindowSpec):
        for bound, side in (("start", "start_side"), ("end", "end_side")):
            offset = spec.args.get(bound)
            unit = offset.args.get("unit") if isinstance(offset, exp.Interval) else None
            if isinstance(unit, exp.Var) and unit.name.upper() in ("PRECEDING", "FOLLOWING") and not spec.args.get(side):
                spec.set(side, unit.name.upper())
                offset.set("unit", None)


# sqlglot reads `x::oid[]` (asyncpg's `= any($1::oid[])`) as a subscript; `pg_catalog.oid[]` it reads as a type
_OID_ARRAY_TYPE = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|(::\s*|\bAS\s+)(oid|regclass|regtype|regproc|"""
                             r"""regprocedure|regnamespace|regrole|regoper|regoperator)(?=\s*\[)""", re.I)
_KEYWORD_LABEL = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|\b(AS\s+)(select|insert|update|delete|from|where|"""
                            r"""order|group|limit|offset|table|user|default|union|all|any|check|column|end|"""
                            r"""window|having|to|only|both|analyze|analyse|desc|asc)\b(?!\s*[(.])""", re.I)


# `timestamp '...'::text`: sqlglot reads the typed literal's type as applying after the `::`
# cast (CAST('...'::text AS timestamp)); written as CAST('...' AS timestamp)::text it reads right
_TYPED_LITERAL_CAST = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|(?<![\w.:"])(timestamp(?:\s+with(?:out)?\s+time\s+zone)?|timestamptz|"""
    r"""time(?:\s+with(?:out)?\s+time\s+zone)?|timetz|date|int2|int4|int8|smallint|integer|int|bigint|numeric|"""
    r"""decimal|real|float4|float8|double\s+precision|float|boolean|bool|text|varchar|character\s+varying|char|"""
    r"""character|bpchar|name|uuid|jsonb|json|bytea|oid|regclass|regtype)\s+('(?:[^']|'')*')(?=\s*::)""", re.I)


def _typed_literal_cast(m: re.Match) -> str:
    return m.group(1) or f"CAST({m.group(3)} AS {m.group(2)})"


# numeric(3, -2): sqlglot reads no negative type modifier, but does read a quoted one
_NEGATIVE_SCALE = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|\b(numeric|decimal)\s*\(\s*(\d+)\s*,\s*-\s*(\d+)\s*\)""",
                             re.I)

_OVERRIDING = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|\bOVERRIDING\s+(SYSTEM|USER)\s+VALUE\b""", re.I)


def _without_overriding(text: str) -> tuple[str, str | None]:
    """INSERT's `OVERRIDING SYSTEM VALUE` / `OVERRIDING USER VALUE` (which sqlglot does not
    parse) taken out of the text: (the rest, "system" | "user" | None)."""
    found: list[str] = []

    def cut(m: re.Match) -> str:
        if m.group(1):
            return m.group(1)
        found.append(m.group(2).lower())
        return " "
    rest = _OVERRIDING.sub(cut, text)
    return rest, found[0] if found else None


def _parse_with_keyword_labels(text: str) -> list | None:
    """PostgreSQL takes any keyword as a column label after AS (`... AS select`, as Metabase
    writes); sqlglot does not. Retry with such labels quoted; None if that does not parse either."""
    quoted = _KEYWORD_LABEL.sub(lambda m: m.group(1) or f'{m.group(2)}"{m.group(3).lower()}"', text)
    if quoted == text:
        return None
    try:
        return sqlglot.parse(rewrite_system_time_clauses(quoted), read="postgres")
    except (ParseError, TokenError):
        return None


def expression_sql(node: exp.Expression) -> str:
    """An expression's SQL text for the catalog (a DEFAULT, a CHECK): sqlglot's postgres
    rendering, except that now() stays now() (sqlglot reads it and CURRENT_TIMESTAMP as one
    node; only the function-call form carries a source position)."""
    def keep_now(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.CurrentTimestamp) and n.meta.get("start") is not None and n.this is None:
            return exp.Anonymous(this="now", expressions=[])
        return n
    return node.transform(keep_now).sql("postgres")


_OPERATORS = {"~": exp.RegexpLike, "~*": exp.RegexpILike, "~~": exp.Like, "~~*": exp.ILike, "=": exp.EQ,
              "<>": exp.NEQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE,
              "||": exp.DPipe, "+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod}
_NEGATED_OPERATORS = {"!~": exp.RegexpLike, "!~*": exp.RegexpILike, "!~~": exp.Like, "!~~*": exp.ILike}
_C_COLLATIONS = {"default", "c", "posix", "ucs_basic"}


def _plain_catalog_syntax(node: exp.Expression) -> exp.Expression:
    """What catalog queries write the long way, in its plain form: `pg_catalog.f(x)` as `f(x)`,
    `a OPERATOR(pg_catalog.~) b` as `a ~ b`, and `COLLATE "C"`/`pg_catalog.default` dropped
    (text already compares as in the C collation)."""
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func) and node.this.name.lower() == "pg_catalog":
        func = node.expression
        if isinstance(func, exp.Anonymous):
            return exp.func(func.name, *func.expressions, dialect="postgres")
        return func
    if isinstance(node, exp.Operator):
        op = str(node.args.get("operator") or "")
        op = op[len("pg_catalog."):] if op.lower().startswith("pg_catalog.") else op
        left, right = _plain_catalog_syntax(node.this), _plain_catalog_syntax(node.expression)
        if op in _OPERATORS:
            return _OPERATORS[op](this=left, expression=right)
        if op in _NEGATED_OPERATORS:
            return exp.Not(this=_NEGATED_OPERATORS[op](this=left, expression=right))
        raise SqlError("42883", f"operator does not exist: {op}")
    if isinstance(node, exp.Collate) and node.expression.name.lower() in _C_COLLATIONS:
        return node.this
    return node


def _syntax_error_from(e: ParseError, text: str) -> SqlError:
    errors = e.errors or []
    if not errors:
        return syntax_error(f"syntax error: {e}")
    first = errors[0]
    near = first.get("highlight") or ""
    line, col = first.get("line"), first.get("col")
    position = None
    if line and col:
        lines = text.split("\n")
        start_of_line = sum(len(x) + 1 for x in lines[: line - 1])
        position = start_of_line + col - len(near) + 1
    if near:
        return syntax_error(f'syntax error at or near "{near}"', position)
    return syntax_error("syntax error at end of input", len(text.rstrip()) + 1)


# schema statements sqlglot does not parse (or parses too loosely); engine.sql.ddl reads them
_OWN_DDL = re.compile(r"""(?isx)\s*(
    create\s+(temp\s+|temporary\s+)?sequence\b
  | alter\s+sequence\b
  | comment\s+on\b
  | drop\s+(schema|sequence)\b
  | alter\s+table\s+(if\s+exists\s+)?(only\s+)?("[^"]*"|[^\s"]+)\s+(set\s+schema|rename\s+constraint)\b
  | alter\s+(table|view)\s+(if\s+exists\s+)?(only\s+)?("[^"]*"|[^\s"]+)\s+owner\s+to\b
)""")


_LEADING_COMMENTS = re.compile(r"\A(\s*(--[^\n]*(\n|\Z)|/\*.*?\*/))*", re.S)


def parse_statement(text: str) -> Statement:
    utility = parse_utility(text)
    if utility is not None:
        return utility
    explain = parse_explain(text)
    if explain is not None:
        return explain
    body = _LEADING_COMMENTS.sub("", text, count=1)
    if _OWN_DDL.match(body):
        return Parsed(exp.Command(this=body.strip().rstrip(";")), text, "ddl")
    if _TEMP_TABLE.match(body):
        return Parsed(_parse_temp_table(body), text, "ddl")
    tree = parse_sql(text)
    kind = statement_kind(tree)
    if kind == "merge" and _MERGE_INTO.search(text) is None:      # sqlglot takes MERGE without INTO
        near = re.search(r"(?i)\bmerge\s+(\S+)", text)
        raise syntax_error(f'syntax error at or near "{near.group(1) if near else "MERGE"}"')
    return Parsed(tree, text, kind)


_MERGE_INTO = re.compile(r"(?i)\bmerge\s+into\b")


# CREATE LOCAL TEMP TABLE and ON COMMIT DROP, which sqlglot does not know: read without them,
# DROP marked on the OnCommitProperty (engine.sql.ddl reads it)
_TEMP_TABLE = re.compile(r"(?is)\A\s*create\s+(local\s+)?(temp|temporary)\s+table\b")
_ON_COMMIT_DROP = re.compile(r"(?i)\bon\s+commit\s+drop\b")


def _parse_temp_table(body: str) -> exp.Expression:
    local = _TEMP_TABLE.match(body)
    if local.group(1):
        body = body[:local.start(1)] + body[local.end(1):]
    dropped = _ON_COMMIT_DROP.search(body)
    if dropped is not None:
        body = body[:dropped.start()] + "ON COMMIT DELETE ROWS" + body[dropped.end():]
    tree = parse_sql(body)
    if dropped is not None:
        tree.find(exp.OnCommitProperty).set("drop", True)
    return tree
