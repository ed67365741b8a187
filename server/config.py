"""Server settings: one table, from which flags, environment variables and the TOML file follow.

Each `Setting` is declared once in `SETTINGS` (name, kind, default, help); everything else is
derived from it: the `--flag-name` of `rewinddb serve`, the `REWINDDB_NAME` environment
variable, the `name = value` key of the configuration file, the `Config` attribute and the
reference table in docs/configuration.md (a test checks that the page matches the table).

Precedence, highest first: command-line flags, REWINDDB_* environment variables, the TOML file
named by `--config` or REWINDDB_CONFIG, the defaults. `load(argv_namespace, environ)` resolves
them into a frozen `Config`; a value that does not parse, an unknown key in the file or an
unreadable file raises `ConfigError` naming where the bad value came from.

To add a setting: append one `Setting` to `SETTINGS` (in the section where it belongs), read it
as `config.<name>`, and regenerate the reference table with `python -m server.config`, which
rewrites it in docs/configuration.md between its markers.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

ENV_PREFIX = "REWINDDB_"
CONFIG_ENV = "REWINDDB_CONFIG"


class ConfigError(Exception):
    """A setting could not be resolved: a bad value, an unknown key, an unreadable file."""


# -------------------------------------------------------------------- value kinds

_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
               "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_int(text: str) -> int:
    return int(text.strip())


def _parse_size(text: str) -> int:
    """Bytes: a whole number with an optional unit (k, KiB, MB, G, ...; powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (use bytes or a unit: 64MiB, 512k, 1G)")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r} (use true or false)")


@dataclass(frozen=True, slots=True)
class Kind:
    """How a setting's values are written and read."""
    name: str                              # as shown in the reference: int, size, bool, string, float
    python: type
    parse: Callable[[str], Any]            # from a flag or an environment variable


INT = Kind("integer", int, _parse_int)
SIZE = Kind("size", int, _parse_size)
BOOL = Kind("boolean", bool, _parse_bool)
STRING = Kind("string", str, str)
FLOAT = Kind("number", float, float)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str                              # snake_case: the TOML key and the Config attribute
    kind: Kind
    default: Any
    help: str
    section: str
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, value: Any, origin: str, text: bool) -> Any:
        """A value from a flag or the environment (`text`) or the TOML file (typed), checked.

        TOML values must have the setting's own type; a size may also be a string with a unit."""
        try:
            if isinstance(value, str) and (text or self.kind is SIZE):
                value = self.kind.parse(value)
            elif self.kind is FLOAT and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, self.kind.python) or (isinstance(value, bool) and self.kind is not BOOL):
                raise ValueError(f"expected {self.kind.name}, got {value!r}")
        except ValueError as e:
            raise ConfigError(f"{origin}: invalid value for {self.name}: {e}") from None
        if self.choices and value not in self.choices:
            raise ConfigError(f"{origin}: invalid value for {self.name}: {value!r} (choose from {', '.join(self.choices)})")
        return value

    def show_default(self) -> str:
        if self.kind is SIZE and self.default and self.default % (1 << 20) == 0:
            return f"{self.default >> 20}MiB"
        if self.kind is BOOL:
            return "true" if self.default else "false"
        return str(self.default) if self.default != "" else '""'


# -------------------------------------------------------------------- the settings

AUTH_METHODS = ("trust", "password", "md5", "scram-sha-256")    # PostgreSQL's pg_hba.conf names

