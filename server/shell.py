"""`rewinddb shell`: an interactive SQL shell, in-process on a data directory or over the wire.

    rewinddb shell [--data-dir D]       open D directly (an engine Database and Session in this
                                        process; refused while a server holds D's lock)
    rewinddb shell --connect DSN        talk to a running server (server.pgclient)

Input: on a terminal, lines are read with readline (history in ~/.rewinddb_history) and
gathered until a statement ends with `;` outside quotes and comments; `\\q` quits, `\\timing
[on|off]` toggles the time of each statement, `\\?` lists the commands. When standard input is
not a terminal, statements are read from it the same way, results are printed, and the first
error ends the shell with exit status 1 (as psql with ON_ERROR_STOP); a trailing statement
without `;` still runs at end of input.

Output: psql's default aligned format (header centred, numbers right-aligned, `(n rows)`
footer; a command prints its tag); errors and notices go to standard error as
`ERROR:  message`. Each statement runs in its own implicit transaction unless it is inside
BEGIN ... COMMIT, as in psql's autocommit mode.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import TYPE_CHECKING, Callable, Protocol, TextIO

from engine.errors import SqlError
from engine.sql.parser import split_statements
from engine.types import FLOAT4, FLOAT8, INT2, INT4, INT8, NUMERIC, OID, text_formatter
from server import config as cfg
from server.pgclient import ClientError, Connection, ServerError, StatementResult

if TYPE_CHECKING:
    from engine.database import StorageConfig

HISTORY_FILE = os.path.join(os.path.expanduser("~"), ".rewinddb_history")
NUMERIC_OIDS = frozenset(t.oid for t in (INT2, INT4, INT8, FLOAT4, FLOAT8, NUMERIC, OID)) | {790}  # 790: money
HELP = """\
  \\q               quit
  \\timing [on|off] show how long each statement takes
  \\?               this help
Statements end with ';' and may span lines."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    data_dir = cfg.SETTINGS_BY_NAME["data_dir"]
    where.add_argument("--data-dir", metavar="DIR",
                       help=f"open this data directory in-process ({data_dir.env}; default {data_dir.default})")
    where.add_argument("--connect", metavar="DSN",
                       help="connect to a running server: postgresql://user:password@host:port/db or 'host=... port=...'")
    parser.add_argument("--user", default="postgres", help="role for an in-process session (default postgres)")


class Backend(Protocol):
    def run(self, sql: str) -> list[StatementResult]: ...
    def close(self) -> None: ...


# -------------------------------------------------------------------- backends


class LocalBackend:
    """An engine Database opened in this process, with one Session."""

    def __init__(self, data_dir: str, storage: StorageConfig, user: str, on_notice: Callable[[ServerError], None]) -> None:
        from engine.database import Database
        from engine.session import Session
        self.runner = asyncio.Runner()
        self.db = Database.open(data_dir, storage)
        self.runner.run(self.db.start())
        self.session = Session(self.db, user, "postgres", "rewinddb-shell", "local")
        self.on_notice = on_notice

    def run(self, sql: str) -> list[StatementResult]:
        return self.runner.run(self._run(sql))

    async def _run(self, sql: str) -> list[StatementResult]:
        session = self.session
        results = []
        try:
            for text, _ in split_statements(sql):
                prepared, params = session.prepare_simple(text)
                cursor = await session.execute(prepared, params)
                result = StatementResult(tag=cursor.tag or "")
                if cursor.columns is not None:
                    result.columns = [(c.name, c.type.oid) for c in cursor.columns]
                    formats = [text_formatter(c.type, session.output_settings) for c in cursor.columns]
                    for batch in cursor.batches or ():
                        result.rows.extend([None if v is None else f(v) for f, v in zip(formats, row)]
                                           for row in batch)
                    result.tag = cursor.tag if cursor.tag is not None else f"SELECT {len(result.rows)}"
                self._notices()
                results.append(result)
            await session.end_implicit()
        except SqlError as e:
            session.fail(e)
            await session.end_implicit()
            self._notices()
            results.append(StatementResult(error=ServerError(e.severity, e.sqlstate, e.message, e.detail, e.hint)))
        return results

    def _notices(self) -> None:
        for n in self.session.notices:
            self.on_notice(ServerError(n.severity, n.code, n.message, n.detail, n.hint))
        self.session.notices.clear()

    def close(self) -> None:
        self.session.close()
        self.runner.run(self.db.close())
        self.runner.close()


