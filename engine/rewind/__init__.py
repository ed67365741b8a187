"""The event-sourced features: reading the past, history, audit, and tamper evidence.

- `points`: FOR SYSTEM_TIME bounds and `rewind.as_of` -> LSNs (timestamps via the
  per-LSN commit times the state keeps).
- `history`: tables as of an LSN, and every version in a range with the system columns
  `_tx`, `_valid_from`, `_valid_to`, `_op`, `_user`.

The planner binds a time-travel table reference against the catalog of its point
(`DatabaseState.catalog_at`), so the past is read with the schema of the past.
"""
