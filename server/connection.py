"""One client connection: bytes from the socket -> protocol messages -> engine session -> bytes back.

An asyncio.Protocol feeds received bytes to the sans-IO `FrontendDecoder` and wakes the
connection's task, which handles messages strictly in order:

* startup: SSLRequest is answered `S` and the TLS handshake runs on this transport when the
  server has a certificate (the decoder must hold no further bytes at that moment: they
  were sent in clear text, CVE-2021-23214), `N` otherwise; GSSENCRequest gets `N`; a
  CancelRequest interrupts the target session and closes; the StartupMessage is followed by
  authentication (server/auth.py) and the session's ParameterStatus, BackendKeyData and
  ReadyForQuery.
* simple query: each statement of a Query in turn, one implicit transaction for all.
* extended query: Parse / Bind / Describe / Execute (with a row limit: PortalSuspended,
  resumable) / Close / Flush / Sync. Prepared statements and portals live in the session
  (`Session.prepared`, `Session.portals`), shared with SQL's PREPARE and DECLARE, as in
  PostgreSQL; portals close at the end of their transaction. After an error everything up
  to the next Sync is discarded.
* COPY: CopyInResponse then CopyData... CopyDone/CopyFail, or CopyOutResponse, CopyData...,
  CopyDone (formats in server/copy.py).

Replies are collected and written with one `transport.write` when the connection goes back
to reading; replies to Parse, Bind, Describe, Execute and Close wait for the batch's Sync or
Flush, as PostgreSQL's do, so an extended-protocol statement costs one write, not five. A long
result is streamed in batches; between batches the task yields to the event loop every few
milliseconds (and between the statements of a long multi-statement Query), so one big query
never stalls other sessions, waits while the client is slow to read (transport flow control),
and checks for interrupts: a cancel request or the statement_timeout (both 57014) fail the
statement at the next batch boundary, and wake it at once if it waits for a row lock. A
statement of more than LARGE_STATEMENT characters of SQL is split, parsed and planned in a
worker thread, so other sessions are served meanwhile. A protocol violation gets an
ErrorResponse (08P01) and closes this connection only.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable, Iterable

from engine.copy import CopyIn, CopyOut
from engine.errors import SqlError
from engine.portal import Portal
from engine.session import Cursor, Prepared, Session, _milliseconds
from engine.sql.parser import split_statements
from engine.types import text_parser
from protocol import backend as B
from protocol import messages as M
from protocol.decoder import FrontendDecoder
from protocol.errors import ProtocolViolation
from server.auth import AuthError, authenticate
from server.copy import BINARY_TRAILER, binary_header, copy_reader, copy_row_encoder, header_line
from server.values import binary_value_decoder, binary_value_encoder, text_value_encoder

if TYPE_CHECKING:
    from server.app import Server

log = logging.getLogger("rewinddb.server")

PROGRESS_SECONDS = 5.0      # a long COPY FROM logs how far it got this often
YIELD_EVERY = 0.005          # seconds of work between yields to the event loop
WRITE_CHUNK = 64 * 1024      # flush the output buffer beyond this many bytes
READ_AHEAD = 1024 * 1024     # unprocessed client input buffered before the socket stops being read
COPY_CHUNK = 256 * 1024      # COPY FROM data is parsed this many bytes at a time
LARGE_STATEMENT = 32 * 1024  # SQL text beyond this many characters is split, parsed and planned in a worker thread

_CANCELED = "canceling statement due to user request"
_TIMED_OUT = "canceling statement due to statement timeout"


# extended-protocol messages whose replies PostgreSQL holds until the next Sync or Flush
_BATCHED = frozenset({M.Parse, M.Bind, M.Describe, M.Execute, M.Close})
# the extended-protocol messages whose work never waits (run without a coroutine)
_IMMEDIATE = frozenset({M.Bind, M.Describe, M.Close})


class ClientGone(Exception):
    """The peer closed the connection."""


class Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.decoder = FrontendDecoder(server.config.max_message_size)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.tls_active = False
        self.session: Session | None = None
        self.secret = secrets.randbits(31)
        self.out: list[bytes] = []
        self.out_size = 0
        self._waiter: asyncio.Future | None = None     # the task waiting for input (next_message)
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False             # the connection is gone: nothing more can be sent
        self.input_ended = False        # the client half-closed: the messages before it are still answered
        self.busy = False
        self.task: asyncio.Task | None = None
        self.skip_to_sync = False
        self.interrupted: SqlError | None = None
        self._timeout: asyncio.TimerHandle | None = None
        self._shapes: dict[tuple[int, tuple[int, ...]], tuple] = {}   # see _shape
        self._decoders: dict[tuple[int, tuple[int, ...]], tuple] = {}   # see _param_decoders
        self._reading_paused = False

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
        if self.decoder.pending() > READ_AHEAD and not self._reading_paused:
            # a client pipelining faster than its statements run: let TCP push back on it
            # instead of buffering without bound; `_input_consumed` reads on
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_up()

    def _input_consumed(self, waiting: bool) -> None:
        """Read from the socket again once the buffered input is small (or `waiting` for more)."""
        if self._reading_paused and (waiting or self.decoder.pending() <= READ_AHEAD) and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        self.input_ended = True
        self._wake_up()
        return True         # keep the transport open: replies to what came before the EOF still go out

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake_up()
        self._can_write.set()

    def _wake_up(self) -> None:
        """Input arrived or the connection ended: resume the task if it waits in next_message."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

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
            self.server.metrics.output_writes += 1
        self.out.clear()
        self.out_size = 0

    async def drain(self) -> None:
        self.flush()
        if not self._can_write.is_set():
            await self._can_write.wait()
        if self.closed:
            raise ClientGone()

    def send_error(self, e: SqlError) -> None:
        try:
            data = B.error_response(e.severity, e.sqlstate, e.message, detail=e.detail, hint=e.hint,
                                    position=e.position, table=e.table, column=e.column,
                                    constraint=e.constraint, where=e.where)
        except ValueError:      # a field quotes client input with a NUL in it: the wire cannot carry it
            def text(v: str | None) -> str | None:
                return v.replace("\0", "\\0") if v is not None else None
            data = B.error_response(e.severity, e.sqlstate, text(e.message), detail=text(e.detail),
                                    hint=text(e.hint), position=e.position, table=text(e.table),
                                    column=text(e.column), constraint=text(e.constraint), where=text(e.where))
        self.send(data)

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

    # ---------------------------------------------------------------- interrupts

    def cancel(self) -> None:
        """A CancelRequest named this connection's session."""
        self.interrupt(SqlError("57014", _CANCELED))

    def interrupt(self, error: SqlError) -> None:
        """Fail the running statement: at its next batch boundary, or now if it waits for a lock."""
        if not self.busy or self.session is None:
            return
        self.interrupted = error
        self.session.interrupt(error)

    def _check_interrupts(self) -> None:
        if self.interrupted is not None:
            error, self.interrupted = self.interrupted, None
            raise error
        if self.closed:
            raise ClientGone()

    def _statement_started(self) -> None:
        self.interrupted = None
        timeout = self.session.settings["statement_timeout"]
        if timeout != "0":
            ms = _milliseconds(timeout)
            if ms > 0:
                self._timeout = asyncio.get_running_loop().call_later(
                    ms / 1000, self.interrupt, SqlError("57014", _TIMED_OUT))

    def _statement_ended(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None

    # ---------------------------------------------------------------- the task

    async def next_message(self, idle_timeout: float | None = None) -> Any:
        """The next message; with `idle_timeout`, None if none arrives in that many seconds."""
        while True:
            msg = self.decoder.next_message()
            if self._reading_paused:
                self._input_consumed(waiting=msg is None)
            if msg is not None:
                return msg
            if self.closed or self.input_ended:
                raise ClientGone()
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            if idle_timeout is None:
                await waiter
            else:
                try:
                    await asyncio.wait_for(waiter, idle_timeout)
                except asyncio.TimeoutError:
                    return None

    def _idle_timeout(self) -> float | None:
        """Seconds the session may wait for its next message: idle_session_timeout outside a
        transaction block, idle_in_transaction_session_timeout inside one (None: for ever)."""
        session = self.session
        value = session.settings["idle_session_timeout" if session.status == "I"
                                 else "idle_in_transaction_session_timeout"]
        if value == "0":            # the default: skip parsing on every statement
            return None
        ms = _milliseconds(value)
        return ms / 1000 if ms > 0 else None

    async def _run(self) -> None:
        try:
            try:
                logged_in = await asyncio.wait_for(self._startup(), self.server.config.authentication_timeout)
            except asyncio.TimeoutError:
                log.info("connection from %s closed: not logged in within authentication_timeout", self.peer)
                return
            if not logged_in:
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
            self._statement_ended()
            self.flush()
            if self.session is not None:
                self.session.close()
            self.server.connections.discard(self)
            if self.transport is not None:
                self.transport.close()

    async def _startup(self) -> bool:
        while True:
            msg = await self.next_message()
            if isinstance(msg, M.SSLRequest):
                await self._ssl_request()
                continue
            if isinstance(msg, M.GSSENCRequest):
                self.send(B.SSL_REFUSED)
                self.flush()
                continue
            if isinstance(msg, M.CancelRequest):
                self.server.cancel(msg.process_id, msg.secret_key)
                return False
            if isinstance(msg, M.StartupMessage):
                return await self._start_session(msg)
            raise ProtocolViolation("expected a startup message")

    async def _ssl_request(self) -> None:
        tls = self.server.tls
        if tls is None or self.tls_active:
            self.send(B.SSL_REFUSED)
            self.flush()
            return
        if self.decoder.pending():
            raise ProtocolViolation("received unencrypted data after SSL request")
        self.send(B.SSL_ACCEPTED)
        self.flush()
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self.transport, self, tls.context, server_side=True)
        except (OSError, ConnectionError) as e:
            log.info("TLS handshake with %s failed: %s", self.peer, e)
            raise ClientGone() from None
        if transport is None:
            raise ClientGone()
        self.transport = transport
        self.tls_active = True

    async def _start_session(self, msg: M.StartupMessage) -> bool:
        params = dict(msg.parameters)
        user = params.get("user")
        if not user:
            self.send(B.error_response("FATAL", "28000", "no PostgreSQL user name specified in startup packet"))
            return False
        if params.get("replication") not in (None, "false", "off", "0", "no"):
            self.send(B.error_response("FATAL", "0A000", "replication connections are not supported"))
            return False
        database = params.get("database") or user
        options = _startup_options(params)
        if self.server.at_capacity():
            self.send(B.error_response("FATAL", "53300", "sorry, too many clients already"))
            return False
        db = self.server.db
        role = db.role(user)
        config = self.server.auth

        def send_now(data: bytes) -> None:
            self.send(data)
            self.flush()
        try:
            await authenticate(config, config.method_for(self.peer), user, role, send=send_now,
                               receive=self.next_message,
                               channel_binding=self.server.tls.channel_binding if self.tls_active else None,
                               bootstrap=role is db.bootstrap_role)
        except AuthError as e:
            log.info("authentication of %s from %s failed: %s", user, self.peer, e.message)
            await asyncio.sleep(self.server.config.auth_failure_delay)
            self.send(B.error_response("FATAL", e.sqlstate, e.message))
            return False
        try:
            session = Session(db, user, database, params.get("application_name", ""), self.peer, options,
                              superuser=role is not None and role.superuser)
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
        in_batch = False        # inside an extended-protocol batch: replies wait for its Sync or Flush
        decoder = self.decoder
        while True:
            if not in_batch or self.out_size > WRITE_CHUNK:
                self.flush()
            # a pipelined message already buffered needs no wait (nor the idle timeout's lookup)
            msg = None if self._reading_paused else decoder.next_message()
            if msg is None:
                msg = await self.next_message(self._idle_timeout())
            if msg is None:
                if self.session.status == "I":
                    self.send(B.error_response("FATAL", "57P05", "terminating connection due to idle-session timeout"))
                else:
                    self.send(B.error_response("FATAL", "25P03",
                                               "terminating connection due to idle-in-transaction timeout"))
                return
            kind = type(msg)
            in_batch = kind in _BATCHED
            self.busy = True
            try:
                if kind in _IMMEDIATE:
                    if not self.skip_to_sync:
                        self._extended_step(msg)
                elif kind is M.Execute:
                    if not self.skip_to_sync:
                        await self._execute_message(msg)
                elif kind is M.Parse:
                    if not self.skip_to_sync:
                        await self._parse_message(msg)
                elif kind is M.Sync:
                    await self._sync()
                elif kind is M.Query:
                    await self._simple_query(msg.sql)
                elif kind is M.Flush:
                    self.flush()
                elif kind is M.Terminate:
                    return
                elif kind in (M.CopyData, M.CopyDone, M.CopyFail):
                    pass      # stray COPY messages after an error are ignored, as PostgreSQL does
                elif kind is M.FunctionCall:
                    self.send_error(SqlError("0A000", "the function call protocol is not supported"))
                    self.send(B.ready_for_query(self.session.status))
                else:
                    raise ProtocolViolation(f"unexpected message {kind.__name__}")
            finally:
                self.busy = False
                self.interrupted = None

    # ---------------------------------------------------------------- simple query

    async def _simple_query(self, sql: str) -> None:
        session = self.session
        try:
            pieces = await asyncio.to_thread(split_statements, sql) if len(sql) > LARGE_STATEMENT \
                else split_statements(sql)
        except SqlError as e:
            pieces = None
            self.send_error(e)
        if pieces == []:
            self.send(B.empty_query_response())
        ok = pieces is not None
        metrics = self.server.metrics
        deadline = time.monotonic() + YIELD_EVERY if pieces and len(pieces) > 1 else None
        for text, offset in pieces or []:
            if deadline is not None and time.monotonic() > deadline:
                await asyncio.sleep(0)          # a script of many statements lets others in between them
                deadline = time.monotonic() + YIELD_EVERY
            self._statement_started()
            started = time.perf_counter()
            try:
                prepared, params = await asyncio.to_thread(session.prepare_simple, text) \
                    if len(text) > LARGE_STATEMENT else session.prepare_simple(text)
                cursor = await session.execute(prepared, params)
                self._check_interrupts()
                tag = await self._send_result(cursor, (1,) if cursor.binary else (), describe=True)
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
            except (ClientGone, ProtocolViolation):
                raise
            except Exception as e:
                self._internal_error(e)
                ok = False
                break
            finally:
                self._statement_ended()
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

    async def _send_result(self, cursor: Cursor, formats: tuple[int, ...], describe: bool) -> str:
        """Send a statement's rows (after a RowDescription in the simple protocol) or run its
        COPY; the command tag."""
        if cursor.copy is not None:
            return await self._copy(cursor.copy)
        if cursor.columns is None:
            return cursor.tag
        description, encode = self._shape(cursor.columns, formats)
        if describe:
            self.send(description)
        count = await self._send_rows(cursor.batches, encode)
        return cursor.tag if cursor.tag is not None else f"SELECT {count}"

    def _shape(self, columns: tuple, formats: tuple[int, ...]) -> tuple[bytes, Callable[[tuple], bytes]]:
        """The RowDescription message and the row encoder of a result shape, made once per
        connection (a cached plan hands out the same `columns` every time) and made again
        when the session's output settings change."""
        key = (id(columns), formats)
        settings = self.session.output_settings
        found = self._shapes.get(key)
        if found is None or found[0] is not columns or found[1] is not settings:
            if len(self._shapes) >= 256:
                self._shapes.clear()
            found = self._shapes[key] = (columns, settings, B.row_description(_fields(columns, formats)),
                                         _row_encoder(columns, formats, self.session))
        return found[2], found[3]

    def _internal_error(self, e: Exception) -> None:
        """A statement raised something other than SqlError: Python's own limits become
        PostgreSQL's 54001 / 53200 (logged in one line: a client can provoke them at will);
        anything else is our bug (XX000, with its traceback in the log)."""
        if isinstance(e, RecursionError):
            error = SqlError("54001", "statement is too complex")
        elif isinstance(e, MemoryError):
            error = SqlError("53200", "out of memory")
        else:
            error = SqlError("XX000", f"internal error: {type(e).__name__}: {e}")
        if error.sqlstate == "XX000":
            log.error("internal error: %s", traceback.format_exc())
        else:
            log.info("statement from %s failed: %s (%s)", self.peer, error.message, type(e).__name__)
        if self.session is not None:
            self.session.fail(e)
        self.server.metrics.statement_failed(error.sqlstate)
        self.send_error(error)

    async def _send_rows(self, batches: Iterable[list], encode: Callable[[tuple], bytes]) -> int:
        """Stream row batches to the client, writing at most `output_batch_rows` rows (or about
        WRITE_CHUNK bytes) at a time and waiting while the client does not read; returns how
        many rows were sent."""
        count = pending = 0             # rows sent; rows buffered since the last write
        most = max(1, self.server.config.output_batch_rows)
        deadline = time.monotonic() + YIELD_EVERY
        send = self.send
        for batch in batches:
            start, n = 0, len(batch)
            while start < n:
                end = min(n, start + most - pending)
                for row in batch if start == 0 and end == n else batch[start:end]:
                    send(encode(row))
                pending += end - start
                start = end
                if pending >= most or self.out_size > WRITE_CHUNK:
                    pending = 0
                    await self.drain()
            count += n
            if time.monotonic() > deadline:
                await asyncio.sleep(0)
                deadline = time.monotonic() + YIELD_EVERY
            if self.interrupted is not None:
                self._check_interrupts()
        return count

    # ---------------------------------------------------------------- COPY

    async def _copy(self, copy: CopyIn | CopyOut) -> str:
        if isinstance(copy, CopyIn):
            return await self._copy_in(copy)
        return await self._copy_out(copy)

    async def _copy_in(self, copy_in: CopyIn) -> str:
        reader = copy_reader(copy_in, self.session.output_settings.timezone)
        fmt = 1 if copy_in.options.format == "binary" else 0
        self.send(B.copy_in_response(fmt, [fmt] * len(copy_in.columns)))
        self.flush()
        started = time.monotonic()
        deadline = started + YIELD_EVERY
        next_report = started + PROGRESS_SECONDS
        pending: list[bytes] = []       # clients may send a row per CopyData (pgbench, psql): parse in bulk
        size = 0
        copy_data = self.decoder.copy_data
        while True:
            data = copy_data()
            if self._reading_paused:
                self._input_consumed(waiting=not data)
            msg = M.CopyData(data) if data else await self.next_message()
            if isinstance(msg, M.CopyData):
                pending.append(msg.data)
                size += len(msg.data)
                if size >= COPY_CHUNK:
                    await copy_in.write(reader.feed(b"".join(pending)))
                    pending.clear()
                    size = 0
                    if self.interrupted is not None:
                        self._check_interrupts()
                    now = time.monotonic()
                    if now > deadline:
                        await asyncio.sleep(0)
                        deadline = now + YIELD_EVERY
                    if now > next_report:
                        log.info("COPY %s.%s from %s: %d rows so far", copy_in.table.schema, copy_in.table.name,
                                 self.peer, copy_in.count)
                        next_report = now + PROGRESS_SECONDS
            elif isinstance(msg, M.CopyDone):
                await copy_in.write(reader.feed(b"".join(pending)))
                await copy_in.write(reader.finish())
                tag = await copy_in.finish()
                if time.monotonic() > started + PROGRESS_SECONDS:
                    log.info("COPY %s.%s from %s: %d rows in %.1fs", copy_in.table.schema, copy_in.table.name,
                             self.peer, copy_in.count, time.monotonic() - started)
                return tag
            elif isinstance(msg, M.CopyFail):
                raise SqlError("57014", f"COPY from stdin failed: {msg.message}")
            elif isinstance(msg, (M.Flush, M.Sync)):
                continue
            else:
                raise SqlError("08P01", f"unexpected message type {type(msg).__name__} during COPY from stdin")

    async def _copy_out(self, copy_out: CopyOut) -> str:
        encode = copy_row_encoder(copy_out, self.session.output_settings)
        binary = copy_out.options.format == "binary"
        fmt = 1 if binary else 0
        self.send(B.copy_out_response(fmt, [fmt] * len(copy_out.columns)))
        copy_data = B.copy_data
        if binary:
            # PostgreSQL sends the file header in one message with the first row (psycopg
            # relies on it), and the trailer on its own (with the header when there are no rows)
            header = [binary_header()]

            def binary_row(row: tuple) -> bytes:
                if header:
                    return copy_data(header.pop() + encode(row))
                return copy_data(encode(row))
            count = await self._send_rows(copy_out.batches, binary_row)
            self.send(copy_data(b"".join(header) + BINARY_TRAILER))
        else:
            first = header_line(copy_out)
            if first is not None:
                self.send(copy_data(first))
            count = await self._send_rows(copy_out.batches, lambda row: copy_data(encode(row)))
        self.send(B.copy_done())
        return f"COPY {count}"

    # ---------------------------------------------------------------- extended query

    async def _sync(self) -> None:
        """Sync: end the implicit transaction, answer ReadyForQuery, write the batch's replies."""
        session = self.session
        self.skip_to_sync = False
        try:
            await session.end_implicit()
        except SqlError as e:
            session.fail(e)
            await session.end_implicit()
            self.send_error(e)
        self.send_notices()
        self.send(B.ready_for_query(session.status))
        self.flush()

    async def _parse_message(self, msg: M.Parse) -> None:
        """Parse: a large statement is parsed and planned in a worker thread."""
        session = self.session
        try:
            if msg.statement and msg.statement in session.prepared:
                raise SqlError("42P05", f'prepared statement "{msg.statement}" already exists')
            session.prepared[msg.statement] = await asyncio.to_thread(
                session.prepare, msg.sql, msg.param_type_oids) if len(msg.sql) > LARGE_STATEMENT \
                else session.prepare(msg.sql, msg.param_type_oids)
            self.send(B.parse_complete())
        except SqlError as e:
            self._extended_failed(e)
        except (ClientGone, ProtocolViolation):
            raise
        except Exception as e:
            self._internal_error(e)
            self.skip_to_sync = True

    def _extended_step(self, msg: M.Bind | M.Describe | M.Close) -> None:
        """Bind, Describe or Close: work that never waits, so it runs without a coroutine."""
        session = self.session
        try:
            kind = type(msg)
            if kind is M.Bind:
                self._bind(msg)
            elif kind is M.Describe:
                self._describe(msg)
            else:
                if msg.kind == "S":
                    session.prepared.pop(msg.name, None)
                else:
                    session.portals.pop(msg.name, None)
                self.send(B.close_complete())
        except SqlError as e:
            self._extended_failed(e)
        except (ClientGone, ProtocolViolation):
            raise
        except Exception as e:
            self._internal_error(e)
            self.skip_to_sync = True

    async def _execute_message(self, msg: M.Execute) -> None:
        try:
            self._statement_started()
            await self._execute(msg)
        except SqlError as e:
            self._extended_failed(e)
        except (ClientGone, ProtocolViolation):
            raise
        except Exception as e:
            self._internal_error(e)
            self.skip_to_sync = True
        finally:
            self._statement_ended()

    def _extended_failed(self, e: SqlError) -> None:
        """An extended-protocol message failed: report it, and discard messages until Sync."""
        self.server.metrics.statement_failed(e.sqlstate)
        self.session.fail(e)
        self.send_notices()
        self.send_error(e)
        self.skip_to_sync = True

    def _decode_params(self, prepared: Prepared, msg: M.Bind) -> tuple:
        """The Bind message's parameter values, decoded by the statement's parameter types."""
        types = prepared.param_types
        values = msg.params
        if len(values) != len(types):
            raise SqlError("08P01", f"bind message supplies {len(values)} parameters, but prepared statement "
                           f'"{msg.statement}" requires {len(types)}')
        if not values:
            return ()
        decoders = self._param_decoders(prepared, msg.param_formats)
        return tuple([None if raw is None else decode(raw) for decode, raw in zip(decoders, values)])

    def _param_decoders(self, prepared: Prepared, formats: tuple[int, ...]) -> list[Callable[[bytes], Any]]:
        """The parameter decoders of a statement and format codes, made once per connection
        (made again for another statement of the same id, other types, or another TimeZone)."""
        key = (id(prepared), formats)
        types = prepared.param_types
        tz = self.session.output_settings.timezone
        found = self._decoders.get(key)
        if found is None or found[0] is not prepared or found[1] != types or found[2] is not tz:
            if len(self._decoders) >= 256:
                self._decoders.clear()
            decoders = [_binary_param_decoder(t) if _format_of(formats, i) == 1 else _text_param_decoder(t, tz)
                        for i, t in enumerate(types)]
            found = self._decoders[key] = (prepared, list(types), tz, decoders)
        return found[3]

    def _statement(self, name: str) -> Prepared:
        prepared = self.session.prepared.get(name)
        if prepared is None:
            raise SqlError("26000", f'prepared statement "{name}" does not exist' if name
                           else "unnamed prepared statement does not exist")
        return prepared

    def _bind(self, msg: M.Bind) -> None:
        prepared = self._statement(msg.statement)
        for code in msg.param_formats + msg.result_formats:
            if code not in (0, 1):
                raise SqlError("22023", f"unsupported format code: {code}")
        if len(msg.result_formats) > 1 and len(msg.result_formats) != len(prepared.columns or ()):
            raise SqlError("08P01", f"bind message has {len(msg.result_formats)} result formats but query has "
                                    f"{len(prepared.columns or ())} columns")
        params = self._decode_params(prepared, msg)
        self.session.open_portal(msg.portal, prepared, params, msg.result_formats)
        self.send(B.bind_complete())

    def _describe(self, msg: M.Describe) -> None:
        if msg.kind == "S":
            prepared = self._statement(msg.name)
            self.send(B.parameter_description([t.oid for t in prepared.param_types]))
            columns = prepared.columns
            formats: tuple[int, ...] = ()
        else:
            portal = self._portal(msg.name)
            columns = portal.columns
            formats = portal.formats
        if columns is None:
            self.send(B.no_data())
        else:
            self.send(self._shape(columns, formats)[0])

    def _portal(self, name: str) -> Portal:
        portal = self.session.portals.get(name)
        if portal is None:
            raise SqlError("34000", f'portal "{name}" does not exist')
        return portal

    async def _execute(self, msg: M.Execute) -> None:
        portal = self._portal(msg.portal)
        session = self.session
        started = time.perf_counter()
        if portal.cursor is None:
            cursor = portal.cursor = await session.execute(portal.prepared, portal.params)
            self._check_interrupts()
            if cursor.columns is None or cursor.copy is not None:
                tag = await self._send_result(cursor, (), describe=False)
                cursor.tag = tag
                cursor.copy = None
                self.send_notices()
                self.send(B.command_complete(tag) if tag else B.empty_query_response())
                if tag:
                    self.server.metrics.statement_done(portal.prepared.text, tag, time.perf_counter() - started,
                                                       session.user)
                return
        cursor = portal.cursor
        if cursor.columns is None:
            self.send(B.command_complete(cursor.tag) if cursor.tag else B.empty_query_response())
            return
        formats = portal.formats or ((1,) if cursor.binary else ())
        limit = msg.max_rows if msg.max_rows > 0 else 0
        count = await self._send_rows(portal.take(limit), self._shape(cursor.columns, formats)[1])
        if limit and count >= limit:
            self.send(B.portal_suspended())
            return
        tag = cursor.tag if cursor.tag is not None else f"SELECT {count}"
        self.send_notices()
        self.send(B.command_complete(tag))
        self.server.metrics.statement_done(portal.prepared.text, tag, time.perf_counter() - started, session.user)


