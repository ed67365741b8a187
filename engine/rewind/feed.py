"""Notifications at commit: LISTEN/NOTIFY, and the `rewind_changes` change feed.

`Outbox` is the one place notifications leave the database. `Database.commit` hands it
each committed record (`committed`); the log's durability callback (`durable`) delivers
everything up to the new durable LSN, in LSN order, so listeners get notifications

- only for committed work (a rolled-back transaction never reaches the outbox),
- only once it can no longer be lost (durable; with synchronous_commit = off that is a
  little after the commit was acknowledged),
- in commit order, each transaction's together: first its row changes on the
  `rewind_changes` channel, then its NOTIFYs in the order sent (identical channel and
  payload pairs folded into one, as PostgreSQL does).

The change feed sends one notification per committed row change, the JSON object
`engine.changes` defines ({"lsn", "table", "op", "key", "after"}), encoded exactly as the
HTTP change stream encodes it (`engine.jsonvalue.ENCODER`); a change that does not
fit PostgreSQL's 8000-byte payload limit is abbreviated (long strings in "after" cut short,
or "after" left out) and marked `"abbreviated": true`: the full row is in
`rewind.changes` at that LSN.

Delivery must never raise (it runs inside the log writer's callback): a failure is logged.
Sessions hold what arrives while they are inside a transaction (Session.deliver_notification).
"""
from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine.changes import record_changes
from engine.errors import SqlError
from engine.jsonvalue import ENCODER

if TYPE_CHECKING:
    from engine.database import Database

log = logging.getLogger("rewinddb.feed")

CHANGES_CHANNEL = "rewind_changes"
PAYLOAD_LIMIT = 8000          # bytes; a payload must be shorter (PostgreSQL's NOTIFY limit)
CHANNEL_LIMIT = 64            # bytes; a channel name must be shorter (NAMEDATALEN)
_SHORT_STRING = 200           # characters kept of each long string when a change is abbreviated


def check_notification(channel: str | None, payload: str | None) -> tuple[str, str]:
    """A NOTIFY's channel and payload, validated as PostgreSQL does."""
    if not channel:
        raise SqlError("22023", "channel name cannot be empty")
    if len(channel.encode()) >= CHANNEL_LIMIT:
        raise SqlError("22023", "channel name too long")
    payload = payload or ""
    if len(payload.encode()) >= PAYLOAD_LIMIT:
        raise SqlError("22023", "payload string too long")
    return channel, payload


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: deque[tuple[int, int, list[tuple[str, str]], ev.Transaction | None]] = deque()

    def committed(self, lsn: int, record: ev.Transaction, sender_pid: int) -> None:
        """Record `lsn` was applied: queue what it must deliver once durable."""
        if not self.db.listeners:
            return
        notices = list(dict.fromkeys((e.channel, e.payload) for e in record.events if type(e) is ev.Notified))
        feed = record if self.db.listeners.get(CHANGES_CHANNEL) else None
        if notices or feed is not None:
            self._queue.append((lsn, sender_pid, notices, feed))

    def durable(self, lsn: int) -> None:
        """Everything up to `lsn` is durable: deliver it, in LSN order."""
        queue = self._queue
        while queue and queue[0][0] <= lsn:
            entry = queue.popleft()
            try:
                self._deliver(*entry)
            except Exception:
                log.exception("delivering the notifications of transaction %d failed", entry[0])

    def _deliver(self, lsn: int, sender_pid: int, notices: list[tuple[str, str]], record: ev.Transaction | None) -> None:
        listeners = self.db.listeners
        if record is not None:
            feed = list(listeners.get(CHANGES_CHANNEL, ()))
            if feed:
                for change in record_changes(self.db.state, lsn, record):
                    payload = change_payload(change)
                    for session in feed:
                        session.deliver_notification(CHANGES_CHANNEL, payload, sender_pid)
        for channel, payload in notices:
            for session in list(listeners.get(channel, ())):
                session.deliver_notification(channel, payload, sender_pid)


def change_payload(change: dict[str, Any]) -> str:
    """A change as a NOTIFY payload: its JSON, abbreviated to fit the payload limit."""
    text = _json(change)
    if len(text.encode()) < PAYLOAD_LIMIT:
        return text
    after = change.get("after")
    if isinstance(after, dict):
        shortened = {k: (v[:_SHORT_STRING] if isinstance(v, str) else v) for k, v in after.items()}
        text = _json({**change, "after": shortened, "abbreviated": True})
        if len(text.encode()) < PAYLOAD_LIMIT:
            return text
    text = _json({**change, "after": None, "abbreviated": True})
    if len(text.encode()) < PAYLOAD_LIMIT:
        return text
    return _json({"lsn": change["lsn"], "table": change["table"], "op": change["op"], "key": None,
                  "after": None, "abbreviated": True})


def _json(value: Any) -> str:
    return ENCODER.encode(value).decode()
