"""Durable storage: the segmented, checksummed, hash-chained event log and snapshots.

The log stores opaque payloads (one committed transaction each) under dense LSNs;
what a payload means is `engine.events`' business. See docs/log-format.md.
"""
