"""Catalog queries that BI and admin tools send on connect and while browsing a schema, as
captured from their public source (DBeaver's PostgreSQL plugin, Metabase's postgres driver,
Grafana's PostgreSQL data source, pgAdmin 4). psql 15's own catalog queries are replayed by
the psql binary itself (tests/golden/psql: byte-for-byte output for the common meta-commands,
success for all the others).

Each `Probe` is one statement as the tool sends it (placeholders `%(name)s` stand for the
values the tool binds: the test supplies the oid of the sample table `bi_orders`, of the
public schema, and names), with the shape a tool relies on: the number of columns and the
least number of rows it expects for the sample schema the test creates.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Probe:
    tool: str
    purpose: str
    sql: str
    columns: int | None = None       # expected number of result columns (None: a command)
    min_rows: int = 0


SAMPLE_SCHEMA = [
    "CREATE TABLE bi_customers (id serial PRIMARY KEY, name varchar(80) NOT NULL, email text UNIQUE, "
    "created timestamptz DEFAULT now())",
    "CREATE TABLE bi_orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id int NOT NULL "
    "REFERENCES bi_customers (id), total numeric(12,2) CHECK (total >= 0), status text DEFAULT 'new', placed date)",
    "CREATE VIEW bi_paid AS SELECT id, total FROM bi_orders WHERE status = 'paid'",
    "COMMENT ON TABLE bi_orders IS 'one row per order'",
    "CREATE INDEX bi_orders_customer_idx ON bi_orders (customer_id)",
    "INSERT INTO bi_customers (name, email) VALUES ('Ada', 'ada@example.com'), ('Linus', 'linus@example.com')",
    "INSERT INTO bi_orders (customer_id, total, status, placed) VALUES (1, 10.5, 'paid', '2024-01-02')",
]

DBEAVER = [
    Probe("dbeaver", "bootstrap", "SELECT current_database()", 1, 1),
    Probe("dbeaver", "context", "SELECT current_schema(),session_user", 2, 1),
    Probe("dbeaver", "search path", "SHOW search_path", 1, 1),
    Probe("dbeaver", "version", "SELECT version()", 1, 1),
    Probe("dbeaver", "databases",
          "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate "
          "OR db.datname =%(database)s ORDER BY db.datname", 17, 1),
    Probe("dbeaver", "database info", "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=%(database)s",
          17, 1),
    Probe("dbeaver", "search path setting", "SELECT reset_val FROM pg_settings WHERE name = 'search_path'", 1, 1),
    Probe("dbeaver", "typcategory probe",
          "SELECT 1 FROM pg_catalog.pg_attribute s JOIN pg_catalog.pg_class p ON s.attrelid = p.oid "
          "JOIN pg_catalog.pg_namespace n ON p.relnamespace = n.oid WHERE p.relname = 'pg_type' "
          "AND n.nspname = 'pg_catalog' AND s.attname = 'typcategory'", 1, 1),
    Probe("dbeaver", "keywords", "select string_agg(word, ',') from pg_catalog.pg_get_keywords()", 1, 1),
    Probe("dbeaver", "schemas",
          "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 "
          "AND d.classoid='pg_namespace'::regclass\n ORDER BY nspname", 6, 3),
    Probe("dbeaver", "data types",
          "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, "
          "d.description\nFROM pg_catalog.pg_type t\nLEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem \n"
          "LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n"
          "WHERE t.typname IS NOT NULL\nAND (c.relkind IS NULL OR c.relkind = 'c') "
          "AND (et.typcategory IS NULL OR et.typcategory <> 'C')", 36, 40),
    Probe("dbeaver", "tables",
          "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  "
          "pg_catalog.pg_get_partkeydef(c.oid) as partition_key \nFROM pg_catalog.pg_class c\n"
          "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
          "AND d.classoid='pg_class'::regclass\nWHERE c.relnamespace=%(public_oid)s AND c.relkind not in ('i','I','c')",
          37, 4),
    Probe("dbeaver", "columns",
          "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,"
          "dep.objid\nFROM pg_catalog.pg_attribute a\nINNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n"
          "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\n"
          "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n"
          "LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' "
          "and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\n"
          "WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=%(table_oid)s\nORDER BY a.attnum",
          30, 5),
    Probe("dbeaver", "constraints",
          "SELECT c.oid,c.*,t.relname as tabrelname,case when c.contype='c' then "
          "substr(pg_get_constraintdef(c.oid), 7) else null end consrc_copy\n"
          "FROM pg_catalog.pg_constraint c\nINNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid\n"
          "WHERE t.relnamespace=%(public_oid)s AND c.contype<>'f' AND t.relkind <> 'c' AND c.conrelid=%(table_oid)s\n"
          "ORDER BY c.oid", 29, 2),
    Probe("dbeaver", "indexes",
          "SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,"
          "dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,"
          "pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,"
          "pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size\n"
          "FROM pg_catalog.pg_index i\nINNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid\n"
          "INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid\n"
          "LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid\n"
          "WHERE  i.indrelid=%(table_oid)s ORDER BY tc.relname, c.relname", 31, 2),
    Probe("dbeaver", "roles", "SELECT a.oid,a.* FROM pg_catalog.pg_roles a\nORDER BY a.rolname", 14, 1),
    Probe("dbeaver", "access methods", "SELECT am.oid,am.* FROM pg_catalog.pg_am am ORDER BY am.oid", 5, 2),
    Probe("dbeaver", "collations",
          "SELECT c.oid,c.* FROM pg_catalog.pg_collation c \nORDER BY c.oid", 12, 1),
    Probe("dbeaver", "languages", "SELECT l.oid,l.* FROM pg_catalog.pg_language l \nORDER BY l.oid", 10, 3),
    Probe("dbeaver", "tablespaces", "SELECT t.oid,t.* FROM pg_catalog.pg_tablespace t \nORDER BY t.oid", 6, 1),
    Probe("dbeaver", "extensions",
          "SELECT e.oid,e.*,n.nspname as schema_name FROM pg_catalog.pg_extension e "
          "join pg_catalog.pg_namespace n on n.oid=e.extnamespace\nORDER BY e.oid", 10),
    Probe("dbeaver", "available extensions",
          "SELECT name,default_version,installed_version,comment FROM pg_catalog.pg_available_extensions "
          "ORDER BY name", 4),
    Probe("dbeaver", "event triggers", "SELECT e.oid,e.* FROM pg_catalog.pg_event_trigger e ORDER BY e.oid", 8),
    Probe("dbeaver", "database size",
          "SELECT pg_catalog.pg_database_size(db.oid) FROM pg_catalog.pg_database db WHERE datname=%(database)s", 1, 1),
    Probe("dbeaver", "table size", "SELECT pg_catalog.pg_total_relation_size(%(table_oid)s)", 1, 1),
    Probe("dbeaver", "sessions",
          "SELECT sa.* FROM pg_catalog.pg_stat_activity sa", 22, 1),
    Probe("dbeaver", "settings", "SELECT * FROM pg_catalog.pg_settings", 17, 10),
]

METABASE = [
    Probe("metabase", "float digits", "SET extra_float_digits = 3"),
    Probe("metabase", "isolation", "SHOW TRANSACTION ISOLATION LEVEL", 1, 1),
    Probe("metabase", "time zone", "show timezone", 1, 1),
    Probe("metabase", "version", "SELECT version()", 1, 1),
    Probe("metabase", "table privileges", """
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t""", 7, 2),
    Probe("metabase", "syncable tables", """
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name",
  CASE "c"."relkind" WHEN 'p' THEN 'TABLE' WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
  WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description",
  "stat"."n_live_tup" AS "estimated_row_count"
