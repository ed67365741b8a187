-- LISTEN rewind_changes: one JSON notification per committed row change, in commit order.
CREATE TABLE acc (id int PRIMARY KEY, owner text, balance int);
LISTEN rewind_changes;
INSERT INTO acc VALUES (1, 'ann', 100), (2, 'bob', 50);
UPDATE acc SET balance = balance - 10 WHERE id = 1;
DELETE FROM acc WHERE id = 2;
-- within a transaction: nothing until COMMIT, then every change of it, in order
BEGIN;
INSERT INTO acc VALUES (3, 'cy', 0);
UPDATE acc SET owner = 'Cy' WHERE id = 3;
UPDATE acc SET id = 30 WHERE id = 3;
COMMIT;
-- rolled back work, and statements that change nothing, send nothing
BEGIN;
DELETE FROM acc;
ROLLBACK;
UPDATE acc SET balance = 0 WHERE id = 999;
CREATE TABLE other (k text PRIMARY KEY, v jsonb);
-- every table, any column type; a table without a primary key is keyed by row identity
INSERT INTO other VALUES ('a', '{"nested": [1, 2]}');
CREATE TABLE bag (x int, note text);
INSERT INTO bag VALUES (1, NULL);
TRUNCATE acc;
-- a large row is abbreviated to stay within the 8000-byte payload limit
INSERT INTO other VALUES ('big', jsonb_build_object('text', repeat('x', 9000)));
SELECT lsn, table_name, op FROM rewind.changes WHERE lsn > 1 ORDER BY lsn, key::text;
-- in commit order, each transaction's together: its row changes, then its NOTIFYs
LISTEN mine;
BEGIN;
NOTIFY mine, 'before the row';
INSERT INTO bag VALUES (2, 'two');
COMMIT;
UNLISTEN rewind_changes;
INSERT INTO bag VALUES (3, 'three');
