-- FOR SYSTEM_TIME BETWEEN / FROM ... TO / ALL: every version, with the system columns.
CREATE TABLE item (sku text PRIMARY KEY, qty int);
INSERT INTO item VALUES ('a', 1), ('b', 2);
UPDATE item SET qty = 10 WHERE sku = 'a';
DELETE FROM item WHERE sku = 'b';
UPDATE item SET qty = 11 WHERE sku = 'a';
INSERT INTO item VALUES ('b', 3);
SELECT sku, qty, _tx, _op, _user, _valid_to IS NULL AS current FROM item FOR SYSTEM_TIME ALL ORDER BY _tx, sku;
SELECT * FROM item FOR SYSTEM_TIME ALL ORDER BY sku, qty;
SELECT sku, qty, _tx, _op FROM item FOR SYSTEM_TIME BETWEEN TRANSACTION 3 AND TRANSACTION 4 ORDER BY _tx, sku;
SELECT sku, qty, _tx, _op FROM item FOR SYSTEM_TIME FROM TRANSACTION 3 TO TRANSACTION 4 ORDER BY _tx, sku;
SELECT sku, qty, _tx, _op FROM item FOR SYSTEM_TIME BETWEEN TRANSACTION 5 AND TRANSACTION 6 ORDER BY _tx, sku;
SELECT sku, qty, _tx, _op FROM item FOR SYSTEM_TIME BETWEEN TRANSACTION 4 AND TRANSACTION 2 ORDER BY _tx, sku;
SELECT sku, qty, _tx, _op FROM item FOR SYSTEM_TIME FROM TRANSACTION 3 TO TRANSACTION 3 ORDER BY _tx, sku;
SELECT sku, qty, _tx, _op FROM item FOR SYSTEM_TIME BETWEEN TRANSACTION 2 AND TRANSACTION 999 ORDER BY _tx, sku;
SELECT sku, qty, _op FROM item FOR SYSTEM_TIME BETWEEN (SELECT committed_at FROM rewind.transactions WHERE lsn = 4) AND now() ORDER BY _tx, sku;
SELECT sku, qty, _op FROM item FOR SYSTEM_TIME FROM '2000-01-01 00:00:00+00' TO (SELECT committed_at FROM rewind.transactions WHERE lsn = 3) ORDER BY _tx, sku;
-- validity: each version ends when the next one of its row begins; a deletion's is empty
SELECT sku, qty, _valid_from <= _valid_to AS ordered, _valid_to IS NULL AS open FROM item FOR SYSTEM_TIME ALL ORDER BY _tx, sku;
SELECT count(*) AS chained FROM item FOR SYSTEM_TIME ALL a JOIN item FOR SYSTEM_TIME ALL b ON a.sku = b.sku AND a._valid_to = b._valid_from AND a._tx < b._tx;
SELECT _op, _valid_from = _valid_to AS instant FROM item FOR SYSTEM_TIME ALL WHERE _op = 'delete';
SELECT _valid_from = (SELECT committed_at FROM rewind.transactions WHERE lsn = 3) AS stamped FROM item FOR SYSTEM_TIME ALL WHERE _tx = 3;
-- the system columns work like any other column
SELECT _op, count(*) FROM item FOR SYSTEM_TIME ALL GROUP BY _op ORDER BY _op;
SELECT sku, max(_tx) AS last_change FROM item FOR SYSTEM_TIME ALL GROUP BY sku ORDER BY sku;
SELECT h.sku, h._op FROM item FOR SYSTEM_TIME ALL h WHERE h._user = current_user AND h._tx > 4 ORDER BY h._tx;
SELECT sku, qty FROM item FOR SYSTEM_TIME ALL WHERE _valid_to IS NULL ORDER BY sku;
SELECT s.* FROM (SELECT sku, _tx, _op FROM item FOR SYSTEM_TIME ALL) s WHERE s._op = 'update' ORDER BY s._tx;
SELECT sku FROM (SELECT * FROM item FOR SYSTEM_TIME ALL) s WHERE s._op = 'update';
SELECT sku, _tx FROM item FOR SYSTEM_TIME ALL WHERE sku = 'a' ORDER BY _tx;
SELECT _tx FROM item;
SELECT _op FROM item FOR SYSTEM_TIME AS OF TRANSACTION 3;
-- a table's own column of the same name wins
CREATE TABLE ops (id int, _op text);
INSERT INTO ops VALUES (1, 'mine');
SELECT id, _op, _tx FROM ops FOR SYSTEM_TIME ALL;
-- truncate deletes every row
CREATE TABLE tr (x int);
INSERT INTO tr VALUES (1), (2);
TRUNCATE tr;
SELECT x, _op, _tx FROM tr FOR SYSTEM_TIME ALL ORDER BY _tx, x;
SELECT x FROM tr FOR SYSTEM_TIME AS OF TRANSACTION 10 ORDER BY x;