class RemoteBackend:
    def __init__(self, dsn: str, on_notice: Callable[[ServerError], None]) -> None:
        self.conn = Connection(dsn)
        self.conn.on_notice = on_notice

    def run(self, sql: str) -> list[StatementResult]:
        return self.conn.execute(sql)

    def close(self) -> None:
        self.conn.close()


# -------------------------------------------------------------------- output


def format_result(result: StatementResult) -> str:
    """psql's aligned format for a query (and a blank line), the command tag otherwise.

    As psql: a header is centred and padded on both sides, the last column's values are not
    padded unless right-aligned, and a value with newlines takes several lines, each but its
    last marked with `+` after the column."""
    if result.columns is None:
        return result.tag + "\n" if result.tag else ""
    names = [name for name, _ in result.columns]
    right = [oid in NUMERIC_OIDS for _, oid in result.columns]
    rows = [[("" if v is None else v).split("\n") for v in row] for row in result.rows]
    widths = [max([len(name)] + [len(part) for row in rows for part in row[i]]) for i, name in enumerate(names)]
    last = len(names) - 1

    def header() -> str:
        return "|".join(" " + centred(i, name) + " " for i, name in enumerate(names))

    def physical(cells: list[str], marks: list[bool]) -> str:
        out = []
        for i, v in enumerate(cells):
            padded = aligned(i, v) if i < last or right[i] or marks[i] else v
            out.append(" " + padded + ("+" if marks[i] else " " if i < last else ""))
        return "|".join(out)

    def centred(i: int, v: str) -> str:
        pad = widths[i] - len(v)
        return " " * (pad // 2) + v + " " * (pad - pad // 2)

    def aligned(i: int, v: str) -> str:
        return v.rjust(widths[i]) if right[i] else v.ljust(widths[i])

    out = [header(), "+".join("-" * (w + 2) for w in widths)]
    for row in rows:
        height = max(len(parts) for parts in row) if row else 1
        for j in range(height):
            out.append(physical([parts[j] if j < len(parts) else "" for parts in row],
                                [j < len(parts) - 1 for parts in row]))
    n = len(rows)
    out.append(f"({n} row{'' if n == 1 else 's'})")
    return "\n".join(out) + "\n\n"


def print_notice(notice: ServerError, stream: TextIO = sys.stderr) -> None:
    stream.write(f"{notice.severity}:  {notice.message}\n")
    if notice.detail:
        stream.write(f"DETAIL:  {notice.detail}\n")
    if notice.hint:
        stream.write(f"HINT:  {notice.hint}\n")
    stream.flush()


# -------------------------------------------------------------------- input


def statement_complete(buffer: str) -> bool:
    """True when `buffer` ends with a `;` that ends a statement (not one inside a string,
    quoted name or comment): split_statements then sees a probe after it as a statement of
    its own."""
    if not buffer.rstrip().endswith(";"):
        return False
    pieces = split_statements(buffer + "\nrewinddb_probe")
    return bool(pieces) and pieces[-1][0].strip() == "rewinddb_probe"


class StatementReader:
    """Gathers input lines into complete statements; backslash commands go to `on_command`."""

    def __init__(self, on_command: Callable[[str], None]) -> None:
        self.on_command = on_command
        self.buffer = ""

    def feed(self, line: str) -> str | None:
        """A complete statement once `line` ends one, else None."""
        if not self.buffer and line.lstrip().startswith("\\"):
            self.on_command(line.strip())
            return None
        self.buffer += line + "\n"
        if not statement_complete(self.buffer):
            return None
        statement, self.buffer = self.buffer, ""
        return statement

    def finish(self) -> str | None:
        """What is left at end of input, if it holds a statement."""
        rest, self.buffer = self.buffer, ""
        return rest if rest.strip() and split_statements(rest) else None


class Shell:
    def __init__(self, backend: Backend, out: TextIO = sys.stdout) -> None:
        self.backend = backend
        self.out = out
        self.timing = False
        self.reader = StatementReader(self.command)

    def command(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        if name in ("\\q", "\\quit"):
            raise EOFError
        if name == "\\timing":
            self.timing = {"on": True, "off": False}.get(arg.strip().lower(), not self.timing)
            self.out.write(f"Timing is {'on' if self.timing else 'off'}.\n")
        elif name == "\\?":
            self.out.write(HELP + "\n")
        else:
            sys.stderr.write(f"invalid command {name}\nTry \\? for help.\n")

    def execute(self, sql: str) -> bool:
        """Run one chunk of input; False if a statement failed."""
        started = time.perf_counter()
        results = self.backend.run(sql)
        elapsed = (time.perf_counter() - started) * 1000
        ok = True
        for result in results:
            if result.error is not None:
                self.out.flush()
                print_notice(result.error)
                ok = False
            else:
                self.out.write(format_result(result))
        if self.timing:
            self.out.write(f"Time: {elapsed:.3f} ms\n")
        self.out.flush()
        return ok

    def interactive(self) -> int:
        import readline
        try:
            readline.read_history_file(HISTORY_FILE)
        except OSError:
            pass
        self.out.write('rewinddb shell. Type "\\?" for help, "\\q" to quit.\n\n')
        try:
            while True:
                try:
                    line = input("rewinddb-> " if self.reader.buffer else "rewinddb=> ")
                except KeyboardInterrupt:
                    self.out.write("\n")
                    self.reader.buffer = ""
                    continue
                statement = self.reader.feed(line)
                if statement is not None:
                    self.execute(statement)
        except EOFError:
            self.out.write("\n")
        finally:
            try:
                readline.write_history_file(HISTORY_FILE)
            except OSError:
                pass
        return 0

    def batch(self, stream: TextIO) -> int:
        try:
            for line in stream:
                statement = self.reader.feed(line.rstrip("\n"))
                if statement is not None and not self.execute(statement):
                    return 1
        except EOFError:
            return 0
        rest = self.reader.finish()
        return 0 if rest is None or self.execute(rest) else 1


def main(args: argparse.Namespace) -> int:
    try:
        if args.connect:
            backend: Backend = RemoteBackend(args.connect, print_notice)
        else:
            from engine.database import DataDirectoryLocked
            from engine.recovery import RecoveryError
            from engine.storage.log import LogCorruption
            from server.app import storage_config
            config = cfg.load({}, os.environ)         # storage settings from REWINDDB_* and the TOML file
            data_dir = args.data_dir or config.data_dir
            try:
                backend = LocalBackend(data_dir, storage_config(config), args.user, print_notice)
            except DataDirectoryLocked:
                sys.stderr.write(f"rewinddb shell: a server is running on data directory {data_dir}; "
                                 "connect to it with --connect\n")
                return 2
            except (LogCorruption, RecoveryError) as e:
                sys.stderr.write(f"rewinddb shell: cannot open {data_dir}: {e}; run `rewinddb verify`\n")
                return 2
    except (ClientError, cfg.ConfigError) as e:
        sys.stderr.write(f"rewinddb shell: {e}\n")
        return 2
    shell = Shell(backend)
    try:
        return shell.interactive() if sys.stdin.isatty() else shell.batch(sys.stdin)
    except ClientError as e:
        sys.stderr.write(f"rewinddb shell: {e}\n")
        return 2
    finally:
        backend.close()
