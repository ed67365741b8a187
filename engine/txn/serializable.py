"""SERIALIZABLE: serializable snapshot isolation (SSI), PostgreSQL's algorithm on our read sets.

A SERIALIZABLE transaction runs on one snapshot, like REPEATABLE READ, and additionally
records what it read and wrote, so that rw-antidependencies between concurrent serializable
transactions can be found: R ->rw W when R read something W wrote and R's snapshot does not
contain W's write. Every non-serializable history contains a "dangerous structure"
T0 ->rw T1 ->rw T2 in which T2 committed first (Fekete et al.; Cahill's SSI); preventing those
(with a few false positives) guarantees serializability. This module does what PostgreSQL's
predicate.c does, with the same rules and the same choice of victim:

- Read sets (PostgreSQL's SIREAD locks) have two granularities: a whole table (a scan) and one
  unique-index key (an index lookup, which also covers the key's absence, as a gap lock
  would). A table read covers every key of that table.
- Write sets: the tables written and, per unique index, the keys of the old and new versions.
- An edge is found when a read meets a write that is invisible to it, either way round:
  a read checks the writes of concurrent transactions (active ones, and ones that committed
  after the reader's snapshot); a write checks the reads of concurrent transactions (active
  ones, and ones that committed after the writer started). Reads sets of committed
  transactions are kept until no transaction that overlapped them is still running.
- On each new edge (`_on_conflict`) and at commit (`precommit`), PostgreSQL's tests for a
  dangerous structure with the out-transaction committed first run; the transaction that
  must fail either fails at once (40001) or is "doomed" and fails at its next read, write or
  COMMIT. READ ONLY transactions get PostgreSQL's read-only exemptions.

Only serializable transactions take part, as in PostgreSQL: a READ COMMITTED or REPEATABLE
READ transaction neither records reads nor is checked.

Commit order uses `seq`, a counter bumped when a transaction registers (its first statement)
and when it commits; visibility uses LSNs (a commit is in a snapshot iff its LSN <= the
snapshot LSN).
"""
from __future__ import annotations

from engine.errors import SqlError

KeyRead = tuple[int, tuple]        # (index_id, key)


class SerialTxn:
    """The SSI bookkeeping of one serializable transaction."""

    __slots__ = ("txn_id", "snapshot_lsn", "start_seq", "commit_seq", "commit_lsn", "declared_read_only",
                 "wrote", "doomed", "conflict_out_to_earlier", "read_tables", "read_keys",
                 "written_tables", "written_keys", "ins", "outs")

    def __init__(self, txn_id: int, snapshot_lsn: int, start_seq: int, read_only: bool) -> None:
        self.txn_id = txn_id
        self.snapshot_lsn = snapshot_lsn
        self.start_seq = start_seq
        self.commit_seq: int | None = None
        self.commit_lsn = 0
        self.declared_read_only = read_only
        self.wrote = False
        self.doomed = False
        self.conflict_out_to_earlier = False     # committed with an out-edge to an earlier commit
        self.read_tables: set[int] = set()
        self.read_keys: dict[int, set[KeyRead]] = {}      # table_id -> keys read
        self.written_tables: set[int] = set()
        self.written_keys: dict[int, set[KeyRead]] = {}   # table_id -> keys written
        self.ins: set[SerialTxn] = set()          # X ->rw self (X read what self wrote)
        self.outs: set[SerialTxn] = set()         # self ->rw Y (self read what Y wrote)

    @property
    def committed(self) -> bool:
        return self.commit_seq is not None

    @property
    def read_only(self) -> bool:
        return self.declared_read_only or (self.committed and not self.wrote)

    def __repr__(self) -> str:
        return f"SerialTxn({self.txn_id}, commit={self.commit_seq})"


def serialization_failure(reason: str) -> SqlError:
    return SqlError("40001", "could not serialize access due to read/write dependencies among transactions",
                    detail=f"Reason code: {reason}.", hint="The transaction might succeed if retried.")


