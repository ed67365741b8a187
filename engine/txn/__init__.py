"""Transactions, MVCC row versions, locks and serializable snapshot isolation.

`versions.TableData` keeps, per table, the newest applied version of every row plus an
undo history stamped with commit LSNs; a read at LSN n sees exactly the versions with
begin <= n < end. `transaction.Transaction` is one client transaction's snapshot and
private write set; `locks.LockManager` holds row, key and schema locks in PostgreSQL's four
row-lock modes, queues waiters fairly and detects deadlocks; `serializable.SerializableTracker`
finds the rw-antidependencies between SERIALIZABLE transactions and fails one transaction of
every dangerous structure. docs/transactions.md states the guarantees these give.
"""
