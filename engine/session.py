"""A client session: settings, the transaction state machine, prepared statements, execution.

The server drives a session with SQL text and parameters; the session answers with
`Cursor`s (a row description, lazily produced row batches, a command tag) and keeps the
transaction state PostgreSQL clients rely on: idle (I), in a transaction block (T), or in
a failed block (E), where everything but ROLLBACK fails with 25P02.

Statements outside an explicit block run in an implicit transaction that ends when the
server calls `end_implicit()` (after a simple Query message, or at Sync): one Query with
several statements commits or rolls back as a whole, as in PostgreSQL.

Plans are cached per session by statement text; simple-protocol statements have their
literals lifted into parameters first (`parser.lift_literals`), so statements that differ
only in constants share one plan. A cached plan is reused while the catalog it was planned
against is still the one the statement reads.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator

import msgspec

from engine import events as ev
from engine.catalog.virtual import virtual_table
from engine.database import SERVER_VERSION, SERVER_VERSION_NUM, Database
from engine.catalog.model import RoleDef
from engine.catalog.system import system_catalog
from engine.copy import CopyIn, CopyOut, copy_columns
from engine.errors import SqlError, feature_not_supported, in_failed_transaction, syntax_error
from engine.portal import Portal
from engine import explain
from engine.exec import plan as P
from engine.exec.casts import cast_function, typmod_enforcer
from engine.exec.context import ExecContext
from engine.exec.cte_writes import CompiledCteWrites, reject_snapshot_conflicts
from engine.exec.dml import CompiledWrite, RowCompiler
from engine.exec.locking import CompiledLockingQuery
from engine.exec.operators import CompiledPlan, _Builder, compile_plan, run_to_list
from engine.sql import ddl
from engine.sql.parser import (Explain, Lifted, Parsed, Utility, lift_literals, parse_sql, parse_statement,
                               parse_type_name, quote_ident)
from engine.exec.expr import Const
from engine.rewind import points
from engine.rewind import system as rewind_system
from engine.rewind.feed import check_notification
from engine.rewind.points import Point, PointPlan
from engine.sql.optimizer import optimize
from engine.sql.planner import NeedsLiteral, PlanEnv, Planner, RangeEntry, Scope, ScopeColumn, WritePlanner
from engine.txn.temp import TEMP_SCHEMA_PREFIX, TempSpace, is_temp_schema, next_temp_id
from engine.txn.transaction import Transaction
from engine.types import (INT4, INT8, NUMERIC, TEXT, UNKNOWN, OutputSettings, SqlType, TYPES_BY_OID,
                          format_type, parse_text, timezone_named)

log = logging.getLogger("rewinddb.session")

# pg_catalog's functions and information_schema's tables register themselves on import
importlib.import_module("engine.catalog.functions")
importlib.import_module("engine.catalog.information_schema")

VERSION_STRING = (f"PostgreSQL {SERVER_VERSION} (rewinddb 0.1.0) on x86_64-pc-linux-gnu, "
                  "compiled by CPython, 64-bit")

# name -> (default, reported to the client as ParameterStatus)
SETTINGS: dict[str, tuple[str, bool]] = {
    "server_version": (SERVER_VERSION, True),
    "server_version_num": (SERVER_VERSION_NUM, False),
    "server_encoding": ("UTF8", True),
    "client_encoding": ("UTF8", True),
    "DateStyle": ("ISO, MDY", True),
    "IntervalStyle": ("postgres", True),
    "TimeZone": ("UTC", True),
    "integer_datetimes": ("on", True),
    "standard_conforming_strings": ("on", True),
    "application_name": ("", True),
    "is_superuser": ("on", True),
    "session_authorization": ("postgres", True),
    "default_transaction_read_only": ("off", True),
    "in_hot_standby": ("off", True),
    "search_path": ('"$user", public', False),
    "extra_float_digits": ("1", False),
    "statement_timeout": ("0", False),
    "lock_timeout": ("0", False),
    "idle_in_transaction_session_timeout": ("0", False),
    "idle_session_timeout": ("0", False),
    "default_transaction_isolation": ("read committed", False),
    "default_transaction_deferrable": ("off", False),
    "transaction_isolation": ("read committed", False),
    "transaction_read_only": ("off", False),
    "transaction_deferrable": ("off", False),
    "deadlock_timeout": ("1s", False),
    "synchronous_commit": ("on", False),
    "jit": ("off", False),
    "max_connections": ("100", False),
    "bytea_output": ("hex", False),
    "client_min_messages": ("notice", False),
    "lc_messages": ("C.UTF-8", False),
    "lc_monetary": ("C.UTF-8", False),
    "lc_numeric": ("C.UTF-8", False),
    "lc_time": ("C.UTF-8", False),
    "lc_collate": ("C.UTF-8", False),
    "lc_ctype": ("C.UTF-8", False),
    "max_identifier_length": ("63", False),
    "max_index_keys": ("32", False),
    "default_table_access_method": ("heap", False),
    "default_tablespace": ("", False),
    "max_function_args": ("100", False),
    "block_size": ("8192", False),
    "row_security": ("on", False),
    "enable_seqscan": ("on", False),
    "work_mem": ("4MB", False),
    "maintenance_work_mem": ("64MB", False),
    "search_path_default": ("public", False),
    "default_text_search_config": ("pg_catalog.english", False),
    "check_function_bodies": ("on", False),
    "xmloption": ("content", False),
    "escape_string_warning": ("on", False),
    "timezone_abbreviations": ("Default", False),
    "rewind.as_of": ("", False),          # read the whole session as of a point ('' = now)
    "rewind.reason": ("", False),         # stored with each transaction committed while set
}
_CANONICAL = {name.lower(): name for name in SETTINGS}
_KIND_NAMES = {"r": "table", "v": "view", "S": "sequence"}     # pg_class.relkind -> what a DETAIL calls it
_OUTPUT_SETTINGS = {"timezone", "extra_float_digits", "bytea_output", "datestyle", "intervalstyle"}


@dataclass(slots=True)
class Cursor:
    """One statement's result: columns (None for commands), row batches, the command tag.

    `tag` None means "SELECT n" with n the number of rows the consumer read."""
    columns: tuple[P.OutputColumn, ...] | None
    batches: Iterator[list] | None = None
    tag: str | None = None
    binary: bool = False                # FETCH from a BINARY cursor: rows go out in binary
    copy: CopyIn | CopyOut | None = None   # COPY: the server runs the copy sub-protocol with it


@dataclass(slots=True)
class Prepared:
    """A parsed and planned statement, reusable with different parameters."""
    text: str
    statement: Any                      # Utility or Parsed
    param_types: list[SqlType]
    kind: str                           # query, write, ddl, utility, empty
    columns: tuple[P.OutputColumn, ...] | None = None
    plan: Any = None                    # CompiledPlan or CompiledWrite
    catalog: Any = None                 # the catalog it was planned against
    lifted: Lifted | None = None
    points: PointPlan | None = None     # its FOR SYSTEM_TIME clauses (and rewind.as_of's point)
    basis: tuple[tuple[int, int], ...] = ()   # (table id, rows) the join choices were estimated from


@dataclass(slots=True)
class Notice:
    severity: str
    code: str
    message: str
    detail: str | None = None
    hint: str | None = None


class Session:
    def __init__(self, db: Database, user: str = "postgres", database: str = "postgres",
                 application_name: str = "", client_addr: str = "", options: dict[str, str] | None = None,
                 superuser: bool = True) -> None:
        self.db = db
        self.user = user
        self.database = database
        self.client_addr = client_addr
        self.backend_pid = db.next_backend_pid()
        self.settings: dict[str, str] = {name: default for name, (default, _) in SETTINGS.items()}
        self.settings["session_authorization"] = user
        self.settings["is_superuser"] = "on" if superuser else "off"
        self.settings["application_name"] = application_name
        self._as_of: Point | None = None                 # rewind.as_of, parsed
        self._plans: dict[Any, Prepared] = {}
        self._control: dict[str, Prepared] = {}          # BEGIN, COMMIT, ... by text (no catalog involved)
        self._output: OutputSettings | None = None
        self.changed_parameters: list[tuple[str, str]] = []
        for k, v in (db.settings or {}).items():
            self._set_value(k, v)
        for k, v in (options or {}).items():
            self._set_value(k, v)
        self.changed_parameters.clear()     # the startup ParameterStatus messages report these
        self.notices: list[Notice] = []
        self.notifications: list[tuple[int, str, str]] = []   # (sender pid, channel, payload), to send now
        self._held_notifications: list[tuple[int, str, str]] = []   # arrived inside a transaction
        self._listen_changes: list[tuple[bool, str]] = []          # LISTEN (True) / UNLISTEN in this block
        self.txn: Transaction | None = None
        self.explicit = False
        self.failed = False
        self._local_settings: dict[str, str] = {}      # SET LOCAL: original values, restored at end
        self._txn_settings: dict[str, str] = {}        # SET in a transaction: restored on rollback
        self.listening: set[str] = set()
        self.on_notification = None
        self.prepared: dict[str, Prepared] = {}      # named prepared statements (protocol and SQL)
        self.portals: dict[str, Portal] = {}         # protocol portals and SQL cursors, one namespace
        self._xact_advisory: list = []               # advisory locks taken until the transaction ends
        self._currvals: dict[int, int] = {}          # sequence id -> the value nextval last gave this session
        self._lastval: int | None = None             # the sequence nextval last advanced
        self.temp: TempSpace | None = None           # temporary tables, from the first CREATE TEMP TABLE
        db.sessions[self.backend_pid] = self

    def close(self) -> None:
        if self.txn is not None:
            self.db.rollback(self.txn)
            self.txn = None
        self.advisory_unlock_all()
        for channel in self.listening:
            self.db.stop_listening(channel, self)
        self.db.sessions.pop(self.backend_pid, None)
        if self.temp is not None:                    # temporary tables end with the session
            self.db.forget_sequences(self.temp.catalog.sequences)
            self.temp = None

    # ---------------------------------------------------------------- state

    @property
    def status(self) -> str:
        if self.failed:
            return "E"
        return "T" if self.explicit else "I"

    def reported_parameters(self) -> list[tuple[str, str]]:
        return [(name, self.settings[name]) for name, (_, reported) in SETTINGS.items() if reported]

    @property
    def output_settings(self) -> OutputSettings:
        if self._output is None:
            self._output = OutputSettings(timezone_named(self.settings["TimeZone"]),
                                          int(self.settings["extra_float_digits"]),
                                          self.settings["bytea_output"],
                                          self.settings["IntervalStyle"])
        return self._output

    def search_path(self) -> tuple[str, ...]:
        out = []
        for part in self.settings["search_path"].split(","):
            name = part.strip()
            if name.startswith('"') and name.endswith('"'):
                name = name[1:-1]
            if name == "$user":
                name = self.user
            if name:
                out.append(name)
        path = ("pg_catalog",) + tuple(out) if "pg_catalog" not in out else tuple(out)
        if self.temp is not None:      # the temporary schema comes first unless placed (as pg_temp)
            temp = self.temp.schema
            path = tuple(temp if s == "pg_temp" else s for s in path) if "pg_temp" in path else (temp,) + path
        return path

    def current_schema(self) -> str | None:
        catalog = self.catalog()
        for s in self.search_path():
            if s in catalog.schemas and not is_temp_schema(s):
                return s
        return None

    def catalog(self):
        """The catalog the next statement binds against (the past one under rewind.as_of)."""
        if self._as_of is not None:
            return self.db.state.catalog_at(self._as_of_lsn(self.txn.statement_lsn if self.txn else self.db.visible_lsn))
        if self.txn is not None:
            return self.txn.current_catalog
        if self.temp is not None:
            return self.temp.overlay(self.db.state.catalog_at(self.db.visible_lsn))
        return self.db.state.catalog_at(self.db.visible_lsn)

    def temp_space(self) -> TempSpace:
        """The session's temporary tables (made on first use, with schema pg_temp_N: N is the
        lowest number from 3 no other live session's schema has, as PostgreSQL numbers them by
        backend slot after its two launcher processes)."""
        if self.temp is None:
            taken = {s.temp.schema for s in self.db.sessions.values() if getattr(s, "temp", None) is not None}
            n = 3
            while f"{TEMP_SCHEMA_PREFIX}{n}" in taken:
                n += 1
            self.temp = TempSpace(f"{TEMP_SCHEMA_PREFIX}{n}")
            if self.txn is not None:
                self.txn.temp = self.temp
                if self.txn.catalog is not None:
                    self.txn.catalog = self.temp.overlay(self.txn.catalog)
        return self.temp

    def _as_of_lsn(self, snapshot_lsn: int) -> int:
        return points.lsn_of(self._as_of, snapshot_lsn, self.db.lsn_at_time)

    def interrupt(self, error: SqlError) -> None:
        """A cancel request or statement timeout (the server times statements): a statement
        waiting for a lock fails now; the server checks between row batches for the rest."""
        if self.txn is not None:
            self.txn.interrupt(error)

    def notice(self, message: str, code: str = "00000", severity: str = "NOTICE") -> None:
        self.notices.append(Notice(severity, code, message))

    def deliver_notification(self, channel: str, payload: str, sender_pid: int) -> None:
        """A committed notification for a channel this session listens on: sent at once when
        idle, else held until the current transaction ends (as PostgreSQL does)."""
        if self.txn is not None or self.explicit:
            self._held_notifications.append((sender_pid, channel, payload))
            return
        self.notifications.append((sender_pid, channel, payload))
        if self.on_notification is not None:
            self.on_notification()

    def _transaction_ended(self, committed: bool) -> None:
        """LISTEN/UNLISTEN of the block take effect at commit; held notifications go out; the
        transaction's portals close (WITH HOLD cursors it committed stay) and its
        transaction-level advisory locks are released."""
        if self._xact_advisory:
            self._release_xact_advisory()
        if self.portals:
            self.portals = {name: p for name, p in self.portals.items() if p.held}
        if committed:
            self._apply_listen_changes()
        else:
            self._listen_changes.clear()
        if self._held_notifications:
            self.notifications.extend(self._held_notifications)
            self._held_notifications.clear()

    # ---------------------------------------------------------------- transactions

    def _ensure_txn(self) -> Transaction:
        if self.txn is None:
            settings = self.settings
            self.txn = Transaction(self.db, settings["default_transaction_isolation"],
                                   settings["default_transaction_read_only"] == "on" or self._as_of is not None)
            self.txn.sender_pid = self.backend_pid
            self.txn.temp = self.temp
            self.txn.deferrable = settings["default_transaction_deferrable"] == "on"
        return self.txn

    async def end_implicit(self) -> None:
        """End of a simple Query or of an extended-protocol Sync: close an implicit transaction."""
        if self.explicit:
            return
        if self.failed:
            self._rollback()
        elif self.txn is not None:
            txn = self.txn
            if not txn.events and txn.ssi is None and not self._local_settings and not self._txn_settings \
                    and not any(p.holdable and not p.held for p in self.portals.values()):
                # only read, no WITH HOLD cursor to keep: nothing to make durable, so ending it is
                # letting go of what it holds (its portals close)
                self.txn = None
                self.db.rollback(txn)
                self._transaction_ended(True)
            else:
                await self._commit()
        elif self.portals:
            self._transaction_ended(True)

    async def _commit(self) -> None:
        txn = self.txn
        for portal in self.portals.values():
            if portal.holdable and not portal.held:
                portal.materialize()
                portal.held = True
        self.txn = None
        if txn is not None:
            txn.reason = self.settings["rewind.reason"] or None
        self._restore_local_settings()
        self._txn_settings = {}
        if txn is None:
            self._transaction_ended(True)
            return
        # LISTEN/UNLISTEN count from this commit on, for its own notifications too (PostgreSQL's
        # PreCommit_Notify); a commit that fails undoes them
        listening_before = set(self.listening) if self._listen_changes else None
        self._apply_listen_changes()
        temp_events = None
        if txn.temp is not None:          # temporary tables' events stay in the session, out of the log
            txn.events, temp_events = txn.temp.split(txn.events)
        try:
            await self.db.commit(txn, self.user, self.settings["application_name"], self.client_addr,
                                 synchronous=self.settings["synchronous_commit"] != "off")
            if temp_events is not None:
                txn.temp.commit(temp_events, txn.temp_on_commit)
        except BaseException:
            if listening_before is not None:
                for channel in self.listening - listening_before:
                    self._unlisten(channel)
                for channel in listening_before - self.listening:
                    self._listen(channel)
            self._transaction_ended(False)
            raise
        self._transaction_ended(True)

    def _drop_temporary(self) -> None:
        """DISCARD TEMP: drop every temporary table (in the transaction, as DROP TABLE would)."""
        if self.temp is None:
            return
        txn = self._ensure_txn()
        for table_id, table in list(txn.current_catalog.tables.items()):
            if is_temp_schema(table.schema):
                txn.add_event(ev.TableDropped(table_id))
        for seq_id, seq in list(txn.current_catalog.sequences.items()):
            if is_temp_schema(seq.schema):
                txn.add_event(ev.SequenceDropped(seq_id))

    def _apply_listen_changes(self) -> None:
        for listen, channel in self._listen_changes:
            self._listen(channel) if listen else self._unlisten(channel)
        self._listen_changes.clear()

    def _rollback(self) -> None:
        txn = self.txn
        self.txn = None
        self.explicit = False
        self.failed = False
        for name, value in self._txn_settings.items():
            self._set_value(name, value)
        self._txn_settings = {}
        self._restore_local_settings()
        if txn is not None:
            self.db.rollback(txn)
        self._transaction_ended(False)

    def _restore_local_settings(self) -> None:
        for name, value in self._local_settings.items():
            self._set_value(name, value)
        self._local_settings = {}

    def fail(self, error: BaseException) -> None:
        """A statement failed. An implicit transaction rolls back at its end. A transaction block
        becomes failed (E) and, as in PostgreSQL, the failed (sub)transaction is aborted at once:
        its writes are undone and its locks released now, not when the client sends ROLLBACK."""
        if not self.explicit:
            if self.txn is not None:
                self.failed = True
            return
        self.failed = True
        txn = self.txn
        if txn is None:
            return
        if txn.savepoints:
            txn.rollback_to(txn.savepoints[-1].name)
        else:
            self.txn = None
            self.db.rollback(txn)
            if self._xact_advisory:
                self._release_xact_advisory()

    def _set_transaction_modes(self, txn: Transaction, modes: dict) -> None:
        """BEGIN / SET TRANSACTION modes, with PostgreSQL's rules on when each may change."""
        started = txn.snapshot_taken
        if "isolation" in modes and modes["isolation"] != txn.isolation_name:
            if started:
                raise SqlError("25001", "SET TRANSACTION ISOLATION LEVEL must be called before any query")
            if txn.savepoints:
                raise SqlError("25001", "SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction")
            txn.set_isolation(modes["isolation"])
        if "read_only" in modes:
            if not modes["read_only"] and txn.read_only:
                if txn.savepoints:
                    raise SqlError("25001", "cannot set transaction read-write mode inside a read-only transaction")
                if started:
                    raise SqlError("25001", "transaction read-write mode must be set before any query")
            txn.read_only = modes["read_only"]
            if txn.ssi is not None:
                txn.ssi.declared_read_only = txn.read_only
        if "deferrable" in modes:
            if txn.savepoints:
                raise SqlError("25001", "SET TRANSACTION [NOT] DEFERRABLE cannot be called within a subtransaction")
            if started:
                raise SqlError("25001", "SET TRANSACTION [NOT] DEFERRABLE must be called before any query")
            txn.deferrable = modes["deferrable"]

    # ---------------------------------------------------------------- settings

    def _set_value(self, name: str, value: str) -> None:
        canonical = _CANONICAL.get(name.lower(), name.lower())
        value = _normalize_setting(canonical, value)
        if canonical == "rewind.as_of":
            as_of = points.parse_point(value, timezone_named(self.settings["TimeZone"])) if value else None
            if as_of is not None:
                points.lsn_of(as_of, self.db.visible_lsn, self.db.lsn_at_time)    # refuse a transaction not committed yet
            self._as_of = as_of
        old = self.settings.get(canonical)
        self.settings[canonical] = value
        if canonical.lower() in _OUTPUT_SETTINGS:
            self._output = None
            self._plans.clear()
        elif canonical == "search_path" and old != value:
            self._plans.clear()              # names may now mean other relations
        if canonical in SETTINGS and SETTINGS[canonical][1] and old != value:
            self.changed_parameters.append((canonical, value))

    def set_setting(self, name: str, value: str, local: bool = False) -> None:
        canonical = _CANONICAL.get(name.lower(), name.lower())
        if canonical not in SETTINGS and "." not in canonical:
            raise SqlError("42704", f'unrecognized configuration parameter "{name}"')
        if canonical in ("server_version", "server_version_num", "server_encoding", "integer_datetimes",
                         "is_superuser", "in_hot_standby", "max_connections", "block_size",
                         "max_identifier_length", "max_index_keys", "max_function_args", "lc_collate", "lc_ctype"):
            raise SqlError("55P02", f'parameter "{canonical}" cannot be changed'
                           + (" without restarting the server" if canonical == "max_connections" else ""))
        old = self.settings.get(canonical, "")
        if local:
            if self.explicit and canonical not in self._local_settings:
                self._local_settings[canonical] = old
            if not self.explicit:
                self.notice("SET LOCAL can only be used in transaction blocks", "25P01", "WARNING")
                return
        elif self.explicit and canonical not in self._txn_settings:
            self._txn_settings[canonical] = old
        self._set_value(canonical, value)

    def settings_rows(self) -> list[tuple[str, str, str]]:
        """(name, value, default) of every setting, for pg_settings."""
        return [(name, self.show(name), SETTINGS.get(name, ("", False))[0])
                for name in sorted(self.settings, key=str.lower)]

    def show(self, name: str) -> str:
        canonical = _CANONICAL.get(name.lower(), name.lower())
        if self.txn is not None:
            if canonical == "transaction_isolation":
                return self.txn.isolation_name
            if canonical == "transaction_read_only":
                return "on" if self.txn.read_only else "off"
            if canonical == "transaction_deferrable":
                return "on" if self.txn.deferrable else "off"
        elif canonical in ("transaction_isolation", "transaction_read_only", "transaction_deferrable"):
            return self.settings["default_" + canonical]
        if canonical in self.settings:
            return self.settings[canonical]
        raise SqlError("42704", f'unrecognized configuration parameter "{name}"')

    # ---------------------------------------------------------------- advisory locks

    def advisory_lock(self, key, wait: bool, xact: bool = False) -> bool | None:
        """pg_advisory_lock and friends: session-level (xact: until the transaction ends)
        exclusive locks on application-chosen keys, re-entrant for their holder."""
        holders = self.db.advisory_locks
        held = holders.get(key)
        if held is not None and held[0] != self.backend_pid:
            if wait:
                raise SqlError("0A000", "waiting for an advisory lock held by another session is not supported")
            return False
        holders[key] = (self.backend_pid, (held[1] if held else 0) + 1)
        if xact:
            self._xact_advisory.append(key)
        return None if wait else True

    def advisory_unlock(self, key) -> bool:
        held = self.db.advisory_locks.get(key)
        if held is None or held[0] != self.backend_pid:
            self.notice("you don't own a lock of type ExclusiveLock", "01000", "WARNING")
            return False
        if held[1] > 1:
            self.db.advisory_locks[key] = (held[0], held[1] - 1)
        else:
            del self.db.advisory_locks[key]
        return True

    def advisory_unlock_all(self) -> None:
        locks = self.db.advisory_locks
        for key in [k for k, (pid, _) in locks.items() if pid == self.backend_pid]:
            del locks[key]
        self._xact_advisory.clear()

    def _release_xact_advisory(self) -> None:
        for key in self._xact_advisory:
            held = self.db.advisory_locks.get(key)
            if held is not None and held[0] == self.backend_pid:
                if held[1] > 1:
                    self.db.advisory_locks[key] = (held[0], held[1] - 1)
                else:
                    del self.db.advisory_locks[key]
        self._xact_advisory.clear()

    # ---------------------------------------------------------------- preparing

    def _plan_env(self, catalog, param_types: list[SqlType], point_lsns: list[tuple[int, int]] | None = None,
                  lifted: Lifted | None = None) -> PlanEnv:
        path = self.search_path()
        return PlanEnv(catalog, path, param_types, self.output_settings, lifted=lifted.values if lifted else (),
                       virtual_table=lambda schema, name: (rewind_system.virtual_table(self.db, schema, name)
                                                        or virtual_table(catalog, schema, name, path)),
                       catalog_at=lambda point, schema, name: self._point_catalog(point, schema, name, point_lsns),
                       session_point=self._as_of is not None)

    def _point_catalog(self, point: P.ReadPoint, schema: str | None, name: str,
                       lsns: list[tuple[int, int]] | None) -> Any:
        """The catalog a table reference read at `point` binds against: the catalog of the
        point's (high) LSN when known — from `lsns` at run time, or constant bounds at plan
        time — else a guess (the session's catalog, or the newest one that knew the name)
        that execution checks and corrects by replanning."""
        state = self.db.state
        search_path = self.search_path()
        high = lsns[point.index][1] if lsns is not None else self._constant_point(point)
        if high is not None:
            catalog = state.catalog_at(high)
            if point.kind != "all" or catalog.relation(name, schema, search_path) is not None:
                return points.under_current_name(catalog, self.catalog(), schema, name, search_path) or catalog
        else:
            catalog = self.catalog()
            if catalog.relation(name, schema, search_path) is not None:
                return catalog
        for older in state.catalogs_newest_first(high if high is not None else state.lsn):
            if older.relation(name, schema, search_path) is not None:
                return older
        return catalog

    def _constant_point(self, point: P.ReadPoint) -> int | None:
        """The high LSN of a time-travel clause whose bounds are constants, else None."""
        snapshot = self.txn.statement_lsn if self.txn is not None else self.db.visible_lsn
        if not all(isinstance(b, Const) for b in point.bounds):
            return None
        try:
            return self.db.resolve_read_point(point, tuple(b.value for b in point.bounds), snapshot,
                                              self.output_settings.timezone)[1]
        except SqlError:
            return None

    def _point_plan(self, planner: Planner, reads: P.Node) -> PointPlan | None:
        """The statement's FOR SYSTEM_TIME clauses (None without any); `reads` is its
        optimized plan, whose index searches at AS OF points are noted (a past state rebuilt
        for a point gets those indexes built with it)."""
        if not planner.read_points:
            return None
        bounds = tuple(b for p in planner.read_points for b in p.bounds)
        evaluator = None
        if bounds:
            node = P.Project(P.Result(), bounds, tuple(P.OutputColumn("?point?", b.type) for b in bounds))
            evaluator = compile_plan(node, self.output_settings)
        indexes = tuple(dict.fromkeys((n.read_point.index, n.index_id) for n in P.walk_all(reads)
                                      if isinstance(n, P.IndexLookup) and n.read_point is not None
                                      and not n.read_point.history))
        return PointPlan(tuple(planner.read_points), evaluator, tuple(planner.point_tables), planner.env.session_point,
                         indexes)

    def prepare(self, sql: str, param_type_oids: list[int] | tuple[int, ...] = ()) -> Prepared:
        """Parse and plan one statement (extended protocol Parse)."""
        types = [TYPES_BY_OID.get(o, UNKNOWN) if o else UNKNOWN for o in param_type_oids]
        key = ("x", sql, tuple(param_type_oids))
        cached = self._cached(key, self.catalog())
        if cached is not None:
            return cached
        statement = self._parse(sql) if sql.strip() else None
        prepared = self._plan(sql, statement, types)
        self._remember(key, prepared)
        return prepared

    def _cached(self, key, catalog) -> Prepared | None:
        """A plan for `key` against `catalog`: the session's own, or a copy of one another
        session made with the same search path and output settings (tools such as psql
        connect anew for every command and send the same catalog queries each time)."""
        cached = self._plans.get(key)
        if cached is not None and cached.catalog is catalog:
            return cached
        shared = self.db.shared_plans.get((key, self.search_path(), self.output_settings))
        if shared is not None and shared.catalog is catalog:
            mine = dataclasses.replace(shared, param_types=list(shared.param_types))  # execute() may replan it
            self._plans[key] = mine
            return mine
        return None

    def _parse(self, sql: str):
        self.db.parses += 1
        return parse_statement(sql)

    def _remember(self, key, prepared: Prepared) -> None:
        if prepared.kind in ("query", "write"):
            if len(self._plans) > 2000:
                self._plans.clear()
            self._plans[key] = prepared
        if prepared.kind == "query" and prepared.points is None and self._as_of is None and self.temp is None:
            shared = self.db.shared_plans
            if len(shared) > 2000:
                shared.clear()
            shared[(key, self.search_path(), self.output_settings)] = prepared

    def _plan(self, text: str, statement, types: list[SqlType], lifted: Lifted | None = None,
              point_lsns: list[tuple[int, int]] | None = None) -> Prepared:
        if statement is None:
            return Prepared(text, None, types, "empty")
        if isinstance(statement, Explain):
            started = time.perf_counter()
            inner = self._plan(statement.statement.text, statement.statement, types)
            return Prepared(text, statement, types, "explain", (P.OutputColumn("QUERY PLAN", TEXT),),
                            (inner, time.perf_counter() - started), inner.catalog)
        if isinstance(statement, Utility):
            if statement.kind == "declare":
                types = self._declared_param_types(statement.args, types)
            return Prepared(text, statement, types, "utility", columns=_utility_columns(statement, self))
        tree = statement.tree
        catalog = self.catalog()
        if statement.kind == "query":
            self.db.plans += 1
            env = self._plan_env(catalog, types, point_lsns, lifted)
            planner = WritePlanner(env)        # a query's WITH may hold writes
            planner.statement = tree
            node = optimize(planner.plan_query(tree), catalog, self.db.state)
            _finish_param_types(types)
            compiled = (CompiledLockingQuery(node, self.output_settings) if isinstance(node, P.LockRows)
                        else compile_plan(node, self.output_settings))
            if planner.cte_writes:
                compiled = self._with_cte_writes(planner.cte_writes, compiled, node, catalog)
            return Prepared(text, statement, types, "query", node.columns, compiled, catalog, lifted,
                            self._point_plan(planner, node), self._basis(node))
        if statement.kind in ("insert", "update", "delete", "merge"):
            self.db.plans += 1
            env = self._plan_env(catalog, types, point_lsns, lifted)
            planner = WritePlanner(env)
            planner.statement = tree
            plan = planner.plan_write(tree)
            plan = dataclasses.replace(plan, source=optimize(plan.source, catalog, self.db.state))
            _finish_param_types(types)
            compiled = CompiledWrite(plan, self.output_settings, self.row_compiler(catalog))
            if planner.cte_writes:
                compiled = self._with_cte_writes(planner.cte_writes, compiled, plan.source, catalog)
            return Prepared(text, statement, types, "write", plan.columns or None, compiled, catalog, lifted,
                            self._point_plan(planner, plan.source), self._basis(plan.source))
        return Prepared(text, statement, types, "ddl")

    def _basis(self, node: P.Node) -> tuple[tuple[int, int], ...]:
        """The table sizes a plan that joins tables was estimated from (see `_stale`)."""
        tables = {n.table.table_id for n in P.walk_all(node) if isinstance(n, (P.SeqScan, P.IndexLookup))}
        if len(tables) < 2:
            return ()
        state = self.db.state
        return tuple((table_id, state.table_rows(table_id)) for table_id in sorted(tables))

    def _stale(self, basis: tuple[tuple[int, int], ...]) -> bool:
        """Whether a table a join plan was estimated from has since more than halved or
        doubled (and changed by more than a hundred rows): the plan is made again."""
        rows = self.db.state.table_rows
        for table_id, then in basis:
            now = rows(table_id)
            if abs(now - then) > 100 and not then / 2 <= now <= then * 2:
                return True
        return False

    def _with_cte_writes(self, writes: list[P.CteWrite], main: Any, main_reads: P.Node, catalog) -> CompiledCteWrites:
        """`main` preceded by the statement's data-modifying WITH queries."""
        writes = [dataclasses.replace(w, plan=dataclasses.replace(w.plan, source=optimize(w.plan.source, catalog, self.db.state)))
                  for w in writes]
        reject_snapshot_conflicts(writes, main_reads)
        rows = self.row_compiler(catalog)
        return CompiledCteWrites([(w, CompiledWrite(w.plan, self.output_settings, rows)) for w in writes], main)

    def row_compiler(self, catalog) -> RowCompiler:
        """Compiles the CHECK and DEFAULT texts of the catalog's tables for writes."""
        settings = self.output_settings

        def compile_text(table, text: str, target: SqlType | None):
            planner = WritePlanner(self._plan_env(catalog, []))
            scope = Scope([RangeEntry(table.name, [ScopeColumn(c.name, c.slot, c.type) for c in table.columns])])
            tree = parse_sql("SELECT " + text).expressions[0]
            if target is None:
                e = planner.bind_condition(tree, scope, "CHECK")
            else:
                e = planner.coerce(planner.bind(tree, scope), target.base, "DEFAULT", assignment=True)
            g = _Builder(settings).gen()
            return g.function("r", g.expr(e))
        return RowCompiler(catalog, compile_text)

    def prepare_simple(self, text: str) -> tuple[Prepared, tuple]:
        """Plan a simple-protocol statement, lifting its literals into parameters."""
        lifted = lift_literals(text)
        catalog = self.catalog()
        if lifted is not None and lifted.kinds:
            key = ("s", lifted.template, lifted.kinds)
            cached = self._cached(key, catalog)
            if cached is not None:
                return cached, self._lifted_params(cached, lifted)
            try:
                statement = self._parse(lifted.template)
                if isinstance(statement, Parsed):
                    types = [_LIFTED_TYPES[k] for k in lifted.kinds]
                    prepared = self._plan(lifted.template, statement, types, lifted)
                    if prepared.kind in ("query", "write"):
                        self._remember(key, prepared)
                        return prepared, self._lifted_params(prepared, lifted)
            except (NeedsLiteral, SqlError):
                pass
        key = ("t", text)
        cached = self._cached(key, catalog) or self._control.get(text)
        if cached is not None:
            return cached, ()
        statement = self._parse(text) if text.strip() else None
        prepared = self._plan(text, statement, [])
        self._remember(key, prepared)
        if isinstance(statement, Utility) and statement.kind in _CONTROL:
            if len(self._control) > 100:
                self._control.clear()
            self._control[text] = prepared
        return prepared, ()

    def _lifted_params(self, prepared: Prepared, lifted: Lifted) -> tuple:
        tz = self.output_settings.timezone
        values = []
        for t, kind, text in zip(prepared.param_types, lifted.kinds, lifted.values):
            if kind == "unknown":
                values.append(parse_text(t, text, tz))
            elif t.oid in (INT4.oid, INT8.oid) and kind in ("int4", "int8"):
                values.append(int(text))
            else:
                v = Decimal(text) if kind == "numeric" else int(text)
                values.append(cast_function(_LIFTED_TYPES[kind], t, self.output_settings)(v) if t.oid != _LIFTED_TYPES[kind].oid else v)
        return tuple(values)

    # ---------------------------------------------------------------- executing

    def _context(self, txn: Transaction, params: tuple, catalog=None) -> ExecContext:
        """The execution context of a statement (`catalog`: this session's, if already looked up)."""
        return ExecContext(params, txn.statement_lsn, txn, self, self.output_settings.timezone,
                           txn.started_at, self.user, self.database, self.backend_pid, VERSION_STRING,
                           catalog if catalog is not None else self.catalog(), self.db.query_memory_limit)

    async def execute(self, prepared: Prepared, params: tuple = ()) -> Cursor:
        """Run a prepared statement. Queries return lazily produced batches."""
        if prepared.kind == "utility":
            return await self._utility(prepared.statement, params)
        if prepared.kind == "explain":
            inner, planning = prepared.plan
            lines = await explain.run(self, prepared.statement, inner, params, planning)
            return Cursor(prepared.columns, iter([[(line,) for line in lines]]), "EXPLAIN")
        if self.failed:
            raise in_failed_transaction()
        if prepared.kind == "empty":
            return Cursor(None, None, "")
        if len(params) < len(prepared.param_types):
            raise SqlError("42P02", f"there is no parameter ${len(params) + 1}")
        if self._as_of is not None and prepared.kind in ("write", "ddl"):
            raise SqlError("25006", f"cannot execute {_command_name(prepared)} while rewind.as_of is set",
                           hint="The session reads the past; RESET rewind.as_of to write.")
        txn = self._ensure_txn()
        txn.begin_statement()
        if prepared.kind in ("query", "write"):
            planned_as_of = prepared.points is not None and prepared.points.session_point
            catalog = self.catalog()
            if prepared.catalog is not catalog or planned_as_of != (self._as_of is not None) or \
                    (prepared.basis and self._stale(prepared.basis)):
                self._replan(prepared)
            ctx = self._context(txn, params, catalog)
            if prepared.points is not None:
                await self._resolve_points(prepared, ctx)
        plan = prepared.plan
        if prepared.kind == "query" and type(plan) is CompiledPlan:
            return Cursor(prepared.columns, plan.open(ctx), None)
        txn.interrupted = None
        if prepared.kind == "query":
            return Cursor(prepared.columns, iter([await plan.run(txn, ctx, self._lock_timeout())]), None)
        if prepared.kind == "write":
            count, rows = await plan.run(txn, ctx, self._lock_timeout())
            kind = plan.kind
            tag = f"INSERT 0 {count}" if kind == "INSERT" else f"{kind} {count}"
            if prepared.columns:
                return Cursor(prepared.columns, iter([rows]), tag)
            return Cursor(None, None, tag)
        return await self._ddl(prepared.statement)

    def _replan(self, prepared: Prepared, point_lsns: list[tuple[int, int]] | None = None) -> None:
        """Plan `prepared` again (the catalog or the points it read changed), in place."""
        replanned = self._plan(prepared.text, prepared.statement, list(prepared.param_types), prepared.lifted,
                               point_lsns)
        if replanned.columns != prepared.columns and prepared.kind == "query" and prepared.lifted is None and \
                [c.type for c in replanned.columns or ()] != [c.type for c in prepared.columns or ()]:
            # a described statement's columns are promised; a simple-protocol one (literals
            # lifted) describes its columns with each result, so they may change
            raise SqlError("0A000", "cached plan must not change result type")
        prepared.plan, prepared.catalog, prepared.points = replanned.plan, replanned.catalog, replanned.points
        prepared.columns = replanned.columns
        prepared.basis = replanned.basis

    async def _resolve_points(self, prepared: Prepared, ctx: ExecContext) -> None:
        """Evaluate the statement's time-travel points into ctx.points; replan if a point
        turned out to read a schema other than the one the plan was bound against; rebuild
        (in a worker thread) the past states older than the in-memory history it reads."""
        self._evaluate_points(prepared.points, ctx)
        if self._points_moved(prepared.points, ctx.points):
            self._replan(prepared, ctx.points)
        plan = prepared.points
        await self.db.past.prepare(plan, ctx.points, self.search_path(), ctx.snapshot_lsn)

    def _evaluate_points(self, plan: PointPlan, ctx: ExecContext) -> None:
        """ctx.points: the (low, high) LSNs of rewind.as_of's point, then of each clause of `plan`."""
        lsns: list[tuple[int, int]] = ctx.points
        if self._as_of is not None:
            lsn = self._as_of_lsn(ctx.snapshot_lsn)
            lsns.append((lsn, lsn))
        timezone = self.output_settings.timezone
        if plan.evaluator is not None:
            values = run_to_list(plan.evaluator, ctx)[0]
            at = 0
            for point in plan.points[len(lsns):]:
                n = len(point.bounds)
                lsns.append(self.db.resolve_read_point(point, values[at:at + n], ctx.snapshot_lsn, timezone))
                at += n
        else:
            for point in plan.points[len(lsns):]:
                lsns.append(self.db.resolve_read_point(point, (), ctx.snapshot_lsn, timezone))

    def _points_moved(self, plan: PointPlan, lsns: list[tuple[int, int]]) -> bool:
        """Whether a table read at a point binds, at the evaluated LSNs, against another
        catalog than the plan's (the plan must then be made again with `lsns`)."""
        return any(self._point_catalog(table.point, table.schema, table.name, lsns) is not table.catalog
                   for table in plan.tables)

    def _lock_timeout(self) -> float | None:
        ms = _milliseconds(self.settings["lock_timeout"])
        return ms / 1000 if ms else None

    def blocking_pids(self, pid: int) -> tuple[int, ...]:
        """pg_blocking_pids: the sessions whose transactions the session `pid` waits for."""
        session = self.db.sessions.get(pid)
        txn = getattr(session, "txn", None)
        if txn is None:
            return ()
        pids = []
        for txn_id in self.db.locks.blockers(txn.txn_id):
            other = self.db.transactions.get(txn_id)
            if other is not None and other.sender_pid not in pids:
                pids.append(other.sender_pid)
        return tuple(pids)

    # ---------------------------------------------------------------- DDL

    async def _ddl(self, statement: Parsed) -> Cursor:
        txn = self._ensure_txn()
        if not ddl.creates_temporary(statement.tree):     # a session's own objects wait for nobody
            await txn.lock(("ddl",), timeout=self._lock_timeout())
        target = _DdlTarget(self, txn)
        query = ddl.stored_query(statement.tree, target)
        if query is not None:
            await target.ready_past(query)
        return Cursor(None, None, ddl.run(statement.tree, target))

    # ---------------------------------------------------------------- utility statements

    async def _utility(self, u: Utility, params: tuple = ()) -> Cursor:
        kind = u.kind
        a = u.args
        if self.failed and kind not in ("rollback", "commit", "rollback_to"):
            raise in_failed_transaction()
        if kind == "begin":
            tag = "START TRANSACTION" if u.text.lstrip()[:5].lower() == "start" else "BEGIN"
            if self.explicit:
                self.notice("there is already a transaction in progress", "25001", "WARNING")
                return Cursor(None, None, tag)
            txn = self._ensure_txn()
            self._set_transaction_modes(txn, a)
            self.explicit = True
            return Cursor(None, None, tag)
        if kind in ("commit", "rollback"):
            if not self.explicit:
                if a["chain"]:
                    raise SqlError("25P01", f"{kind.upper()} AND CHAIN can only be used in transaction blocks")
                self.notice("there is no transaction in progress", "25P01", "WARNING")
            chained = (self.txn.isolation_name, self.txn.read_only, self.txn.deferrable) \
                if a["chain"] and self.txn is not None else None
            if kind == "commit" and not self.failed:
                self.explicit = False
                await self._commit()
                tag = "COMMIT"
            else:
                self._rollback()
                tag = "ROLLBACK"
            if chained is not None:
                txn = self._ensure_txn()
                txn.set_isolation(chained[0])
                txn.read_only, txn.deferrable = chained[1], chained[2]
                self.explicit = True
            return Cursor(None, None, tag)
        if kind == "savepoint":
            if not self.explicit:
                raise SqlError("25P01", "SAVEPOINT can only be used in transaction blocks")
            self._ensure_txn().savepoint(a["name"])
            return Cursor(None, None, "SAVEPOINT")
        if kind == "release":
            if not self.explicit:
                raise SqlError("25P01", "RELEASE SAVEPOINT can only be used in transaction blocks")
            self._ensure_txn().release(a["name"])
            return Cursor(None, None, "RELEASE")
        if kind == "rollback_to":
            if not self.explicit:
                raise SqlError("25P01", "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
            if self.txn is None:
                raise SqlError("3B001", f'savepoint "{a["name"]}" does not exist')
            self.txn.rollback_to(a["name"])
            self.failed = False
            return Cursor(None, None, "ROLLBACK")
        if kind == "set_session_characteristics":
            if "isolation" in a:
                self.set_setting("default_transaction_isolation", a["isolation"])
            if "read_only" in a:
                self.set_setting("default_transaction_read_only", "on" if a["read_only"] else "off")
            if "deferrable" in a:
                self.set_setting("default_transaction_deferrable", "on" if a["deferrable"] else "off")
            return Cursor(None, None, "SET")
        if kind == "set_transaction":
            if self.explicit:
                self._set_transaction_modes(self._ensure_txn(), a)
            else:
                self.notice("SET TRANSACTION can only be used in transaction blocks", "25P01", "WARNING")
            return Cursor(None, None, "SET")
        if kind == "set":
            name = a["name"]
            modes = _TRANSACTION_SETTINGS.get(name.lower())
            if modes is not None:
                value = a["values"][0].lower()
                if modes == "isolation":
                    _normalize_setting("transaction_isolation", value)
                    return await self._utility(Utility("set_transaction", {"isolation": value}))
                return await self._utility(Utility("set_transaction", {modes: _setting_bool(name, value)}))
            self.set_setting(name, ", ".join(a["values"]), a.get("local", False))
            return Cursor(None, None, "SET")
        if kind == "reset":
            name = _CANONICAL.get(a["name"].lower(), a["name"].lower())
            default = self.db.settings.get(name, SETTINGS.get(name, ("", False))[0])   # the server's, if it set one
            if name == "session_authorization":
                default = self.user
            self.set_setting(name, default)
            return Cursor(None, None, a.get("tag", "RESET"))
        if kind == "reset_all":
            for name, (default, _) in SETTINGS.items():
                if name not in ("session_authorization", "server_version", "server_version_num", "server_encoding",
                                "integer_datetimes", "is_superuser", "in_hot_standby", "max_connections",
                                "block_size", "max_identifier_length", "lc_collate", "lc_ctype", "application_name"):
                    self._set_value(name, default)
            return Cursor(None, None, "RESET")
        if kind == "show":
            name = a["name"]
            if name == "all":
                rows = [(n, self.settings[n], "") for n in sorted(self.settings, key=str.lower)]
                return Cursor(_utility_columns(u, self), iter([rows]), "SHOW")
            value = self.show(name)
            return Cursor(_utility_columns(u, self), iter([[(value,)]]), "SHOW")
        if kind == "discard":
            if a["what"] == "all":
                if self.explicit:
                    raise SqlError("25001", "DISCARD ALL cannot run inside a transaction block")
                for name, (default, _) in SETTINGS.items():
                    if name not in ("session_authorization", "server_version", "server_version_num", "server_encoding",
                                    "integer_datetimes", "is_superuser", "in_hot_standby", "max_connections",
                                    "block_size", "max_identifier_length", "lc_collate", "lc_ctype"):
                        self._set_value(name, default)
                self._plans.clear()
                self.prepared.clear()
                self.portals.clear()
                self._unlisten("*")
                self.advisory_unlock_all()
            if a["what"] in ("all", "temp", "temporary"):
                self._drop_temporary()
            return Cursor(None, None, f"DISCARD {a['what'].upper()}")
        if kind in ("listen", "unlisten"):
            if self.explicit:
                self._listen_changes.append((kind == "listen", a["channel"]))
            elif kind == "listen":
                self._listen(a["channel"])
            else:
                self._unlisten(a["channel"])
            return Cursor(None, None, kind.upper())
        if kind == "notify":
            self.notify(a["channel"], a["payload"])
            return Cursor(None, None, "NOTIFY")
        if kind == "noop":
            return Cursor(None, None, a["tag"])
        if kind == "checkpoint":
            await self.db.checkpoint()
            return Cursor(None, None, "CHECKPOINT")
        if kind == "deallocate":
            if a["name"] is None:
                self.prepared.clear()
            elif self.prepared.pop(a["name"], None) is None:
                raise SqlError("26000", f'prepared statement "{a["name"]}" does not exist')
            return Cursor(None, None, "DEALLOCATE ALL" if a["name"] is None else "DEALLOCATE")
        if kind == "prepare":
            return self._sql_prepare(a)
        if kind == "execute":
            return await self._sql_execute(a)
        if kind == "declare":
            return await self._declare(a, params)
        if kind == "fetch":
            return await self._fetch(a)
        if kind == "close":
            if a["name"] is None:
                self.portals.clear()
                return Cursor(None, None, "CLOSE CURSOR ALL")
            if self.portals.pop(a["name"], None) is None:
                raise SqlError("34000", f'cursor "{a["name"]}" does not exist')
            return Cursor(None, None, "CLOSE CURSOR")
        if kind == "copy":
            return await self._copy(a)
        if kind in ("create_role", "alter_role", "drop_role"):
            return await self._role_statement(kind, a)
        raise feature_not_supported(u.text.split()[0].upper())

    def notify(self, channel: str | None, payload: str | None) -> None:
        """NOTIFY / pg_notify(): sent to the channel's listeners when the transaction commits."""
        channel, payload = check_notification(channel, payload)
        self._ensure_txn().events.append(ev.Notified(channel, payload))

    def _listen(self, channel: str) -> None:
        self.listening.add(channel)
        self.db.listeners.setdefault(channel, set()).add(self)

    # ---------------------------------------------------------------- PREPARE / EXECUTE

    def _sql_prepare(self, a: dict) -> Cursor:
        name = a["name"]
        if name in self.prepared:
            raise SqlError("42P05", f'prepared statement "{name}" already exists')
        types = [parse_type_name(t) for t in a["types"]]
        prepared = self.prepare(a["query"], [t.oid for t in types])
        if prepared.kind not in ("query", "write"):
            raise syntax_error(f'syntax error at or near "{a["query"].split()[0]}"')
        self.prepared[name] = prepared
        return Cursor(None, None, "PREPARE")

    async def _sql_execute(self, a: dict) -> Cursor:
        name = a["name"]
        prepared = self.prepared.get(name)
        if prepared is None:
            raise SqlError("26000", f'prepared statement "{name}" does not exist')
        args, types = a["args"], prepared.param_types
        if len(args) != len(types):
            raise SqlError("42601", f'wrong number of parameters for prepared statement "{name}"',
                           detail=f"Expected {len(types)} parameters but got {len(args)}.")
        params: tuple = ()
        if args:
            select = "SELECT " + ", ".join(f"CAST(({arg}) AS {format_type(t)})" for arg, t in zip(args, types))
            cursor = await self.execute(self.prepare(select))
            params = next(row for batch in cursor.batches for row in batch)
        return await self.execute(prepared, params)

    # ---------------------------------------------------------------- cursors

    def open_portal(self, name: str, prepared: Prepared, params: tuple, formats: tuple[int, ...] = ()) -> Portal:
        """Bind: a new portal; the unnamed one replaces its predecessor, a named one must be new."""
        if name and name in self.portals:
            raise SqlError("42P03", f'cursor "{name}" already exists')
        portal = self.portals[name] = Portal(name, prepared, params, formats)
        return portal

    async def _declare(self, a: dict, params: tuple) -> Cursor:
        name = a["name"]
        if not self.explicit and not a["hold"]:
            raise SqlError("25P01", "DECLARE CURSOR can only be used in transaction blocks")
        if name in self.portals:
            raise SqlError("42P03", f'cursor "{name}" already exists')
        prepared = self.prepare(a["query"], [t.oid for t in self._declared_param_types(a, ())])
        if prepared.kind != "query":
            raise syntax_error(f'syntax error at or near "{a["query"].split()[0]}"')
        if isinstance(prepared.plan, CompiledCteWrites):
            raise SqlError("0A000", "DECLARE CURSOR must not contain data-modifying statements in WITH")
        portal = Portal(name, prepared, params, holdable=a["hold"], scroll=a["scroll"], binary=a["binary"])
        portal.cursor = await self.execute(prepared, params)
        self.portals[name] = portal
        return Cursor(None, None, "DECLARE CURSOR")

    def _declared_param_types(self, a: dict, given: list[SqlType] | tuple) -> list[SqlType]:
        """DECLARE's parameters are its query's (psycopg's server-side cursors bind them)."""
        inner = self.prepare(a["query"], [t.oid for t in given])
        return list(inner.param_types)

    async def _fetch(self, a: dict) -> Cursor:
        portal = self.portals.get(a["name"])
        if portal is None:
            raise SqlError("34000", f'cursor "{a["name"]}" does not exist')
        if portal.cursor is None:
            portal.cursor = await self.execute(portal.prepared, portal.params)
        if portal.columns is None:
            raise SqlError("42P11", f'cursor "{a["name"]}" is not a SELECT query')
        rows = portal.fetch(a["how"], a["count"])
        if a["move"]:
            return Cursor(None, None, f"MOVE {len(rows)}")
        return Cursor(portal.columns, iter([rows]), f"FETCH {len(rows)}", binary=portal.binary)

    # ---------------------------------------------------------------- COPY

    async def _copy(self, a: dict) -> Cursor:
        if a["target"] in ("file", "program"):
            raise SqlError("0A000", "COPY to or from a server file or program is not supported; "
                                    "use COPY ... FROM STDIN / TO STDOUT (psql's \\copy)")
        txn = self._ensure_txn()
        txn.begin_statement()
        catalog = txn.current_catalog
        options = a["options"]
        if a["direction"] == "from":
            if a["where"] is not None:
                raise SqlError("0A000", "COPY FROM ... WHERE is not supported")
            table = self._copy_table(catalog, a["table"], "to")
            columns = copy_columns(table, a["columns"])
            insert = (f"INSERT INTO {quote_ident(table.schema)}.{quote_ident(table.name)} "
                      f"({', '.join(quote_ident(c.name) for c in columns)}) "
                      f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})")
            prepared = self.prepare(insert, [c.type_oid for c in columns])
            ctx = self._context(txn, ())
            copy_in = CopyIn(table, columns, options, prepared.plan, txn, ctx, self._lock_timeout())
            txn.check_writable("COPY FROM", table)
            return Cursor(None, None, None, copy=copy_in)
        if a["query"] is not None:
            prepared = self.prepare(a["query"])
            if prepared.kind != "query":
                raise SqlError("0A000", "COPY (...) TO supports only queries")
        else:
            table = self._copy_table(catalog, a["table"], "from")
            columns = copy_columns(table, a["columns"])
            prepared = self.prepare(f"SELECT {', '.join(quote_ident(c.name) for c in columns)} "
                                    f"FROM {quote_ident(table.schema)}.{quote_ident(table.name)}")
        cursor = await self.execute(prepared)
        return Cursor(None, None, None, copy=CopyOut(cursor.columns, cursor.batches, options))

    def _copy_table(self, catalog, name: tuple[str | None, str], preposition: str):
        schema, relname = name
        found = catalog.relation(relname, schema, self.search_path())
        if found is not None and found[0] != "table":
            raise SqlError("42809", f'cannot copy {preposition} {found[0]} "{relname}"',
                           hint="Try the COPY (SELECT ...) TO variant." if preposition == "from" else None)
        return catalog.table_named(relname, schema, self.search_path())

    # ---------------------------------------------------------------- roles

    async def _role_statement(self, kind: str, a: dict) -> Cursor:
        txn = self._ensure_txn()
        txn.check_writable(kind.replace("_", " ").upper())
        await self.db.locks.acquire(txn.txn_id, ("ddl",), timeout=self._lock_timeout())
        catalog = txn.current_catalog
        roles = self.db.roles(catalog)
        me = roles.get(self.user)
        may_manage = me is not None and (me.superuser or me.createrole)
        if kind == "drop_role":
            if not may_manage:
                raise SqlError("42501", "permission denied to drop role")
            for name in a["names"]:
                role = roles.get(name)
                if role is None:
                    if not a["if_exists"]:
                        raise SqlError("42704", f'role "{name}" does not exist')
                    self.notice(f'role "{name}" does not exist, skipping')
                    continue
                if name == self.user:
                    raise SqlError("55006", "current user cannot be dropped")
                if name == self.db.bootstrap_role.name:
                    raise SqlError("2BP01", f'cannot drop role {name} because it is required by the database system')
                if role.superuser and not me.superuser:
                    raise SqlError("42501", "must be superuser to drop superusers")
                owned = [f"owner of {_KIND_NAMES[r.kind]} {r.name if r.schema in self.search_path() else f'{r.schema}.{r.name}'}"
                         for r in sorted(system_catalog(catalog).relation_rows(), key=lambda r: r.oid)
                         if r.owner == name and r.kind in _KIND_NAMES]
                if owned:
                    raise SqlError("2BP01", f'role "{name}" cannot be dropped because some objects depend on it',
                                   detail="\n".join(owned))
                txn.add_event(ev.RoleDropped(name))
            return Cursor(None, None, "DROP ROLE")
        options = dict(a["options"])
        if "password" in options:
            options["password"] = self._password_verifier(options["password"])
        fields = {k: v for k, v in options.items() if k in ("superuser", "login", "password", "createdb", "createrole")}
        if kind == "create_role":
            name = a["name"]
            if not may_manage:
                raise SqlError("42501", "permission denied to create role")
            if options.get("superuser") and not me.superuser:
                raise SqlError("42501", "must be superuser to create superusers")
            if name in roles:
                raise SqlError("42710", f'role "{name}" already exists')
            if name.startswith("pg_"):
                raise SqlError("42939", f'role name "{name}" is reserved',
                               detail='Role names starting with "pg_" are reserved.')
            txn.add_event(ev.RoleCreated(RoleDef(name, **fields)))
            return Cursor(None, None, "CREATE ROLE")
        name = a["name"] or self.user
        role = roles.get(name)
        if role is None:
            raise SqlError("42704", f'role "{name}" does not exist')
        own_password_only = name == self.user and set(options) <= {"password"}
        if not own_password_only and not (me is not None and (me.superuser or (me.createrole and not role.superuser))):
            raise SqlError("42501", "permission denied to alter role" if not role.superuser
                           else "must be superuser to alter superuser roles or change superuser attribute")
        txn.add_event(ev.RoleAltered(msgspec.structs.replace(role, **fields)))
        return Cursor(None, None, "ALTER ROLE")

    def _password_verifier(self, password: str | None) -> str | None:
        if password is None:
            return None
        if password.startswith("SCRAM-SHA-256$"):
            return password
        if len(password) == 35 and password.startswith("md5"):
            raise SqlError("0A000", "MD5-hashed passwords are not supported; give the password itself")
        if self.db.password_verifier is None:
            raise SqlError("0A000", "passwords are not supported without the server's authentication module")
        return self.db.password_verifier(password)

    def _unlisten(self, channel: str) -> None:
        channels = list(self.listening) if channel == "*" else [channel]
        for c in channels:
            self.listening.discard(c)
            self.db.stop_listening(c, self)

    # ---------------------------------------------------------------- sequences

    def _sequence(self, seq_oid: int):
        seq = self.catalog().sequences.get(seq_oid)
        if seq is None:
            raise SqlError("42809", f'"{seq_oid}" is not a sequence')
        return seq

    def nextval(self, seq_oid: int) -> int:
        seq = self._sequence(seq_oid)
        txn = self._ensure_txn()
        txn.check_writable("nextval()")
        value = self.db.next_sequence_value(seq, txn)
        self._currvals[seq.seq_id] = value
        self._lastval = seq.seq_id
        return value

    def currval(self, seq_oid: int) -> int:
        seq = self._sequence(seq_oid)
        if seq.seq_id not in self._currvals:
            raise SqlError("55000", f'currval of sequence "{seq.name}" is not yet defined in this session')
        return self._currvals[seq.seq_id]

    def lastval(self) -> int:
        seq = self.catalog().sequences.get(self._lastval) if self._lastval is not None else None
        if seq is None:
            raise SqlError("55000", "lastval is not yet defined in this session")
        return self._currvals[seq.seq_id]

    def sequence_row(self, seq) -> tuple:
        """A sequence read as a relation: (last_value, log_cnt, is_called)."""
        last, is_called = self.db.sequence_position(seq)
        return (last, 0, is_called)

    def setval(self, seq_oid: int, value: int, is_called: bool) -> int:
        seq = self._sequence(seq_oid)
        if not seq.min_value <= value <= seq.max_value:
            raise SqlError("22003", f'setval: value {value} is out of bounds for sequence "{seq.name}" '
                                    f"({seq.min_value}..{seq.max_value})")
        txn = self._ensure_txn()
        txn.check_writable("setval()")
        self.db.set_sequence_value(seq, value, is_called, txn)
        if is_called:
            self._currvals[seq.seq_id] = value
        return value


