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
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError

from engine.errors import SqlError, syntax_error
from engine.sql.timetravel import rewrite_transaction_forms

# -------------------------------------------------------------------- splitting

_SPLIT_RE = re.compile(
    r"""
    (?P<squote>[EeBbXxUu]?&?'(?:[^']|'')*'?)        # string literals (E'' handled below)
  | (?P<dquote>"(?:[^"]|"")*"?)
  | (?P<line>--[^\n]*)
  | (?P<block>/\*)
  | (?P<dollar>\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$)
  | (?P<semi>;)
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
    """,
    re.VERBOSE,
)


def split_statements(sql: str) -> list[tuple[str, int]]:
    """[(statement text, offset in sql)], empty statements dropped."""
    out: list[tuple[str, int]] = []
    start = 0
    pos = 0
    n = len(sql)
    while pos < n:
        m = _SPLIT_RE.search(sql, pos)
        if m is None:
            break
        kind = m.lastgroup
        if kind == "semi":
            piece = sql[start:m.start()]
            if piece.strip() and not _only_comments(piece):
                out.append((piece, start))
            start = pos = m.end()
            continue
        if kind == "block":
            depth, i = 1, m.end()
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            pos = i
            continue
        if kind == "dollar":
            tag = m.group()
            end = sql.find(tag, m.end())
            pos = n if end < 0 else end + len(tag)
            continue
        if kind == "squote" and m.group()[:1] in "Ee" and m.group()[1:2] == "'":
            i = m.start() + 2
            while i < n:
                if sql[i] == "\\":
                    i += 2
                    continue
                if sql[i] == "'":
                    if sql[i + 1:i + 2] == "'":
                        i += 2
                        continue
                    break
                i += 1
            pos = i + 1
            continue
        pos = m.end()
    piece = sql[start:]
    if piece.strip() and not _only_comments(piece):
        out.append((piece, start))
    return out


def _only_comments(text: str) -> bool:
    stripped = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    return not stripped.strip()


# -------------------------------------------------------------------- literal lifting

_LIFT_RE = re.compile(
    r"""
    (?P<ident>[A-Za-z_][A-Za-z_0-9$]*)
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<cast>::)
  | (?P<bad>\$|--|/\*)
    """,
    re.VERBOSE,
)
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Lifted:
    template: str                    # the statement with literals replaced by $1..$n
    kinds: tuple[str, ...]           # per parameter: "int4", "int8", "numeric" or "unknown"
    values: tuple[str, ...]          # the literal texts (strings unquoted)


def lift_literals(sql: str) -> Lifted | None:
    parts: list[str] = []
    kinds: list[str] = []
    values: list[str] = []
    pos = 0
    prev_ident = ""
    for m in _LIFT_RE.finditer(sql):
        kind = m.lastgroup
        if kind == "bad":
            return None
        if kind == "ident":
            prev_ident = m.group().lower()
            continue
        if kind == "cast":
            prev_ident = "::"
            continue
        if kind == "qident":
            prev_ident = ""
            continue
        text = m.group()
        start = m.start()
        if kind == "string":
            # E'..', B'..', X'..', U&'..' and typed literals (DATE '...') are kept as written.
            if start and (sql[start - 1].isalnum() or sql[start - 1] in "_&") or prev_ident in _TYPED_LITERAL_WORDS:
                prev_ident = ""
                continue
            value = text[1:-1].replace("''", "'")
            lifted_kind = "unknown"
        else:
            if start and (sql[start - 1].isalnum() or sql[start - 1] in "_$."):
                continue
            if prev_ident in ("by", "::"):
                # ORDER BY 1 / GROUP BY 1 are column positions, not values
                prev_ident = ""
                continue
            minus = _unary_minus(sql, start, pos)
            if minus is not None and not sql[m.end():].lstrip().startswith(("::", "[")):
                start, text = minus, "-" + text
            if "." in text or "e" in text or "E" in text:
                lifted_kind = "numeric"
            else:
                v = int(text)
                lifted_kind = ("int4" if -INT4_MAX - 1 <= v <= INT4_MAX else
                               ("int8" if -INT8_MAX - 1 <= v <= INT8_MAX else "numeric"))
            value = text
        prev_ident = ""
        parts.append(sql[pos:start])
        kinds.append(lifted_kind)
        values.append(value)
        parts.append(f"${len(kinds)}")
        pos = m.end()
    if not kinds:
        return Lifted(sql, (), ())
    parts.append(sql[pos:])
    return Lifted("".join(parts), tuple(kinds), tuple(values))


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


_BEFORE_UNARY = frozenset({"select", "where", "and", "or", "not", "then", "else", "when", "case", "in",
                           "between", "is", "return", "values", "having", "on", "set", "limit", "offset"})


