-- GROUPING SETS, ROLLUP, CUBE and grouping(): the sets each form expands to, NULLs for the
-- columns a set leaves out, HAVING and ORDER BY over them, empty inputs.
CREATE TABLE sales (region text, product text, year int, amount int);
INSERT INTO sales VALUES
  ('east', 'a', 2023, 10), ('east', 'b', 2023, 20), ('east', 'a', 2024, 30),
  ('west', 'a', 2023, 5), ('west', 'c', 2024, 15), ('west', 'c', 2024, 25),
  (NULL, 'a', 2024, 1);
SELECT region, sum(amount) FROM sales GROUP BY ROLLUP (region) ORDER BY region;
SELECT region, product, sum(amount) FROM sales GROUP BY ROLLUP (region, product) ORDER BY region, product, 3;
SELECT region, product, sum(amount), grouping(region, product) FROM sales GROUP BY ROLLUP (region, product) ORDER BY 4, 1, 2;
SELECT region, product, sum(amount) FROM sales GROUP BY CUBE (region, product) ORDER BY 1, 2, 3;
SELECT region, product, count(*), grouping(region), grouping(product) FROM sales GROUP BY CUBE (region, product) ORDER BY 4, 5, 1, 2;
SELECT region, product, sum(amount) FROM sales GROUP BY GROUPING SETS ((region), (product)) ORDER BY 1, 2;
SELECT region, product, sum(amount) FROM sales GROUP BY GROUPING SETS ((region, product), ()) ORDER BY 1, 2;
SELECT region, product, sum(amount) FROM sales GROUP BY GROUPING SETS (region, product, ()) ORDER BY 1, 2, 3;
SELECT region, year, sum(amount) FROM sales GROUP BY GROUPING SETS ((region, year), (region), (year)) ORDER BY 1, 2, 3;
SELECT region, sum(amount) FROM sales GROUP BY GROUPING SETS ((region), (region)) ORDER BY 1;
SELECT sum(amount) FROM sales GROUP BY GROUPING SETS (());
SELECT count(*) FROM sales GROUP BY ();
SELECT region, product, year, sum(amount) FROM sales GROUP BY region, ROLLUP (product, year) ORDER BY 1, 2, 3;
SELECT region, product, year, sum(amount) FROM sales GROUP BY ROLLUP (region), ROLLUP (year) ORDER BY 1, 3;
SELECT region, product, year, sum(amount) FROM sales GROUP BY ROLLUP ((region, product), year) ORDER BY 1, 2, 3;
SELECT region, product, year, sum(amount) FROM sales GROUP BY CUBE (region, (product, year)) ORDER BY 1, 2, 3, 4;
SELECT region, product, year, count(*) FROM sales GROUP BY GROUPING SETS (ROLLUP (region, product), (year)) ORDER BY 1, 2, 3, 4;
SELECT region, product, year, count(*) FROM sales GROUP BY GROUPING SETS (CUBE (region), year) ORDER BY 1, 3;
SELECT region, grouping(region) AS gr, sum(amount) FROM sales GROUP BY ROLLUP (region) ORDER BY gr, region;
SELECT CASE WHEN grouping(region) = 1 THEN 'all' ELSE region END AS r, sum(amount) FROM sales GROUP BY ROLLUP (region) ORDER BY 1;
SELECT region, product, grouping(product, region), sum(amount) FROM sales GROUP BY CUBE (region, product) ORDER BY 3, 1, 2;
SELECT region, sum(amount) FROM sales GROUP BY ROLLUP (region) HAVING sum(amount) > 20 ORDER BY 1;
SELECT region, sum(amount) FROM sales GROUP BY ROLLUP (region) HAVING grouping(region) = 0 ORDER BY 1;
SELECT region, product, max(amount), min(amount), avg(amount) FROM sales GROUP BY ROLLUP (region, product) ORDER BY 1, 2, 3;
SELECT region, string_agg(product, ',' ORDER BY product), array_agg(DISTINCT year) FROM sales GROUP BY ROLLUP (region) ORDER BY 1, 2;
SELECT region, count(*) FILTER (WHERE year = 2024) FROM sales GROUP BY ROLLUP (region) ORDER BY 1;
SELECT year, sum(amount) FROM sales WHERE region = 'east' GROUP BY ROLLUP (year) ORDER BY 1;
SELECT region, sum(amount) FROM sales WHERE false GROUP BY ROLLUP (region);
SELECT region, sum(amount) FROM sales WHERE false GROUP BY CUBE (region, product);
SELECT region, product, sum(amount) FROM sales WHERE false GROUP BY GROUPING SETS ((region), ());
SELECT sum(amount) FROM sales WHERE false GROUP BY ();
SELECT upper(region), sum(amount) FROM sales GROUP BY ROLLUP (upper(region)) ORDER BY 1;
SELECT region, year % 2, sum(amount) FROM sales GROUP BY ROLLUP (region, year % 2) ORDER BY 1, 2, 3;
SELECT region, product, sum(amount) FROM sales GROUP BY ROLLUP (1, 2) ORDER BY 1, 2, 3;
SELECT region AS r, sum(amount) FROM sales GROUP BY ROLLUP (r) ORDER BY 1;
SELECT region, product, sum(amount), rank() OVER (PARTITION BY grouping(product) ORDER BY sum(amount) DESC) FROM sales GROUP BY ROLLUP (region, product) ORDER BY 4, 1, 2;
SELECT * FROM (SELECT region, sum(amount) AS s FROM sales GROUP BY ROLLUP (region)) t WHERE region IS NULL;
SELECT region, product FROM sales GROUP BY ROLLUP (region);
SELECT grouping(product) FROM sales GROUP BY region;
SELECT region, grouping(region) FROM sales;
SELECT grouping(region) FROM sales GROUP BY ROLLUP (region) ORDER BY 1;
SELECT region, count(*) FROM sales GROUP BY GROUPING SETS ((region), (region, product)) ORDER BY 1, 2;
SELECT count(DISTINCT region), count(*) FROM sales GROUP BY ROLLUP (year) ORDER BY 2;
SELECT year, region, sum(amount) FROM sales GROUP BY CUBE (year, region) HAVING count(*) > 1 ORDER BY 1, 2;
SELECT region, product, year, grouping(region, product, year), count(*) FROM sales GROUP BY CUBE (region, product, year) ORDER BY 4, 1, 2, 3 LIMIT 12;
SELECT count(*) FROM (SELECT 1 FROM sales GROUP BY CUBE (region, product, year)) t;
