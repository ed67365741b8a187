-- The rewind schema: who committed what and why, every row change, diffs, tamper evidence.
CREATE TABLE acc (id int PRIMARY KEY, owner text, balance int);
INSERT INTO acc VALUES (1, 'ann', 100), (2, 'bob', 50), (3, 'cy', 0);
BEGIN;
SET LOCAL rewind.reason = 'transfer #17';
UPDATE acc SET balance = balance - 20 WHERE id = 1;
UPDATE acc SET balance = balance + 20 WHERE id = 2;
COMMIT;
SHOW rewind.reason;
SET rewind.reason = 'cleanup';
DELETE FROM acc WHERE id = 3;
UPDATE acc SET id = 20 WHERE id = 2;
RESET rewind.reason;
UPDATE acc SET owner = 'Ann' WHERE id = 1;
-- rewind.transactions
SELECT lsn, user_name, application_name, client_addr, reason, events FROM rewind.transactions ORDER BY lsn;
SELECT lsn, reason FROM rewind.transactions WHERE reason IS NOT NULL ORDER BY lsn;
SELECT lsn FROM rewind.transactions WHERE lsn > 3 ORDER BY lsn;
SELECT lsn FROM rewind.transactions WHERE lsn BETWEEN 2 AND 3 ORDER BY lsn;
SELECT lsn FROM rewind.transactions WHERE 4 <= lsn AND lsn < 6 ORDER BY lsn;
SELECT lsn FROM rewind.transactions WHERE lsn = 4;
SELECT count(*) FROM rewind.transactions WHERE committed_at > now() - interval '1 hour';
SELECT count(*) FROM rewind.transactions WHERE committed_at < '2000-01-01';
SELECT count(*) FROM rewind.transactions WHERE committed_at >= (SELECT committed_at FROM rewind.transactions WHERE lsn = 4);
SELECT bool_and(committed_at <= now()) AS past, count(DISTINCT committed_at) = count(*) AS distinct_times FROM rewind.transactions;
SELECT * FROM rewind.transactions WHERE lsn = 0;
-- rewind.changes
SELECT lsn, user_name, table_name, op, key, before, after FROM rewind.changes ORDER BY lsn, key::text;
SELECT lsn, op, key FROM rewind.changes WHERE lsn >= 4 ORDER BY lsn;
SELECT c.lsn, t.reason, c.op, c.before ->> 'balance' AS was, c.after ->> 'balance' AS became FROM rewind.changes c JOIN rewind.transactions t ON t.lsn = c.lsn WHERE c.key ->> 'id' = '1' ORDER BY c.lsn;
SELECT op, count(*) FROM rewind.changes WHERE table_name = 'public.acc' GROUP BY op ORDER BY op;
SELECT count(*) FROM rewind.changes WHERE lsn > 99;
-- rewind.diff
SELECT change, key, before, after FROM rewind.diff('acc', 2, 6) ORDER BY key::text;
SELECT change, key FROM rewind.diff('acc', 'tx:3', 'tx:4') ORDER BY key::text;
SELECT change, key FROM rewind.diff('acc', 6, 2) ORDER BY key::text;
SELECT change, key FROM rewind.diff('public.acc', 'tx:4', 'tx:4');
SELECT change, key FROM rewind.diff('acc', (SELECT committed_at FROM rewind.transactions WHERE lsn = 2), now()) ORDER BY key::text;
SELECT change, key FROM rewind.diff('acc', 0, 2) ORDER BY key::text;
SELECT d.change FROM rewind.diff('acc', 2, 3) AS d;
SELECT * FROM rewind.diff('nothing', 1, 2);
SELECT * FROM rewind.diff('acc', 1);
SELECT * FROM rewind.diff('acc', 'tx:1', 'tx:999');
-- tamper evidence
SELECT lsn, length(digest) FROM rewind.log_digest();
SELECT rewind.verify_digest(d.lsn, d.digest) FROM rewind.log_digest() d;
SELECT rewind.verify_digest(d.lsn - 1, d.digest) FROM rewind.log_digest() d;
SELECT rewind.verify_digest(d.lsn, repeat('0', 64)) FROM rewind.log_digest() d;
SELECT rewind.verify_digest(3, 'zz');
SELECT rewind.verify_digest(100000, repeat('0', 64));
