"""The catalog: schemas, tables, columns, constraints, indexes, sequences, views and roles.

`model` holds the immutable definitions and the `Catalog` value, which changes only by
`Catalog.apply(event)` returning a new catalog, so every LSN has its own catalog and a
read at a past point sees the schema of that moment. `pg_catalog` and
`information_schema` are generated from it as virtual tables (see `virtual`).
"""