class _DdlTarget:
    """The session's side of `ddl.DdlTarget`."""

    def __init__(self, session: Session, txn: Transaction) -> None:
        self.session = session
        self.txn = txn
        self.search_path = session.search_path()
        self._readied: tuple[Any, ExecContext] | None = None     # `ready_past`'s query and its evaluated points
        self.user = session.user

    @property
    def catalog(self):
        return self.txn.current_catalog

    def creation_schema(self) -> str:
        schema = self.session.current_schema()
        if schema is None:
            raise SqlError("3F000", "no schema has been selected to create in")
        return schema

    def allocate_id(self, schema: str) -> int:
        if is_temp_schema(schema):
            return next_temp_id()
        n = max(self.catalog.next_id, self.session.db.state.catalog.next_id, getattr(self.txn, "_next_oid", 0))
        self.txn._next_oid = n + 1
        return n

    def temporary_schema(self) -> str:
        return self.session.temp_space().schema

    def set_on_commit(self, table_id: int, action: str) -> None:
        self.txn.temp_on_commit[table_id] = action

    def emit(self, event: ev.Event) -> None:
        self.txn.add_event(event)

    def notice(self, message: str, code: str = "00000", severity: str = "NOTICE") -> None:
        self.session.notice(message, code, severity)

    def check_writable(self, what: str) -> None:
        self.txn.check_writable(what)

    def role(self, name: str):
        return self.session.db.role(name, self.catalog)

    def _ctx(self) -> ExecContext:
        return self.session._context(self.txn, ())

    def items(self, table) -> list[tuple[int, tuple]]:
        return self.txn.items(table, None, self._ctx())

    def rows(self, table) -> list[tuple]:
        return self.txn.rows(table, None, self._ctx())

    def insert(self, table, row: tuple) -> None:
        self.txn.insert(table, self.txn.allocate_rowid(table), row)

    def update(self, table, rowid: int, row: tuple) -> None:
        self.txn.update(table, rowid, row)

    def truncate(self, table) -> None:
        self.txn.truncate(table, self._ctx())

    def _planner(self) -> WritePlanner:
        return WritePlanner(self.session._plan_env(self.catalog, []))

    def row_function(self, table, node, target: SqlType | None, context: str):
        """An expression over the table's row, compiled: a condition (target None) or a value
        assigned to a column of type `target`."""
        planner = self._planner()
        scope = Scope([RangeEntry(table.name, [ScopeColumn(c.name, c.slot, c.type) for c in table.columns])])
        if target is None:
            e = planner.bind_condition(node, scope, context)
        else:
            e = planner.bind(node, scope)
            try:
                e = planner.coerce(e, target.base, context, assignment=True)
            except SqlError as error:
                if error.sqlstate != "42804":
                    raise
                raise SqlError("42804", f"result of {context} expression cannot be cast to type {target}",
                               hint="You might need to add an explicit cast.") from None
            enforce = typmod_enforcer(target, explicit=False)
        g = _Builder(self.session.output_settings).gen()
        function = g.function("r", g.expr(e))(None, self._ctx())
        if target is not None and enforce is not None:
            return lambda row: None if (v := function(row)) is None else enforce(v)
        return function

    def query(self, tree, run: bool):
        """A query's (name, type) columns, and its rows when `run`. Its FOR SYSTEM_TIME
        points are evaluated either way, so a point no query could read (a transaction
        past the newest, NULL) fails CREATE VIEW and CREATE TABLE AS ... WITH NO DATA as
        it fails a query; `ready_past` rebuilt beforehand the past states they need, so a
        read finds them cached."""
        readied = self._readied
        ctx = readied[1] if readied is not None and readied[0] is tree else self._ctx()
        node, _ = self._planned(tree, ctx)
        columns = [(c.name, c.type) for c in node.columns]
        if not run:
            return columns, []
        return columns, run_to_list(compile_plan(node, self.session.output_settings), ctx)

    async def ready_past(self, tree) -> None:
        """Rebuild, in a worker thread, the past states older than the in-memory history
        that the query reads (CREATE TABLE AS ... AS OF a point outside the window), as a
        query's own statement does (`Session._resolve_points`): the event loop keeps serving."""
        ctx = self._ctx()
        _, points = self._planned(tree, ctx)
        self._readied = (tree, ctx)
        if points is not None:
            session = self.session
            await session.db.past.prepare(points, ctx.points, session.search_path(), ctx.snapshot_lsn)

    def _planned(self, tree, ctx: ExecContext):
        """The query's optimized plan and its points, evaluated into ctx.points (once: a
        context `ready_past` evaluated keeps its values), the plan bound against the schema
        they read."""
        session = self.session
        planner = Planner(session._plan_env(self.catalog, []))
        node = optimize(planner.plan_query(tree), self.catalog)
        if planner.env.param_types:
            # a schema statement is planned when it runs, after Bind decoded its values
            raise SqlError("42P02", "there is no parameter $1")
        points = session._point_plan(planner, node)
        if points is not None:
            if not ctx.points:
                session._evaluate_points(points, ctx)
            if session._points_moved(points, ctx.points):
                planner = Planner(session._plan_env(self.catalog, [], ctx.points))
                node = optimize(planner.plan_query(tree), self.catalog)
                points = session._point_plan(planner, node)
        return node, points

    def set_sequence(self, seq, value: int, is_called: bool) -> None:
        self.session.db.set_sequence_value(seq, value, is_called, self.txn)


