"""Random but valid histories of committed transactions (DDL and DML), for engine tests.

`History(seed).transactions(n)` yields `events.Transaction`s as the engine would commit them:
tables with several column types are created, altered (columns added with a fill value,
dropped, renamed; tables renamed), indexed (unique indexes on a key column whose values are
kept unique), truncated and dropped; rows are inserted, updated and deleted; sequences are
created, advanced and dropped. A small model of the catalog and the rows keeps every event
applicable, so `DatabaseState.apply` takes them all.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Iterator

import msgspec

from engine import events as ev
from engine.catalog.model import ColumnDef, IndexDef, SequenceDef, TableDef
from engine.types import BOOL, BYTEA, DATE, FLOAT8, INT4, INT8, NUMERIC, TEXT, TIMESTAMPTZ, UTC

VALUE_TYPES = (INT4, INT8, TEXT, NUMERIC, TIMESTAMPTZ, DATE, BOOL, BYTEA, FLOAT8)


def _value(rng: random.Random, oid: int) -> Any:
    if rng.random() < 0.1:
        return None
    if oid in (INT4.oid, INT8.oid):
        return rng.randint(-1000, 1000)
    if oid == TEXT.oid:
        return "".join(rng.choice("abcé€ ") for _ in range(rng.randint(0, 8)))
    if oid == NUMERIC.oid:
        return Decimal(rng.randint(-10**6, 10**6)).scaleb(-rng.randint(0, 4))
    if oid == TIMESTAMPTZ.oid:
        return dt.datetime(2020, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=rng.randint(0, 10**14))
    if oid == DATE.oid:
        return dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 10000))
    if oid == BOOL.oid:
        return rng.random() < 0.5
    if oid == BYTEA.oid:
        return rng.randbytes(rng.randint(0, 6))
    return rng.uniform(-1e6, 1e6)


class History:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_id = 16384
        self.tables: dict[int, TableDef] = {}
        self.rows: dict[int, dict[int, tuple]] = {}          # table id -> rowid -> row
        self.next_rowid: dict[int, int] = {}
        self.keys: dict[int, int] = {}                       # table id -> next unique key value
        self.indexes: dict[int, IndexDef] = {}
        self.sequences: dict[int, int] = {}                  # seq id -> last value

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def transactions(self, n: int) -> Iterator[ev.Transaction]:
        for _ in range(n):
            events: list[ev.Event] = []
            for _ in range(self.rng.randint(1, 4)):
                events.extend(self._step())
            yield ev.Transaction("tester", "histories", "127.0.0.1", None, events)

    def _step(self) -> list[ev.Event]:
        rng = self.rng
        roll = rng.random()
        if not self.tables or roll < 0.06:
            return [self._create_table()]
        table_id = rng.choice(sorted(self.tables))
        if roll < 0.09:
            return self._alter(table_id)
        if roll < 0.10:
            return self._drop(table_id)
        if roll < 0.11:
            self.rows[table_id] = {}
            return [ev.TableTruncated(table_id)]
        if roll < 0.14:
            return self._sequence()
        if roll < 0.16 and not any(i.table_id == table_id for i in self.indexes.values()):
            index = IndexDef(self._id(), f"ix{self.next_id}", table_id, (0,), unique=True)
            self.indexes[index.index_id] = index
            return [ev.IndexCreated(index)]
        if roll < 0.17 and self.indexes:
            index_id = rng.choice(sorted(self.indexes))
            del self.indexes[index_id]
            return [ev.IndexDropped(index_id)]
        rows = self.rows[table_id]
        if roll < 0.6 or not rows:
            return [self._insert(table_id) for _ in range(rng.randint(1, 5))]
        rowid = rng.choice(sorted(rows))
        if roll < 0.85:
            table = self.tables[table_id]
            row = list(rows[rowid])
            for c in table.columns[1:]:
                if rng.random() < 0.5:
                    row[c.slot] = _value(rng, c.type_oid)
            rows[rowid] = tuple(row)
            return [ev.RowUpdated(table_id, rowid, ev.RowCodec(table).encode(rows[rowid]))]
        del rows[rowid]
        return [ev.RowDeleted(table_id, rowid)]

    def _create_table(self) -> ev.Event:
        table_id = self._id()
        columns = [ColumnDef(0, "k", INT8.oid, not_null=True)]
        for slot in range(1, self.rng.randint(2, 5)):
            columns.append(ColumnDef(slot, f"c{slot}", self.rng.choice(VALUE_TYPES).oid))
        table = TableDef(table_id, "public", f"t{table_id}", tuple(columns), len(columns))
        self.tables[table_id] = table
        self.rows[table_id] = {}
        self.next_rowid[table_id] = 1
        self.keys[table_id] = 1
        return ev.TableCreated(table)

    def _insert(self, table_id: int) -> ev.Event:
        table = self.tables[table_id]
        row = [None] * table.width
        row[0] = self.keys[table_id]
        self.keys[table_id] += 1
        for c in table.columns[1:]:
            row[c.slot] = _value(self.rng, c.type_oid)
        rowid = self.next_rowid[table_id]
        self.next_rowid[table_id] += 1
        self.rows[table_id][rowid] = tuple(row)
        return ev.RowInserted(table_id, rowid, ev.RowCodec(table).encode(tuple(row)))

    def _alter(self, table_id: int) -> list[ev.Event]:
        rng = self.rng
        table = self.tables[table_id]
        choice = rng.random()
        if choice < 0.4:
            column = ColumnDef(table.width, f"c{table.width}", rng.choice(VALUE_TYPES).oid)
            fill = _value(rng, column.type_oid)
            table = msgspec.structs.replace(table, columns=table.columns + (column,), width=table.width + 1)
            self.rows[table_id] = {rowid: row + (fill,) for rowid, row in self.rows[table_id].items()}
            self.tables[table_id] = table
            return [ev.ColumnAdded(table_id, column, ev.storage_value(column.type, fill))]
        if choice < 0.6 and len(table.columns) > 1:
            column = rng.choice(table.columns[1:])
            self.tables[table_id] = msgspec.structs.replace(
                table, columns=tuple(c for c in table.columns if c.slot != column.slot))
            slot = column.slot
            self.rows[table_id] = {rowid: row[:slot] + (None,) + row[slot + 1:] for rowid, row in self.rows[table_id].items()}
            return [ev.ColumnDropped(table_id, column.slot)]
        if choice < 0.8 and len(table.columns) > 1:
            column = rng.choice(table.columns[1:])
            name = f"r{self._id()}"
            self.tables[table_id] = msgspec.structs.replace(
                table, columns=tuple(msgspec.structs.replace(c, name=name) if c is column else c for c in table.columns))
            return [ev.ColumnRenamed(table_id, column.slot, name)]
        name = f"renamed{self._id()}"
        self.tables[table_id] = msgspec.structs.replace(table, name=name)
        return [ev.TableRenamed(table_id, name)]

    def _drop(self, table_id: int) -> list[ev.Event]:
        del self.tables[table_id]
        del self.rows[table_id]
        for index_id in [i for i, index in self.indexes.items() if index.table_id == table_id]:
            del self.indexes[index_id]
        return [ev.TableDropped(table_id)]

    def _sequence(self) -> list[ev.Event]:
        rng = self.rng
        if not self.sequences or rng.random() < 0.3:
            seq = SequenceDef(self._id(), "public", f"s{self.next_id}")
            self.sequences[seq.seq_id] = 0
            return [ev.SequenceCreated(seq)]
        seq_id = rng.choice(sorted(self.sequences))
        if rng.random() < 0.1:
            del self.sequences[seq_id]
            return [ev.SequenceDropped(seq_id)]
        self.sequences[seq_id] += rng.randint(1, 10)
        return [ev.SequenceAdvanced(seq_id, self.sequences[seq_id])]