SETTINGS: tuple[Setting, ...] = (
    # listening
    Setting("host", STRING, "127.0.0.1", "Address the wire protocol and HTTP listeners bind to.", "listening"),
    Setting("port", INT, 5432, "TCP port of the PostgreSQL wire protocol (0 picks a free port).", "listening"),
    Setting("http_port", INT, 8080, "TCP port of the HTTP API (health, metrics, SQL, change stream); 0 disables it.",
            "listening"),
    Setting("max_connections", INT, 100, "Most concurrent client sessions over the wire protocol.", "listening"),
    Setting("max_message_size", SIZE, 64 << 20, "Largest protocol message or HTTP request body accepted.",
            "listening"),
    Setting("authentication_timeout", FLOAT, 60.0,
            "Seconds a client has from connecting until it is logged in (startup, TLS handshake and "
            "authentication), as PostgreSQL's authentication_timeout: slower or silent clients are "
            "disconnected, so they cannot hold connection slots.", "listening"),
    Setting("shutdown_grace", FLOAT, 30.0,
            "Seconds a shutdown waits for statements in flight to finish before closing connections.", "listening"),
    # limits on what one session or statement may take (docs/security.md)
    Setting("statement_timeout", INT, 0,
            "Milliseconds a statement may run before it is canceled with 57014 (0: no limit); the "
            "default of PostgreSQL's setting of the same name, which sessions can SET.", "limits"),
    Setting("idle_session_timeout", INT, 0,
            "Milliseconds a session may sit idle outside a transaction before it is closed with 57P05 "
            "(0: never); the default of PostgreSQL's setting of the same name.", "limits"),
    Setting("idle_in_transaction_session_timeout", INT, 0,
            "Milliseconds a session may sit idle inside a transaction block before it is closed with "
            "25P03 (0: never); the default of PostgreSQL's setting of the same name.", "limits"),
    Setting("output_batch_rows", INT, 1000,
            "Most rows (DataRow or COPY data messages) a statement buffers before writing them to the "
            "client, which is also written to whenever 64 KiB are buffered; a statement whose client is "
            "not reading waits there (back-pressure). Values below 1 count as 1.", "limits"),
    Setting("query_memory_limit", SIZE, 1 << 30,
            "Memory one statement may hold for sorting, hashing, aggregating and buffering rows "
            "(estimated); beyond it the statement fails with 53200 out_of_memory. 0: no limit.", "limits"),
    Setting("transaction_memory_limit", SIZE, 1 << 30,
            "Memory one transaction's own writes (rows inserted, updated or deleted, held until COMMIT) may "
            "take (estimated); beyond it the statement fails with 53200 out_of_memory and the transaction "
            "is aborted. 0: no limit.", "limits"),
    # storage
    Setting("data_dir", STRING, "./rewinddb-data", "Data directory: the log, snapshots and the lock file.",
            "storage"),
    Setting("segment_size", SIZE, 64 << 20, "Size at which the log rolls over to a new segment file.", "storage"),
    Setting("synchronous_commit", STRING, "on",
            "Whether a commit waits for its fsync before it is acknowledged, as PostgreSQL's setting of the "
            "same name: off acknowledges at once (a crash may lose the last commits, never part of one). "
            "Sessions can SET it.", "storage", choices=("on", "off")),
    Setting("snapshot_log_bytes", SIZE, 64 << 20,
            "Take a snapshot in the background when the log grew by this much, or by the last snapshot's "
            "size if that is larger, since the last one ...", "storage"),
    Setting("snapshot_events", INT, 1_000_000, "... or by this many events ...", "storage"),
    Setting("snapshot_interval", FLOAT, 60.0, "... but at most once per this many seconds.", "storage"),
    Setting("snapshots_kept", INT, 2,
            "Snapshots kept; older ones are deleted. Log segments are never deleted for snapshots.", "storage"),
    Setting("history_window", INT, 100_000,
            "Transactions whose row history (for time travel) is kept in memory; older history is not "
            "loaded at startup and is dropped as new transactions commit.", "storage"),
    Setting("checkpoint_spacing", INT, 100_000,
            "Snapshots older than the kept ones stay as time-travel checkpoints, at least this many "
            "transactions apart: a read older than the history window loads the nearest one and replays "
            "the log from there. 0 deletes them.", "storage"),
    # security (server/auth.py, server/tls.py)
    Setting("tls_cert", STRING, "", "PEM certificate (chain): SSLRequest is answered with TLS when set, "
            "refused otherwise. `rewinddb cert` makes a self-signed pair for local use.", "security"),
    Setting("tls_key", STRING, "", "PEM private key of tls_cert.", "security"),
    Setting("auth", STRING, "scram-sha-256", "Authentication of clients not on loopback.", "security",
            choices=AUTH_METHODS),
    Setting("local_auth", STRING, "trust", "Authentication of loopback clients (127.0.0.0/8, ::1).", "security",
            choices=AUTH_METHODS),
    Setting("superuser", STRING, "postgres", "The bootstrap superuser, which exists before any CREATE ROLE.",
            "security"),
    Setting("password", STRING, "", "The bootstrap superuser's password (until ALTER ROLE changes it).",
            "security"),
    Setting("auth_failure_delay", FLOAT, 0.5,
            "Seconds a failed login waits before its error is sent (as PostgreSQL's auth_delay), "
            "which slows password guessing; other sessions are not delayed.", "security"),
    # logging
    Setting("log_format", STRING, "text", "Server log format: one line of text per event, or one JSON object.",
            "logging", choices=("text", "json")),
    Setting("log_level", STRING, "info", "Least severe log level written.", "logging",
            choices=("debug", "info", "warning", "error")),
    Setting("log_min_duration_statement", INT, -1,
            "Log every statement that runs at least this many milliseconds (0 logs all, -1 none), "
            "as PostgreSQL's setting of the same name.", "logging"),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

Config = dataclasses.make_dataclass(
    "Config", [(s.name, s.kind.python, dataclasses.field(default=s.default)) for s in SETTINGS],
    frozen=True, slots=True, namespace={"__module__": __name__})
Config.__doc__ = "The resolved settings of one server process (attributes named as in SETTINGS)."


# -------------------------------------------------------------------- argparse, env, TOML

def add_arguments(parser: argparse.ArgumentParser, settings: tuple[Setting, ...] = SETTINGS) -> None:
    """One flag per setting; unset flags stay absent so lower-precedence sources can fill them."""
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help=f"TOML configuration file ({CONFIG_ENV}); its keys are the setting names below")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for s in settings:
        group = groups.get(s.section) or groups.setdefault(s.section, parser.add_argument_group(s.section))
        one_of = f" One of: {', '.join(s.choices)}." if s.choices else ""
        help_text = f"{s.help}{one_of} ({s.env}; default {s.show_default()})".replace("%", "%%")
        if s.kind is BOOL:
            group.add_argument(s.flag, dest=s.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(s.flag, dest=s.name, metavar=s.kind.name.upper(), default=argparse.SUPPRESS,
                               choices=s.choices or None, help=help_text)


def read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read configuration file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"configuration file {path}: {e}") from None
    unknown = sorted(k for k in data if k not in SETTINGS_BY_NAME)
    if unknown:
        raise ConfigError(f"configuration file {path}: unknown setting {', '.join(unknown)}")
    return data