_TRANSACTION_SETTINGS = {"transaction_isolation": "isolation", "transaction_read_only": "read_only",
                         "transaction_deferrable": "deferrable"}


def _setting_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("on", "true", "yes", "1", "t", "y"):
        return True
    if v in ("off", "false", "no", "0", "f", "n"):
        return False
    raise SqlError("22023", f'parameter "{name}" requires a Boolean value')


# transaction control, whose parse depends on nothing but its text (cached by text)
_CONTROL = frozenset(("begin", "commit", "rollback", "savepoint", "release", "rollback_to"))

_LIFTED_TYPES = {"int4": INT4, "int8": INT8, "numeric": NUMERIC, "unknown": UNKNOWN}


def _finish_param_types(types: list[SqlType]) -> None:
    for i, t in enumerate(types):
        if t.oid == UNKNOWN.oid:
            types[i] = TEXT


def _command_name(prepared: Prepared) -> str:
    tree = prepared.statement.tree if isinstance(prepared.statement, Parsed) else None
    return type(tree).__name__.upper() if tree is not None else "this statement"


def _utility_columns(u: Utility, session: Session) -> tuple[P.OutputColumn, ...] | None:
    if u.kind == "execute":
        prepared = session.prepared.get(u.args["name"])
        return prepared.columns if prepared is not None else None
    if u.kind == "fetch":
        portal = session.portals.get(u.args["name"])
        return portal.columns if portal is not None and not u.args["move"] else None
    if u.kind != "show":
        return None
    if u.args["name"] == "all":
        return (P.OutputColumn("name", TEXT), P.OutputColumn("setting", TEXT), P.OutputColumn("description", TEXT))
    name = u.args["name"]
    label = {"transaction_isolation": "transaction_isolation", "timezone": "TimeZone"}.get(name.lower(), _CANONICAL.get(name.lower(), name.lower()))
    return (P.OutputColumn(label, TEXT),)


