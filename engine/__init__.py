"""rewinddb's engine: everything a database is, without a network.

One SELECT, layer by layer (`server` has already decoded the wire message):

1. `session.Session.prepare_simple(text)` lifts the literals out of the statement
   (`sql.parser.lift_literals`) and looks the template up in the session's plan cache.
2. On a miss, `sql.parser.parse_statement` parses it: our own parser for utility commands
   (BEGIN, SET, SHOW, ...), sqlglot's postgres dialect for the rest.
3. `sql.planner.Planner` binds names and types against the catalog the statement reads
   (`catalog.model.Catalog`, one immutable value per LSN) and builds a plan tree
   (`exec.plan`: scans, filters, joins, aggregates, sorts, ...).
4. `exec.operators.compile_plan` turns the plan into Python: every expression is compiled
   (`exec.compiler`) into source code, and scan + filter + project chains become one list
   comprehension per batch of rows.
5. `Session.execute` takes the statement's MVCC snapshot (`txn.transaction.Transaction`:
   the newest durable LSN, the transaction's own writes on top) and opens the plan; the server
   pulls row batches and encodes them.

A write goes the same way to `exec.dml.CompiledWrite`, which locks rows, checks constraints
and records events (`events`) in the transaction. COMMIT (`database.Database.commit`)
encodes the events as one record, appends it to the log (`storage.log.SegmentedLog`), applies
it to the state (`state.DatabaseState.apply`, the same code that replays the log at
startup), waits for the group-committed fsync, and only then acknowledges.

Derived state (`state`): per table, the newest row versions plus an LSN-stamped undo history
(`txn.versions.TableData`), so any recent LSN can be read; the catalog keeps one version per
schema change.
"""
