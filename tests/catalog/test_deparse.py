"""engine.sql.deparse against texts PostgreSQL 15's ruleutils printed for the same objects
(pg_get_viewdef(v, true) and (v, false)): view queries laid out line by line, coercions and
parentheses as PostgreSQL shows them."""
from __future__ import annotations

import engine.session  # noqa: F401  (registers the catalog functions and tables)
from engine.catalog.model import Catalog, ColumnDef, TableDef, ViewDef
from engine.sql import deparse

D1 = TableDef(16384, "public", "d1", (ColumnDef(0, "a", 23), ColumnDef(1, "b", 1700), ColumnDef(2, "d", 25)), 3)
E1 = TableDef(16385, "public", "e1b", (ColumnDef(0, "a", 23), ColumnDef(1, "x", 25)), 2)
CATALOG = Catalog(tables={D1.table_id: D1, E1.table_id: E1})


def viewdef(sql: str, pretty: bool, view_id: int) -> str:
    return deparse.view_definition(CATALOG, ViewDef(view_id, "public", "v", sql), pretty)


def test_select_with_filter_and_order():
    sql = "SELECT a, b + 1 AS b1, d FROM public.d1 WHERE a > 0 AND d <> 'z' ORDER BY a"
    assert viewdef(sql, True, 20000) == (" SELECT d1.a,\n    d1.b + 1::numeric AS b1,\n    d1.d\n   FROM d1\n"
                                         "  WHERE d1.a > 0 AND d1.d <> 'z'::text\n  ORDER BY d1.a;")
    assert viewdef(sql, False, 20000) == (" SELECT d1.a,\n    (d1.b + (1)::numeric) AS b1,\n    d1.d\n   FROM d1\n"
                                          "  WHERE ((d1.a > 0) AND (d1.d <> 'z'::text))\n  ORDER BY d1.a;")


def test_joins_grouping_and_limit():
    assert viewdef("SELECT d1.a, count(*) AS n FROM public.d1 JOIN public.e1b ON d1.a = e1b.a GROUP BY d1.a "
                   "HAVING count(*) > 1", True, 20001) == \
        (" SELECT d1.a,\n    count(*) AS n\n   FROM d1\n     JOIN e1b ON d1.a = e1b.a\n  GROUP BY d1.a\n"
         " HAVING count(*) > 1;")
    assert viewdef("SELECT a FROM public.d1 x LIMIT 5", True, 20002) == " SELECT x.a\n   FROM d1 x\n LIMIT 5;"
    assert viewdef("SELECT e1b.x, d1.b FROM public.d1 LEFT JOIN public.e1b ON d1.a = e1b.a WHERE e1b.x IS NULL",
                   True, 20003) == (" SELECT e1b.x,\n    d1.b\n   FROM d1\n     LEFT JOIN e1b ON d1.a = e1b.a\n"
                                    "  WHERE e1b.x IS NULL;")


def test_star_expands_to_the_columns():
    assert viewdef("SELECT * FROM public.d1", True, 20004) == " SELECT d1.a,\n    d1.b,\n    d1.d\n   FROM d1;"
