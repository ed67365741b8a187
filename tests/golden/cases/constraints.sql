-- PRIMARY KEY, UNIQUE, NOT NULL, CHECK and FOREIGN KEY constraints with their referential actions.
CREATE TABLE dept (id int PRIMARY KEY, name text NOT NULL UNIQUE, budget numeric CHECK (budget >= 0));
CREATE TABLE emp (
  id serial PRIMARY KEY,
  name text NOT NULL,
  dept_id int REFERENCES dept (id) ON DELETE CASCADE ON UPDATE CASCADE,
  boss_id int REFERENCES emp,
  salary numeric CONSTRAINT positive_salary CHECK (salary > 0),
  email text,
  CONSTRAINT emp_email_key UNIQUE (email),
  CHECK (name <> '')
);
INSERT INTO dept VALUES (1, 'eng', 100), (2, 'ops', 50), (3, 'empty', 0);
INSERT INTO emp (name, dept_id, salary, email) VALUES ('ann', 1, 10, 'ann@x'), ('bob', 1, 20, 'bob@x'), ('cy', 2, 30, NULL), ('di', NULL, 5, NULL);
UPDATE emp SET boss_id = 1 WHERE id IN (2, 3);
SELECT * FROM emp ORDER BY id;
INSERT INTO dept VALUES (4, 'bad', -1);
INSERT INTO dept VALUES (4, NULL, 1);
INSERT INTO dept VALUES (4, 'eng', 1);
INSERT INTO dept VALUES (1, 'dup', 1);
INSERT INTO dept VALUES (NULL, 'nullid', 1);
INSERT INTO dept VALUES (4, 'nullbudget', NULL);
INSERT INTO emp (name, salary) VALUES ('neg', -5);
INSERT INTO emp (name, salary) VALUES ('', 5);
INSERT INTO emp (name, dept_id, salary) VALUES ('ghost', 99, 1);
INSERT INTO emp (name, boss_id, salary) VALUES ('orphan', 999, 1);
INSERT INTO emp (name, email, salary) VALUES ('dupmail', 'ann@x', 1);
UPDATE emp SET dept_id = 42 WHERE id = 1;
UPDATE emp SET salary = 0 WHERE id = 1;
UPDATE dept SET budget = -10 WHERE id = 1;
DELETE FROM emp WHERE id = 1;
UPDATE dept SET id = 10 WHERE id = 1;
SELECT id, dept_id FROM emp ORDER BY id;
DELETE FROM dept WHERE id = 10;
SELECT id, name, dept_id FROM emp ORDER BY id;
CREATE TABLE parent (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE child_restrict (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES parent (a, b) ON DELETE RESTRICT);
CREATE TABLE child_null (id int PRIMARY KEY, a int, b int, CONSTRAINT fk_null FOREIGN KEY (a, b) REFERENCES parent ON DELETE SET NULL ON UPDATE SET NULL);
CREATE TABLE child_default (id int PRIMARY KEY, a int DEFAULT 0, b int DEFAULT 0, FOREIGN KEY (a, b) REFERENCES parent ON DELETE SET DEFAULT);
INSERT INTO parent VALUES (0, 0), (1, 1), (1, 2), (2, 2);
INSERT INTO child_restrict VALUES (1, 1, 1), (2, NULL, 5);
INSERT INTO child_null VALUES (1, 1, 2), (2, 2, 2);
INSERT INTO child_default VALUES (1, 2, 2);
INSERT INTO child_restrict VALUES (3, 1, 5);
DELETE FROM parent WHERE a = 1 AND b = 1;
DELETE FROM parent WHERE a = 1 AND b = 2;
UPDATE parent SET b = 20 WHERE a = 2;
SELECT * FROM child_null ORDER BY id;
DELETE FROM parent WHERE a = 2;
SELECT * FROM child_default ORDER BY id;
DELETE FROM parent WHERE a = 0;
SELECT * FROM parent ORDER BY a, b;
CREATE TABLE noaction_child (id int PRIMARY KEY, p int REFERENCES dept ON DELETE NO ACTION);
INSERT INTO noaction_child VALUES (1, 2);
DELETE FROM dept WHERE id = 2;
UPDATE dept SET id = 20 WHERE id = 2;
BEGIN;
DELETE FROM noaction_child;
DELETE FROM dept WHERE id = 2;
ROLLBACK;
SELECT count(*) FROM dept WHERE id = 2;
CREATE TABLE bad_fk (x int REFERENCES no_such_table);
CREATE TABLE bad_fk (x int REFERENCES dept (name2));
CREATE TABLE bad_fk (x int REFERENCES dept (budget));
CREATE TABLE bad_fk (x text REFERENCES dept (id));
CREATE TABLE twopk (a int PRIMARY KEY, b int PRIMARY KEY);
CREATE TABLE nn (a int NOT NULL, b int NULL, c int NOT NULL DEFAULT 7);
INSERT INTO nn (a) VALUES (1);
INSERT INTO nn (b) VALUES (1);
SELECT * FROM nn;
CREATE TABLE chk (a int, b int, CONSTRAINT a_lt_b CHECK (a < b), CHECK (a > 0 OR a IS NULL));
INSERT INTO chk VALUES (1, 2), (NULL, 5), (1, NULL);
INSERT INTO chk VALUES (3, 2);
INSERT INTO chk VALUES (-1, 5);
UPDATE chk SET b = 0 WHERE a = 1;
SELECT * FROM chk ORDER BY a NULLS FIRST, b NULLS FIRST;
CREATE TABLE uq (a int, b int, c int, UNIQUE (a, b), UNIQUE (c));
INSERT INTO uq VALUES (1, 1, 1), (1, 2, 2), (NULL, NULL, NULL), (NULL, NULL, NULL);
INSERT INTO uq VALUES (1, 1, 3);
INSERT INTO uq VALUES (5, 5, 1);
UPDATE uq SET b = 1 WHERE b = 2;
UPDATE uq SET c = c + 1 WHERE c IS NOT NULL;
SELECT * FROM uq ORDER BY a NULLS LAST, b NULLS LAST, c NULLS LAST;
DROP TABLE dept;
DROP TABLE dept CASCADE;
INSERT INTO emp (name, dept_id, salary) VALUES ('free', 77, 1);
SELECT name, dept_id FROM emp WHERE name = 'free';
CREATE TABLE selfref (id int PRIMARY KEY, parent int REFERENCES selfref ON DELETE CASCADE);
INSERT INTO selfref VALUES (1, NULL), (2, 1), (3, 2), (4, 1), (5, NULL);
DELETE FROM selfref WHERE id = 1;
SELECT id FROM selfref ORDER BY id;
TRUNCATE parent;
TRUNCATE parent, child_restrict, child_null, child_default;
SELECT count(*) FROM parent;
TRUNCATE emp CASCADE;
