"""LISTEN / NOTIFY / UNLISTEN / pg_notify() as in PostgreSQL, end to end with psycopg.

Delivered at commit and only for committed work, in commit order, duplicates within a
transaction folded, held while the listener is inside a transaction, the 8000-byte
payload limit, LISTEN taking effect at commit.
"""
from __future__ import annotations

import psycopg
import pytest


def connect(server):
    return psycopg.connect(server.dsn, autocommit=True)


def received(conn, count: int, timeout: float = 5.0) -> list[tuple[str, str, int]]:
    return [(n.channel, n.payload, n.pid) for n in conn.notifies(timeout=timeout, stop_after=count)]


def nothing_pending(conn) -> bool:
    """Send a no-op so any notification already delivered is read, then check none came."""
    conn.execute("SELECT 1")
    return list(conn.notifies(timeout=0.2)) == []


def test_notify_is_delivered_at_commit_in_commit_order(server):
    with connect(server) as listener, connect(server) as sender:
        listener.execute("LISTEN jobs")
        sender_pid = sender.info.backend_pid
        with sender.transaction():
            sender.execute("NOTIFY jobs, 'first'")
            sender.execute("SELECT pg_notify('jobs', 'second')")
            sender.execute("NOTIFY jobs, 'first'")      # identical: folded into one
            assert nothing_pending(listener)
        sender.execute("NOTIFY jobs, 'third'")
        assert received(listener, 3) == [("jobs", "first", sender_pid), ("jobs", "second", sender_pid),
                                          ("jobs", "third", sender_pid)]


def test_rolled_back_notifications_are_never_delivered(server):
    with connect(server) as listener, connect(server) as sender:
        listener.execute("LISTEN rb")
        with pytest.raises(psycopg.errors.DivisionByZero):
            with sender.transaction():
                sender.execute("NOTIFY rb, 'lost'")
                sender.execute("SELECT 1/0")
        sender.execute("BEGIN")
        sender.execute("NOTIFY rb, 'also lost'")
        sender.execute("ROLLBACK")
        sender.execute("NOTIFY rb, 'kept'")
        assert [p for _, p, _ in received(listener, 1)] == ["kept"]
        assert nothing_pending(listener)


def test_self_notification_channel_case_and_unlisten(server):
    with connect(server) as conn:
        conn.execute('LISTEN "MixedCase"')
        conn.execute("LISTEN lower")
        conn.execute("NOTIFY MixedCase, 'folded'")       # unquoted: the channel is mixedcase
        conn.execute("SELECT pg_notify('MixedCase', 'exact')")
        conn.execute("NOTIFY Lower, 'x'")
        assert sorted(p for _, p, _ in received(conn, 2)) == ["exact", "x"]
        conn.execute("UNLISTEN *")
        conn.execute("NOTIFY lower, 'y'")
        assert nothing_pending(conn)


def test_listen_takes_effect_at_commit(server):
    with connect(server) as listener, connect(server) as sender:
        listener.execute("BEGIN")
        listener.execute("LISTEN later")
        listener.execute("ROLLBACK")
        sender.execute("NOTIFY later, 'nobody listens'")
        assert nothing_pending(listener)
        listener.execute("BEGIN")
        listener.execute("LISTEN later")
        listener.execute("COMMIT")
        sender.execute("NOTIFY later, 'now'")
        assert [p for _, p, _ in received(listener, 1)] == ["now"]


def test_notifications_wait_while_the_listener_is_in_a_transaction(server):
    with connect(server) as listener, connect(server) as sender:
        listener.execute("LISTEN held")
        listener.execute("BEGIN")
        sender.execute("NOTIFY held, 'one'")
        listener.execute("SELECT 1")
        assert list(listener.notifies(timeout=0.2)) == []
        listener.execute("COMMIT")
        assert [p for _, p, _ in received(listener, 1)] == ["one"]


def test_payload_and_channel_limits(server):
    with connect(server) as conn:
        conn.execute("SELECT pg_notify('big', %s)", ("x" * 7999,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="payload string too long"):
            conn.execute("SELECT pg_notify('big', %s)", ("x" * 8000,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="channel name cannot be empty"):
            conn.execute("SELECT pg_notify('', 'x')")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="channel name too long"):
            conn.execute("SELECT pg_notify(%s, 'x')", ("c" * 64,))
        assert conn.execute("SELECT pg_notify('ok', NULL)").fetchall() == [("",)]
