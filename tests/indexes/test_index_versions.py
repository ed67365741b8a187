"""Index searches against MVCC: every lookup and ordered scan through `TableData` at any LSN
still in memory, with or without a transaction's own writes, equals a brute-force filter of
the rows visible there (`rows_at`). Histories are random (hypothesis): inserts, updates that
change keys or not, deletes, NULLs and NaNs in keys, duplicate keys."""
from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog.model import IndexDef
from engine.txn.index import Search
from engine.txn.versions import TableData

# rows are (a, b, note); indexes: 1 on (a) ordered, 2 on (a, b) ordered, 3 on (b) hash
INDEXES = (IndexDef(1, "i_a", 7, (0,), method="btree"), IndexDef(2, "i_ab", 7, (0, 1), method="btree"),
           IndexDef(3, "i_b", 7, (1,), method="hash"))

values = st.one_of(st.none(), st.integers(0, 5), st.just(math.nan))
rows = st.tuples(values, st.one_of(st.none(), st.integers(0, 3)), st.text(max_size=2))
steps = st.lists(st.tuples(st.sampled_from(["insert", "update", "delete"]), st.integers(0, 30), rows),
                 min_size=1, max_size=60)


def _apply(data: TableData, history: list) -> list[int]:
    """Apply the history, one step per LSN (several per transaction now and then); the LSNs."""
    lsn = 0
    lsns = []
    for i, (op, pick, row) in enumerate(history):
        if i % 3 != 2:
            lsn += 1
            lsns.append(lsn)
        live = sorted(data.rows)
        if op == "insert" or not live:
            data.insert(lsn, data.next_rowid, row)
        elif op == "update":
            data.update(lsn, live[pick % len(live)], row)
        else:
            data.delete(lsn, live[pick % len(live)])
    return lsns


def _same(x, y) -> bool:
    return x == y or (x != x and y != y)


def _key_equals(row: tuple, slots: tuple[int, ...], key: tuple) -> bool:
    return all(row[s] is not None and _same(row[s], k) for s, k in zip(slots, key))


def _order(v) -> tuple:
    """A value's place in an ascending index order (as PostgreSQL orders: NaN after every
    number, NULL last)."""
    return (3,) if v is None else (2,) if v != v else (1, v)


@settings(max_examples=150, deadline=None)
@given(steps, st.data())
def test_index_searches_match_visible_rows(history, data_strategy):
    data = TableData(7)
    for index in INDEXES:
        data.add_index(index)
    if data_strategy.draw(st.booleans(), "sorted keys kept up to date from the start"):
        for built in data.indexes.values():
            built.sorted_keys()
    lsns = _apply(data, history)
    own_rowid = data.next_rowid + 100
    for lsn in [0] + lsns:
        own_choice = data_strategy.draw(st.sampled_from([None, "insert", "delete"]))
        own: dict[int, tuple | None] | None = None
        if own_choice == "insert":
            own = {own_rowid: data_strategy.draw(rows)}
        elif own_choice == "delete" and data.rows:
            own = {min(data.rows): None}
        visible = dict(data.items_at(lsn, own))
        for index in INDEXES:
            for key in [(v,) if len(index.columns) == 1 else (v, w) for v in (0, 1, 5, math.nan) for w in (0, 2)]:
                expected = sorted(rid for rid, r in visible.items() if _key_equals(r, index.columns, key))
                found = data.lookup(index.index_id, key, lsn, own)
                mine = [rid for rid, r in (own or {}).items() if r is not None and _key_equals(r, index.columns, key)]
                assert sorted([rid for rid, _ in found] + mine) == expected
        for index in INDEXES[:2]:
            a = index.columns[0]
            for prefix, lower, upper in [((), 1, 4), ((), None, 2), ((), 3, None), ((), None, None), ((1,), None, None),
                                         ((2,), 1, None), ((math.nan,), None, None)]:
                if prefix and len(index.columns) == 1:
                    continue
                bounded = index.columns[len(prefix)]
                for reverse in (False, True):
                    search = Search(prefix, lower, upper, lower is not None, upper is not None, True, False, reverse)
                    exact, candidates = data.scan(index.index_id, search, lsn, own)
                    exact = list(exact)

                    def matches(r: tuple) -> bool:
                        if prefix and not _key_equals(r, index.columns[:1], prefix):
                            return False
                        v = r[bounded]
                        if (lower is not None or upper is not None) and v is None:
                            return False
                        if lower is not None and not _order(v) >= (1, lower):
                            return False
                        if upper is not None and not _order(v) < (1, upper):
                            return False
                        return True
                    expected = sorted(rid for rid, r in visible.items() if matches(r))
                    unsure = dict(candidates)
                    if own:
                        unsure.update((rid, r) for rid, r in own.items() if r is not None)
                    got = [rid for rid, _ in exact] + [rid for rid, r in unsure.items() if matches(r)]
                    assert sorted(got) == expected
                    assert not set(rid for rid, _ in exact) & set(unsure)
                    assert all(visible[rid] == r or (r != r) for rid, r in exact)
                    keys = [tuple(_order(r[s]) for s in index.columns[len(prefix):]) for _, r in exact]
                    assert keys == sorted(keys, reverse=reverse)
