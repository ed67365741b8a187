"""COPY data formats, both directions: text, CSV and binary, as PostgreSQL reads and writes them.

COPY FROM: `copy_reader(copy_in, timezone)` returns a reader; the connection feeds it the
bytes of each CopyData message (`feed`) and then calls `finish` at CopyDone; both return
the complete rows parsed so far as columns (one sequence of engine values per COPY column,
[] when there are none), ready for `engine.copy.CopyIn.write`. A row may span CopyData
messages (the reader keeps the unfinished tail), and a CopyData may hold many rows. Text is
converted a column at a time, which is what makes bulk loads fast.

* text: lines end with LF (a CR before it is dropped); fields are split at the delimiter;
  the NULL string is compared with the raw field, before backslash escapes are undone
  (\\b \\f \\n \\r \\t \\v, octal \\ooo, hex \\xhh, any other \\c is c). Lines without a
  backslash take a fast path. A line `\\.` ends the data (pgbench and old psql send it).
* CSV: quoted fields may hold delimiters, quotes (doubled, or preceded by ESCAPE) and line
  breaks; an unquoted field equal to the NULL string is NULL, a quoted one is not (unless
  FORCE_NULL), FORCE_NOT_NULL makes unquoted NULL strings empty strings.
* binary: the PGCOPY signature, flags and header extension, then per tuple an Int16 field
  count and (Int32 length or -1, bytes) per field, ended by a count of -1.

HEADER skips the first line (HEADER MATCH checks its names against the columns).

COPY TO: `copy_row_encoder(copy_out, settings)` returns a function from a row to its
CopyData payload (one row per message, as PostgreSQL sends them); `header_line`,
`binary_header` and `BINARY_TRAILER` are the rest of the stream.

Errors are `SqlError`s with PostgreSQL's SQLSTATEs (22P04 bad copy file format, 22P02 and
friends from the types' input functions, 22021 invalid UTF-8).
"""
from __future__ import annotations

import datetime as dt
import re
import struct
from typing import Any, Callable, Sequence

from engine.copy import CopyIn, CopyOut
from engine.errors import SqlError
from engine.types import INT_RANGES, OutputSettings, SqlType, text_formatter, text_parser
from server.values import binary_value_decoder, binary_value_encoder

Row = tuple

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
BINARY_TRAILER = b"\xff\xff"
_int16 = struct.Struct("!h")
_int32 = struct.Struct("!i")
_header_ints = struct.Struct("!ii")
_NULL_FIELD = b"\xff\xff\xff\xff"
_IDENTITY_PARSERS = frozenset({25, 1043, 1042, 19, 705, 18})

_TEXT_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_TEXT_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def bad_format(message: str) -> SqlError:
    return SqlError("22P04", message)