_TYPED_LITERAL_WORDS = frozenset({
    "date", "time", "timestamp", "timestamptz", "interval", "zone", "uuid", "json", "jsonb",
    "numeric", "decimal", "int", "integer", "bigint", "smallint", "int2", "int4", "int8", "real",
    "float", "float4", "float8", "double", "precision", "boolean", "bool", "text", "varchar",
    "char", "character", "bytea", "inet", "name", "oid", "regclass", "regtype", "regproc",
    "varying", "without", "with", "bpchar",
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
    "query" (SELECT, VALUES, set operations), "insert", "update", "delete", or "ddl"."""
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
    return "ddl"


Statement = Utility | Parsed

_WORD = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9$]*|\"(?:[^\"]|\"\")*\")")


class _Words:
    """A tiny cursor over the words of a utility statement."""

    def __init__(self, text: str) -> None:
        self.text = text.strip().rstrip(";").strip()
        self.pos = 0

    def peek(self) -> str:
        m = _WORD.match(self.text, self.pos)
        return m.group(1).lower() if m else ""

    def take(self, *words: str) -> bool:
        m = _WORD.match(self.text, self.pos)
        if m and m.group(1).lower() in words:
            self.pos = m.end()
            return True
        return False

    def expect(self, *words: str) -> str:
        m = _WORD.match(self.text, self.pos)
        if not m or (words and m.group(1).lower() not in words):
            raise syntax_error(f'syntax error at or near "{self.rest().split()[0] if self.rest() else "end of input"}"')
        self.pos = m.end()
        return m.group(1)

    def name(self) -> str:
        m = _WORD.match(self.text, self.pos)
        if not m:
            raise syntax_error(f'syntax error at or near "{self.rest()[:20] or "end of input"}"')
        self.pos = m.end()
        w = m.group(1)
        return w[1:-1].replace('""', '"') if w.startswith('"') else w.lower()

    def rest(self) -> str:
        return self.text[self.pos:].strip()

    def done(self) -> bool:
        return not self.rest()


def _transaction_modes(w: _Words) -> dict[str, Any]:
    modes: dict[str, Any] = {}
    while not w.done():
        if w.take("isolation"):
            w.expect("level")
            if w.take("read"):
                modes["isolation"] = "read committed" if w.expect("committed", "uncommitted").lower() == "committed" else "read uncommitted"
            elif w.take("repeatable"):
                w.expect("read")
                modes["isolation"] = "repeatable read"
            else:
                w.expect("serializable")
                modes["isolation"] = "serializable"
        elif w.take("read"):
            modes["read_only"] = w.expect("only", "write").lower() == "only"
        elif w.take("not"):
            w.expect("deferrable")
            modes["deferrable"] = False
        elif w.take("deferrable"):
            modes["deferrable"] = True
        else:
            raise syntax_error(f'syntax error at or near "{w.rest().split()[0]}"')
        if w.rest().startswith(","):
            w.pos = w.text.index(",", w.pos) + 1
    return modes


_SET_VALUE = re.compile(r"""\s*(?:'((?:[^']|'')*)'|([^,\s]+))\s*,?""")


def _set_values(text: str) -> list[str]:
    values = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _SET_VALUE.match(text, pos)
        if not m or m.end() == pos:
            raise syntax_error(f'syntax error at or near "{text[pos:pos + 20]}"')
        values.append(m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2))
        pos = m.end()
    return values