def load(args: argparse.Namespace | Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> Config:
    """Resolve every setting: flags (`args`) > environment > the TOML file > defaults."""
    flags = vars(args) if isinstance(args, argparse.Namespace) else dict(args or {})
    environ = os.environ if environ is None else environ
    path = flags.get("config") or environ.get(CONFIG_ENV)
    from_file = read_file(path) if path else {}
    values: dict[str, Any] = {}
    for s in SETTINGS:
        if s.name in flags:
            values[s.name] = s.parse(flags[s.name], s.flag, text=True)
        elif s.env in environ:
            values[s.name] = s.parse(environ[s.env], s.env, text=True)
        elif s.name in from_file:
            values[s.name] = s.parse(from_file[s.name], f"{path}: {s.name}", text=False)
    return Config(**values)


DOC_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "configuration.md")
DOC_BEGIN = "<!-- settings table: generated by `python -m server.config` -->"
DOC_END = "<!-- end of settings table -->"


def reference() -> str:
    """docs/configuration.md's settings table, generated from SETTINGS."""
    lines = ["| setting (TOML key) | flag | environment | type | default | what it does |",
             "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        what = s.help + (f" One of: {', '.join(s.choices)}." if s.choices else "")
        lines.append(f"| `{s.name}` | `{s.flag}` | `{s.env}` | {s.kind.name} | `{s.show_default()}` | {what} |")
    return "\n".join(lines) + "\n"


def write_reference(path: str = DOC_PATH) -> None:
    """Replace the table between DOC_BEGIN and DOC_END in docs/configuration.md."""
    with open(path) as f:
        text = f.read()
    head, _, rest = text.partition(DOC_BEGIN)
    _, _, tail = rest.partition(DOC_END)
    with open(path, "w") as f:
        f.write(f"{head}{DOC_BEGIN}\n{reference()}{DOC_END}{tail}")


if __name__ == "__main__":
    write_reference()
