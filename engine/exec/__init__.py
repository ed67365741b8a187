"""Execution: bound expressions (`expr`), plan nodes (`plan`), the expression compiler
(`compiler`, expressions -> Python source -> closures), physical operators (`operators`,
generators of row batches), functions and operators (`functions`), and the statements that
write (`dml`, `ddl`).

Rows are tuples. Operators exchange batches (lists of rows); an empty batch is a "tick":
no rows yet, but a good moment for the driver to let other sessions run.
"""
