"""One client connection: bytes from the socket -> protocol messages -> engine session -> bytes back.

An asyncio.Protocol feeds received bytes to the sans-IO `FrontendDecoder` and wakes the
connection's task, which handles messages strictly in order: the startup phase (SSL and
GSS requests refused with `N` unless TLS is configured, cancel requests, the startup
message, authentication), then the simple and extended query protocols. Replies for one
message are collected and written with one `transport.write`.

A long result is streamed in batches; between batches the task yields to the event loop
every few milliseconds, so one big query never stalls other sessions, and it waits while
the client is slow to read (transport flow control). A protocol violation gets an
ErrorResponse (08P01) and closes this connection only.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable

from engine.errors import SqlError
from engine.session import Cursor, Prepared, Session
from engine.types import (INTERVAL, SqlType, TYPES_BY_OID, UNKNOWN, Interval, text_formatter,
                          text_parser)
from protocol import backend as B
from protocol import messages as M
from protocol.binary import binary_supported, decode_binary, encode_binary
from protocol.decoder import FrontendDecoder
from protocol.errors import ProtocolViolation

if TYPE_CHECKING:
    from server.app import Server

log = logging.getLogger("rewinddb.server")

YIELD_EVERY = 0.005          # seconds of work between yields to the event loop
WRITE_CHUNK = 64 * 1024      # flush the output buffer beyond this many bytes


class ClientGone(Exception):
    """The peer closed the connection."""


class Portal:
    __slots__ = ("prepared", "params", "result_formats", "cursor", "encoders", "done", "sent", "tag")

    def __init__(self, prepared: Prepared, params: tuple, result_formats: tuple[int, ...]) -> None:
        self.prepared = prepared
        self.params = params
        self.result_formats = result_formats
        self.cursor: Cursor | None = None
        self.encoders = None
        self.done = False
        self.sent = 0
        self.tag: str | None = None


class Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.decoder = FrontendDecoder(server.config.max_message_size)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.session: Session | None = None
        self.secret = secrets.randbits(31)
        self.out: list[bytes] = []
        self.out_size = 0
        self._wake = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False
        self.busy = False
        self.task: asyncio.Task | None = None
        self.portals: dict[str, Portal] = {}
        self.skip_to_sync = False
        self.cancel_requested = False

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else "local"
        self.server.connections.add(self)
        self.task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        try:
            self.decoder.feed(data)
        except ProtocolViolation:
            pass          # reported when the task reads the next message
        self._wake.set()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake.set()
        self._can_write.set()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # ---------------------------------------------------------------- output

    def send(self, data: bytes) -> None:
        self.out.append(data)
        self.out_size += len(data)

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.out) if len(self.out) > 1 else self.out[0])
        self.out.clear()
        self.out_size = 0

    async def drain(self) -> None:
        self.flush()
        if not self._can_write.is_set():
            await self._can_write.wait()
        if self.closed:
            raise ClientGone()

    def send_error(self, e: SqlError) -> None:
        self.send(B.error_response(e.severity, e.sqlstate, e.message, detail=e.detail, hint=e.hint,
                                   position=e.position, table=e.table, column=e.column,
                                   constraint=e.constraint))

    def send_notices(self) -> None:
        session = self.session
        if session is None:
            return
        if session.notices:
            for n in session.notices:
                self.send(B.notice_response(n.severity, n.code, n.message, detail=n.detail, hint=n.hint))
            session.notices.clear()
        if session.changed_parameters:
            for name, value in session.changed_parameters:
                self.send(B.parameter_status(name, value))
            session.changed_parameters.clear()
        if session.notifications:
            for pid, channel, payload in session.notifications:
                self.send(B.notification_response(pid, channel, payload))
            session.notifications.clear()

    # ---------------------------------------------------------------- the task

    async def next_message(self, idle_timeout: float | None = None) -> Any:
        """The next message; with `idle_timeout`, None if none arrives in that many seconds."""
        while True:
            msg = self.decoder.next_message()
            if msg is not None:
                return msg
            if self.closed:
                raise ClientGone()
            self._wake.clear()
            if idle_timeout is None:
                await self._wake.wait()
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), idle_timeout)
                except asyncio.TimeoutError:
                    return None

    def _idle_in_transaction_timeout(self) -> float | None:
        """idle_in_transaction_session_timeout, when the session sits in a transaction block."""
        session = self.session
        if session.status == "I":
            return None
        from engine.session import _milliseconds
        ms = _milliseconds(session.settings["idle_in_transaction_session_timeout"])
        return ms / 1000 if ms > 0 else None

    async def _run(self) -> None:
        try:
            if not await self._startup():
                return
            await self._serve()
        except ClientGone:
            pass
        except ProtocolViolation as e:
            self.send(B.error_response("FATAL", e.sqlstate, e.message))
            self.flush()
        except Exception:
            log.error("connection from %s failed:\n%s", self.peer, traceback.format_exc())
            try:
                self.send(B.error_response("FATAL", "XX000", "internal error; see the server log"))
                self.flush()
            except Exception:
                pass
        finally:
            self.flush()
            if self.session is not None:
                self.session.close()
            self.server.connections.discard(self)
            if self.transport is not None:
                self.transport.close()

    async def _startup(self) -> bool:
        while True:
            msg = await self.next_message()
            if isinstance(msg, (M.SSLRequest, M.GSSENCRequest)):
                self.send(B.SSL_REFUSED)
                self.flush()
                continue
            if isinstance(msg, M.CancelRequest):
                self.server.cancel(msg.process_id, msg.secret_key)
                return False
            if isinstance(msg, M.StartupMessage):
                return await self._start_session(msg)
            raise ProtocolViolation("expected a startup message")

    async def _start_session(self, msg: M.StartupMessage) -> bool:
        params = dict(msg.parameters)
        user = params.get("user")
        if not user:
            self.send(B.error_response("FATAL", "28000", "no PostgreSQL user name specified in startup packet"))
            return False
        database = params.get("database") or user
        options = _startup_options(params)
        if self.server.at_capacity():
            self.send(B.error_response("FATAL", "53300", "sorry, too many clients already"))
            return False
        try:
            session = Session(self.server.db, user, database, params.get("application_name", ""),
                              self.peer, options)
        except SqlError as e:
            self.send(B.error_response("FATAL", e.sqlstate, e.message))
            return False
        self.session = session
        self.server.metrics.connections_total += 1
        session.on_notification = self._notification_arrived
        self.send(B.authentication_ok())
        if msg.protocol_version & 0xFFFF:
            self.send(B.negotiate_protocol_version(0, [k for k in params if k.startswith("_pq_.")]))
        for name, value in session.reported_parameters():
            self.send(B.parameter_status(name, value))
        session.changed_parameters.clear()
        self.send(B.backend_key_data(session.backend_pid, self.secret))
        self.send(B.ready_for_query("I"))
        self.flush()
        return True

    def _notification_arrived(self) -> None:
        if not self.busy and self.session is not None:
            self.send_notices()
            self.flush()

    async def _serve(self) -> None:
        while True:
            self.flush()
            msg = await self.next_message(self._idle_in_transaction_timeout())
            if msg is None:
                self.send(B.error_response("FATAL", "25P03", "terminating connection due to idle-in-transaction timeout"))
                return
            self.busy = True
            self.cancel_requested = False
            try:
                if isinstance(msg, M.Query):
                    await self._simple_query(msg.sql)
                elif isinstance(msg, M.Terminate):
                    return
                elif isinstance(msg, (M.Parse, M.Bind, M.Describe, M.Execute, M.Close, M.Sync, M.Flush)):
                    await self._extended(msg)
                elif isinstance(msg, (M.CopyData, M.CopyDone, M.CopyFail)):
                    pass      # stray COPY messages after an error are ignored, as PostgreSQL does
                elif isinstance(msg, M.FunctionCall):
                    self.send_error(SqlError("0A000", "the function call protocol is not supported"))
                    self.send(B.ready_for_query(self.session.status))
                else:
                    raise ProtocolViolation(f"unexpected message {type(msg).__name__}")
            finally:
                self.busy = False

    # ---------------------------------------------------------------- simple query

    async def _simple_query(self, sql: str) -> None:
        session = self.session
        from engine.sql.parser import split_statements
        try:
            pieces = split_statements(sql)
        except SqlError as e:
            pieces = None
            self.send_error(e)
        if pieces == []:
            self.send(B.empty_query_response())
        ok = pieces is not None
        metrics = self.server.metrics
        for text, offset in pieces or []:
            started = time.perf_counter()
            try:
                prepared, params = session.prepare_simple(text)
                cursor = await session.execute(prepared, params)
                if cursor.columns is not None:
                    self.send(B.row_description(_fields(cursor.columns, ())))
                    encode = _row_encoder(cursor.columns, (), session)
                    count = await self._send_rows(cursor, encode, 0)
                    tag = cursor.tag if cursor.tag is not None else f"SELECT {count}"
                else:
                    tag = cursor.tag
                self.send_notices()
                if tag == "":
                    self.send(B.empty_query_response())
                else:
                    self.send(B.command_complete(tag))
                    metrics.statement_done(text, tag, time.perf_counter() - started, session.user)
            except SqlError as e:
                metrics.statement_failed(e.sqlstate)
                session.fail(e)
                self.send_notices()
                if e.position is not None:
                    e.position += offset
                self.send_error(e)
                ok = False
                break
            except ClientGone:
                raise
            except Exception as e:
                self._internal_error(e)
                ok = False
                break
            if self.out_size > WRITE_CHUNK:
                await self.drain()
        try:
            await session.end_implicit()
        except SqlError as e:
            session.fail(e)
            await session.end_implicit()
            if ok:
                self.send_error(e)
        self.send_notices()
        self.send(B.ready_for_query(session.status))

    def _internal_error(self, e: Exception) -> None:
        log.error("internal error: %s", traceback.format_exc())
        if self.session is not None:
            self.session.fail(e)
        message = "statement is too complex" if isinstance(e, RecursionError) else f"internal error: {type(e).__name__}: {e}"
        self.send_error(SqlError("54001" if isinstance(e, RecursionError) else "XX000", message))

    async def _send_rows(self, cursor: Cursor, encode: Callable[[tuple], bytes], limit: int) -> int:
        """Stream a cursor's rows (all, or up to `limit`); returns how many were sent."""
        count = 0
        deadline = time.monotonic() + YIELD_EVERY
        timeout_at = self._statement_deadline()
        batches = cursor.batches
        send = self.send
        for batch in batches:
            if batch:
                for row in batch:
                    send(encode(row))
                count += len(batch)
                if self.out_size > WRITE_CHUNK:
                    await self.drain()
            if time.monotonic() > deadline:
                await asyncio.sleep(0)
                self._check_interrupts(timeout_at)
                deadline = time.monotonic() + YIELD_EVERY
            if limit and count >= limit:
                break
        return count

    def _statement_deadline(self) -> float | None:
        from engine.session import _milliseconds
        ms = _milliseconds(self.session.settings["statement_timeout"])
        return time.monotonic() + ms / 1000 if ms else None

    def _check_interrupts(self, timeout_at: float | None) -> None:
        if self.cancel_requested:
            self.cancel_requested = False
            raise SqlError("57014", "canceling statement due to user request")
        if timeout_at is not None and time.monotonic() > timeout_at:
            raise SqlError("57014", "canceling statement due to statement timeout")
        if self.closed:
            raise ClientGone()

    # ---------------------------------------------------------------- extended query

    async def _extended(self, msg) -> None:
        session = self.session
        if isinstance(msg, M.Sync):
            self.skip_to_sync = False
            try:
                await session.end_implicit()
            except SqlError as e:
                session.fail(e)
                await session.end_implicit()
                self.send_error(e)
            self.portals = {k: v for k, v in self.portals.items() if k and session.explicit}
            self.send_notices()
            self.send(B.ready_for_query(session.status))
            return
        if isinstance(msg, M.Flush):
            self.flush()
            return
        if self.skip_to_sync:
            return
        try:
            if isinstance(msg, M.Parse):
                prepared = session.prepare(msg.sql, msg.param_type_oids)
                if msg.statement and msg.statement in self.session.prepared:
                    raise SqlError("42P05", f'prepared statement "{msg.statement}" already exists')
                self.session.prepared[msg.statement] = prepared
                self.send(B.parse_complete())
            elif isinstance(msg, M.Bind):
                prepared = self.session.prepared.get(msg.statement)
                if prepared is None:
                    raise SqlError("26000", f'prepared statement "{msg.statement}" does not exist')
                params = _decode_params(prepared, msg, session)
                if msg.portal and msg.portal in self.portals:
                    raise SqlError("42P03", f'cursor "{msg.portal}" already exists')
                self.portals[msg.portal] = Portal(prepared, params, msg.result_formats)
                self.send(B.bind_complete())
            elif isinstance(msg, M.Describe):
                self._describe(msg)
            elif isinstance(msg, M.Execute):
                await self._execute(msg)
            elif isinstance(msg, M.Close):
                if msg.kind == "S":
                    self.session.prepared.pop(msg.name, None)
                else:
                    self.portals.pop(msg.name, None)
                self.send(B.close_complete())
        except SqlError as e:
            self.server.metrics.statement_failed(e.sqlstate)
            session.fail(e)
            self.send_notices()
            self.send_error(e)
            self.skip_to_sync = True
        except ClientGone:
            raise
        except Exception as e:
            self._internal_error(e)
            self.skip_to_sync = True

    def _describe(self, msg: M.Describe) -> None:
        if msg.kind == "S":
            prepared = self.session.prepared.get(msg.name)
            if prepared is None:
                raise SqlError("26000", f'prepared statement "{msg.name}" does not exist')
            self.send(B.parameter_description([t.oid for t in prepared.param_types]))
            columns = prepared.columns
            formats: tuple[int, ...] = ()
        else:
            portal = self.portals.get(msg.name)
            if portal is None:
                raise SqlError("34000", f'portal "{msg.name}" does not exist')
            columns = portal.prepared.columns
            formats = portal.result_formats
        if columns is None:
            self.send(B.no_data())
        else:
            self.send(B.row_description(_fields(columns, formats)))

    async def _execute(self, msg: M.Execute) -> None:
        portal = self.portals.get(msg.portal)
        if portal is None:
            raise SqlError("34000", f'portal "{msg.portal}" does not exist')
        session = self.session
        if portal.done:
            self.send(B.command_complete(portal.tag or "SELECT 0"))
            return
        started = time.perf_counter()
        if portal.cursor is None:
            portal.cursor = await session.execute(portal.prepared, portal.params)
            if portal.cursor.columns is not None:
                portal.encoders = _row_encoder(portal.cursor.columns, portal.result_formats, session)
        cursor = portal.cursor
        if cursor.columns is None:
            portal.done = True
            portal.tag = cursor.tag
            self.send_notices()
            self.send(B.command_complete(cursor.tag) if cursor.tag else B.empty_query_response())
            if cursor.tag:
                self.server.metrics.statement_done(portal.prepared.text, cursor.tag, time.perf_counter() - started,
                                                   session.user)
            return
        count = await self._send_rows(cursor, portal.encoders, msg.max_rows)
        portal.sent += count
        if msg.max_rows and count >= msg.max_rows:
            self.send(B.portal_suspended())
            return
        portal.done = True
        portal.tag = cursor.tag if cursor.tag is not None else f"SELECT {portal.sent}"
        self.send_notices()
        self.send(B.command_complete(portal.tag))
        self.server.metrics.statement_done(portal.prepared.text, portal.tag, time.perf_counter() - started,
                                           session.user)