def _utf8(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as e:
        raise SqlError("22021", f'invalid byte sequence for encoding "UTF8": 0x{data[e.start]:02x}') from None


# ----------------------------------------------------------------------------- COPY FROM


class _Columns:
    """Field texts of many rows, column by column -> engine values, column by column.

    A column of texts is converted with one call: integers through `int` at C speed (when
    every text is plain ASCII without underscores and the results are in range; otherwise
    the type's own input function raises PostgreSQL's error; a column of few distinct
    texts, such as pgbench's balances, converts each text once), text types as they are,
    everything else through the type's input function. NULLs are None in and out."""

    def __init__(self, copy_in: CopyIn, timezone: dt.tzinfo) -> None:
        self.width = len(copy_in.types)
        self.names = copy_in.names
        self.table = copy_in.table.name
        self.converters = [_column_converter(t, timezone) for t in copy_in.types]

    def convert(self, columns: list[Sequence[str | None]], first_line: int) -> list[Sequence]:
        """Convert each column; an error names the line and column, as PostgreSQL's CONTEXT does."""
        out = []
        for i, (convert, column) in enumerate(zip(self.converters, columns)):
            try:
                out.append(convert(column))
            except SqlError as e:
                for n, value in enumerate(column):
                    try:
                        convert([value])
                    except SqlError:
                        e.where = f'COPY {self.table}, line {first_line + n}, column {self.names[i]}: "{value}"'
                        break
                raise
        return out

    def from_rows(self, rows: list[Sequence[str | None]], first_line: int) -> list[Sequence]:
        if not rows:
            return []
        return self.convert(list(zip(*rows)), first_line)

    def check_width(self, fields: Sequence, line: int) -> None:
        """Explain why a line does not have one field per column."""
        where = f"COPY {self.table}, line {line}"
        if len(fields) > self.width:
            raise SqlError("22P04", "extra data after last expected column", where=where)
        raise SqlError("22P04", f'missing data for column "{self.names[len(fields)]}"', where=where)


def _column_converter(t: SqlType, timezone: dt.tzinfo) -> Callable[[Sequence[str | None]], Sequence]:
    if t.element is None and t.oid in _IDENTITY_PARSERS:
        return lambda column: column
    parse = text_parser(t, timezone)

    def each(column: Sequence[str | None]) -> list:
        if None in column:
            return [None if v is None else parse(v) for v in column]
        return list(map(parse, column))

    if t.element is not None or t.oid not in INT_RANGES:
        return each
    low, high = INT_RANGES[t.oid]

    def integers(column: Sequence[str | None]) -> list:
        if None not in column:
            texts = column
            if len(column) > 64 and len(set(column[:64])) < 16:      # values repeat: convert each once
                texts = set(column)
                if len(texts) * 4 > len(column):
                    texts = column
            joined = "".join(texts)
            if joined.isascii() and "_" not in joined:
                try:
                    values = list(map(int, texts))
                except ValueError:
                    values = None
                if values is not None and low <= min(values) and max(values) <= high:
                    if texts is column:
                        return values
                    return list(map(dict(zip(texts, values)).get, column))
        return each(column)
    return integers


class TextReader:
    """COPY FROM in text format."""

    def __init__(self, copy_in: CopyIn, timezone: dt.tzinfo) -> None:
        options = copy_in.options
        self.delimiter = options.delimiter
        self.null = options.null
        self.header: bool | str = options.header
        self.names = copy_in.names
        self.columns = _Columns(copy_in, timezone)
        self.tail = b""
        self.line = 0
        self.ended = False

    def feed(self, data: bytes) -> list[Sequence]:
        if self.ended:
            return []
        buffer = self.tail + data if self.tail else data
        cut = buffer.rfind(b"\n")
        if cut < 0:
            self.tail = buffer
            return []
        self.tail = buffer[cut + 1:]
        return self._lines(_utf8(buffer[:cut]))

    def finish(self) -> list[Sequence]:
        if self.ended or not self.tail:
            return []
        tail, self.tail = self.tail, b""
        return self._lines(_utf8(tail))

    def _lines(self, text: str) -> list[Sequence]:
        if "\r" in text:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        first_line = self.line + 1
        if self.header:
            head, newline, text = text.partition("\n")
            if self.header == "match":
                _match_header([_unescape_text(f) for f in head.split(self.delimiter)], self.names)
            self.header = False
            self.line += 1
            first_line += 1
            if not newline:
                return []
        if "\\" in text:
            before = self._before_end_marker(text)
            if before is None:
                return []
            text = before
        self.line += text.count("\n") + 1
        if "\\" in text:
            return self._escaped_lines(text.split("\n"), first_line)
        columns = self.columns
        width = columns.width
        # every field of every line in one split, a line break standing as its own field:
        # each line has `width` fields exactly when the breaks sit every width + 1 fields
        fields = text.replace("\n", self.delimiter + "\n" + self.delimiter).split(self.delimiter)
        lines = (len(fields) + 1) // (width + 1)
        if len(fields) != lines * (width + 1) - 1 or fields[width::width + 1].count("\n") != lines - 1:
            for n, line in enumerate(text.split("\n")):
                line_fields = line.split(self.delimiter)
                if len(line_fields) != width:
                    columns.check_width(line_fields, first_line + n)
        null = self.null
        fields_by_column: list[Sequence[str | None]] = [fields[i::width + 1] for i in range(width)]
        if null in text:
            fields_by_column = [[None if f == null else f for f in column] if null in column else column
                                for column in fields_by_column]
        return columns.convert(fields_by_column, first_line)

    def _before_end_marker(self, text: str) -> str | None:
        """The lines before a line `\\.` (which ends the data: what follows is ignored), or
        None when there are none."""
        if text == "\\." or text.startswith("\\.\n"):
            before = None
        else:
            at = text.find("\n\\.\n")
            if at < 0 and text.endswith("\n\\."):
                at = len(text) - 3
            if at < 0:
                return text
            before = text[:at]
        self.ended = True
        self.tail = b""
        return before

    def _escaped_lines(self, lines: list[str], first_line: int) -> list[Sequence]:
        """Lines with backslash escapes: split and unescaped a line at a time."""
        delimiter, null, columns = self.delimiter, self.null, self.columns
        rows = [_split_escaped(line, delimiter, null) if "\\" in line
                else [None if f == null else f for f in line.split(delimiter)] for line in lines]
        for n, fields in enumerate(rows):
            if len(fields) != columns.width:
                columns.check_width(fields, first_line + n)
        return columns.convert(list(zip(*rows)), first_line)


def _split_escaped(line: str, delimiter: str, null: str) -> list[str | None]:
    """Split a text-format line that has backslashes; NULL fields become None."""
    fields: list[str | None] = []
    start = i = 0
    n = len(line)
    while True:
        j = i
        while j < n and line[j] != delimiter:
            j += 2 if line[j] == "\\" else 1
        raw = line[start:min(j, n)]
        fields.append(None if raw == null else (_unescape_text(raw) if "\\" in raw else raw))
        if j >= n:
            return fields
        start = i = j + 1


def _unescape_text(raw: str) -> str:
    return _TEXT_ESCAPE.sub(_text_escape, raw)


def _text_escape(m: re.Match) -> str:
    octal, hexa, char = m.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _TEXT_ESCAPES.get(char, char)


def _match_header(names: list[str], expected: list[str]) -> None:
    if len(names) != len(expected):
        raise bad_format(f"wrong number of fields in header line: got {len(names)}, expected {len(expected)}")
    for i, (got, want) in enumerate(zip(names, expected)):
        if got != want:
            raise bad_format(f'column name mismatch in header line field {i + 1}: got "{got}", expected "{want}"')


class CsvReader:
    """COPY FROM in CSV format."""

    def __init__(self, copy_in: CopyIn, timezone: dt.tzinfo) -> None:
        options = copy_in.options
        self.delimiter = options.delimiter
        self.quote = options.quote
        self.escape = options.escape
        self.null = options.null
        self.header: bool | str = options.header
        self.names = copy_in.names
        self.force_not_null = copy_in.force_not_null
        self.force_null = copy_in.force_null
        self.columns = _Columns(copy_in, timezone)
        self.buffer = ""
        self.pending = b""
        self.line = 0
        self.ended = False
        d, q, e = (re.escape(x) for x in (self.delimiter, self.quote, self.escape))
        inner = f"(?:[^{q}{e}]|{e}.)*" if self.escape != self.quote else f"(?:[^{q}]|{q}{q})*"
        # a field: quoted (group 1) or bare (group 2), then what ends it (group 3)
        self.field = re.compile(f"(?:{q}({inner}){q}|([^{d}{q}\\r\\n]*))({d}|\\r\\n|\\n|\\r|$)", re.DOTALL)
        self.unquote = re.compile(f"{e}(.)", re.DOTALL) if self.escape != self.quote else None

    def feed(self, data: bytes) -> list[Sequence]:
        if self.ended:
            return []
        data = self.pending + data
        cut = len(data)
        while cut and data[cut - 1] & 0xC0 == 0x80:     # keep a split UTF-8 sequence for later
            cut -= 1
        if cut and data[cut - 1] >= 0xC0:
            cut -= 1
        self.pending = data[cut:]
        self.buffer += _utf8(data[:cut])
        return self._records(final=False)

    def finish(self) -> list[Sequence]:
        if self.ended:
            return []
        if self.pending:
            self.buffer += _utf8(self.pending)
            self.pending = b""
        return self._records(final=True)

    def _records(self, final: bool) -> list[Sequence]:
        text = self.buffer
        first_line = self.line + 1
        pos = 0
        n = len(text)
        out: list[list[str | None]] = []
        while pos < n:
            if text.startswith("\\.", pos) and text[pos + 2:pos + 3] in ("\n", "\r", ""):
                if text[pos + 2:pos + 3] or final:
                    self.ended = True
                    self.buffer = ""
                    return out
                break
            fields: list[str | None] = []
            quoted: list[bool] = []
            p = pos
            complete = False
            while True:
                m = self.field.match(text, p)
                if m is None or (m.group(1) is None and m.end() == p and p < n and text[p] == self.quote):
                    if final:
                        raise SqlError("22P04", "unterminated CSV quoted field", where=f"COPY {self.columns.table}, "
                                                                                       f"line {self.line + 1}")
                    break
                end = m.group(3)
                if end == "" and not final:
                    break                     # the record may go on in the next CopyData
                if m.group(1) is not None:
                    value = m.group(1)
                    value = (value.replace(self.quote * 2, self.quote) if self.unquote is None
                             else self.unquote.sub(r"\1", value))
                    fields.append(value)
                    quoted.append(True)
                else:
                    fields.append(m.group(2))
                    quoted.append(False)
                p = m.end()
                if end != self.delimiter:
                    complete = True
                    break
            if not complete:
                break
            pos = p
            self.line += 1
            if self.header:
                if self.header == "match":
                    _match_header([f or "" for f in fields], self.names)
                self.header = False
                continue
            out.append(self._row(fields, quoted))
        self.buffer = text[pos:]
        return self.columns.from_rows(out, first_line)

    def _row(self, fields: list[str | None], quoted: list[bool]) -> list[str | None]:
        """One record's field texts, None for NULL."""
        if len(fields) != self.columns.width:
            self.columns.check_width(fields, self.line)
        null = self.null
        return [None if f == null and ((not q and i not in self.force_not_null) or (q and i in self.force_null))
                else f for i, (f, q) in enumerate(zip(fields, quoted))]


class BinaryReader:
    """COPY FROM in binary format."""

    def __init__(self, copy_in: CopyIn, timezone: dt.tzinfo) -> None:
        self.decoders = [binary_value_decoder(t) for t in copy_in.types]
        self.width = len(self.decoders)
        self.names = copy_in.names
        self.buffer = b""
        self.header_done = False
        self.ended = False

    def feed(self, data: bytes) -> list[Sequence]:
        self.buffer += data
        return self._tuples(final=False)

    def finish(self) -> list[Sequence]:
        columns = self._tuples(final=True)
        if not self.ended:
            raise bad_format("unexpected EOF in COPY data")
        return columns

    def _tuples(self, final: bool) -> list[Sequence]:
        buf = self.buffer
        pos = 0
        if not self.header_done:
            if len(buf) < 19:
                if final:
                    raise bad_format("COPY file signature not recognized")
                return []
            if buf[:11] != BINARY_SIGNATURE:
                raise bad_format("COPY file signature not recognized")
            flags, extension = _header_ints.unpack_from(buf, 11)
            if flags & 0x00010000:
                raise bad_format("invalid COPY file header (WITH OIDS)")
            if flags & ~0xFFFF & ~0x00010000:
                raise bad_format("unrecognized critical flags in COPY file header")
            if extension < 0:
                raise bad_format("invalid COPY file header (missing length)")
            if len(buf) < 19 + extension:
                return []
            pos = 19 + extension
            self.header_done = True
        out: list[list[Any]] = []
        decoders, width = self.decoders, self.width
        n = len(buf)
        while not self.ended and pos + 2 <= n:
            (count,) = _int16.unpack_from(buf, pos)
            if count == -1:
                self.ended = True
                pos += 2
                break
            if count != width:
                raise bad_format(f"row field count is {count}, expected {width}")
            p = pos + 2
            values: list[Any] = []
            for i in range(width):
                if p + 4 > n:
                    break
                (size,) = _int32.unpack_from(buf, p)
                p += 4
                if size == -1:
                    values.append(None)
                    continue
                if size < 0:
                    raise bad_format("invalid field size")
                if p + size > n:
                    break
                values.append(decoders[i](buf[p:p + size]))
                p += size
            if len(values) < width:
                break
            out.append(values)
            pos = p
        self.buffer = buf[pos:]
        return list(zip(*out))


def copy_reader(copy_in: CopyIn, timezone: dt.tzinfo) -> TextReader | CsvReader | BinaryReader:
    fmt = copy_in.options.format
    if fmt == "binary":
        return BinaryReader(copy_in, timezone)
    if fmt == "csv":
        return CsvReader(copy_in, timezone)
    return TextReader(copy_in, timezone)


# ----------------------------------------------------------------------------- COPY TO

_TEXT_OUT_ESCAPE = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def copy_row_encoder(copy_out: CopyOut, settings: OutputSettings) -> Callable[[Row], bytes]:
    """A function from one row to its CopyData payload (PostgreSQL sends one row per message)."""
    options = copy_out.options
    types = [c.type for c in copy_out.columns]
    if options.format == "binary":
        encoders = [binary_value_encoder(t) for t in types]
        count = _int16.pack(len(types))
        pack = _int32.pack

        def binary_row(row: Row) -> bytes:
            parts = [count]
            for encode, v in zip(encoders, row):
                if v is None:
                    parts.append(_NULL_FIELD)
                else:
                    data = encode(v)
                    parts.append(pack(len(data)))
                    parts.append(data)
            return b"".join(parts)
        return binary_row
    formatters = [text_formatter(t, settings) for t in types]
    delimiter, null = options.delimiter, options.null
    if options.format == "csv":
        quote, escape = options.quote, options.escape
        needs_quote = re.compile("[" + re.escape(delimiter + quote) + "\r\n]")
        force = copy_out.force_quote
        doubled = escape + quote

        def csv_field(i: int, text: str) -> str:
            if i in force or text == null or text == "\\." or needs_quote.search(text):
                if escape != quote and escape in text:
                    text = text.replace(escape, escape + escape)
                return quote + text.replace(quote, doubled) + quote
            return text

        def csv_row(row: Row) -> bytes:
            return (delimiter.join(null if v is None else csv_field(i, f(v))
                                   for i, (f, v) in enumerate(zip(formatters, row))) + "\n").encode()
        return csv_row
    table = _text_escapes(delimiter)

    def text_row(row: Row) -> bytes:
        return (delimiter.join(null if v is None else f(v).translate(table) for f, v in zip(formatters, row))
                + "\n").encode()
    return text_row


def _text_escapes(delimiter: str) -> dict[int, str]:
    table = {ord(k): v for k, v in _TEXT_OUT_ESCAPE.items()}
    table.setdefault(ord(delimiter), "\\" + delimiter)   # a control character keeps its letter escape
    return table


def binary_header() -> bytes:
    return BINARY_SIGNATURE + _header_ints.pack(0, 0)


def header_line(copy_out: CopyOut) -> bytes | None:
    """The HEADER line of a text or CSV COPY TO (None when not asked for)."""
    options = copy_out.options
    if not options.header or options.format == "binary":
        return None
    names = [c.name for c in copy_out.columns]
    if options.format == "csv":
        quote = options.quote
        special = re.compile("[" + re.escape(options.delimiter + quote) + "\r\n]")
        names = [quote + n.replace(quote, options.escape + quote) + quote
                 if special.search(n) or n == options.null else n for n in names]
    else:
        names = [n.translate(_text_escapes(options.delimiter)) for n in names]
    return (options.delimiter.join(names) + "\n").encode()
