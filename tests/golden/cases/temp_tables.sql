-- Temporary tables: CREATE TEMP TABLE (columns, defaults, constraints, serial, identity), AS
-- SELECT, ON COMMIT PRESERVE ROWS / DELETE ROWS / DROP, DML and joins, indexes, rollback and
-- savepoints, shadowing a permanent table, DROP, DISCARD TEMP, and the catalogs that show
-- them (the pg_temp_N schema's number differs between servers, so it is never printed).
CREATE TABLE perm (id int PRIMARY KEY, name text);
INSERT INTO perm VALUES (1, 'one'), (2, 'two'), (3, 'three');
CREATE TEMP TABLE tt (id serial PRIMARY KEY, label text NOT NULL DEFAULT 'none', qty int CHECK (qty >= 0), code text UNIQUE);
INSERT INTO tt (qty, code) VALUES (5, 'a'), (7, 'b');
INSERT INTO tt (label, qty, code) VALUES ('x', 1, 'c') RETURNING *;
SELECT * FROM tt ORDER BY id;
INSERT INTO tt (qty) VALUES (-1);
INSERT INTO tt (label) VALUES (NULL);
INSERT INTO tt (id, code) VALUES (1, 'z');
INSERT INTO tt (code) VALUES ('a');
UPDATE tt SET qty = qty * 10 WHERE code = 'b' RETURNING id, qty;
DELETE FROM tt WHERE code = 'c';
SELECT id, label, qty, code FROM tt ORDER BY id;
SELECT p.name, t.qty FROM perm p JOIN tt t ON t.id = p.id ORDER BY p.id;
SELECT count(*) FROM tt WHERE id IN (SELECT id FROM perm);
CREATE TEMPORARY TABLE ident (n int GENERATED ALWAYS AS IDENTITY, v text);
INSERT INTO ident (v) VALUES ('p'), ('q');
SELECT * FROM ident ORDER BY n;
CREATE LOCAL TEMP TABLE loc (a int);
INSERT INTO loc VALUES (1);
SELECT * FROM loc;
CREATE TEMP TABLE loc (a int);
CREATE TEMP TABLE IF NOT EXISTS loc (a int);
-- AS SELECT
CREATE TEMP TABLE copy_of AS SELECT id, name FROM perm WHERE id > 1;
SELECT * FROM copy_of ORDER BY id;
CREATE TEMP TABLE empty_copy AS SELECT * FROM perm WITH NO DATA;
SELECT count(*) FROM empty_copy;
CREATE TEMP TABLE named (x, y) AS VALUES (1, 'a'), (2, 'b');
SELECT * FROM named ORDER BY x;
-- indexes
CREATE INDEX tt_qty_idx ON tt (qty);
CREATE UNIQUE INDEX named_y ON named (y);
INSERT INTO named VALUES (3, 'a');
SELECT x FROM named WHERE y = 'b';
SELECT id FROM tt WHERE qty = 70;
-- transactions: rollback undoes rows, CREATE and DROP
BEGIN;
INSERT INTO tt (qty, code) VALUES (9, 'r');
SELECT count(*) FROM tt;
ROLLBACK;
SELECT count(*) FROM tt;
BEGIN;
CREATE TEMP TABLE gone (a int);
INSERT INTO gone VALUES (1);
SELECT * FROM gone;
ROLLBACK;
SELECT * FROM gone;
BEGIN;
DROP TABLE loc;
SELECT * FROM loc;
ROLLBACK;
SELECT * FROM loc;
BEGIN;
INSERT INTO loc VALUES (2);
SAVEPOINT s1;
INSERT INTO loc VALUES (3);
CREATE TEMP TABLE inner_t (b int);
ROLLBACK TO s1;
SELECT * FROM loc ORDER BY a;
INSERT INTO loc VALUES (4);
COMMIT;
SELECT * FROM loc ORDER BY a;
SELECT * FROM inner_t;
-- ON COMMIT
CREATE TEMP TABLE keep_rows (a int) ON COMMIT PRESERVE ROWS;
INSERT INTO keep_rows VALUES (1);
SELECT * FROM keep_rows;
CREATE TEMP TABLE del_rows (a int PRIMARY KEY) ON COMMIT DELETE ROWS;
INSERT INTO del_rows VALUES (1);
SELECT * FROM del_rows;
BEGIN;
INSERT INTO del_rows VALUES (2), (3);
SELECT count(*) FROM del_rows;
COMMIT;
SELECT count(*) FROM del_rows;
BEGIN;
CREATE TEMP TABLE dropped_at_commit (a int) ON COMMIT DROP;
INSERT INTO dropped_at_commit VALUES (1);
SELECT * FROM dropped_at_commit;
COMMIT;
SELECT * FROM dropped_at_commit;
CREATE TEMP TABLE dropped_as AS SELECT 1 AS a;
CREATE TABLE not_temp (a int) ON COMMIT DELETE ROWS;
-- a temporary table shadows a permanent one of the same name
CREATE TEMP TABLE perm (id int, note text);
INSERT INTO perm VALUES (10, 'temp');
SELECT * FROM perm;
SELECT * FROM public.perm ORDER BY id;
SELECT * FROM pg_temp.perm;
DROP TABLE perm;
SELECT * FROM perm ORDER BY id;
-- foreign keys between temporary and permanent tables
CREATE TEMP TABLE child (id int REFERENCES perm (id));
CREATE TABLE perm_child (id int REFERENCES tt (id));
CREATE TEMP TABLE tchild (id int REFERENCES tt (id));
INSERT INTO tchild VALUES (1);
INSERT INTO tchild VALUES (99);
CREATE TEMP TABLE pg_temp.explicit_temp (a int);
CREATE TEMP TABLE public.in_public (a int);
CREATE TABLE pg_temp.via_schema (a int);
INSERT INTO via_schema VALUES (1);
SELECT * FROM via_schema;
-- ALTER on a temporary table
ALTER TABLE loc ADD COLUMN b text DEFAULT 'd';
SELECT * FROM loc ORDER BY a;
ALTER TABLE loc RENAME TO loc2;
SELECT count(*) FROM loc2;
TRUNCATE loc2;
SELECT count(*) FROM loc2;
ALTER TABLE loc2 SET SCHEMA public;
-- catalogs
SELECT c.relname, c.relpersistence, c.relkind FROM pg_class c WHERE c.relnamespace = pg_my_temp_schema() ORDER BY c.relname;
SELECT relname, relpersistence FROM pg_class WHERE relname IN ('perm', 'perm_pkey') ORDER BY relname;
SELECT n.nspname LIKE 'pg_temp_%' AS is_temp FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'tt';
SELECT count(*) FROM pg_namespace WHERE oid = pg_my_temp_schema();
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema LIKE 'pg_temp%' ORDER BY table_name;
SELECT table_name, table_type FROM information_schema.tables WHERE table_name IN ('perm', 'tt') ORDER BY table_name;
SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute WHERE attrelid = 'tt'::regclass AND attnum > 0 ORDER BY attnum;
SELECT pg_table_is_visible('tt'::regclass);
SELECT 'pg_temp.tt'::regclass = 'tt'::regclass;
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'named' ORDER BY ordinal_position;
SELECT indexname FROM pg_indexes WHERE tablename = 'named';
SELECT current_schema();
-- a read-only transaction may write temporary tables, not create them
BEGIN READ ONLY;
INSERT INTO named VALUES (7, 'g');
SELECT count(*) FROM named;
INSERT INTO perm VALUES (9, 'nine');
ROLLBACK;
BEGIN READ ONLY;
CREATE TEMP TABLE ro (a int);
ROLLBACK;
-- a prepared statement follows the name to a new table
PREPARE q AS SELECT count(*) FROM named;
EXECUTE q;
DROP TABLE named;
CREATE TEMP TABLE named (z int);
EXECUTE q;
DEALLOCATE q;
-- temporary sequences; ON COMMIT DROP with AS
CREATE TEMP SEQUENCE tseq;
SELECT nextval('tseq'), nextval('tseq');
SELECT relpersistence FROM pg_class WHERE relname = 'tseq';
BEGIN;
CREATE TEMP TABLE cd ON COMMIT DROP AS SELECT 1 AS a;
SELECT * FROM cd;
COMMIT;
SELECT * FROM cd;
-- views on temporary tables
CREATE VIEW v_on_temp AS SELECT * FROM tt;
-- DISCARD TEMP drops them all
DISCARD TEMP;
SELECT * FROM tt;
SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema();
SELECT * FROM perm ORDER BY id;
CREATE TEMP TABLE after_discard (a int);
INSERT INTO after_discard VALUES (1);
DISCARD ALL;
SELECT * FROM after_discard;
SELECT current_schemas(false), current_schemas(true);
SET search_path = public, pg_temp;
CREATE TEMP TABLE perm (id int);
SELECT count(*) FROM perm;
SELECT current_schemas(false);
RESET search_path;
SELECT count(*) FROM perm;