# -------------------------------------------------------------------- encoding helpers


def _format_of(formats: tuple[int, ...], i: int) -> int:
    return formats[0] if len(formats) == 1 else (formats[i] if formats else 0)


def _fields(columns, formats: tuple[int, ...]) -> list[B.FieldDescription]:
    out = []
    for i, c in enumerate(columns):
        t = c.type
        out.append(B.FieldDescription(c.name, t.oid, t.size if t.size > 0 else -1, t.typmod, c.table_oid,
                                      c.attnum, _format_of(formats, i)))
    return out


def _row_encoder(columns, formats: tuple[int, ...], session: Session) -> Callable[[tuple], bytes]:
    settings = session.output_settings
    fns = [binary_value_encoder(c.type) if _format_of(formats, i) == 1 else text_value_encoder(c.type, settings)
           for i, c in enumerate(columns)]
    data_row = B.data_row
    if len(fns) == 1:
        f0 = fns[0]
        return lambda row: data_row((None if (v := row[0]) is None else f0(v),))
    return lambda row: data_row([None if v is None else f(v) for f, v in zip(fns, row)])


def _refusal(error: SqlError) -> Callable[[Any], Any]:
    """A decoder that could not be made: it fails as making it did, once a value needs it."""
    def refuse(_value: Any) -> Any:
        raise SqlError(error.sqlstate, error.message, detail=error.detail, hint=error.hint)
    return refuse


