"""Indexes over the newest applied rows of one table: hash and ordered, unique or not.

Every index (`TableIndex`) maps a key to the rowids holding it: `entries` is a dict from key
to one rowid, or to a set of rowids when several rows share the key (a unique index can
hold two rows with one key in the middle of applying a transaction, so it uses the same
map). A key is the bare value for a one-column index and a tuple of the values otherwise
(a one-column index saves a tuple per row).

Rows whose key has a NULL are not in `entries`: their rowids are in `unindexed`, and a
search that could match them (a prefix or range search, or an ordered scan) hands them
back as candidates, to be checked against the search condition by the caller with SQL
semantics; a full-key equality search never matches them (NULL equals nothing). A NaN
(float or numeric) is stored as `NAN`, which equals itself and sorts after every number,
as PostgreSQL orders it; search values are mapped the same way (`probe`).

An ordered ("btree") index also keeps its distinct keys sorted (a `SortedList`), built on
its first ordered search and kept up to date from then on, so an index nobody range-scans
costs no sorting. Keys are compared as Python compares them: a one-column key by value, a
composite key as a tuple (a prefix search bounds the tuple with `TOP`, which sorts after
every value). Strings compare by code point, which is the C collation's order.

Invariants: only `TableData` changes an index, as rows are applied, in LSN order; a rowid
is in `entries` under its row's key or in `unindexed`, never both, never twice.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Iterable, Iterator

from sortedcontainers import SortedList


@dataclass(frozen=True, slots=True)
class Search:
    """An ordered index search: the keys that start with `prefix` (values of the first
    columns, none NULL) and whose next column lies within the bounds that are given, in key
    order (descending with `reverse`). `ordered` says whether the caller needs that order
    (an unordered search may read the table instead, `TableData.scan`)."""
    prefix: tuple = ()
    lower: object = None
    upper: object = None
    has_lower: bool = False
    has_upper: bool = False
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    reverse: bool = False
    ordered: bool = True


class _Top:
    """Greater than every key value: the upper end of a composite-key prefix."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return other is self

    def __gt__(self, other: object) -> bool:
        return other is not self

    def __ge__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "TOP"


TOP = _Top()


