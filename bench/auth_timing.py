"""Does a failed login take the same time for an unknown user as for a wrong password?

    python -m bench.auth_timing [--attempts 200] [--method scram-sha-256]

Starts a server whose loopback clients must authenticate with `--method` (auth_failure_delay
0, so the delay does not hide anything), creates a role, then times failed logins by psycopg,
interleaving a known user with a wrong password and an unknown user, and prints the median
and the spread of each. The answers themselves are the same (tests/robust/test_auth_hardening.py);
this measures that the work is too.
"""
from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from bench.common import machine, rewinddb_server, today


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--method", default="scram-sha-256", choices=("scram-sha-256", "md5", "password"))
    args = parser.parse_args()
    with rewinddb_server(("--local-auth", args.method, "--password", "boot", "--auth-failure-delay", "0")) as server:
        with psycopg.connect(server.dsn, password="boot", autocommit=True) as conn:
            conn.execute("CREATE ROLE alice LOGIN PASSWORD 'right'")
        times: dict[str, list[float]] = {"alice": [], "nobody": []}
        for i in range(args.attempts * 2):
            user = "alice" if i % 2 else "nobody"
            started = time.perf_counter()
            try:
                psycopg.connect(f"{server.dsn} user={user}", password="wrong").close()
                raise SystemExit("a wrong password was accepted")
            except psycopg.OperationalError:
                pass
            times[user].append((time.perf_counter() - started) * 1000)
    print(f"{today()}, {machine()}, method {args.method}, {args.attempts} failed logins each")
    for user, label in (("alice", "known user, wrong password"), ("nobody", "unknown user")):
        t = sorted(times[user])
        print(f"  {label:28} median {statistics.median(t):6.2f} ms, p10 {t[len(t) // 10]:6.2f}, "
              f"p90 {t[len(t) * 9 // 10]:6.2f}")


if __name__ == "__main__":
    main()