def _binary_param_decoder(t) -> Callable[[bytes], Any]:
    try:
        return binary_value_decoder(t)
    except SqlError as e:
        return _refusal(e)


def _text_param_decoder(t, tz) -> Callable[[bytes], Any]:
    """Text-format Bind parameter bytes -> a value of type `t` (22021 for bytes that are not UTF-8 or hold a NUL)."""
    try:
        parse = text_parser(t, tz)
    except SqlError as e:
        parse = _refusal(e)

    def decode(raw: bytes) -> Any:
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise SqlError("22021", 'invalid byte sequence for encoding "UTF8"') from None
        if "\0" in text:
            raise SqlError("22021", 'invalid byte sequence for encoding "UTF8": 0x00')
        return parse(text)
    return decode


def _split_options(text: str) -> list[str]:
    """The startup `options` split on whitespace, where a backslash escapes the next character
    (PGOPTIONS="-c default_transaction_isolation=repeatable\\ read"), as PostgreSQL splits them."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if current:
                parts.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        parts.append("".join(current))
    return parts


def _startup_options(params: dict[str, str]) -> dict[str, str]:
    """Session settings from the startup packet: known keys, and -c name=value in `options`."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if key in ("user", "database", "options", "replication") or key.startswith("_pq_."):
            continue
        out[key] = value
    parts = _split_options(params.get("options", "").replace("--", "-c "))
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
