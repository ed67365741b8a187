"""Storage benchmarks (not a test): group commit, replay reads, open and verify times.

Run: python tests/storage/bench_storage.py [directory]   (default: a temp dir on /tmp)
Prints one line per figure; docs/log-format.md keeps the numbers from the last run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from engine.storage.log import SegmentedLog  # noqa: E402
from engine.storage.verify import verify_log  # noqa: E402

PAYLOAD = bytes(range(200))


async def group_commit(directory: str, committers: int, total: int = 10_000) -> tuple[float, float]:
    """`committers` tasks each append + wait_durable in a loop; returns (records/s, mean batch)."""
    log = SegmentedLog.open(directory)
    flushes = 0

    def count(_lsn: int) -> None:
        nonlocal flushes
        flushes += 1

    log.on_durable = count
    await log.start()
    per = total // committers

    async def committer() -> None:
        for _ in range(per):
            await log.wait_durable(log.append(time.time_ns() // 1000, PAYLOAD))

    started = time.perf_counter()
    await asyncio.gather(*(committer() for _ in range(committers)))
    elapsed = time.perf_counter() - started
    await log.close()
    return per * committers / elapsed, per * committers / flushes


async def batches(directory: str, batch: int, total: int = 10_000) -> float:
    """One producer appends `batch` records, waits for the last, repeats; records/s."""
    log = SegmentedLog.open(directory)
    await log.start()
    started = time.perf_counter()
    for _ in range(total // batch):
        for _ in range(batch):
            lsn = log.append(time.time_ns() // 1000, PAYLOAD)
        await log.wait_durable(lsn)
    elapsed = time.perf_counter() - started
    await log.close()
    return total // batch * batch / elapsed


def median_of(runs: int, measure: Callable[[str], Awaitable[Any]], root: str, name: str) -> Any:
    results = [asyncio.run(measure(os.path.join(root, f"{name}-{k}"))) for k in range(runs)]
    return sorted(results)[runs // 2]


async def fill(directory: str, total: int, payload: bytes) -> None:
    log = SegmentedLog.open(directory)
    await log.start()
    for i in range(total):
        lsn = log.append(i, payload)
        if i % 20_000 == 0:
            await log.wait_durable(lsn)
    await log.close()


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rewinddb-bench-")
    try:
        for batch in (1, 8, 64, 512, 10_000):
            rate = median_of(3, lambda d, b=batch: batches(d, b), root, f"batch{batch}")
            print(f"append {batch:5d}, wait, repeat:      {rate:10,.0f} records/s")
        for committers in (1, 8, 64, 512):
            rate, batch = median_of(3, lambda d, c=committers: group_commit(d, c), root, f"gc{committers}")
            print(f"{committers:4d} committers (append+wait): {rate:10,.0f} records/s (mean batch {batch:.1f})")

        big = os.path.join(root, "big")
        n = 1_000_000
        started = time.perf_counter()
        asyncio.run(fill(big, n, PAYLOAD[:100]))
        print(f"fill {n:,} x 100-byte records:  {n / (time.perf_counter() - started):10,.0f} records/s")
        size = sum(os.path.getsize(os.path.join(big, f)) for f in os.listdir(big) if f.endswith(".seg"))
        print(f"  {len(os.listdir(big))} files, {size / 2**20:.0f} MiB of segments")

        started = time.perf_counter()
        log = SegmentedLog.open(big)
        print(f"open (warm cache):                {time.perf_counter() - started:10.3f} s")
        started = time.perf_counter()
        count = sum(1 for _ in log.records())
        elapsed = time.perf_counter() - started
        print(f"read all records:                 {count / elapsed:10,.0f} records/s")
        started = time.perf_counter()
        count = sum(1 for _ in log.records(n // 2, n // 2 + 999))
        print(f"read 1000 from the middle:        {time.perf_counter() - started:10.4f} s")
        started = time.perf_counter()
        for t in range(0, n, n // 1000):
            log.lsn_at_time(t)
        print(f"lsn_at_time:                      {(time.perf_counter() - started) / 1000 * 1e6:10.1f} us")
        asyncio.run(log.close())

        for name in os.listdir(big):
            if name.endswith(".idx"):
                os.remove(os.path.join(big, name))
        started = time.perf_counter()
        asyncio.run(SegmentedLog.open(big).close())
        print(f"open, all indexes rebuilt:        {time.perf_counter() - started:10.3f} s")
        started = time.perf_counter()
        report = verify_log(big)
        assert report.ok and report.records == n, report
        print(f"verify_log (CRC + SHA-256 chain): {time.perf_counter() - started:10.3f} s")
    finally:
        if len(sys.argv) <= 1:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
