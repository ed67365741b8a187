-- information_schema as BI tools read it: schemata, tables, columns with their type facts,
-- constraints and key columns, sequences. (NOT NULL constraints are named after oids, which
-- differ between servers, so those rows are counted, not listed.)
CREATE TABLE users (id serial PRIMARY KEY, name varchar(50) NOT NULL, email text UNIQUE, age int CHECK (age > 0), created timestamptz DEFAULT now(), score numeric(10,2) DEFAULT 0);
CREATE TABLE items (sku char(8), qty int2 DEFAULT 1, price numeric CHECK (price >= 0), weight real, ratio float8, big bigint, day date, at timestamp(3), t time, iv interval, flag boolean, doc jsonb, raw bytea, uid uuid, id bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (sku, qty), UNIQUE (uid));
SELECT catalog_name = current_database(), schema_name, schema_owner FROM information_schema.schemata ORDER BY schema_name;
SELECT table_schema, table_name, table_type, is_insertable_into, is_typed FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
SELECT table_name, column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length, character_octet_length, numeric_precision, numeric_precision_radix, numeric_scale, datetime_precision, udt_schema, udt_name, dtd_identifier, is_identity, identity_generation, identity_start, identity_increment, identity_maximum, identity_minimum, identity_cycle, is_generated, is_updatable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position;
SELECT constraint_schema, constraint_name, table_name, constraint_type, is_deferrable, initially_deferred, enforced, nulls_distinct FROM information_schema.table_constraints WHERE table_schema = 'public' AND constraint_name NOT LIKE '%not_null' ORDER BY table_name, constraint_name;
SELECT table_name, count(*) FROM information_schema.table_constraints WHERE table_schema = 'public' AND constraint_name LIKE '%not_null' GROUP BY table_name ORDER BY table_name;
SELECT constraint_name, check_clause FROM information_schema.check_constraints WHERE constraint_schema = 'public' AND constraint_name NOT LIKE '%not_null' ORDER BY constraint_name;
SELECT constraint_name, table_name, column_name, ordinal_position, position_in_unique_constraint FROM information_schema.key_column_usage WHERE table_schema = 'public' ORDER BY constraint_name, ordinal_position;
SELECT table_name, column_name, constraint_name FROM information_schema.constraint_column_usage WHERE table_schema = 'public' ORDER BY constraint_name, column_name;
SELECT sequence_schema, sequence_name, data_type, numeric_precision, numeric_precision_radix, numeric_scale, start_value, minimum_value, maximum_value, increment, cycle_option FROM information_schema.sequences ORDER BY sequence_name;
SELECT c.column_name, c.data_type, pk.constraint_type FROM information_schema.columns c LEFT JOIN (SELECT kc.table_name, kc.column_name, tc.constraint_type FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kc ON kc.constraint_name = tc.constraint_name AND kc.table_schema = tc.table_schema AND kc.table_name = tc.table_name WHERE tc.constraint_type = 'PRIMARY KEY') pk ON pk.table_name = c.table_name AND pk.column_name = c.column_name WHERE c.table_name = 'items' ORDER BY c.ordinal_position;
SELECT count(*) > 500 FROM information_schema.columns WHERE table_schema = 'pg_catalog';
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'information_schema' AND table_name IN ('tables', 'columns', 'schemata', 'sql_features') ORDER BY 1;
SELECT grantee, table_name, privilege_type, is_grantable FROM information_schema.table_privileges WHERE table_schema = 'public' ORDER BY table_name, privilege_type;
SELECT character_set_name, character_repertoire, form_of_use FROM information_schema.character_sets;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id int REFERENCES users(id) ON DELETE CASCADE, total numeric);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE SCHEMA app;
CREATE TABLE app.things (id int PRIMARY KEY, label text);
SELECT constraint_name, unique_constraint_schema, unique_constraint_name, match_option, update_rule, delete_rule FROM information_schema.referential_constraints ORDER BY 1;
SELECT constraint_name, table_name, column_name, ordinal_position, position_in_unique_constraint FROM information_schema.key_column_usage WHERE table_name = 'orders' ORDER BY 1, 4;
SELECT table_name, column_name, constraint_name FROM information_schema.constraint_column_usage WHERE constraint_name LIKE 'orders%' ORDER BY 3, 1;
SELECT table_schema, table_name, view_definition, check_option, is_updatable, is_insertable_into FROM information_schema.views WHERE table_schema = 'public';
SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema IN ('public', 'app') ORDER BY 1, 2;
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_name = 'big_orders' ORDER BY ordinal_position;
SELECT schema_name, schema_owner FROM information_schema.schemata WHERE schema_name IN ('app', 'public') ORDER BY 1;