class _NaN:
    """A NaN in a key: equal to itself, after every number, before TOP."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return other is TOP

    def __le__(self, other: object) -> bool:
        return other is TOP or other is self

    def __gt__(self, other: object) -> bool:
        return other is not TOP and other is not self

    def __ge__(self, other: object) -> bool:
        return other is not TOP

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "NaN"


NAN = _NaN()
_NO_NAN_TYPES = frozenset({int, str, bool, bytes, dt.date, dt.datetime, dt.time, uuid.UUID})


def probe(value: object) -> object:
    """A search value as keys hold it (NaN as NAN)."""
    return NAN if value != value else value


def exact(values: tuple) -> tuple:
    """A tuple of values that equals another exactly when SQL says so (NaN as NAN)."""
    for v in values:
        if v != v:
            return tuple([probe(x) for x in values])
    return values


def key_function(slots: tuple[int, ...]) -> Callable[[tuple], object]:
    """row -> its index key over `slots`, or None when the key has a NULL."""
    if len(slots) == 1:
        (slot,) = slots

        def single(row: tuple) -> object:
            v = row[slot]
            return v if v == v or v is None else NAN
        return single

    def composite(row: tuple) -> tuple | None:
        k = tuple([row[s] for s in slots])
        if None in k:
            return None
        for v in k:
            if v != v:
                return tuple([probe(x) for x in k])
        return k
    return composite


class TableIndex:
    """One index of one table (see the module docstring)."""

    __slots__ = ("index_id", "slots", "unique", "ordered", "entries", "unindexed", "key", "_sorted")

    def __init__(self, index_id: int, slots: tuple[int, ...], unique: bool, ordered: bool) -> None:
        self.index_id = index_id
        self.slots = slots
        self.unique = unique
        self.ordered = ordered
        self.entries: dict = {}
        self.unindexed: set[int] = set()
        self.key = key_function(slots)
        self._sorted: SortedList | None = None

    def build(self, rows: dict[int, tuple]) -> None:
        """Index every row of `rows` (rowid -> row; the index is empty)."""
        if self.unique and len(self.slots) == 1 and self._build_distinct(rows):
            return
        key = self.key
        entries = self.entries
        get = entries.get
        for rowid, row in rows.items():
            k = key(row)
            if k is None:
                self.unindexed.add(rowid)
                continue
            present = get(k)
            if present is None:
                entries[k] = rowid
            elif type(present) is set:
                present.add(rowid)
            else:
                entries[k] = {present, rowid}

    def _build_distinct(self, rows: dict[int, tuple]) -> bool:
        """`build` at C speed for a one-column key whose values are distinct, none NULL and
        of types without NaN (a primary key); False, having changed nothing, otherwise."""
        keys = list(map(itemgetter(self.slots[0]), rows.values()))
        if None in keys or not set(map(type, keys)) <= _NO_NAN_TYPES:
            return False
        entries = dict(zip(keys, rows))
        if len(entries) != len(keys):
            return False
        self.entries = entries
        return True

    # ------------------------------------------------------------ changes

    def add(self, rowid: int, row: tuple) -> None:
        k = self.key(row)
        if k is None:
            self.unindexed.add(rowid)
            return
        entries = self.entries
        present = entries.get(k)
        if present is None:
            entries[k] = rowid
            if self._sorted is not None:
                self._sorted.add(k)
        elif type(present) is set:
            present.add(rowid)
        else:
            entries[k] = {present, rowid}

    def remove(self, rowid: int, row: tuple) -> None:
        k = self.key(row)
        if k is None:
            self.unindexed.discard(rowid)
            return
        entries = self.entries
        present = entries.get(k)
        if type(present) is set:
            present.discard(rowid)
            if len(present) == 1:
                entries[k] = next(iter(present))
        elif present == rowid:
            del entries[k]
            if self._sorted is not None:
                self._sorted.remove(k)

    def replace(self, rowid: int, before: tuple, after: tuple) -> None:
        """An update of row `rowid` from `before` to `after` (nothing to do if its key stayed)."""
        key = self.key
        if key(before) != key(after):
            self.remove(rowid, before)
            self.add(rowid, after)

    # ------------------------------------------------------------ searches

    def normalize(self, values: tuple) -> object:
        """A full key as `entries` holds it, from one value per column (none NULL)."""
        if len(values) == 1:
            v = values[0]
            return v if v == v else NAN
        return tuple([probe(v) for v in values])

    def rowids(self, key: object) -> Iterable[int]:
        """The rowids whose key is `key` (`normalize`d)."""
        present = self.entries.get(key)
        if present is None:
            return ()
        return present if type(present) is set else (present,)

    def distinct_keys(self) -> int:
        return len(self.entries)

    def sorted_keys(self) -> SortedList:
        """The distinct keys in order (built on first use, then maintained)."""
        if self._sorted is None:
            self._sorted = SortedList(self.entries)
        return self._sorted

    def scan(self, search: Search) -> Iterator[int]:
        """Rowids of the keys `search` asks for, in its order."""
        low, high, inclusive = self._range(search)
        entries = self.entries
        for k in self.sorted_keys().irange(low, high, inclusive, search.reverse):
            present = entries[k]
            if type(present) is set:
                yield from sorted(present)
            else:
                yield present

    def share(self, search: Search) -> float:
        """The share of the distinct keys `search` would visit."""
        if not self.entries:
            return 0.0
        low, high, inclusive = self._range(search)
        keys = self.sorted_keys()
        start = 0 if low is None else (keys.bisect_left(low) if inclusive[0] else keys.bisect_right(low))
        end = len(keys) if high is None else (keys.bisect_right(high) if inclusive[1] else keys.bisect_left(high))
        return max(end - start, 0) / len(keys)

    def _range(self, search: Search) -> tuple[object, object, tuple[bool, bool]]:
        """(low, high, inclusive) bounds on the sorted keys for a search."""
        prefix = tuple([probe(v) for v in search.prefix])
        has_lower, has_upper = search.has_lower, search.has_upper
        lower, upper = probe(search.lower), probe(search.upper)
        if len(self.slots) == 1 and not prefix:
            return (lower if has_lower else None, upper if has_upper else None,
                    (search.lower_inclusive or not has_lower, search.upper_inclusive or not has_upper))
        if has_lower:
            low = prefix + ((lower,) if search.lower_inclusive else (lower, TOP))
        else:
            low = prefix or None
        if has_upper:
            high = prefix + ((upper, TOP) if search.upper_inclusive else (upper,))
        else:
            high = prefix + (TOP,) if prefix else None
        return low, high, (True, not has_upper or search.upper_inclusive)