# -------------------------------------------------------------------- encoding helpers


def _fields(columns, formats: tuple[int, ...]) -> list[B.FieldDescription]:
    out = []
    n = len(columns)
    for i, c in enumerate(columns):
        fmt = formats[0] if len(formats) == 1 else (formats[i] if len(formats) == n and formats else 0)
        t = c.type
        out.append(B.FieldDescription(c.name, t.oid, t.size if t.size > 0 else -1, t.typmod, c.table_oid,
                                      c.attnum, fmt))
    return out


def _row_encoder(columns, formats: tuple[int, ...], session: Session) -> Callable[[tuple], bytes]:
    settings = session.output_settings
    n = len(columns)
    fns = []
    for i, c in enumerate(columns):
        fmt = formats[0] if len(formats) == 1 else (formats[i] if len(formats) == n and formats else 0)
        t = c.type
        if fmt == 1:
            if not binary_supported(t.oid):
                raise SqlError("0A000", f"binary output of type {t.name} is not supported")
            oid = t.oid
            fns.append(lambda v, oid=oid: encode_binary(oid, _to_wire(v)))
        else:
            text = text_formatter(t, settings)
            if text is str:
                fns.append(str.encode if t.oid in (25, 1043, 1042, 19, 705, 114, 3802) else _str_encode)
            else:
                fns.append(lambda v, text=text: text(v).encode())
    data_row = B.data_row
    if n == 1:
        f0 = fns[0]
        return lambda row: data_row((None if (v := row[0]) is None else f0(v),))
    return lambda row: data_row([None if v is None else f(v) for f, v in zip(fns, row)])


