"""How schema events change a catalog: `apply_event(catalog, event) -> Catalog`.

Pure and deterministic: the same catalog and event always give the same new catalog.
Used for live commits, for replay, and for a transaction's private view of its own DDL.
Row events leave the catalog as it is (the same object is returned).
"""
from __future__ import annotations

import msgspec

from engine import events as ev
from engine.catalog.model import TEMP_ID_BASE, Catalog


def apply_event(catalog: Catalog, event: ev.Event) -> Catalog:
    match event:
        case ev.RowInserted() | ev.RowUpdated() | ev.RowDeleted() | ev.TableTruncated() | ev.SequenceAdvanced() | ev.Notified():
            return catalog
        case ev.TableCreated(table=t):
            return catalog._replace(tables={**catalog.tables, t.table_id: t},
                                    next_id=_next_id(catalog, t.table_id))
        case ev.TableDropped(table_id=tid):
            tables = dict(catalog.tables)
            del tables[tid]
            indexes = {k: i for k, i in catalog.indexes.items() if i.table_id != tid}
            sequences = {k: s for k, s in catalog.sequences.items()
                         if not (s.owned_by and s.owned_by[0] == tid)}
            return catalog._replace(tables=tables, indexes=indexes, sequences=sequences)
        case ev.TableRenamed(table_id=tid, name=name, schema=schema):
            t = catalog.tables[tid]
            t = msgspec.structs.replace(t, name=name, schema=schema or t.schema)
            return catalog._replace(tables={**catalog.tables, tid: t})
        case ev.TableAltered(table=t):
            return catalog._replace(tables={**catalog.tables, t.table_id: t})
        case ev.ColumnAdded(table_id=tid, column=c):
            t = catalog.tables[tid]
            t = msgspec.structs.replace(t, columns=t.columns + (c,), width=max(t.width, c.slot + 1))
            return catalog._replace(tables={**catalog.tables, tid: t})
        case ev.ColumnDropped(table_id=tid, slot=slot):
            t = catalog.tables[tid]
            t = msgspec.structs.replace(t, columns=tuple(c for c in t.columns if c.slot != slot))
            return catalog._replace(tables={**catalog.tables, tid: t})
        case ev.ColumnRenamed(table_id=tid, slot=slot, name=name):
            t = catalog.tables[tid]
            cols = tuple(msgspec.structs.replace(c, name=name) if c.slot == slot else c for c in t.columns)
            return catalog._replace(tables={**catalog.tables, tid: msgspec.structs.replace(t, columns=cols)})
        case ev.ColumnAltered(table_id=tid, slot=slot, column=new):
            t = catalog.tables[tid]
            cols = tuple(new if c.slot == slot else c for c in t.columns)
            t = msgspec.structs.replace(t, columns=cols, width=max(t.width, new.slot + 1))
            return catalog._replace(tables={**catalog.tables, tid: t})
        case ev.IndexCreated(index=i):
            return catalog._replace(indexes={**catalog.indexes, i.index_id: i},
                                    next_id=_next_id(catalog, i.index_id))
        case ev.IndexDropped(index_id=iid):
            indexes = dict(catalog.indexes)
            del indexes[iid]
            return catalog._replace(indexes=indexes)
        case ev.SequenceCreated(sequence=s) | ev.SequenceAltered(sequence=s):
            return catalog._replace(sequences={**catalog.sequences, s.seq_id: s},
                                    next_id=_next_id(catalog, s.seq_id))
        case ev.SequenceDropped(seq_id=sid):
            sequences = dict(catalog.sequences)
            del sequences[sid]
            return catalog._replace(sequences=sequences)
        case ev.ViewCreated(view=v):
            return catalog._replace(views={**catalog.views, v.view_id: v},
                                    next_id=_next_id(catalog, v.view_id))
        case ev.ViewDropped(view_id=vid):
            views = dict(catalog.views)
            del views[vid]
            return catalog._replace(views=views)
        case ev.SchemaCreated(name=name):
            return catalog._replace(schemas=catalog.schemas + (name,))
        case ev.SchemaDropped(name=name):
            return catalog._replace(schemas=tuple(s for s in catalog.schemas if s != name))
        case ev.RoleCreated(role=r) | ev.RoleAltered(role=r):
            return catalog._replace(roles={**catalog.roles, r.name: r})
        case ev.RoleDropped(name=name):
            roles = dict(catalog.roles)
            del roles[name]
            return catalog._replace(roles=roles)
    raise AssertionError(f"no catalog rule for {type(event).__name__}")


def _next_id(catalog: Catalog, oid: int) -> int:
    """The catalog's next free id once `oid` is taken (a temporary object's id takes none)."""
    return catalog.next_id if oid >= TEMP_ID_BASE else max(catalog.next_id, oid + 1)
