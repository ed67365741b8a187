"""Server metrics in Prometheus text format, and the per-statement observation point.

Collection is cheap by construction: the hot path only increments counters and histogram
buckets (one `bisect` over a dozen bounds per statement; nothing per row). `statement_done`
is called once per completed statement by every front end (wire protocol and HTTP): it feeds
the latency histogram of the statement's command (the command tag without its counts:
"SELECT", "INSERT", "CREATE TABLE", ...) and writes the slow-statement log line when the
statement ran at least `log_min_duration_statement` ms. The log writer reports each group
commit (`flushed`: records in the group, seconds for write + fsync).

Everything else is read when /metrics is scraped (`render`): commits, the durable LSN, log
bytes on disk, the newest snapshot file's LSN and age, open connections.

Metric names (all prefixed rewinddb_): see docs/http-api.md.
"""
from __future__ import annotations

import logging
import os
import time
from bisect import bisect_left
from typing import TYPE_CHECKING

from engine.storage.segment import SEGMENT_SUFFIX
from engine.storage.snapshot import SUFFIX as SNAPSHOT_SUFFIX
from server.logs import redact

if TYPE_CHECKING:
    from server.app import Server

slow_log = logging.getLogger("rewinddb.statement")

LATENCY_BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                  2.5, 5.0, 10.0)
FSYNC_BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GROUP_BOUNDS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Histogram:
    """Counts per bucket (`bounds` are upper bounds; one more bucket for +Inf), sum, count."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def render(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        lines = []
        running = 0
        for bound, n in zip(self.bounds, self.counts):
            running += n
            lines.append(f'{name}_bucket{{{labels}{sep}le="{bound:g}"}} {running}')
        lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
        suffix = f"{{{labels}}}" if labels else ""
        lines.append(f"{name}_sum{suffix} {self.sum:.9g}")
        lines.append(f"{name}_count{suffix} {self.count}")
        return lines


def command_of(tag: str) -> str:
    """The command tag without its row counts: "INSERT 0 5" -> "INSERT"."""
    return tag.rstrip("0123456789 ") or tag


class Metrics:
    def __init__(self, log_min_duration_statement: int = -1) -> None:
        self.slow_seconds = log_min_duration_statement / 1000 if log_min_duration_statement >= 0 else None
        self.statements: dict[str, Histogram] = {}
        self.errors: dict[str, int] = {}          # SQLSTATE class -> count
        self.fsync = Histogram(FSYNC_BOUNDS)
        self.group_size = Histogram(GROUP_BOUNDS)
        self.connections_total = 0
        self.output_writes = 0                    # buffered protocol output written to a client socket
        self.http_requests: dict[tuple[str, int], int] = {}

    # ---------------------------------------------------------------- the hot path

    def statement_done(self, sql: str, tag: str, seconds: float, user: str) -> None:
        command = command_of(tag)
        histogram = self.statements.get(command)
        if histogram is None:
            histogram = self.statements[command] = Histogram(LATENCY_BOUNDS)
        histogram.observe(seconds)
        if self.slow_seconds is not None and seconds >= self.slow_seconds:
            ms = seconds * 1000
            slow_log.info("duration: %.3f ms  statement: %s", ms, redact(sql),
                          extra={"duration_ms": round(ms, 3), "user": user, "command": command})

    def statement_failed(self, sqlstate: str) -> None:
        key = sqlstate[:2]
        self.errors[key] = self.errors.get(key, 0) + 1

    def flushed(self, records: int, seconds: float) -> None:
        self.fsync.observe(seconds)
        self.group_size.observe(records)

    def http_request(self, route: str, status: int) -> None:
        key = (route, status)
        self.http_requests[key] = self.http_requests.get(key, 0) + 1

    # ---------------------------------------------------------------- scrape

    def render(self, server: Server) -> str:
        out: list[str] = []

        def metric(name: str, kind: str, help_text: str, lines: list[str]) -> None:
            out.append(f"# HELP rewinddb_{name} {help_text}")
            out.append(f"# TYPE rewinddb_{name} {kind}")
            out.extend(lines)

        db = server.db
        recovering = db is None
        metric("up", "gauge", "1 when the server accepts queries, 0 while it recovers or stops.",
               [f"rewinddb_up {0 if recovering or server.stopping else 1}"])
        if db is not None:
            metric("commits_total", "counter", "Transactions committed since the server started.",
                   [f"rewinddb_commits_total {db.commits}"])
            metric("durable_lsn", "gauge", "LSN of the newest durable log record.",
                   [f"rewinddb_durable_lsn {db.log.durable_lsn}"])
            metric("statements_parsed_total", "counter", "Statements parsed (plan cache misses) since the server started.",
                   [f"rewinddb_statements_parsed_total {db.parses}"])
            metric("plans_total", "counter", "Queries and writes planned since the server started.",
                   [f"rewinddb_plans_total {db.plans}"])
        metric("fsync_duration_seconds", "histogram", "Time to write and fsync one group commit.",
               self.fsync.render("rewinddb_fsync_duration_seconds"))
        metric("group_commit_size", "histogram", "Records made durable by one fsync.",
               self.group_size.render("rewinddb_group_commit_size"))
        log_bytes, snapshot = _disk_usage(server.config.data_dir)
        metric("log_bytes", "gauge", "Bytes of log segment files on disk.", [f"rewinddb_log_bytes {log_bytes}"])
        if snapshot is not None:
            lsn, written = snapshot
            metric("snapshot_lsn", "gauge", "LSN of the newest snapshot.", [f"rewinddb_snapshot_lsn {lsn}"])
            metric("snapshot_age_seconds", "gauge", "Seconds since the newest snapshot file was written.",
                   [f"rewinddb_snapshot_age_seconds {max(0.0, time.time() - written):.3f}"])
        sessions = sum(1 for c in server.connections if c.session is not None)
        metric("connections", "gauge", "Open wire-protocol client sessions.", [f"rewinddb_connections {sessions}"])
        metric("output_writes_total", "counter", "Writes of buffered protocol output to client sockets.",
               [f"rewinddb_output_writes_total {self.output_writes}"])
        metric("connections_total", "counter", "Wire-protocol sessions started since the server started.",
               [f"rewinddb_connections_total {self.connections_total}"])
        latency: list[str] = []
        for command in sorted(self.statements):
            latency.extend(self.statements[command].render("rewinddb_statement_duration_seconds",
                                                           f'command="{command}"'))
        metric("statement_duration_seconds", "histogram", "Latency of completed statements by command tag.",
               latency)
        metric("statement_errors_total", "counter", "Failed statements by SQLSTATE class.",
               [f'rewinddb_statement_errors_total{{sqlstate_class="{k}"}} {v}' for k, v in sorted(self.errors.items())])
        metric("http_requests_total", "counter", "HTTP API requests by route and status.",
               [f'rewinddb_http_requests_total{{route="{r}",status="{s}"}} {n}'
                for (r, s), n in sorted(self.http_requests.items())])
        return "\n".join(out) + "\n"


def _disk_usage(data_dir: str) -> tuple[int, tuple[int, float] | None]:
    """(bytes of log segments, (LSN, mtime) of the newest snapshot file or None)."""
    log_bytes = 0
    newest: tuple[int, float] | None = None
    for sub, suffix in (("log", SEGMENT_SUFFIX), ("snapshots", SNAPSHOT_SUFFIX)):
        try:
            with os.scandir(os.path.join(data_dir, sub)) as entries:
                for entry in entries:
                    stem = entry.name[: -len(suffix)]
                    if not (entry.name.endswith(suffix) and stem.isdigit()):
                        continue
                    stat = entry.stat()
                    if suffix == SEGMENT_SUFFIX:
                        log_bytes += stat.st_size
                    elif newest is None or int(stem) > newest[0]:
                        newest = (int(stem), stat.st_mtime)
        except OSError:
            pass
    return log_bytes, newest