def _str_encode(v) -> bytes:
    return str(v).encode()


def _to_wire(v):
    if isinstance(v, Interval):
        return (v.months, v.days, v.micros)
    return v


def _decode_params(prepared: Prepared, msg: M.Bind, session: Session) -> tuple:
    types = prepared.param_types
    values = msg.params
    if len(values) != len(types):
        raise SqlError("08P01", f"bind message supplies {len(values)} parameters, but prepared statement "
                       f'"{msg.statement}" requires {len(types)}')
    formats = msg.param_formats
    tz = session.output_settings.timezone
    out = []
    for i, (t, raw) in enumerate(zip(types, values)):
        if raw is None:
            out.append(None)
            continue
        fmt = formats[0] if len(formats) == 1 else (formats[i] if formats else 0)
        if fmt == 1:
            value = decode_binary(t.oid, raw)
            if t.oid == INTERVAL.oid:
                value = Interval(*value)
            elif isinstance(value, list):
                value = _tuples(value)
            out.append(value)
        else:
            try:
                text = raw.decode() if isinstance(raw, (bytes, bytearray, memoryview)) else raw
            except UnicodeDecodeError:
                raise SqlError("22021", "invalid byte sequence for encoding \"UTF8\"") from None
            out.append(text_parser(t, tz)(bytes(text).decode() if isinstance(text, memoryview) else text))
    return tuple(out)


def _tuples(v):
    return tuple(_tuples(x) if isinstance(x, list) else x for x in v)


def _startup_options(params: dict[str, str]) -> dict[str, str]:
    """Session settings from the startup packet: known keys, and -c name=value in `options`."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if key in ("user", "database", "options", "replication") or key.startswith("_pq_."):
            continue
        out[key] = value
    options = params.get("options", "")
    parts = options.replace("--", "-c ").split()
    i = 0
    while i < len(parts):
        if parts[i] == "-c" and i + 1 < len(parts):
            name, _, value = parts[i + 1].partition("=")
            out[name] = value
            i += 2
        elif parts[i].startswith("-c"):
            name, _, value = parts[i][2:].partition("=")
            out[name] = value
            i += 1
        else:
            i += 1
    return out
