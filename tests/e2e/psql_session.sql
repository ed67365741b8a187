CREATE TABLE users (id INT PRIMARY KEY, name TEXT, email TEXT);
INSERT INTO users (id, name, email) VALUES (1, 'Alice', 'alice@example.com');
SELECT * FROM users;
UPDATE users SET email = 'alice.new@example.com' WHERE id = 1;
DELETE FROM users WHERE id = 1;
SELECT * FROM users;
SELECT 1 AS one, 'two' AS two, NULL AS three, 4.5 AS four;
SELECT * FROM missing;
