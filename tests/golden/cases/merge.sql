-- MERGE (PostgreSQL 15): sources, WHEN clauses in order, defaults, constraints, errors.
CREATE TABLE stock (item text PRIMARY KEY, qty int NOT NULL DEFAULT 0 CHECK (qty >= 0), note text DEFAULT 'new', updated int);
INSERT INTO stock VALUES ('apple', 10, 'old', 0), ('pear', 5, 'old', 0), ('plum', 0, 'old', 0);
CREATE TABLE delivery (item text, qty int);
INSERT INTO delivery VALUES ('apple', 5), ('kiwi', 7), ('plum', -3), ('fig', 0);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty, updated = 1 WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (d.item, d.qty);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED AND s.qty + d.qty < 0 THEN DELETE WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty, updated = 1 WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (d.item, d.qty);
SELECT * FROM stock ORDER BY item;
MERGE INTO stock USING delivery ON stock.item = delivery.item WHEN MATCHED THEN DO NOTHING;
MERGE INTO stock AS s USING (SELECT 'pear' AS item, 2 AS qty) AS d ON s.item = d.item WHEN MATCHED AND d.qty > 5 THEN UPDATE SET qty = 0 WHEN MATCHED AND d.qty > 1 THEN UPDATE SET qty = s.qty * d.qty, note = 'doubled' WHEN MATCHED THEN DELETE;
SELECT * FROM stock WHERE item = 'pear';
MERGE INTO stock s USING (VALUES ('cherry', 3), ('grape', NULL)) AS v(item, qty) ON s.item = v.item WHEN NOT MATCHED AND v.qty IS NULL THEN DO NOTHING WHEN NOT MATCHED THEN INSERT VALUES (v.item, v.qty);
SELECT * FROM stock WHERE item IN ('cherry', 'grape') ORDER BY item;
MERGE INTO stock s USING (VALUES ('date')) AS v(item) ON s.item = v.item WHEN NOT MATCHED THEN INSERT DEFAULT VALUES;
MERGE INTO stock s USING (VALUES ('date')) AS v(item) ON s.item = v.item WHEN NOT MATCHED THEN INSERT (item) VALUES (v.item);
MERGE INTO stock s USING (VALUES ('elder', 4)) AS v(item, qty) ON s.item = v.item WHEN NOT MATCHED THEN INSERT (item, qty, note) VALUES (v.item, v.qty, DEFAULT);
SELECT * FROM stock WHERE item IN ('date', 'elder') ORDER BY item;
MERGE INTO stock s USING (VALUES ('apple', 1)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN UPDATE SET note = DEFAULT, qty = v.qty;
SELECT * FROM stock WHERE item = 'apple';
-- conditions that match nothing, and an empty source
MERGE INTO stock s USING delivery d ON false WHEN MATCHED THEN DELETE;
MERGE INTO stock s USING (SELECT * FROM delivery WHERE false) d ON s.item = d.item WHEN NOT MATCHED THEN INSERT VALUES (d.item, d.qty);
MERGE INTO stock s USING delivery d ON s.item = d.item AND d.qty > 100 WHEN NOT MATCHED AND d.item = 'nothing' THEN INSERT VALUES (d.item, 1);
-- the same target row matched by two source rows
CREATE TABLE twice (item text, qty int);
INSERT INTO twice VALUES ('apple', 1), ('apple', 2);
MERGE INTO stock s USING twice t ON s.item = t.item WHEN MATCHED THEN UPDATE SET qty = t.qty;
MERGE INTO stock s USING twice t ON s.item = t.item WHEN MATCHED THEN DELETE;
MERGE INTO stock s USING twice t ON s.item = t.item WHEN MATCHED THEN DO NOTHING;
MERGE INTO stock s USING twice t ON s.item = t.item WHEN MATCHED AND t.qty = 1 THEN UPDATE SET qty = 50 WHEN MATCHED AND t.qty = 7 THEN DELETE;
SELECT * FROM stock WHERE item = 'apple';
-- constraints
MERGE INTO stock s USING (VALUES ('apple', -100)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN UPDATE SET qty = v.qty;
MERGE INTO stock s USING (VALUES ('zzz', NULL::int)) AS v(item, qty) ON s.item = v.item WHEN NOT MATCHED THEN INSERT VALUES (v.item, v.qty);
MERGE INTO stock s USING (VALUES ('qqq', 1), ('qqq', 2)) AS v(item, qty) ON s.item = v.item WHEN NOT MATCHED THEN INSERT VALUES (v.item, v.qty);
MERGE INTO stock s USING (VALUES ('apple', 1)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN UPDATE SET item = 'pear';
SELECT count(*) FROM stock;
-- identity, generated columns and sequences
CREATE TABLE ledger (id int GENERATED ALWAYS AS IDENTITY, k text UNIQUE, v int, doubled int GENERATED ALWAYS AS (v * 2) STORED, n serial);
MERGE INTO ledger l USING (VALUES ('a', 1), ('b', 2)) AS s(k, v) ON l.k = s.k WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v);
MERGE INTO ledger l USING (VALUES ('a', 10), ('c', 3)) AS s(k, v) ON l.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v);
SELECT * FROM ledger ORDER BY id;
MERGE INTO ledger l USING (VALUES ('d', 1)) AS s(k, v) ON l.k = s.k WHEN NOT MATCHED THEN INSERT (id, k, v) VALUES (100, s.k, s.v);
MERGE INTO ledger l USING (VALUES ('a', 1)) AS s(k, v) ON l.k = s.k WHEN MATCHED THEN UPDATE SET doubled = 5;
MERGE INTO ledger l USING (VALUES ('a', 1)) AS s(k, v) ON l.k = s.k WHEN MATCHED THEN UPDATE SET id = 5;
-- foreign keys
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE);
INSERT INTO parent VALUES (1), (2);
INSERT INTO child VALUES (10, 1), (20, 2);
MERGE INTO child c USING (VALUES (30, 3)) AS v(id, p) ON c.id = v.id WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.p);
MERGE INTO parent p USING (VALUES (1)) AS v(id) ON p.id = v.id WHEN MATCHED THEN DELETE;
SELECT * FROM child ORDER BY id;
-- sources: a table with a WHERE in the join, a join, a WITH query, a function
MERGE INTO stock s USING (SELECT d.item, d.qty FROM delivery d JOIN twice t ON t.item = d.item) AS j ON s.item = j.item WHEN MATCHED THEN UPDATE SET updated = j.qty;
WITH fresh AS (SELECT 'mango' AS item, 9 AS qty) MERGE INTO stock s USING fresh f ON s.item = f.item WHEN NOT MATCHED THEN INSERT VALUES (f.item, f.qty);
MERGE INTO stock s USING generate_series(1, 3) AS g(n) ON s.item = 'gen' || g.n WHEN NOT MATCHED THEN INSERT (item, qty) VALUES ('gen' || g.n, g.n);
SELECT item, qty FROM stock WHERE item LIKE 'gen%' OR item = 'mango' ORDER BY item;
MERGE INTO stock s USING stock t ON s.item = t.item WHEN MATCHED AND t.item LIKE 'gen%' THEN DELETE;
SELECT count(*) FROM stock WHERE item LIKE 'gen%';
-- references the NOT MATCHED clauses cannot make, and other errors
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED THEN INSERT VALUES (s.item, 1);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED AND s.qty > 1 THEN INSERT VALUES (d.item, 1);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED THEN INSERT VALUES (d.item, 1);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED THEN UPDATE SET qty = 1;
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED THEN DELETE;
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED THEN DELETE WHEN MATCHED THEN UPDATE SET qty = 1;
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED THEN UPDATE SET nope = 1;
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED THEN INSERT (item, nope) VALUES (d.item, 1);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED THEN INSERT (item) VALUES (d.item, 1);
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN NOT MATCHED THEN INSERT VALUES (d.item, 'x');
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED AND d.qty THEN DELETE;
MERGE INTO stock s USING nope d ON s.item = d.item WHEN MATCHED THEN DELETE;
MERGE INTO nope s USING delivery d ON s.item = d.item WHEN MATCHED THEN DELETE;
MERGE INTO stock s USING (SELECT 1) ON true WHEN MATCHED THEN DELETE;
MERGE INTO stock s USING delivery s ON true WHEN MATCHED THEN DELETE;
MERGE INTO stock s USING delivery d ON s.item = d.item WHEN MATCHED THEN DELETE RETURNING *;
CREATE VIEW stock_view AS SELECT * FROM stock;
MERGE INTO stock_view v USING delivery d ON v.item = d.item WHEN MATCHED THEN DELETE;
SELECT item, qty FROM stock ORDER BY item;
-- inside transactions and savepoints
BEGIN;
MERGE INTO stock s USING (VALUES ('apple', 99)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN UPDATE SET qty = v.qty;
SAVEPOINT sp;
MERGE INTO stock s USING (VALUES ('apple', 1), ('lime', 2)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (v.item, v.qty);
SELECT item, qty FROM stock WHERE item IN ('apple', 'lime') ORDER BY item;
ROLLBACK TO SAVEPOINT sp;
SELECT item, qty FROM stock WHERE item IN ('apple', 'lime') ORDER BY item;
MERGE INTO stock s USING (VALUES ('apple', -1000)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN UPDATE SET qty = v.qty;
ROLLBACK;
SELECT item, qty FROM stock WHERE item = 'apple';
-- a MERGE that updates the rows an earlier statement of its transaction changed
BEGIN;
UPDATE stock SET qty = 1 WHERE item = 'apple';
MERGE INTO stock s USING (VALUES ('apple')) AS v(item) ON s.item = v.item WHEN MATCHED THEN UPDATE SET qty = s.qty + 1;
SELECT qty FROM stock WHERE item = 'apple';
COMMIT;
-- prepared statements with parameters
PREPARE m(text, int) AS MERGE INTO stock s USING (VALUES ($1, $2)) AS v(item, qty) ON s.item = v.item WHEN MATCHED THEN UPDATE SET qty = v.qty WHEN NOT MATCHED THEN INSERT VALUES (v.item, v.qty);
EXECUTE m('apple', 42);
EXECUTE m('quince', 3);
SELECT item, qty FROM stock WHERE item IN ('apple', 'quince') ORDER BY item;
-- syntax around the target and the actions
CREATE TABLE t (a int PRIMARY KEY, b int);
CREATE TABLE s (a int, b int);
INSERT INTO t VALUES (1, 1), (2, 2);
INSERT INTO s VALUES (1, 10), (3, 30);
WITH x AS (MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE) SELECT 1;
WITH d AS (DELETE FROM s WHERE a = 3 RETURNING *) MERGE INTO t USING d ON t.a = d.a WHEN NOT MATCHED THEN INSERT VALUES (d.a, d.b);
SELECT * FROM t ORDER BY a;
MERGE INTO t USING s ON t.a = s.a WHEN NOT MATCHED BY SOURCE THEN DELETE;
MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN UPDATE SET t.b = 5;
MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN UPDATE SET (a, b) = (s.a, s.b + 1);
SELECT * FROM t ORDER BY a;
MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN UPDATE SET b = (SELECT max(b) FROM s) WHEN NOT MATCHED THEN DO NOTHING;
MERGE INTO ONLY t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;
MERGE INTO t USING s ON t.a = s.a WHEN NOT MATCHED THEN INSERT OVERRIDING SYSTEM VALUE VALUES (s.a, s.b);
SELECT * FROM t ORDER BY a;
MERGE INTO t USING s ON t.a = s.a AND EXISTS (SELECT 1 FROM s s2 WHERE s2.a = t.a) WHEN MATCHED THEN UPDATE SET b = -t.b;
MERGE INTO t t2 USING s ON t.a = s.a WHEN MATCHED THEN DELETE;
MERGE INTO t USING s ON a = 1 WHEN MATCHED THEN DELETE;
MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN UPDATE SET b = sum(s.b);
MERGE t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;
SELECT * FROM t ORDER BY a;
MERGE INTO ledger l USING (VALUES ('e', 5)) AS s(k, v) ON l.k = s.k WHEN NOT MATCHED THEN INSERT (id, k, v) OVERRIDING SYSTEM VALUE VALUES (100, s.k, s.v);
MERGE INTO ledger l USING (VALUES ('f', 6)) AS s(k, v) ON l.k = s.k WHEN NOT MATCHED THEN INSERT (id, k, v) OVERRIDING USER VALUE VALUES (200, s.k, s.v);
SELECT id, k, v, doubled FROM ledger WHERE k IN ('e', 'f') ORDER BY k;
