-- The walking skeleton: tables, CRUD, errors with their SQLSTATEs.
CREATE TABLE users (id INT PRIMARY KEY, name TEXT, email TEXT);
INSERT INTO users (id, name, email) VALUES (1, 'Alice', 'alice@example.com');
SELECT * FROM users;
UPDATE users SET email = 'alice.new@example.com' WHERE id = 1;
SELECT * FROM users;
DELETE FROM users WHERE id = 1;
SELECT * FROM users;
CREATE TABLE t (
  a int2, b int4, c int8, d serial, e bigserial, f numeric(8,3), g real, h double precision,
  i text, j varchar(5), k char(4), l boolean, m date, n timestamp, o timestamptz,
  PRIMARY KEY (b)
);
INSERT INTO t (a, b, c, f, g, h, i, j, k, l, m, n, o) VALUES
  (1, 10, 100, 1.5, 1.25, 2.5, 'one', 'uno', 'a', true, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05+00'),
  (2, 20, 200, -2.125, 0.1, 0.1, 'two', 'dos', 'bb', false, '2023-12-31', '2023-12-31 23:59:59.5', '2023-12-31 23:59:59.5+02'),
  (NULL, 30, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT * FROM t ORDER BY b;
SELECT a, b + 1, c * 2, f / 3, -g, h * 2, i || '!', upper(j), l, m, n FROM t ORDER BY b;
SELECT b FROM t WHERE a IS NULL;
SELECT b FROM t WHERE a IS NOT NULL ORDER BY b DESC;
SELECT b FROM t WHERE b IN (10, 30) ORDER BY b;
SELECT b FROM t WHERE b NOT IN (10, 30);
SELECT b FROM t WHERE b BETWEEN 15 AND 35 ORDER BY 1;
SELECT b FROM t WHERE i LIKE 't%';
SELECT b FROM t WHERE i NOT LIKE 't%';
SELECT b FROM t WHERE NOT (a = 1) ORDER BY b;
SELECT b FROM t WHERE a = 1 OR a IS NULL ORDER BY b;
SELECT b FROM t WHERE a = 1 AND c = 100;
SELECT b, a FROM t ORDER BY a NULLS FIRST;
SELECT b, a FROM t ORDER BY a DESC;
SELECT b FROM t ORDER BY b LIMIT 2;
SELECT b FROM t ORDER BY b LIMIT 2 OFFSET 1;
SELECT b FROM t ORDER BY b OFFSET 2;
SELECT count(*), count(a), sum(a), avg(a), min(a), max(a) FROM t;
SELECT sum(c), avg(c), sum(f), avg(f), min(i), max(i), sum(g), avg(h) FROM t;
SELECT l, count(*) FROM t GROUP BY l ORDER BY l;
SELECT a IS NULL, count(*), sum(b) FROM t GROUP BY a IS NULL ORDER BY 1;
SELECT count(*) FROM t WHERE false;
SELECT sum(b) FROM t WHERE false;
SELECT d, e FROM t ORDER BY d;
CREATE TABLE u (b int4, note text);
INSERT INTO u VALUES (10, 'ten'), (20, 'twenty'), (20, 'vingt'), (40, 'forty');
SELECT t.b, u.note FROM t INNER JOIN u ON t.b = u.b ORDER BY t.b, u.note;
SELECT t.b, u.note FROM t JOIN u ON t.b = u.b AND u.note <> 'vingt' ORDER BY 1;
SELECT u.note, count(*) FROM t JOIN u ON t.b = u.b GROUP BY u.note ORDER BY 1;
SELECT 1 + 2, 7 / 2, 7 % 3, 2 * 3.5, 1.0 / 3, 'a' || 'b', NULL IS NULL;
SELECT NULL = NULL, NULL AND false, NULL OR true, NOT NULL::boolean;
SELECT 10 / 0;
SELECT 2147483647 + 1;
SELECT 'abc'::int;
SELECT nosuch FROM t;
SELECT * FROM nosuch;
SELEC 1;
INSERT INTO t (b) VALUES (10);
INSERT INTO t (a) VALUES (5);
INSERT INTO t (b, j) VALUES (50, 'toolong');
INSERT INTO t (b, a) VALUES (60, 'x');
SELECT b FROM t WHERE a + 'x';
SELECT 1 WHERE 1;
UPDATE t SET a = a + 1 WHERE b = 10;
UPDATE t SET i = 'none' WHERE a IS NULL;
SELECT a, b, i FROM t ORDER BY b;
DELETE FROM t WHERE b > 15;
SELECT b FROM t;
BEGIN;
INSERT INTO u VALUES (99, 'rolled back');
SELECT count(*) FROM u;
ROLLBACK;
SELECT count(*) FROM u;
BEGIN;
INSERT INTO u VALUES (98, 'kept');
COMMIT;
SELECT note FROM u WHERE b = 98;
BEGIN;
SELECT 1/0;
SELECT 1;
COMMIT;
DROP TABLE u;
SELECT * FROM u;
DROP TABLE u;
DROP TABLE IF EXISTS u;
CREATE TABLE t (x int);
