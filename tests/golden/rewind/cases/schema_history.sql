-- Schema as of a point: a past read binds against the catalog of that moment, through real DDL.
CREATE TABLE s (id int PRIMARY KEY, a text);
INSERT INTO s VALUES (1, 'x'), (2, 'y');
ALTER TABLE s ADD COLUMN extra int DEFAULT 7;
INSERT INTO s VALUES (3, 'z', 9);
ALTER TABLE s RENAME COLUMN a TO label;
ALTER TABLE s DROP COLUMN extra;
ALTER TABLE s RENAME TO s2;
UPDATE s2 SET label = 'w' WHERE id = 1;
SELECT lsn, events FROM rewind.transactions ORDER BY lsn;
-- a column added later is unknown before it was added, and filled after
SELECT * FROM s FOR SYSTEM_TIME AS OF TRANSACTION 2 ORDER BY 1;
SELECT extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 2;
SELECT * FROM s FOR SYSTEM_TIME AS OF TRANSACTION 3 ORDER BY 1;
SELECT * FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4 ORDER BY 1;
SELECT id, a, extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4 WHERE extra > 8;
-- a renamed column answers to its old name at old points only
SELECT id, label, extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 5 ORDER BY 1;
SELECT a FROM s FOR SYSTEM_TIME AS OF TRANSACTION 5;
SELECT label FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4;
-- a dropped column comes back at earlier points
SELECT * FROM s FOR SYSTEM_TIME AS OF TRANSACTION 6 ORDER BY 1;
SELECT extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 6;
SELECT extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 5 ORDER BY 1;
-- a renamed table answers to its old name at old points, and to its current name wherever it existed
SELECT * FROM s FOR SYSTEM_TIME AS OF TRANSACTION 7;
SELECT * FROM s2 FOR SYSTEM_TIME AS OF TRANSACTION 7 ORDER BY 1;
SELECT * FROM s2 FOR SYSTEM_TIME AS OF TRANSACTION 6 ORDER BY 1;
SELECT * FROM s2 FOR SYSTEM_TIME AS OF TRANSACTION 1;
SELECT * FROM s;
SELECT * FROM s2 ORDER BY 1;
-- rows of different schema versions line up in one query
SELECT o.id, o.a, o.extra, n.label FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4 o JOIN s2 n ON n.id = o.id ORDER BY 1;
-- history is shaped by the schema of the range's end
SELECT id, label, _tx, _op FROM s2 FOR SYSTEM_TIME ALL ORDER BY _tx, id;
SELECT id, extra, _op FROM s FOR SYSTEM_TIME BETWEEN TRANSACTION 3 AND TRANSACTION 4 ORDER BY _tx, id;
-- the change log and diffs span the schema changes
SELECT lsn, table_name, op, before, after FROM rewind.changes ORDER BY lsn, key::text;
SELECT change, key, before, after FROM rewind.diff('s2', 2, 8) ORDER BY key::text;
SELECT change, key FROM rewind.diff('s', 2, 4) ORDER BY key::text;
-- the session can stand at an old schema too
SET rewind.as_of = 'tx:4';
SELECT column_name FROM information_schema.columns WHERE table_name = 's' ORDER BY ordinal_position;
SELECT attname FROM pg_attribute WHERE attrelid = 's'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT * FROM s2;
RESET rewind.as_of;
SELECT column_name FROM information_schema.columns WHERE table_name = 's2' ORDER BY ordinal_position;
-- a column type change: old points keep the old type
CREATE TABLE t (id int PRIMARY KEY, n int);
INSERT INTO t VALUES (1, 10);
ALTER TABLE t ALTER COLUMN n TYPE text;
UPDATE t SET n = n || '!';
SELECT n, pg_typeof(n) FROM t FOR SYSTEM_TIME AS OF TRANSACTION 10;
SELECT n, pg_typeof(n) FROM t FOR SYSTEM_TIME AS OF TRANSACTION 11;
SELECT n, pg_typeof(n) FROM t;
-- restoring deleted rows and dropped tables in place: CREATE TABLE AS / INSERT ... SELECT from the past
DELETE FROM s2 WHERE id = 2;
DROP TABLE t;
INSERT INTO s2 SELECT id, label FROM s2 FOR SYSTEM_TIME AS OF TRANSACTION 9 WHERE id = 2;
SELECT * FROM s2 ORDER BY 1;
CREATE TABLE t AS SELECT * FROM t FOR SYSTEM_TIME AS OF TRANSACTION 13;
SELECT * FROM t;
CREATE TABLE s_then AS SELECT id, a, extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4;
SELECT * FROM s_then ORDER BY id;
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 's_then' ORDER BY ordinal_position;
CREATE TABLE s_first AS SELECT * FROM s FOR SYSTEM_TIME AS OF (SELECT committed_at FROM rewind.transactions WHERE lsn = 2);
SELECT * FROM s_first ORDER BY id;
-- a view may read the past, and keeps reading it when the table is renamed
CREATE TABLE r (x int);
INSERT INTO r VALUES (1);
CREATE VIEW r_then AS SELECT x FROM r FOR SYSTEM_TIME AS OF TRANSACTION 20;
ALTER TABLE r RENAME TO r_renamed;
INSERT INTO r_renamed VALUES (2);
SELECT * FROM r_then;
SELECT pg_get_viewdef('r_then'::regclass, true);
CREATE VIEW s_at_4 AS SELECT id, extra FROM s FOR SYSTEM_TIME AS OF TRANSACTION 4;
SELECT * FROM s_at_4 ORDER BY id;
CREATE VIEW s2_history AS SELECT id, label, _op FROM s2 FOR SYSTEM_TIME ALL;
SELECT * FROM s2_history ORDER BY id, _op;
SELECT pg_get_viewdef('s_at_4'::regclass, true);
SELECT pg_get_viewdef('s2_history'::regclass, true);
CREATE VIEW recent AS SELECT id, label FROM s2 FOR SYSTEM_TIME FROM now() - interval '1 day' TO now() r WHERE r.id > 1;
SELECT pg_get_viewdef('recent'::regclass, true);
SELECT * FROM recent ORDER BY id;
-- a view of the past keeps the columns it had, whatever the table became
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 's_at_4'::regclass AND attnum > 0 ORDER BY attnum;
SELECT relname, relnatts FROM pg_class WHERE relname IN ('s_at_4', 's2_history', 'r_then', 'recent') ORDER BY 1;
-- a point no query could read fails CREATE VIEW (and CREATE TABLE AS ... WITH NO DATA) as it fails the query
SELECT x FROM r_renamed FOR SYSTEM_TIME AS OF TRANSACTION 1000000;
CREATE VIEW r_later AS SELECT x FROM r_renamed FOR SYSTEM_TIME AS OF TRANSACTION 1000000;
CREATE VIEW r_null AS SELECT x FROM r_renamed FOR SYSTEM_TIME AS OF NULL;
CREATE TABLE r_later AS SELECT x FROM r_renamed FOR SYSTEM_TIME AS OF TRANSACTION 1000000 WITH NO DATA;
CREATE VIEW r_future AS SELECT x FROM r_renamed FOR SYSTEM_TIME AS OF now() + interval '1 day';
SELECT * FROM r_future ORDER BY x;
SELECT relname FROM pg_class WHERE relname IN ('r_later', 'r_null', 'r_future') ORDER BY 1;
