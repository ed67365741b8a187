"""Server logging: one line per event that matters, as text or as one JSON object per line.

`setup(log_format, log_level)` installs a single stderr handler on the root logger. Text lines
read `2024-05-01 12:00:00.123 UTC INFO rewinddb.server: message`; JSON lines carry `time`
(RFC 3339, UTC), `level`, `logger`, `message`, plus any `extra={...}` fields a call passes
(for example `duration_ms` on slow-statement lines) and `exception` text when there is one.

Secrets stay out of logs: `redact(sql)` masks the literal of every `PASSWORD '...'` clause
before a statement is written (the slow-statement log calls it), and nothing logs DSNs,
passwords or authentication messages.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_PASSWORD_LITERAL = re.compile(r"(\bPASSWORD\s+)([Ee]'(?:[^'\\]|''|\\.)*'?|'(?:[^']|'')*'?|"
                               r"\$([A-Za-z_]\w*|)\$.*?(?:\$\3\$|\Z))", re.IGNORECASE | re.DOTALL)


def _timestamp(record: logging.LogRecord, sep: str) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(sep, "milliseconds")


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record, ' ')[:-6]} UTC {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": _timestamp(record, "T").replace("+00:00", "Z"), "level": record.levelname.lower(),
               "logger": record.name, "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup(log_format: str = "text", log_level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(log_level.upper())


def redact(sql: str) -> str:
    """The statement with every PASSWORD literal replaced by '********'."""
    return _PASSWORD_LITERAL.sub(lambda m: m.group(1) + "'********'", sql)
