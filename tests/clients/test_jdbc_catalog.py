"""JDBC DatabaseMetaData against rewinddb: what a Java tool (DBeaver, Metabase, an ORM) reads
to show a schema: schemas, catalogs, tables, columns with JDBC types, primary keys, foreign keys,
indexes, privileges, types and functions, plus one prepared statement run past pgjdbc's
server-prepare threshold."""
from __future__ import annotations

import psycopg

from tests.clients.jdbc import jdbc_url, result_sets, run_java


def test_database_metadata(server):
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE jdbc_users (id serial PRIMARY KEY, name varchar(50) NOT NULL, "
                     "email text UNIQUE, age int CHECK (age > 0), score numeric(10,2))")
        conn.execute("CREATE INDEX jdbc_users_age_idx ON jdbc_users (age)")
        conn.execute("CREATE TABLE jdbc_orders (id int PRIMARY KEY, user_id int REFERENCES jdbc_users (id) "
                     "ON DELETE CASCADE)")
    meta = result_sets(run_java("CatalogMetadata", jdbc_url(server.port), "jdbc_users", "jdbc_orders"))

    assert meta["getDatabaseProductVersion"][0]["value"].startswith("15.")
    schemas = {r["TABLE_SCHEM"] for r in meta["getSchemas"]}
    assert {"public", "pg_catalog", "information_schema"} <= schemas
    tables = [(r["TABLE_NAME"], r["TABLE_TYPE"]) for r in meta["getTables"]]
    assert ("jdbc_users", "TABLE") in tables and ("jdbc_orders", "TABLE") in tables

    columns = [(r["COLUMN_NAME"], r["TYPE_NAME"], r["DATA_TYPE"], r["COLUMN_SIZE"], r["IS_NULLABLE"],
                r["IS_AUTOINCREMENT"]) for r in meta["getColumns jdbc_users"]]
    assert columns == [("id", "serial", "4", "10", "NO", "YES"), ("name", "varchar", "12", "50", "NO", "NO"),
                       ("email", "text", "12", "2147483647", "YES", "NO"), ("age", "int4", "4", "10", "YES", "NO"),
                       ("score", "numeric", "2", "10", "YES", "NO")]
    assert meta["getColumns jdbc_users"][0]["COLUMN_DEF"] == "nextval('jdbc_users_id_seq'::regclass)"
    assert meta["getColumns jdbc_users"][4]["DECIMAL_DIGITS"] == "2"

    assert [(r["COLUMN_NAME"], r["KEY_SEQ"], r["PK_NAME"]) for r in meta["getPrimaryKeys jdbc_users"]] == \
        [("id", "1", "jdbc_users_pkey")]
    assert meta["getImportedKeys jdbc_users"] == []
    imported = [(r["PKTABLE_NAME"], r["PKCOLUMN_NAME"], r["FKTABLE_NAME"], r["FKCOLUMN_NAME"], r["KEY_SEQ"],
                 r["UPDATE_RULE"], r["DELETE_RULE"], r["FK_NAME"], r["PK_NAME"])
                for r in meta["getImportedKeys jdbc_orders"]]
    assert imported == [("jdbc_users", "id", "jdbc_orders", "user_id", "1", "3", "0", "jdbc_orders_user_id_fkey",
                         "jdbc_users_pkey")]
    assert [r["FKTABLE_NAME"] for r in meta["getExportedKeys jdbc_users"]] == ["jdbc_orders"]
    assert [(r["PKTABLE_NAME"], r["FKTABLE_NAME"], r["FKCOLUMN_NAME"], r["DELETE_RULE"])
            for r in meta["getCrossReference"]] == [("jdbc_users", "jdbc_orders", "user_id", "0")]
    assert {r["PRIVILEGE"] for r in meta["getTablePrivileges jdbc_users"]} == \
        {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
    assert [(r["COLUMN_NAME"], r["TYPE_NAME"]) for r in meta["getBestRowIdentifier jdbc_users"]] == [("id", "int4")]
    assert [r["TABLE_CAT"] for r in meta["getCatalogs"]] == ["postgres", "template1"]
    type_names = {r["TYPE_NAME"] for r in meta["getTypeInfo"]}
    assert {"int4", "int8", "text", "varchar", "numeric", "timestamptz", "jsonb", "uuid", "_int4"} <= type_names
    assert [(r["FUNCTION_SCHEM"], r["FUNCTION_NAME"]) for r in meta["getFunctions"]] == [("pg_catalog", "upper")]
    assert {r["TYPE_NAME"] for r in meta["getUDTs"]} >= {"jdbc_users", "jdbc_orders"}   # the tables' row types
    indexes = sorted((r["INDEX_NAME"], r["NON_UNIQUE"], r["COLUMN_NAME"]) for r in meta["getIndexInfo jdbc_users"])
    assert indexes == [("jdbc_users_age_idx", "t", "age"), ("jdbc_users_email_key", "f", "email"),
                       ("jdbc_users_pkey", "f", "id")]

    assert [(r["column"], r["table"], r["nullable"], r["autoIncrement"], r["type"])
            for r in meta["resultSetMetaData jdbc_users"]] == [
        ("id", "jdbc_users", "0", "true", "serial"), ("name", "jdbc_users", "0", "false", "varchar"),
        ("email", "jdbc_users", "1", "false", "text"), ("age", "jdbc_users", "1", "false", "int4"),
        ("score", "jdbc_users", "1", "false", "numeric")]
    for i in range(10):
        assert meta[f"prepared {i}"] == [{"relname": "jdbc_users", "relkind": "r"}]
