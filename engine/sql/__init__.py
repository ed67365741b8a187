"""SQL front end: parsing (sqlglot, postgres dialect, plus our own utility-statement parser),
binding names and types against the catalog, planning and optimizing.

sqlglot is imported only inside this package: its AST argument names change between major
versions, so nothing else may depend on them.
"""
