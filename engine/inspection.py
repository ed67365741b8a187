"""Read-only inspection of a data directory: `rewinddb verify` and `rewinddb log`.

Nothing here opens the log for writing, takes the directory's lock or sets a snapshot
aside, so both can run beside a server (they then see what was durable when they read).

`verify_database` adds to the storage layer's `verify_log` (every CRC, LSN, commit time and
the whole hash chain) one check per snapshot: its content must equal the state obtained by
replaying the log up to its LSN (`checkpoint.describe_difference`). The replay is a single
pass over the log, stopping at each snapshot's LSN in turn.

`LogEntry`/`read_entries` decode records for display: each event with the name of its
table as of that point in the log (the catalog is advanced through the schema events as it
goes, inside a transaction too) and row values by column name.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from engine import events as ev
from engine.catalog.changes import apply_event
from engine.catalog.model import Catalog
from engine.checkpoint import SnapshotContentError, describe_difference, load_state
from engine.state import DatabaseState
from engine.storage.log import LogCorruption
from engine.storage.segment import GENESIS_CHAIN
from engine.storage.snapshot import SnapshotCorruption, SnapshotStore
from engine.storage.verify import VerifyReport, read_records, verify_log
from engine.types import Interval

__all__ = ["LogEntry", "read_entries", "verify_database"]


def verify_database(data_dir: str | os.PathLike[str]) -> VerifyReport:
    """The log check plus one check per snapshot (see the module docstring).

    While a server holds the directory, bytes after the last complete record of the last
    segment are a batch it is writing, not a torn tail: they are noted, not a problem."""
    path = Path(data_dir)
    report = verify_log(path / "log")
    if report.problem is not None and report.problem.endswith("open() truncates it") and _in_use(path):
        report = dataclasses.replace(report, problem=None, problem_path=None, problem_offset=None).with_check(
            "log tail", True, f"a server is writing after LSN {report.last_lsn}; records after it were not checked")
    store = SnapshotStore(path / "snapshots", read_only=True)
    snapshots = sorted(store.list(), key=lambda info: info.lsn)
    if not snapshots:
        return report
    state = DatabaseState()
    chain_after = GENESIS_CHAIN              # the log's chain value after state.lsn
    records = read_records(path / "log")
    for info in snapshots:
        name = f"snapshot {info.path.name}"
        if info.lsn > report.last_lsn:
            report = report.with_check(name, False, f"its LSN {info.lsn} is beyond the intact log (last LSN {report.last_lsn})")
            continue
        problem = store.validate(info)
        if problem is None:
            try:
                loaded, chain = load_state(store.read(info))
            except (SnapshotCorruption, SnapshotContentError) as exc:
                problem = str(exc)
        if problem is None:
            try:
                while state.lsn < info.lsn:
                    record = next(records)
                    state.apply(record.lsn, record.commit_time_us, ev.decode_transaction(record.payload))
                    chain_after = record.chain
            except StopIteration:
                problem = f"the log ends before LSN {info.lsn}"
            except LogCorruption as exc:
                problem = f"the log could not be replayed to LSN {info.lsn}: {exc}"
            except Exception as exc:
                problem = f"replaying record {state.lsn + 1} failed: {type(exc).__name__}: {exc}"
        if problem is None:
            if chain_after != chain:
                problem = f"it does not match the log: the chain values after LSN {info.lsn} differ"
            else:
                loaded.build_indexes()
                difference = describe_difference(loaded, state)
                if difference is not None:
                    problem = f"it differs from a replay of the log to LSN {info.lsn}: {difference}"
        report = report.with_check(name, problem is None,
                                   problem or f"LSN {info.lsn}: equal to a replay of the log to that LSN")
    return report


def _in_use(data_dir: Path) -> bool:
    """Whether a process holds the data directory's lock (a running server)."""
    try:
        fd = os.open(data_dir / "LOCK", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event, ready to print."""
    kind: str                    # the event type, e.g. "RowInserted"
    table: str | None            # schema-qualified table name as of the event, when it has one
    rowid: int | None
    values: dict[str, Any] | None   # column name -> JSON-ready value (row events)
    detail: dict[str, Any]       # the remaining fields, JSON-ready


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One record, ready to print."""
    lsn: int
    committed_at: dt.datetime
    user: str
    application_name: str
    client_addr: str
    reason: str | None
    events: tuple[LogEvent, ...]

    def to_json(self) -> dict[str, Any]:
        return {"lsn": self.lsn, "committed_at": self.committed_at.isoformat(), "user": self.user,
                "application_name": self.application_name, "client_addr": self.client_addr,
                "reason": self.reason,
                "events": [{"type": e.kind, **({"table": e.table} if e.table is not None else {}),
                            **({"rowid": e.rowid} if e.rowid is not None else {}),
                            **({"values": e.values} if e.values is not None else {}), **e.detail}
                           for e in self.events]}


def read_entries(data_dir: str | os.PathLike[str], from_lsn: int = 1, table: str | None = None) -> Iterator[LogEntry]:
    """Decoded records from `from_lsn` on; with `table`, only the events of the table of
    that name (bare or schema-qualified, as of each record) and only records that have one."""
    catalog = Catalog()
    for record in read_records(Path(data_dir) / "log"):
        txn = ev.decode_transaction(record.payload)
        shown = []
        for event in txn.events:
            table_def = None
            if isinstance(event, ev.ROW_EVENTS):
                table_def = catalog.tables.get(event.table_id)
            before = catalog
            if not isinstance(event, (*ev.ROW_EVENTS, ev.SequenceAdvanced, ev.Notified)):
                catalog = apply_event(catalog, event)
            if record.lsn < from_lsn:
                continue
            table_id = _table_id(event)
            defs = [d for d in (table_def,) if d is not None] or [
                d for d in (catalog.tables.get(table_id), before.tables.get(table_id)) if d is not None]
            table_def = defs[0] if defs else None
            name = f"{table_def.schema}.{table_def.name}" if table_def is not None else None
            if table is not None and table not in {n for d in defs for n in (d.name, f"{d.schema}.{d.name}")}:
                continue       # (a rename matches the old name and the new one)
            shown.append(_render(event, name, table_def))
        if record.lsn >= from_lsn and (shown or table is None):
            yield LogEntry(record.lsn, dt.datetime.fromtimestamp(record.commit_time_us / 1e6, dt.timezone.utc)
                           .replace(microsecond=record.commit_time_us % 1_000_000),
                           txn.user, txn.application_name, txn.client_addr, txn.reason, tuple(shown))


def _table_id(event: ev.Event) -> int | None:
    table_id = getattr(event, "table_id", None)
    if table_id is None:
        inner = getattr(event, "table", None) or getattr(event, "index", None)
        table_id = getattr(inner, "table_id", None)
    return table_id


def _render(event: ev.Event, name: str | None, table_def) -> LogEvent:
    fields = msgspec.structs.asdict(event)
    rowid = fields.pop("rowid", None)
    fields.pop("table_id", None)
    values = None
    if "values" in fields and table_def is not None:
        raw = fields.pop("values")
        row = ev.RowCodec(table_def).decode(list(raw))
        values = {c.name: _json_value(row[c.slot]) for c in table_def.columns if c.slot < len(row)}
    if "table" in fields:                 # TableCreated/TableAltered carry the definition
        fields["definition"] = fields.pop("table")
    return LogEvent(type(event).__name__, name, rowid, values, {k: _json_value(v) for k, v in fields.items()})


def _json_value(value: Any) -> Any:
    """A JSON-ready form of an engine value or event field."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Interval):
        return {"months": value.months, "days": value.days, "microseconds": value.micros}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, msgspec.Struct):
        return _json_value(msgspec.structs.asdict(value))
    return str(value)
