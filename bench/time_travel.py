"""Time-travel costs: `python -m bench.time_travel [--rows N] [--repeat R] [--record]`.

1. AS OF a recent point (inside the in-memory history window) against the same query on the
   current table, in the same run: a full-table aggregate and a primary-key point select.
   The target is at most 1.5x.
2. AS OF a point older than the window on an N-row table (default 1,000,000): the first read
   rebuilds the state from the nearest snapshot kept as a checkpoint plus a replay; later
   reads at or near that point use the cached state. Targets: seconds the first time, fast
   afterwards.

The server runs with a small history window (1,000 transactions) and snapshots taken only
by CHECKPOINT here, so which snapshot serves the old point is known. Rows are loaded with
COPY in 50,000-row transactions. Figures are medians of R runs (interleaved, to share the
machine's noise), with the spread (min-max) alongside; `--record` appends a section to
bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import psycopg

from bench.common import RESULTS, machine, rewinddb_server, today

LOAD_BATCH = 50_000
WINDOW = 1_000


def timed(conn: psycopg.Connection, sql: str, params=None) -> float:
    started = time.perf_counter()
    conn.execute(sql, params).fetchall()
    return time.perf_counter() - started


def load(conn: psycopg.Connection, rows: int) -> None:
    conn.execute("CREATE TABLE big (id int PRIMARY KEY, grp int, v int, note text)")
    for start in range(0, rows, LOAD_BATCH):
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy("COPY big (id, grp, v, note) FROM STDIN") as copy:
                for i in range(start, min(rows, start + LOAD_BATCH)):
                    copy.write_row((i, i % 100, i % 1000, f"row {i}"))


def churn(conn: psycopg.Connection, rows: int, transactions: int, rng: random.Random) -> None:
    for _ in range(transactions):
        conn.execute("UPDATE big SET v = v + 1 WHERE id = %s", (rng.randrange(rows),))


def last_lsn(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT lsn FROM rewind.log_digest()").fetchone()[0]


def ratio_of(conn: psycopg.Connection, now_sql: str, past_sql: str, params_fn, repeat: int) -> tuple[list[float], list[float]]:
    now, past = [], []
    for _ in range(repeat):
        now.append(timed(conn, now_sql, params_fn()))
        past.append(timed(conn, past_sql, params_fn()))
    return now, past


def spread(values: list[float]) -> str:
    return f"{min(values) * 1000:.1f}-{max(values) * 1000:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    rng = random.Random(7)
    server_args = ("--history-window", str(WINDOW), "--checkpoint-spacing", "1", "--snapshots-kept", "1",
                   "--snapshot-events", str(10 ** 12), "--snapshot-log-bytes", str(1 << 50),
                   "--snapshot-interval", "1000000")
    with rewinddb_server(server_args) as server, psycopg.connect(server.dsn, autocommit=True) as conn:
        started = time.perf_counter()
        load(conn, args.rows)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("CHECKPOINT")
        checkpoint_seconds = time.perf_counter() - started
        loaded = last_lsn(conn)
        churn(conn, args.rows, 200, rng)
        old_point = last_lsn(conn)                   # 200 transactions after the checkpoint
        churn(conn, args.rows, 3 * WINDOW, rng)      # pushes old_point out of the window
        conn.execute("CHECKPOINT")
        churn(conn, args.rows, 100, rng)
        head = last_lsn(conn)
        recent = head - 50                            # inside the window

        # 1. a recent point against now
        agg_now, agg_past = ratio_of(conn, "SELECT grp, sum(v) FROM big GROUP BY grp",
                                     f"SELECT grp, sum(v) FROM big FOR SYSTEM_TIME AS OF TRANSACTION {recent} GROUP BY grp",
                                     lambda: None, args.repeat)
        key = lambda: (rng.randrange(args.rows),)  # noqa: E731
        point_now, point_past = [], []
        for _ in range(args.repeat):
            n, p = ratio_of(conn, "SELECT v FROM big WHERE id = %s",
                            f"SELECT v FROM big FOR SYSTEM_TIME AS OF TRANSACTION {recent} WHERE id = %s", key, 200)
            point_now.append(statistics.median(n))
            point_past.append(statistics.median(p))

        # 2. a point outside the window
        old_sql = f"SELECT grp, sum(v) FROM big FOR SYSTEM_TIME AS OF TRANSACTION {old_point} GROUP BY grp"
        first = timed(conn, old_sql)
        again = [timed(conn, old_sql) for _ in range(args.repeat)]
        near_sql = f"SELECT v FROM big FOR SYSTEM_TIME AS OF TRANSACTION {old_point + 20} WHERE id = %s"
        near_first = timed(conn, near_sql, key())
        near = [timed(conn, near_sql, key()) for _ in range(args.repeat * 20)]
        oldest_sql = f"SELECT count(*) FROM big FOR SYSTEM_TIME AS OF TRANSACTION {loaded - 1}"
        oldest_first = timed(conn, oldest_sql)

    m = statistics.median
    lines = [
        f"## {today()} — time travel (`python -m bench.time_travel --rows {args.rows}`)",
        "",
        f"{machine()}, uvloop. rewinddb only (PostgreSQL has no time travel): ratios are AS OF / now,",
        f"same server, same run, interleaved; medians of {args.repeat} runs, spread min-max in ms.",
        f"{args.rows:,} rows loaded with COPY in {args.rows // LOAD_BATCH} transactions ({load_seconds:.1f} s),",
        f"CHECKPOINT {checkpoint_seconds:.1f} s; history window {WINDOW:,} transactions; the old point is",
        f"{head - old_point:,} transactions back, 200 after a snapshot kept as a checkpoint.",
        "",
        "| query | now (ms) | AS OF recent point (ms) | ratio |",
        "|---|---|---|---|",
        f"| GROUP BY over all rows | {m(agg_now) * 1000:.0f} ({spread(agg_now)}) | {m(agg_past) * 1000:.0f} ({spread(agg_past)}) "
        f"| {m(agg_past) / m(agg_now):.2f} |",
        f"| primary-key point select | {m(point_now) * 1000:.2f} ({spread(point_now)}) | {m(point_past) * 1000:.2f} "
        f"({spread(point_past)}) | {m(point_past) / m(point_now):.2f} |",
        "",
        "| outside the window | first read (s) | later reads (ms) |",
        "|---|---|---|",
        f"| GROUP BY AS OF the old point | {first:.2f} | {m(again) * 1000:.0f} ({spread(again)}) |",
        f"| point select AS OF 20 transactions later | {near_first * 1000:.0f} ms | {m(near) * 1000:.2f} ({spread(near)}) |",
        f"| count(*) AS OF before the first snapshot (replay from the start) | {oldest_first:.2f} | |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        current = RESULTS.read_text()
        head_, _, rest = current.partition("\n## ")
        RESULTS.write_text(head_ + "\n" + text + "\n## " + rest if rest else current + "\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
