"""The on-disk format as docs/log-format.md specifies it: the worked example, byte for byte."""

from __future__ import annotations

import hashlib
import os
import re
import struct

from engine.storage.files import FaultyFileLayer
from engine.storage.index import SegmentIndex
from engine.storage.log import SegmentedLog
from engine.storage.segment import (
    GENESIS_CHAIN,
    encode_frame_header,
    encode_segment_header,
    next_chain,
)

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "log-format.md")
PAYLOAD = bytes.fromhex("91a26869")
T = 1_700_000_000_000_000


def documented_example() -> bytes:
    text = open(DOC, encoding="utf-8").read()
    block = re.search(r"```hexdump\n(.*?)```", text, re.S)
    assert block, "the worked example is missing from docs/log-format.md"
    data = bytearray()
    for line in block.group(1).splitlines():
        offset, _, hexes = line.partition("  ")
        assert int(offset, 16) == len(data)
        data += bytes.fromhex(hexes.replace(" ", ""))
    return bytes(data)


def test_the_worked_example_matches_the_encoder():
    chain = next_chain(GENESIS_CHAIN, 1, T, PAYLOAD)
    encoded = encode_segment_header(1, GENESIS_CHAIN) + encode_frame_header(1, T, 0, chain, PAYLOAD) + PAYLOAD
    assert documented_example() == encoded
    assert chain == hashlib.sha256(bytes(32) + struct.pack("<QQB", 1, T, 1) + PAYLOAD).digest()
    assert chain.hex() == "50a00384db2b8463d132ba918f3e038724ab7e0e65d1cdfe9df81a6997a186a0"


def test_the_worked_example_is_what_the_log_writes():
    files = FaultyFileLayer()
    log = SegmentedLog.open("/d", segment_size=4096, files=files)
    log.append_durable(T, PAYLOAD)
    data = files.read_bytes("/d/00000000000000000001.seg")
    example = documented_example()
    assert data[: len(example)] == example
    assert data[len(example) :] == bytes(4096 - len(example))  # preallocated, zero-filled
    assert log.head() == (1, "50a00384db2b8463d132ba918f3e038724ab7e0e65d1cdfe9df81a6997a186a0")


def test_index_files_round_trip():
    index = SegmentIndex(7, 6, 56)
    for k, lsn in enumerate(range(7, 200)):
        index.add(lsn, 1000 + lsn // 2, 56 + 300 * k)
    index.finish(199, 1099, 56 + 300 * 192, 56 + 300 * 193, b"c" * 32)
    decoded = SegmentIndex.decode(index.encode())
    assert decoded == index
    gaps = [b - a for a, b in zip(index.offsets, index.offsets[1:])]
    assert index.offsets[0] == 56 and all(4096 <= gap < 4096 + 300 for gap in gaps)
    damaged = bytearray(index.encode())
    damaged[40] ^= 1
    assert SegmentIndex.decode(bytes(damaged)) is None
    assert SegmentIndex.decode(index.encode()[:-1]) is None