FROM "pg_catalog"."pg_class" AS "c"
INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid"
LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0)
  AND ("d"."classoid" = 'pg_class'::regclass)
LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname")
WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema')
  AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public'))
ORDER BY "type" ASC, "schema" ASC, "name" ASC""", 5, 2),
    Probe("metabase", "fields", """
SELECT "c"."column_name" AS "name",
  CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%%I', "c"."udt_name")
       ELSE FORMAT('%%I.%%I', "c"."udt_schema", "c"."udt_name") END AS "database-type",
  "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema",
  "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?",
  COL_DESCRIPTION(CAST(CAST(FORMAT('%%I.%%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment",
  (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO')
    AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%%nextval(%%')) OR ("is_identity" <> 'NO')) AS "database-required",
  (("column_default" IS NOT NULL) AND ("column_default" LIKE '%%nextval(%%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment"
FROM "information_schema"."columns" AS "c"
LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name"
           FROM "information_schema"."table_constraints" AS "tc"
           INNER JOIN "information_schema"."key_column_usage" AS "kc"
             ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema")
             AND ("tc"."table_name" = "kc"."table_name")
           WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk"
  ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name")
  AND ("c"."column_name" = "pk"."column_name")
WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('public'))
ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC""", 9, 9),
    Probe("metabase", "foreign keys", """
SELECT fk_ns.nspname AS "fk-table-schema", fk_table.relname AS "fk-table-name", fk_column.attname AS "fk-column-name",
       pk_ns.nspname AS "pk-table-schema", pk_table.relname AS "pk-table-name", pk_column.attname AS "pk-column-name"
FROM pg_constraint c
JOIN pg_class fk_table ON c.conrelid = fk_table.oid
JOIN pg_namespace fk_ns ON c.connamespace = fk_ns.oid
JOIN pg_attribute fk_column ON c.conrelid = fk_column.attrelid
JOIN pg_class pk_table ON c.confrelid = pk_table.oid
JOIN pg_namespace pk_ns ON pk_table.relnamespace = pk_ns.oid
JOIN pg_attribute pk_column ON c.confrelid = pk_column.attrelid
WHERE c.contype = 'f' AND fk_column.attnum = ANY(c.conkey) AND pk_column.attnum = ANY(c.confkey)
  AND fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND fk_ns.nspname IN ('public')
ORDER BY 1, 2, 3""", 6, 1),
    Probe("metabase", "enum types",
          "SELECT DISTINCT t.typname FROM pg_enum e LEFT JOIN pg_type t ON t.oid = e.enumtypid", 1),
    Probe("metabase", "expand array", "SELECT (information_schema._pg_expandarray(ARRAY['a','b'])).n", 1, 2),
]

GRAFANA = [
    Probe("grafana", "version", "SELECT current_setting('server_version_num')::int/100 as version", 1, 1),
    Probe("grafana", "timescaledb", "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'", 1),
    Probe("grafana", "schemas",
          "select quote_ident(schema_name) as schema_name from information_schema.schemata "
          "where schema_name not in ('information_schema', 'pg_catalog', 'pg_toast') "
          "and schema_name not like 'pg_temp%%' and schema_name not like 'pg_toast_temp%%' order by schema_name",
          1, 1),
    Probe("grafana", "tables", """
select quote_ident(table_name) as "table" from information_schema.tables
    where quote_ident(table_schema) not in ('information_schema',
                             'monitor',
                             'pg_catalog',
                             'pg_internal') and table_type = 'BASE TABLE' and
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )""", 1, 2),
    Probe("grafana", "columns",
          "select quote_ident(column_name) as column, data_type as type from information_schema.columns "
          "where quote_ident(table_name) = 'bi_orders' order by ordinal_position", 2, 5),
]

PGADMIN = [
    Probe("pgadmin", "session setup",
          "SET DateStyle=ISO; SET client_min_messages=notice; "
          "SELECT set_config('bytea_output','hex',false) FROM pg_settings WHERE name = 'bytea_output'; "
          "SET client_encoding='UTF8';"),
    Probe("pgadmin", "database",
          "SELECT db.oid as did, db.datname, db.datallowconn, pg_encoding_to_char(db.encoding) AS serverencoding, "
          "has_database_privilege(db.oid, 'CREATE') as cancreate, datistemplate "
          "FROM pg_catalog.pg_database db WHERE db.datname = current_database()", 6, 1),
    Probe("pgadmin", "role", """
SELECT
    roles.oid as id, roles.rolname as name,
    roles.rolsuper as is_superuser,
    CASE WHEN roles.rolsuper THEN true ELSE roles.rolcreaterole END as
    can_create_role,
    CASE WHEN roles.rolsuper THEN true
    ELSE roles.rolcreatedb END as can_create_db,
    CASE WHEN 'pg_signal_backend'=ANY(ARRAY(WITH RECURSIVE cte AS (
    SELECT pg_roles.oid,pg_roles.rolname FROM pg_roles
        WHERE pg_roles.oid = roles.oid
    UNION ALL
    SELECT m.roleid,pgr.rolname FROM cte cte_1
        JOIN pg_auth_members m ON m.member = cte_1.oid
        JOIN pg_roles pgr ON pgr.oid = m.roleid)
    SELECT rolname  FROM cte)) THEN True
    ELSE False END as can_signal_backend
FROM
    pg_catalog.pg_roles as roles
WHERE
    rolname = current_user""", 6, 1),
    Probe("pgadmin", "recovery", """
SELECT CASE WHEN usesuper
       THEN pg_catalog.pg_is_in_recovery()
       ELSE NULL
       END as inrecovery,
       CASE WHEN usesuper AND pg_catalog.pg_is_in_recovery()
       THEN pg_is_wal_replay_paused()
       ELSE NULL
       END as isreplaypaused
FROM pg_catalog.pg_user WHERE usename=current_user""", 2, 1),
    Probe("pgadmin", "schemas", """
SELECT
    nsp.oid,
    nsp.nspname as name,
    pg_catalog.has_schema_privilege(nsp.oid, 'CREATE') as can_create,
    pg_catalog.has_schema_privilege(nsp.oid, 'USAGE') as has_usage,
    des.description
FROM
    pg_catalog.pg_namespace nsp
    LEFT OUTER JOIN pg_catalog.pg_description des ON
        (des.objoid=nsp.oid AND des.classoid='pg_namespace'::regclass)
WHERE
    NOT (
(nsp.nspname = 'pg_catalog' AND EXISTS
        (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'pg_class' AND
            relnamespace = nsp.oid LIMIT 1)) OR
    (nsp.nspname = 'pgagent' AND EXISTS
        (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'pga_job' AND
            relnamespace = nsp.oid LIMIT 1)) OR
    (nsp.nspname = 'information_schema' AND EXISTS
        (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'tables' AND
            relnamespace = nsp.oid LIMIT 1))
    ) AND
    nsp.nspname NOT LIKE 'pg!_%%' escape '!'
ORDER BY nspname""", 5, 1),
    Probe("pgadmin", "tables", """
SELECT rel.oid, rel.relname AS name,
    (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid=rel.oid AND tgisinternal = FALSE) AS triggercount,
    (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid=rel.oid AND tgisinternal = FALSE AND tgenabled = 'O') AS has_enable_triggers,
    (CASE WHEN rel.relkind = 'p' THEN true ELSE false END) AS is_partitioned,
    (SELECT count(1) FROM pg_catalog.pg_inherits WHERE inhrelid=rel.oid LIMIT 1) as is_inherits,
    (SELECT count(1) FROM pg_catalog.pg_inherits WHERE inhparent=rel.oid LIMIT 1) as is_inherited,
    des.description
FROM pg_catalog.pg_class rel
    LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid=rel.oid AND des.objsubid=0 AND des.classoid='pg_class'::regclass)
    WHERE rel.relkind IN ('r','s','t','p') AND rel.relnamespace = %(public_oid)s
    AND NOT rel.relispartition
    ORDER BY rel.relname""", 8, 2),
    Probe("pgadmin", "sequences", """
SELECT cl.oid as oid, relname as name, relnamespace as schema, description as comment
FROM pg_catalog.pg_class cl
LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid=cl.oid
    AND des.classoid='pg_class'::regclass)
WHERE
    relkind = 'S'
    AND relnamespace = %(public_oid)s::oid
ORDER BY relname""", 4, 2),
    Probe("pgadmin", "sequence properties", """
SELECT
    cl.oid as oid,
    cl.relname as name,
    nsp.nspname as schema,
    pg_catalog.pg_get_userbyid(cl.relowner) AS seqowner,
    description as comment,
    pg_catalog.array_to_string(cl.relacl::text[], ', ') as acl,
    (SELECT pg_catalog.array_agg(provider || '=' || label) FROM pg_catalog.pg_seclabels sl1 WHERE sl1.objoid=cl.oid) AS securities,
    depcl.relname AS owned_table,
    att.attname AS owned_column,
    (CASE WHEN cl.relpersistence = 'u' THEN true ELSE false END) AS relpersistence
FROM pg_catalog.pg_class cl
    LEFT OUTER JOIN pg_catalog.pg_namespace nsp ON cl.relnamespace = nsp.oid
    LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid=cl.oid
        AND des.classoid='pg_class'::regclass)
    LEFT OUTER JOIN pg_catalog.pg_depend dep ON (dep.objid=cl.oid and deptype = 'a')
    LEFT JOIN pg_catalog.pg_attribute att ON dep.refobjid=att.attrelid AND dep.refobjsubid=att.attnum
    LEFT JOIN pg_catalog.pg_class depcl ON depcl.oid = att.attrelid
WHERE cl.relkind = 'S' AND cl.relnamespace  = %(public_oid)s::oid
ORDER BY cl.relname""", 10, 2),
    Probe("pgadmin", "views", """
SELECT c.oid, c.relname AS name, description AS comment
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid=c.oid and des.objsubid=0 AND des.classoid='pg_class'::regclass)
WHERE ((c.relhasrules AND (EXISTS (
        SELECT r.rulename FROM pg_catalog.pg_rewrite r
        WHERE ((r.ev_class = c.oid) AND (pg_catalog.bpchar(r.ev_type) = '1'::bpchar)) ))
    ) AND (c.relkind = 'v'::char))
    AND c.relnamespace = %(public_oid)s::oid
ORDER BY c.relname""", 3, 1),
    Probe("pgadmin", "view definition",
          "SELECT pg_catalog.pg_get_viewdef(c.oid, true) AS definition FROM pg_catalog.pg_class c "
          "WHERE c.relname = 'bi_paid' AND c.relkind = 'v'", 1, 1),
    Probe("pgadmin", "columns", """
SELECT DISTINCT att.attname as name, att.attnum as OID, pg_catalog.format_type(ty.oid,NULL) AS datatype,
    pg_catalog.format_type(ty.oid,att.atttypmod) AS displaytypname, att.attnotnull as not_null,
    att.atthasdef as has_default_val, des.description, pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS defval,
    att.attidentity, (SELECT count(1) FROM pg_catalog.pg_type t2 WHERE t2.typname=ty.typname) > 1 AS isdup,
    CASE WHEN att.attnum = ANY(ind.indkey) THEN true ELSE false END AS is_pk
FROM pg_catalog.pg_attribute att
    JOIN pg_catalog.pg_type ty ON ty.oid=atttypid
    LEFT OUTER JOIN pg_catalog.pg_attrdef def ON adrelid=att.attrelid AND adnum=att.attnum
    LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid=att.attrelid AND des.objsubid=att.attnum
        AND des.classoid='pg_class'::regclass)
    LEFT OUTER JOIN pg_catalog.pg_index ind ON (ind.indrelid = att.attrelid AND ind.indisprimary)
WHERE att.attrelid = %(table_oid)s::oid
    AND att.attnum > 0
    AND att.attisdropped IS FALSE
ORDER BY att.attnum""", 11, 5),
    Probe("pgadmin", "functions", """
SELECT pr.oid,
    CASE WHEN pg_catalog.pg_get_function_identity_arguments(pr.oid) <> ''
    THEN pr.proname || '(' || pg_catalog.pg_get_function_identity_arguments(pr.oid) || ')'
    ELSE pr.proname::text END AS name,
    lanname, pg_catalog.pg_get_userbyid(proowner) AS funcowner, description
FROM pg_catalog.pg_proc pr
JOIN pg_catalog.pg_type typ ON typ.oid=prorettype
JOIN pg_catalog.pg_language lng ON lng.oid=prolang
LEFT OUTER JOIN pg_catalog.pg_description des ON (des.objoid=pr.oid AND des.classoid='pg_proc'::regclass)
WHERE pr.prokind IN ('f', 'w') AND typname NOT IN ('trigger', 'event_trigger')
    AND pronamespace = 11::oid
    AND pr.proname = 'upper'
ORDER BY proname""", 5, 1),
    Probe("pgadmin", "server version", "SELECT version()", 1, 1),
    Probe("pgadmin", "stats", "SELECT numbackends AS \"Backends\" FROM pg_catalog.pg_stat_database "
          "WHERE datname = current_database()", 1, 1),
]

PROBES = DBEAVER + METABASE + GRAFANA + PGADMIN
