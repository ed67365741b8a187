"""The interleavings checked against PostgreSQL 15: isolation anomalies at each level, row locks,
unique-key waits, deadlocks, savepoints and serializable snapshot isolation.

Steps are named <action><session number>; a session "chk" reads the final state where it
matters. Expected outcomes are recorded from PostgreSQL (`python -m tests.txn.record`) into
expected/<scenario>.json.
"""
from __future__ import annotations

from tests.txn.interleave import Scenario

BEGIN = "BEGIN ISOLATION LEVEL {level}"


def _accounts(*rows: tuple[int, int]) -> tuple[str, ...]:
    values = ", ".join(f"({k}, {v})" for k, v in rows)
    return ("CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)", f"INSERT INTO acct VALUES {values}")


DROP_ACCT = ("DROP TABLE IF EXISTS acct",)

SCENARIOS = [
    # ---------------------------------------------------------------- the anomalies
    Scenario(
        "dirty_read",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "w1": "UPDATE acct SET bal = 0 WHERE id = 1", "a1": "ROLLBACK"},
         "s2": {"b2": BEGIN, "r2": "SELECT bal FROM acct WHERE id = 1", "rr2": "SELECT bal FROM acct WHERE id = 1",
                "c2": "COMMIT"}},
        (("b1", "w1", "b2", "r2", "a1", "rr2", "c2"),),
    ),
    Scenario(
        "non_repeatable_read",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "r1": "SELECT bal FROM acct WHERE id = 1", "rr1": "SELECT bal FROM acct WHERE id = 1",
                "c1": "COMMIT"},
         "s2": {"w2": "UPDATE acct SET bal = 50 WHERE id = 1"}},
        (("b1", "r1", "w2", "rr1", "c1"),),
    ),
    Scenario(
        "phantom",
        _accounts((1, 100), (2, 200)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "r1": "SELECT count(*), sum(bal) FROM acct WHERE bal > 50",
                "rr1": "SELECT count(*), sum(bal) FROM acct WHERE bal > 50", "c1": "COMMIT"},
         "s2": {"i2": "INSERT INTO acct VALUES (3, 300)"}},
        (("b1", "r1", "i2", "rr1", "c1"),),
    ),
    Scenario(
        "lost_update_increment",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "u1": "UPDATE acct SET bal = bal + 10 WHERE id = 1", "c1": "COMMIT", "a1": "ROLLBACK"},
         "s2": {"b2": BEGIN, "u2": "UPDATE acct SET bal = bal + 1 WHERE id = 1", "c2": "COMMIT"},
         "chk": {"r": "SELECT bal FROM acct"}},
        (("b1", "b2", "u1", "u2", "c1", "c2", "r"),
         ("b1", "b2", "u1", "u2", "a1", "c2", "r"),
         ("b1", "u1", "b2", "c1", "u2", "c2", "r")),
    ),
    Scenario(
        "lost_update_read_modify_write",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "r1": "SELECT bal FROM acct WHERE id = 1", "u1": "UPDATE acct SET bal = 110 WHERE id = 1",
                "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "r2": "SELECT bal FROM acct WHERE id = 1", "u2": "UPDATE acct SET bal = 101 WHERE id = 1",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT bal FROM acct"}},
        (("b1", "b2", "r1", "r2", "u1", "u2", "c1", "c2", "r"),),
    ),
    Scenario(
        "write_skew",
        ("CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL)",
         "INSERT INTO doctors VALUES ('alice', true), ('bob', true)"),
        ("DROP TABLE IF EXISTS doctors",),
        {"s1": {"b1": BEGIN, "r1": "SELECT count(*) FROM doctors WHERE on_call",
                "w1": "UPDATE doctors SET on_call = false WHERE name = 'alice'", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "r2": "SELECT count(*) FROM doctors WHERE on_call",
                "w2": "UPDATE doctors SET on_call = false WHERE name = 'bob'", "c2": "COMMIT"},
         "chk": {"r": "SELECT name, on_call FROM doctors ORDER BY name"}},
        (("b1", "b2", "r1", "r2", "w1", "w2", "c1", "c2", "r"),
         ("b1", "b2", "r1", "r2", "w1", "c1", "w2", "c2", "r")),
    ),
    Scenario(
        "write_skew_insert",
        ("CREATE TABLE mytab (class int NOT NULL, value int NOT NULL)",
         "INSERT INTO mytab VALUES (1, 10), (1, 20), (2, 100), (2, 200)"),
        ("DROP TABLE IF EXISTS mytab",),
        {"s1": {"b1": BEGIN, "r1": "SELECT sum(value) FROM mytab WHERE class = 1",
                "w1": "INSERT INTO mytab VALUES (2, 30)", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "r2": "SELECT sum(value) FROM mytab WHERE class = 2",
                "w2": "INSERT INTO mytab VALUES (1, 300)", "c2": "COMMIT"},
         "chk": {"r": "SELECT class, sum(value) FROM mytab GROUP BY class ORDER BY class"}},
        (("b1", "b2", "r1", "r2", "w1", "w2", "c1", "c2", "r"),
         ("b1", "r1", "w1", "c1", "b2", "r2", "w2", "c2", "r")),
    ),
    Scenario(
        # Ports and Grittner's batch-processing example: the report, a READ ONLY transaction,
        # sees the batch closed but not its last receipt; SERIALIZABLE fails one transaction.
        "read_only_anomaly",
        ("CREATE TABLE control (deposit_no int NOT NULL)",
         "INSERT INTO control VALUES (1)",
         "CREATE TABLE receipt (receipt_no int PRIMARY KEY, deposit_no int NOT NULL, amount int NOT NULL)",
         "INSERT INTO receipt VALUES (1, 1, 100), (2, 1, 200)"),
        ("DROP TABLE IF EXISTS control", "DROP TABLE IF EXISTS receipt"),
        {"s1": {"b1": BEGIN, "i1": "INSERT INTO receipt SELECT 3, deposit_no, 300 FROM control", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "r2": "SELECT deposit_no FROM control", "u2": "UPDATE control SET deposit_no = 2",
                "c2": "COMMIT"},
         "s3": {"b3": "BEGIN ISOLATION LEVEL {level} READ ONLY", "x3": "SELECT deposit_no FROM control",
                "r3": "SELECT receipt_no, amount FROM receipt WHERE deposit_no = 1 ORDER BY receipt_no",
                "c3": "COMMIT"}},
        (("b1", "i1", "b2", "r2", "u2", "c2", "b3", "x3", "r3", "c3", "c1"),
         ("b1", "i1", "b2", "r2", "u2", "c2", "c1", "b3", "x3", "r3", "c3")),
    ),
    Scenario(
        "serializable_disjoint_rows",
        _accounts((1, 100), (2, 200)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "u1": "UPDATE acct SET bal = bal + 1 WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "u2": "UPDATE acct SET bal = bal + 1 WHERE id = 2", "c2": "COMMIT"}},
        (("b1", "b2", "u1", "u2", "c1", "c2"),),
        levels=("serializable",),
    ),
    Scenario(
        "read_write_unique",
        ("CREATE TABLE test (i int PRIMARY KEY)",),
        ("DROP TABLE IF EXISTS test",),
        {"s1": {"b1": BEGIN, "r1": "SELECT * FROM test", "w1": "INSERT INTO test VALUES (42)", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "r2": "SELECT * FROM test", "w2": "INSERT INTO test VALUES (42)", "c2": "COMMIT"}},
        (("b1", "b2", "r1", "r2", "w1", "c1", "w2", "c2"),
         ("b1", "b2", "r1", "r2", "w1", "w2", "c1", "c2")),
    ),
    # ---------------------------------------------------------------- READ COMMITTED re-checks
    Scenario(
        "update_recheck_predicate",
        _accounts((1, 0), (2, 0)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "u1": "UPDATE acct SET bal = 10 WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "u2": "UPDATE acct SET bal = bal + 1 WHERE bal = 0", "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "u1", "u2", "c1", "c2", "r"),),
    ),
    Scenario(
        "update_deleted_row",
        _accounts((1, 0)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "d1": "DELETE FROM acct WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "u2": "UPDATE acct SET bal = bal + 1 WHERE id = 1",
                "d2": "DELETE FROM acct WHERE id = 1", "c2": "COMMIT"},
         "chk": {"r": "SELECT count(*) FROM acct"}},
        (("b1", "b2", "d1", "u2", "c1", "c2", "r"),
         ("b1", "b2", "d1", "d2", "c1", "c2", "r")),
    ),
    # ---------------------------------------------------------------- MERGE
    Scenario(
        "merge_increment",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "u1": "UPDATE acct SET bal = bal + 10 WHERE id = 1", "c1": "COMMIT", "a1": "ROLLBACK"},
         "s2": {"b2": BEGIN,
                "m2": "MERGE INTO acct a USING (VALUES (1, 1)) AS v(id, x) ON a.id = v.id "
                      "WHEN MATCHED THEN UPDATE SET bal = a.bal + v.x WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.x)",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "u1", "m2", "c1", "c2", "r"),
         ("b1", "b2", "u1", "m2", "a1", "c2", "r")),
    ),
    Scenario(
        # a matched row deleted concurrently: READ COMMITTED takes the NOT MATCHED clause
        "merge_deleted_row",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "d1": "DELETE FROM acct WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN,
                "m2": "MERGE INTO acct a USING (VALUES (1, 5)) AS v(id, x) ON a.id = v.id "
                      "WHEN MATCHED THEN UPDATE SET bal = a.bal + v.x WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.x)",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "d1", "m2", "c1", "c2", "r"),),
    ),
    Scenario(
        # a matched row changed concurrently: the WHEN clauses are evaluated again on it
        "merge_recheck_clauses",
        _accounts((1, 0), (2, 0)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "u1": "UPDATE acct SET bal = 10 WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN,
                "m2": "MERGE INTO acct a USING (VALUES (1), (2)) AS v(id) ON a.id = v.id "
                      "WHEN MATCHED AND a.bal = 0 THEN UPDATE SET bal = -1 WHEN MATCHED THEN DELETE",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "u1", "m2", "c1", "c2", "r"),),
    ),
    Scenario(
        # a matched row changed concurrently so that the ON condition no longer holds
        "merge_recheck_join",
        ("CREATE TABLE acct (id int NOT NULL, bal int NOT NULL)", "INSERT INTO acct VALUES (1, 0)"), DROP_ACCT,
        {"s1": {"b1": BEGIN, "u1": "UPDATE acct SET bal = 10 WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN,
                "m2": "MERGE INTO acct a USING (VALUES (1)) AS v(id) ON a.id = v.id AND a.bal = 0 "
                      "WHEN MATCHED THEN UPDATE SET bal = -1 WHEN NOT MATCHED THEN INSERT VALUES (v.id, 99)",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id, bal"}},
        (("b1", "b2", "u1", "m2", "c1", "c2", "r"),),
    ),
    Scenario(
        "merge_insert_same_key",
        ("CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)",), DROP_ACCT,
        {"s1": {"b1": BEGIN,
                "m1": "MERGE INTO acct a USING (VALUES (1)) AS v(id) ON a.id = v.id "
                      "WHEN NOT MATCHED THEN INSERT VALUES (v.id, 1)",
                "c1": "COMMIT", "a1": "ROLLBACK"},
         "s2": {"b2": BEGIN,
                "m2": "MERGE INTO acct a USING (VALUES (1)) AS v(id) ON a.id = v.id "
                      "WHEN MATCHED THEN UPDATE SET bal = a.bal + 1 WHEN NOT MATCHED THEN INSERT VALUES (v.id, 2)",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "m1", "m2", "c1", "c2", "r"),
         ("b1", "b2", "m1", "m2", "a1", "c2", "r")),
    ),
    # ---------------------------------------------------------------- row locks
    Scenario(
        "select_for_update",
        _accounts((1, 100), (2, 200)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "l1": "SELECT bal FROM acct WHERE id = 1 FOR UPDATE",
                "u1": "UPDATE acct SET bal = bal - 30 WHERE id = 1", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "l2": "SELECT bal FROM acct WHERE id = 1 FOR UPDATE",
                "n2": "SELECT bal FROM acct WHERE id = 1 FOR UPDATE NOWAIT",
                "k2": "SELECT id, bal FROM acct ORDER BY id FOR UPDATE SKIP LOCKED",
                "s2": "SELECT bal FROM acct WHERE id = 1", "c2": "COMMIT"}},
        (("b1", "b2", "l1", "l2", "u1", "c1", "c2"),
         ("b1", "b2", "s2", "l1", "u1", "l2", "c1", "c2"),
         ("b1", "b2", "l1", "n2", "c1", "c2"),
         ("b1", "b2", "l1", "k2", "c1", "c2")),
    ),
    Scenario(
        "lock_strengths",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "ks1": "SELECT id FROM acct WHERE id = 1 FOR KEY SHARE",
                "sh1": "SELECT id FROM acct WHERE id = 1 FOR SHARE", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "sh2": "SELECT id FROM acct WHERE id = 1 FOR SHARE",
                "nk2": "UPDATE acct SET bal = bal + 1 WHERE id = 1",
                "k2": "UPDATE acct SET id = 10 WHERE id = 1", "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct"}},
        (("b1", "b2", "ks1", "sh2", "nk2", "c1", "c2", "r"),
         ("b1", "b2", "ks1", "k2", "c1", "c2", "r"),
         ("b1", "b2", "sh1", "sh2", "c1", "nk2", "c2", "r"),
         ("b1", "b2", "sh1", "nk2", "c1", "c2", "r")),
        levels=("read committed",),
    ),
    Scenario(
        "deadlock",
        _accounts((1, 100), (2, 200)), DROP_ACCT,
        {"s1": {"b1": BEGIN, "x1": "UPDATE acct SET bal = bal - 10 WHERE id = 1",
                "y1": "UPDATE acct SET bal = bal + 10 WHERE id = 2", "c1": "COMMIT"},
         "s2": {"b2": BEGIN, "y2": "UPDATE acct SET bal = bal - 20 WHERE id = 2",
                "x2": "UPDATE acct SET bal = bal + 20 WHERE id = 1", "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "x1", "y2", "y1", "x2", "c1", "c2", "r"),),
        # PostgreSQL fails the transaction whose deadlock_timeout expires first; rewinddb fails
        # the one that closes the cycle, so make PostgreSQL pick that one too.
        session_setup={"s1": ("SET deadlock_timeout = '60s'",), "s2": ("SET deadlock_timeout = '10ms'",)},
        levels=("read committed",),
    ),
    Scenario(
        "unique_insert_waits",
        ("CREATE TABLE u (k int PRIMARY KEY, v text)", "INSERT INTO u VALUES (1, 'one')"),
        ("DROP TABLE IF EXISTS u",),
        {"s1": {"b1": BEGIN, "i1": "INSERT INTO u VALUES (2, 's1')", "d1": "DELETE FROM u WHERE k = 1",
                "c1": "COMMIT", "a1": "ROLLBACK"},
         "s2": {"b2": BEGIN, "i2": "INSERT INTO u VALUES (2, 's2')", "j2": "INSERT INTO u VALUES (1, 's2')",
                "c2": "COMMIT"},
         "chk": {"r": "SELECT k, v FROM u ORDER BY k"}},
        (("b1", "b2", "i1", "i2", "c1", "c2", "r"),
         ("b1", "b2", "i1", "i2", "a1", "c2", "r"),
         ("b1", "b2", "d1", "j2", "c1", "c2", "r"),
         ("b1", "b2", "d1", "j2", "a1", "c2", "r")),
        levels=("read committed", "repeatable read"),
    ),
    Scenario(
        "savepoint_locks",
        _accounts((1, 100), (2, 200)), DROP_ACCT,
        {"s1": {"b1": "BEGIN", "u1": "UPDATE acct SET bal = 1 WHERE id = 1", "sp1": "SAVEPOINT a",
                "v1": "UPDATE acct SET bal = 2 WHERE id = 2", "w1": "UPDATE acct SET bal = 3 WHERE id = 1",
                "rb1": "ROLLBACK TO SAVEPOINT a", "c1": "COMMIT"},
         "s2": {"b2": "BEGIN", "v2": "UPDATE acct SET bal = 20 WHERE id = 2",
                "u2": "UPDATE acct SET bal = 10 WHERE id = 1", "c2": "COMMIT"},
         "chk": {"r": "SELECT id, bal FROM acct ORDER BY id"}},
        (("b1", "b2", "u1", "sp1", "v1", "w1", "rb1", "v2", "u2", "c1", "c2", "r"),),
    ),
    Scenario(
        "failed_transaction",
        _accounts((1, 100)), DROP_ACCT,
        {"s1": {"b1": "BEGIN", "sp1": "SAVEPOINT a", "e1": "SELECT 1 / 0", "x1": "SELECT bal FROM acct",
                "rb1": "ROLLBACK TO a", "u1": "UPDATE acct SET bal = 5", "c1": "COMMIT"},
         "s2": {"u2": "UPDATE acct SET bal = 7"},
         "chk": {"r": "SELECT bal FROM acct"}},
        (("b1", "sp1", "e1", "x1", "rb1", "u1", "u2", "c1", "r"),),
    ),
]

BY_NAME = {s.name: s for s in SCENARIOS}
