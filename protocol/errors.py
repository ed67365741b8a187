"""Errors raised by the protocol layer, and whose fault each one is.

Role: one exception type for a misbehaving *peer*, `ProtocolViolation`, carrying
everything the server needs to answer it: the SQLSTATE, the message text, and
whether the connection can go on. Misuse by *our own* code (encoding a value
that does not fit its type, an impossible argument to an encoder) is not a
peer's fault and raises the ordinary `ValueError` / `TypeError` instead, so the
two can never be confused.

Invariants: a `ProtocolViolation` is only ever raised for bytes that came from
the peer. `fatal=True` means the byte stream can no longer be trusted (framing
is lost or the peer broke the protocol): the server sends
`error_response(exc.severity, exc.sqlstate, exc.message)` and closes the
connection. `fatal=False` means one value was bad but framing is intact (for
example an invalid binary parameter in a Bind, SQLSTATE 22P03): the server
sends an ErrorResponse with severity ERROR and carries on, exactly as after
any other failed statement.
"""

from __future__ import annotations

__all__ = ["ProtocolViolation"]


class ProtocolViolation(Exception):
    """The peer sent bytes that break the PostgreSQL protocol (the peer's fault).

    What the server should do: send ``error_response(exc.severity,
    exc.sqlstate, exc.message)``; then, if ``exc.fatal``, close the connection.
    """

    message: str
    sqlstate: str
    fatal: bool

    def __init__(self, message: str, sqlstate: str = "08P01", *, fatal: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.fatal = fatal

    @property
    def severity(self) -> str:
        """The ErrorResponse severity to report: ``FATAL`` if the connection must close."""
        return "FATAL" if self.fatal else "ERROR"

    def __repr__(self) -> str:
        return f"ProtocolViolation({self.message!r}, {self.sqlstate!r}, fatal={self.fatal})"