class SerializableTracker:
    """All serializable transactions that can still take part in a dangerous structure."""

    def __init__(self) -> None:
        self.active: dict[int, SerialTxn] = {}
        self.committed: list[SerialTxn] = []
        self.seq = 0

    def begin(self, txn_id: int, snapshot_lsn: int, read_only: bool) -> SerialTxn:
        self.seq += 1
        s = SerialTxn(txn_id, snapshot_lsn, self.seq, read_only)
        self.active[txn_id] = s
        return s

    # ---------------------------------------------------------------- reads

    def read_table(self, s: SerialTxn, table_id: int) -> None:
        if s.doomed:
            raise serialization_failure("Canceled on identification as a pivot, during conflict out checking")
        if table_id in s.read_tables:
            return
        s.read_tables.add(table_id)
        s.read_keys.pop(table_id, None)
        for w in self._writers_invisible_to(s):
            if table_id in w.written_tables:
                self._edge(s, w, current=s)

    def read_key(self, s: SerialTxn, table_id: int, index_id: int, key: tuple) -> None:
        if s.doomed:
            raise serialization_failure("Canceled on identification as a pivot, during conflict out checking")
        if table_id in s.read_tables:
            return
        item = (index_id, key)
        keys = s.read_keys.get(table_id)
        if keys is None:
            keys = s.read_keys[table_id] = set()
        elif item in keys:
            return
        keys.add(item)
        for w in self._writers_invisible_to(s):
            written = w.written_keys.get(table_id)
            if written is not None and item in written:
                self._edge(s, w, current=s)

    def _writers_invisible_to(self, reader: SerialTxn) -> list[SerialTxn]:
        out = [w for w in self.active.values() if w is not reader and w.wrote]
        out.extend(w for w in self.committed if w.wrote and w.commit_lsn > reader.snapshot_lsn)
        return out

    # ---------------------------------------------------------------- writes

    def wrote(self, s: SerialTxn, table_id: int, keys: list[KeyRead]) -> None:
        """`s` writes a row of `table_id` whose old/new unique keys are `keys`."""
        if s.doomed:
            raise serialization_failure("Canceled on identification as a pivot, during conflict in checking")
        s.wrote = True
        s.written_tables.add(table_id)
        if keys:
            written = s.written_keys.get(table_id)
            if written is None:
                written = s.written_keys[table_id] = set()
            written.update(keys)
        for r in self._readers_concurrent_with(s):
            if table_id in r.read_tables:
                self._edge(r, s, current=s)
                continue
            read = r.read_keys.get(table_id)
            if read is not None and any(k in read for k in keys):
                self._edge(r, s, current=s)

    def _readers_concurrent_with(self, writer: SerialTxn) -> list[SerialTxn]:
        # A commit registers before its record is durable and visible: one that registered
        # before the writer started can still be missing from the writer's snapshot, and
        # then the two overlap as much as if it had committed later.
        out = [r for r in self.active.values() if r is not writer]
        out.extend(r for r in self.committed
                   if r.commit_seq > writer.start_seq or (r.wrote and r.commit_lsn > writer.snapshot_lsn))
        return out

    # ---------------------------------------------------------------- conflicts

    def _edge(self, reader: SerialTxn, writer: SerialTxn, current: SerialTxn) -> None:
        if writer in reader.outs:
            return
        reader.outs.add(writer)
        writer.ins.add(reader)
        if not self._dangerous(reader, writer):
            return
        if writer is current:
            raise serialization_failure("Canceled on identification as a pivot, during write")
        if writer.committed:
            raise serialization_failure(f"Canceled on conflict out to pivot {writer.txn_id}, during read")
        writer.doomed = True

    def _dangerous(self, reader: SerialTxn, writer: SerialTxn) -> bool:
        """PostgreSQL's OnConflict_CheckForSerializationFailure for the new edge reader -> writer."""
        # reader -> writer -> T2, writer already committed with an out-edge to an earlier commit
        if writer.committed and writer.conflict_out_to_earlier:
            return True
        # writer is a pivot: reader -> writer -> T2 with T2 committed first
        for t2 in writer.outs:
            if (t2.committed
                    and (not reader.committed or t2.commit_seq <= reader.commit_seq)
                    and (not writer.committed or t2.commit_seq <= writer.commit_seq)
                    and (not reader.read_only or t2.commit_lsn <= reader.snapshot_lsn)):
                return True
        # reader is a pivot: T0 -> reader -> writer with the writer committed first
        if writer.committed and not reader.read_only:
            for t0 in reader.ins:
                if (not t0.doomed
                        and (not t0.committed or t0.commit_seq >= writer.commit_seq)
                        and (not t0.read_only or t0.snapshot_lsn >= writer.commit_lsn)):
                    return True
        return False

    # ---------------------------------------------------------------- the end of a transaction

    def precommit(self, s: SerialTxn) -> None:
        """Before `s` commits: fail if doomed; doom a pivot that `s` committing first would expose."""
        if s.doomed:
            raise serialization_failure("Canceled on identification as a pivot, during commit attempt")
        for near in s.ins:
            if near.committed or near.doomed:
                continue
            for far in near.ins:
                if far is s or (not far.committed and not far.read_only and not far.doomed):
                    near.doomed = True
                    break

    def commit(self, s: SerialTxn, lsn: int) -> None:
        """`s` committed with LSN `lsn` (its snapshot's LSN if it wrote nothing)."""
        self.seq += 1
        s.commit_seq = self.seq
        s.commit_lsn = lsn
        s.conflict_out_to_earlier = s.wrote and any(t.committed and t.commit_seq < s.commit_seq for t in s.outs)
        self.active.pop(s.txn_id, None)
        self.committed.append(s)

    def abort(self, s: SerialTxn) -> None:
        """`s` rolled back: it never happened, so neither did its edges."""
        self.active.pop(s.txn_id, None)
        for other in s.ins:
            other.outs.discard(s)
        for other in s.outs:
            other.ins.discard(s)
        s.ins.clear()
        s.outs.clear()

    def prune(self, visible_lsn: int) -> None:
        """Forget committed transactions that no running or future transaction overlaps."""
        if not self.committed:
            return
        min_snapshot = min([a.snapshot_lsn for a in self.active.values()] + [visible_lsn])
        min_start = min((a.start_seq for a in self.active.values()), default=self.seq + 1)
        keep = []
        for c in self.committed:
            if c.commit_lsn > min_snapshot or c.commit_seq > min_start:
                keep.append(c)
                continue
            for other in c.ins:
                other.outs.discard(c)
            for other in c.outs:
                other.ins.discard(c)
        self.committed = keep