def parse_utility(text: str) -> Utility | None:
    """Our parser for the commands sqlglot gets wrong; None means "give it to sqlglot"."""
    w = _Words(text)
    first = w.peek()
    if first in ("begin", "start"):
        w.expect()
        if first == "start":
            w.expect("transaction")
        else:
            w.take("transaction", "work")
        return Utility("begin", _transaction_modes(w), text)
    if first in ("commit", "end"):
        w.expect()
        w.take("transaction", "work")
        chain = w.take("and") and (w.take("no") is False) and w.take("chain")
        return Utility("commit", {"chain": bool(chain)}, text)
    if first in ("rollback", "abort"):
        w.expect()
        w.take("transaction", "work")
        if w.take("to"):
            w.take("savepoint")
            return Utility("rollback_to", {"name": w.name()}, text)
        chain = w.take("and") and (w.take("no") is False) and w.take("chain")
        return Utility("rollback", {"chain": bool(chain)}, text)
    if first == "savepoint":
        w.expect()
        return Utility("savepoint", {"name": w.name()}, text)
    if first == "release":
        w.expect()
        w.take("savepoint")
        return Utility("release", {"name": w.name()}, text)
    if first == "set":
        w.expect()
        local = False
        if w.take("local"):
            local = True
        else:
            w.take("session")
        if w.take("transaction"):
            return Utility("set_transaction", _transaction_modes(w), text)
        if w.peek() == "characteristics":
            w.expect()
            w.expect("as")
            w.expect("transaction")
            return Utility("set_session_characteristics", _transaction_modes(w), text)
        if w.peek() == "time":
            save = w.pos
            w.expect()
            if w.take("zone"):
                rest = w.rest()
                if rest.lower() in ("local", "default"):
                    return Utility("reset", {"name": "timezone", "local": local}, text)
                m = re.fullmatch(r"(?i)interval\s+'([^']*)'\s*(hour\s+to\s+minute)?", rest)
                value = m.group(1) if m else _set_values(rest)[0]
                return Utility("set", {"name": "timezone", "values": [value], "local": local}, text)
            w.pos = save
        name = _setting_name(w)
        rest = w.rest()
        m = re.match(r"(?i)(to\b|=)", rest)
        if not m:
            raise syntax_error(f'syntax error at or near "{rest.split()[0] if rest else "end of input"}"')
        value_text = rest[m.end():].strip()
        if value_text.lower() == "default":
            return Utility("reset", {"name": name, "local": local}, text)
        return Utility("set", {"name": name, "values": _set_values(value_text), "local": local}, text)
    if first == "show":
        w.expect()
        if w.take("all"):
            return Utility("show", {"name": "all"}, text)
        if w.peek() == "transaction":
            w.expect()
            w.expect("isolation")
            w.expect("level")
            return Utility("show", {"name": "transaction_isolation"}, text)
        if w.peek() == "time":
            w.expect()
            w.expect("zone")
            return Utility("show", {"name": "timezone"}, text)
        return Utility("show", {"name": _setting_name(w)}, text)
    if first == "reset":
        w.expect()
        if w.take("all"):
            return Utility("reset_all", {}, text)
        if w.peek() == "time":
            w.expect()
            w.expect("zone")
            return Utility("reset", {"name": "timezone"}, text)
        return Utility("reset", {"name": _setting_name(w)}, text)
    if first == "discard":
        w.expect()
        what = w.expect("all", "plans", "sequences", "temporary", "temp").lower()
        return Utility("discard", {"what": what}, text)
    if first == "listen":
        w.expect()
        return Utility("listen", {"channel": w.name()}, text)
    if first == "unlisten":
        w.expect()
        if w.rest() == "*":
            return Utility("unlisten", {"channel": "*"}, text)
        return Utility("unlisten", {"channel": w.name()}, text)
    if first == "notify":
        w.expect()
        channel = w.name()
        payload = ""
        rest = w.rest()
        if rest.startswith(","):
            values = _set_values(rest[1:])
            payload = values[0] if values else ""
        return Utility("notify", {"channel": channel, "payload": payload}, text)
    if first == "deallocate":
        w.expect()
        w.take("prepare")
        if w.take("all"):
            return Utility("deallocate", {"name": None}, text)
        return Utility("deallocate", {"name": w.name()}, text)
    if first in ("vacuum", "analyze", "analyse", "checkpoint"):
        return Utility("noop", {"tag": "VACUUM" if first == "vacuum" else ("CHECKPOINT" if first == "checkpoint" else "ANALYZE")}, text)
    return None


def _setting_name(w: _Words) -> str:
    name = w.name()
    while w.rest().startswith("."):
        w.pos = w.text.index(".", w.pos) + 1
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
    - interval literals stay as written.
    """
    from engine.exec.functions import FUNCTIONS
    parser = Postgres.Parser
    for name in FUNCTIONS:
        if name.isidentifier():
            parser.FUNCTIONS.pop(name.upper(), None)
    for name in ("CHR", "INITCAP", "DECODE", "DATE_PART"):
        parser.FUNCTION_PARSERS.pop(name, None)
    Postgres.INDEX_OFFSET = 0
    # interval literals stay as written (sqlglot keeps only the first number and unit of
    # '1 day 01:02:03' when it canonicalizes them)
    exp.INTERVAL_STRING_RE = re.compile(r"(?!)")


_configure_dialect()


def parse_sql(text: str) -> exp.Expression:
    """Parse one statement with sqlglot; syntax errors become 42601 with a position."""
    try:
        trees = sqlglot.parse(rewrite_transaction_forms(text), read="postgres")
    except ParseError as e:
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
        raise SqlError("0A000", f"{tree.name.upper()} is not supported", )
    if "pg_catalog." in text or "information_schema." in text or "COLLATE" in text.upper():
        tree = tree.transform(_plain_catalog_syntax)
    return tree


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
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func) and \
            node.this.name.lower() in ("pg_catalog", "information_schema"):
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


def parse_statement(text: str) -> Statement:
    utility = parse_utility(text)
    if utility is not None:
        return utility
    tree = parse_sql(text)
    return Parsed(tree, text, statement_kind(tree))