# synchronous_commit as PostgreSQL spells it (boolean spellings included); all but "off"
# wait for the fsync (there are no standbys, so the remote_* levels mean "on")
_SYNCHRONOUS_COMMIT = {**dict.fromkeys(("on", "true", "yes", "1"), "on"),
                       **dict.fromkeys(("off", "false", "no", "0"), "off"),
                       "local": "local", "remote_write": "remote_write", "remote_apply": "remote_apply"}


def _normalize_setting(name: str, value: str) -> str:
    v = value.strip()
    if name == "client_encoding":
        v = v.strip("'\"").upper().replace("-", "")
        if v not in ("UTF8", "UNICODE", "SQL_ASCII"):
            raise SqlError("22023", f'invalid value for parameter "client_encoding": "{value}"')
        return "UTF8"
    if name == "TimeZone":
        timezone_named(v)
        return "UTC" if v.upper() in ("UTC", "GMT") and v.upper() != "GMT" else v
    if name == "extra_float_digits":
        try:
            n = int(v)
        except ValueError:
            raise SqlError("22023", f'invalid value for parameter "extra_float_digits": "{value}"') from None
        if not -15 <= n <= 3:
            raise SqlError("22023", f"{n} is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)")
        return str(n)
    if name == "DateStyle":
        parts = [p.strip().upper() for p in v.split(",")]
        if "ISO" not in parts[0] and parts[0] not in ("MDY", "DMY", "YMD"):
            raise SqlError("0A000", f"DateStyle {value} is not supported (only ISO output is)")
        order = next((p for p in parts if p in ("MDY", "DMY", "YMD")), "MDY")
        return f"ISO, {order}"
    if name == "IntervalStyle":
        style = v.strip("'\"").lower()
        if style not in ("postgres", "postgres_verbose", "sql_standard", "iso_8601"):
            raise SqlError("22023", f'invalid value for parameter "intervalstyle": "{value}"',
                           hint="Available values: postgres, postgres_verbose, sql_standard, iso_8601.")
        return style
    if name == "synchronous_commit":
        mode = _SYNCHRONOUS_COMMIT.get(v.strip("'\"").lower())
        if mode is None:
            raise SqlError("22023", f'invalid value for parameter "synchronous_commit": "{value}"',
                           hint="Available values: local, remote_write, remote_apply, on, off.")
        return mode
    if name in ("default_transaction_isolation", "transaction_isolation"):
        iso = v.lower()
        if iso not in ("read committed", "repeatable read", "serializable", "read uncommitted"):
            raise SqlError("22023", f'invalid value for parameter "{name}": "{value}"')
        return iso
    if name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout",
                "deadlock_timeout"):
        return _show_milliseconds(_milliseconds(v))
    return v


def _show_milliseconds(ms: int) -> str:
    """A time setting as PostgreSQL shows it: in the largest unit that divides it."""
    if ms == 0:
        return "0"
    for unit, factor in (("d", 86400000), ("h", 3600000), ("min", 60000), ("s", 1000)):
        if ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms"


@functools.lru_cache(maxsize=256)
def _milliseconds(value: str) -> int:
    v = value.strip().lower()
    units = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}
    for unit, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if v.endswith(unit) and v[: -len(unit)].strip().lstrip("-").isdigit():
            return int(v[: -len(unit)].strip()) * factor
    try:
        return int(v)
    except ValueError:
        raise SqlError("22023", f'invalid value for a time setting: "{value}"') from None
