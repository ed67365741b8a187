"""The rewinddb server: asyncio networking around the engine.

`cli` parses the command line; `app.Server` owns the listener and the database;
`connection.Connection` serves one client over the PostgreSQL wire protocol (`protocol`),
handing SQL to an engine `Session`.
"""
