"""Transactions, MVCC row versions and locks.

`versions.TableData` keeps, per table, the newest applied version of every row plus an
undo history stamped with commit LSNs; a read at LSN n sees exactly the versions with
begin <= n < end. `transaction.Transaction` is one client transaction's snapshot and
private write set; `locks.LockManager` holds row and table locks with deadlock detection.
"""
