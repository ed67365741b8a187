"""The HTTP API: health, metrics, SQL over JSON, the change stream and its OpenAPI document.

It runs in the server's process and event loop, beside the wire protocol, on `http_port` of
the same host (0 turns it off). It starts before recovery, so `/health` can answer 503 while
the log is replayed. HTTP/1.1 is parsed by h11 (sans-IO); this module moves bytes between it
and asyncio streams and routes requests:

    GET  /health         200 {"status": "ok", "lsn": N} (N = newest durable LSN);
                         503 {"status": "recovering", "phase", "replayed_lsn", "target_lsn"} during
                         recovery, {"status": "stopping" | "failed"}
    GET  /metrics        Prometheus text (server.metrics)
    POST /v1/sql         {"sql": "...", "params": [...]} -> {"columns", "rows", "command"};
                         a failed statement -> 400 {"sqlstate", "message"}
    GET  /v1/changes     Server-Sent Events, one per committed row change (engine.changes),
                         `id: <lsn>:<n>`; ?since=<lsn> or Last-Event-ID to resume
    GET  /openapi.json   the OpenAPI 3.1 description (server.openapi)

Authentication is the wire protocol's (server/auth.py): the method configured for the
peer (`local_auth` for loopback clients, default trust; `auth` for the others, default
scram-sha-256) decides. With trust the request runs as the role named in HTTP Basic
credentials, or the bootstrap superuser; with any other method it needs Basic credentials
whose password matches the role's stored verifier. /health and /openapi.json are open to
every client (probes carry no password, and neither shows data).

SQL runs through an engine Session (`SessionPool`: a session a request left as it found it
serves the next request of the same role, with its plan cache), as a simple Query would:
several statements run in one implicit transaction and the last one's result is returned;
with `params`, the text must be one statement whose $1, $2, ... take the values (JSON values
are read as the parameter's type reads text; JSON arrays become array literals except for
json/jsonb parameters). Values come back
as `engine.jsonvalue` renders them. Every request is counted in the metrics and statements
feed the latency histograms and the slow-statement log like wire-protocol ones.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import h11

from engine import events as ev
from engine.changes import ChangesUnavailable, record_changes
from engine.errors import SqlError
from engine.jsonvalue import ENCODER, json_renderer
from engine.session import Session
from engine.sql.parser import split_statements
from engine.storage.log import LogCorruption
from engine.types import JSON, JSONB, text_parser
from protocol import messages as M
from server.auth import AuthError, authenticate
from server.openapi import openapi_document

if TYPE_CHECKING:
    from server.app import Server

log = logging.getLogger("rewinddb.http")

READ_SIZE = 64 * 1024
YIELD_EVERY = 0.005          # seconds of work between yields to the event loop
KEEPALIVE_SECONDS = 15.0     # an SSE comment line this often keeps proxies from closing the stream
APPLICATION_NAME = "rewinddb-http"


class HttpError(Exception):
    """A request answered with an error status and a JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or []


def _problem(status: int, sqlstate: str, message: str, headers: list[tuple[str, str]] | None = None) -> HttpError:
    return HttpError(status, {"sqlstate": sqlstate, "message": message}, headers)


class HttpApi:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.listener: asyncio.AbstractServer | None = None
        self.tasks: set[asyncio.Task] = set()
        self.port = 0
        self.sessions = SessionPool()

    async def start(self, host: str, port: int) -> None:
        self.listener = await asyncio.start_server(self._connection, host, port, reuse_address=True)
        self.port = self.listener.sockets[0].getsockname()[1]
        log.info("HTTP API listening on %s:%d", host, self.port)

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    # ---------------------------------------------------------------- one connection

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        peer = writer.get_extra_info("peername")
        conn = _Exchange(self, reader, writer, peer[0] if isinstance(peer, tuple) else "local")
        try:
            await conn.serve()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("HTTP connection from %s failed", conn.peer)
        finally:
            self.tasks.discard(task)
            writer.close()


class _Exchange:
    """The requests of one HTTP connection, one after another (keep-alive)."""

    def __init__(self, api: HttpApi, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        self.api = api
        self.server = api.server
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)

    async def _next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.reader.read(READ_SIZE)
            self.h11.receive_data(data)

    async def _send(self, *events: Any) -> None:
        for event in events:
            data = self.h11.send(event)
            if data:
                self.writer.write(data)
        await self.writer.drain()

    async def serve(self) -> None:
        while True:
            try:
                event = await self._next_event()
            except h11.RemoteProtocolError as e:
                if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._respond(e.error_status_hint, {"sqlstate": "08P01", "message": f"bad HTTP request: {e}"},
                                        "-")
                return
            if isinstance(event, (h11.ConnectionClosed, h11.EndOfMessage)) or event is h11.PAUSED:
                return
            if not isinstance(event, h11.Request):
                return
            await self._request(event)
            if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                return
            try:
                self.h11.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _read_body(self, limit: int) -> bytes:
        if self.h11.they_are_waiting_for_100_continue:      # curl asks before sending a large body
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise _problem(413, "54000", f"request body exceeds {limit} bytes")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            else:
                raise _problem(400, "08P01", "incomplete request body")

    async def _request(self, request: h11.Request) -> None:
        method = request.method.decode("ascii", "replace")
        target = urlsplit(request.target.decode("ascii", "replace"))
        headers = {name.decode("ascii").lower(): value.decode("latin-1") for name, value in request.headers}
        route = target.path if target.path in _ROUTES else "other"
        try:
            handler = _ROUTES.get(target.path)
            if handler is None:
                raise _problem(404, "42704", f"no such endpoint: {target.path}")
            allowed = handler[0]
            if method != allowed:
                raise _problem(405, "0A000", f"{target.path} accepts {allowed} only", [("allow", allowed)])
            body = await self._read_body(self.server.config.max_message_size)
            role = await self._authorize(headers) if target.path not in _OPEN_ROUTES else ("", False)
            await handler[1](self, role, parse_qs(target.query), headers, body)
        except HttpError as e:
            if self.h11.our_state is h11.SEND_RESPONSE:
                await self._respond(e.status, e.body, route, e.headers)
            else:
                await self._close_stream()

    async def _respond(self, status: int, body: dict[str, Any] | str | bytes, route: str,
                       headers: list[tuple[str, str]] | None = None, content_type: str = "application/json") -> None:
        if isinstance(body, dict):
            data = ENCODER.encode(body)
        else:
            data = body.encode() if isinstance(body, str) else body
        self.server.metrics.http_request(route, status)
        head = [("content-type", content_type), ("content-length", str(len(data))), *(headers or [])]
        await self._send(h11.Response(status_code=status, headers=head), h11.Data(data=data), h11.EndOfMessage())

    async def _close_stream(self) -> None:
        if self.h11.our_state is h11.SEND_BODY:
            await self._send(h11.EndOfMessage())

    # ---------------------------------------------------------------- authentication

    async def _authorize(self, headers: dict[str, str]) -> tuple[str, bool]:
        """(role, is superuser) the request runs as; raises 401/403/503 when it may not run.

        The method is the wire protocol's for this peer (`local_auth` on loopback, `auth`
        otherwise, server/auth.py): `trust` takes the role named in Basic credentials (or the
        bootstrap superuser); any other method needs Basic credentials whose password matches
        the role's, checked by the same `authenticate` as a cleartext password message."""
        config = self.server.auth
        method = config.method_for(self.peer)
        name, password = _basic_credentials(headers)
        user = name or config.superuser
        if method != "trust" and password is None:
            raise _problem(401, "28000", "this endpoint needs HTTP Basic credentials", _CHALLENGE)
        db = self.server.db
        if db is None:
            if method == "trust":
                return user, False
            raise _problem(503, "57P03", "the database system is starting up")
        role = db.role(user)

        async def password_message() -> M.PasswordMessage:
            return M.PasswordMessage((password or "").encode() + b"\0")

        try:
            await authenticate(config, "trust" if method == "trust" else "password", user, role,
                               send=lambda data: None, receive=password_message, channel_binding=None,
                               bootstrap=role is db.bootstrap_role)
        except AuthError as e:
            log.info("HTTP authentication of %s from %s failed: %s", user, self.peer, e.message)
            raise _problem(401 if e.sqlstate == "28P01" else 403, e.sqlstate, e.message,
                           _CHALLENGE if e.sqlstate == "28P01" else None) from None
        return user, role is not None and role.superuser

    # ---------------------------------------------------------------- endpoints

    async def health(self, role: tuple[str, bool], query: dict, headers: dict, body: bytes) -> None:
        server = self.server
        db = server.db
        if db is None:
            progress = server.recovery
            await self._respond(503, {"status": "recovering", "phase": progress.phase,
                                      "replayed_lsn": progress.replayed_lsn, "target_lsn": progress.target_lsn},
                                "/health")
        elif db.failed is not None:
            await self._respond(503, {"status": "failed"}, "/health")
        elif server.stopping:
            await self._respond(503, {"status": "stopping"}, "/health")
        else:
            await self._respond(200, {"status": "ok", "lsn": db.log.durable_lsn}, "/health")

    async def metrics(self, role: tuple[str, bool], query: dict, headers: dict, body: bytes) -> None:
        await self._respond(200, self.server.metrics.render(self.server), "/metrics",
                            content_type="text/plain; version=0.0.4; charset=utf-8")

    async def openapi(self, role: tuple[str, bool], query: dict, headers: dict, body: bytes) -> None:
        await self._respond(200, openapi_document(), "/openapi.json")

    async def sql(self, role: tuple[str, bool], query: dict, headers: dict, body: bytes) -> None:
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise _problem(400, "22P02", f"the request body is not JSON: {e}") from None
        if not isinstance(request, dict) or not isinstance(request.get("sql"), str):
            raise _problem(400, "22023", 'the request body must be an object with a "sql" string')
        params = request.get("params")
        if params is not None and not isinstance(params, list):
            raise _problem(400, "22023", '"params" must be an array')
        db = self._database()
        user, superuser = role
        pool = self.api.sessions
        session, baseline = pool.take(db, user, superuser, self.peer)
        try:
            result = await _run_sql(self.server, session, request["sql"], params)
        except SqlError as e:
            self.server.metrics.statement_failed(e.sqlstate)
            raise _problem(400, e.sqlstate, e.message) from None
        except Exception as e:                    # a bug: answered like the wire protocol's XX000
            log.exception("internal error in an HTTP SQL request from %s", self.peer)
            self.server.metrics.statement_failed("XX000")
            raise _problem(500, "XX000", f"internal error: {type(e).__name__}: {e}") from None
        finally:
            pool.give(session, baseline, superuser)
        await self._respond(200, result, "/v1/sql")

    async def changes(self, role: tuple[str, bool], query: dict, headers: dict, body: bytes) -> None:
        db = self._database()
        position = _resume_position(query, headers, db.log.durable_lsn)
        self.server.metrics.http_request("/v1/changes", 200)
        await self._send(h11.Response(status_code=200, headers=[
            ("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache"),
            ("x-accel-buffering", "no")]))
        wake = asyncio.Event()
        listener = lambda lsn: wake.set()  # noqa: E731
        db.durable_listeners.add(listener)
        gone = asyncio.ensure_future(self.reader.read(1))    # the client sends nothing more; EOF means it left
        try:
            await self._send(h11.Data(data=b"retry: 1000\n\n"))
            while not gone.done() and not self.server.stopping:
                wake.clear()
                position = await self._stream_from(position)
                waiter = asyncio.ensure_future(wake.wait())
                done, _ = await asyncio.wait({waiter, gone}, timeout=KEEPALIVE_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if not done:
                    await self._send(h11.Data(data=b": keepalive\n\n"))
        except (ChangesUnavailable, LogCorruption) as e:
            payload = json.dumps({"sqlstate": "58P01" if isinstance(e, ChangesUnavailable) else "XX001",
                                  "message": str(e)})
            await self._send(h11.Data(data=f"event: error\ndata: {payload}\n\n".encode()))
        finally:
            db.durable_listeners.discard(listener)
            gone.cancel()
        await self._close_stream()

    async def _stream_from(self, position: tuple[int, int]) -> tuple[int, int]:
        """Send every durable change after `position`: (lsn, n) of the last change the client has,
        n = -1 when it has all of transaction lsn. Returns the new position."""
        db = self.server.db
        assert db is not None
        after_lsn, after_n = position
        start = after_lsn if after_n >= 0 else after_lsn + 1
        deadline = time.monotonic() + YIELD_EVERY
        out: list[bytes] = []
        for record in db.log.records(max(start, 1)):
            txn = ev.decode_transaction(record.payload)
            try:
                changes = record_changes(db.state, record.lsn, txn)
            except ChangesUnavailable:
                changes = record_changes(await self._past_state(record.lsn - 1), record.lsn, txn)
            for n, change in enumerate(changes):
                if record.lsn == after_lsn and n <= after_n:
                    continue
                out.append(b"id: %d:%d\ndata: %s\n\n" % (record.lsn, n, ENCODER.encode(change)))
            position = (record.lsn, -1)
            if out and (len(out) >= 256 or time.monotonic() > deadline):
                await self._send(h11.Data(data=b"".join(out)))
                out.clear()
                deadline = time.monotonic() + YIELD_EVERY
        if out:
            await self._send(h11.Data(data=b"".join(out)))
        return position

    async def _past_state(self, lsn: int):
        """A state holding the row history from `lsn` on, for changes older than the live state's
        history window: the nearest checkpoint plus replay (engine.rewind's `PastStates`),
        rebuilt in a worker thread so the event loop keeps serving, and cached."""
        db = self.server.db
        assert db is not None
        high = db.log.durable_lsn
        rebuilt = db.past.rebuilt
        if rebuilt.cached_at(lsn, high) is None:
            rebuilt.publish_at(await asyncio.to_thread(rebuilt.build_at, lsn, high))
        return rebuilt.covering(lsn, high)

    def _database(self):
        db = self.server.db
        if db is None:
            raise _problem(503, "57P03", "the database system is starting up")
        if self.server.stopping:
            raise _problem(503, "57P01", "the database system is shutting down")
        return db


_CHALLENGE = [("www-authenticate", 'Basic realm="rewinddb", charset="UTF-8"')]
_OPEN_ROUTES = frozenset(("/health", "/openapi.json"))    # no data behind them: probes need no password

_ROUTES = {
    "/health": ("GET", _Exchange.health),
    "/metrics": ("GET", _Exchange.metrics),
    "/openapi.json": ("GET", _Exchange.openapi),
    "/v1/sql": ("POST", _Exchange.sql),
    "/v1/changes": ("GET", _Exchange.changes),
}


def _basic_credentials(headers: dict[str, str]) -> tuple[str | None, str | None]:
    """(role name, password) from an Authorization: Basic header, or (None, None)."""
    credentials = headers.get("authorization")
    if credentials is None:
        return None, None
    scheme, _, token = credentials.partition(" ")
    if scheme.lower() != "basic":
        raise _problem(401, "28000", "only HTTP Basic authentication is supported", _CHALLENGE)
    try:
        name, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _problem(401, "28000", "malformed Basic credentials", _CHALLENGE) from None
    return name or None, password


def _resume_position(query: dict, headers: dict, durable_lsn: int) -> tuple[int, int]:
    """(lsn, n) of the last change the client has: from Last-Event-ID, else ?since=<lsn>
    (every change of later transactions), else now (only changes committed from now on)."""
    last_id = headers.get("last-event-id")
    try:
        if last_id:
            lsn_text, _, n_text = last_id.strip().partition(":")
            lsn, n = int(lsn_text), int(n_text or -1)
        elif "since" in query:
            lsn, n = int(query["since"][-1]), -1
        else:
            return durable_lsn, -1
    except ValueError:
        raise _problem(400, "22023", "since and Last-Event-ID take an LSN (and Last-Event-ID its :n)") from None
    if lsn < 0:
        raise _problem(400, "22023", "an LSN is never negative")
    return lsn, n


# -------------------------------------------------------------------- SQL


class SessionPool:
    """Idle engine sessions per role, so requests keep a warm plan cache.

    Each request behaves as a session of its own: a session goes back to the pool only if the
    request left it exactly as it found it (no transaction open, the same settings, nothing
    prepared, listened to or locked); any other session is closed. At most `KEEP` idle
    sessions are kept per role."""

    KEEP = 8

    def __init__(self) -> None:
        self.idle: dict[tuple[str, bool], list[tuple[Session, dict[str, str]]]] = {}

    def take(self, db, user: str, superuser: bool, peer: str) -> tuple[Session, dict[str, str]]:
        """A session for one request and the settings it must end with to be pooled again."""
        idle = self.idle.get((user, superuser))
        while idle:
            session, baseline = idle.pop()
            if session.db is db:
                session.client_addr = peer
                return session, baseline
            session.close()
        session = Session(db, user, "postgres", APPLICATION_NAME, peer, superuser=superuser)
        return session, dict(session.settings)

    def give(self, session: Session, baseline: dict[str, str], superuser: bool) -> None:
        session.advisory_unlock_all()
        idle = self.idle.setdefault((session.user, superuser), [])
        if (session.txn is None and session.status == "I" and session.settings == baseline
                and not session.prepared and not session.portals and not session.listening
                and len(idle) < self.KEEP):
            session.notices.clear()
            idle.append((session, baseline))
        else:
            session.close()


async def _run_sql(server: Server, session: Session, sql: str, params: list | None) -> dict[str, Any]:
    """Run `sql` like a simple Query (or, with params, like Parse/Bind/Execute); the last result."""
    metrics = server.metrics
    result: dict[str, Any] = {"columns": [], "rows": [], "command": ""}
    try:
        if params is None:
            pieces = split_statements(sql)
            if not pieces:
                return result
            for text, offset in pieces:
                started = time.perf_counter()
                try:
                    prepared, values = session.prepare_simple(text)
                    result = await _execute(session, prepared, values)
                except SqlError as e:
                    if e.position is not None:
                        e.position += offset
                    raise
                metrics.statement_done(text, result["command"], time.perf_counter() - started, session.user)
        else:
            started = time.perf_counter()
            prepared = session.prepare(sql)
            if len(params) != len(prepared.param_types):
                raise SqlError("08P01", f"the request supplies {len(params)} parameters, but the statement "
                                        f"requires {len(prepared.param_types)}")
            tz = session.output_settings.timezone
            values = tuple(None if v is None else text_parser(t, tz)(_param_text(v, t.oid not in (JSON.oid, JSONB.oid)))
                           for v, t in zip(params, prepared.param_types))
            result = await _execute(session, prepared, values)
            metrics.statement_done(sql, result["command"], time.perf_counter() - started, session.user)
        await session.end_implicit()
    except SqlError as e:
        session.fail(e)
        await session.end_implicit()
        raise
    return result


async def _execute(session: Session, prepared, values: tuple) -> dict[str, Any]:
    cursor = await session.execute(prepared, values)
    if cursor.columns is None:
        return {"columns": [], "rows": [], "command": cursor.tag or ""}
    settings = session.output_settings
    renderers = [json_renderer(c.type, settings) for c in cursor.columns]
    rows: list[list[Any]] = []
    deadline = time.monotonic() + YIELD_EVERY
    for batch in cursor.batches or ():
        for row in batch:
            rows.append([None if v is None else render(v) for render, v in zip(renderers, row)])
        if time.monotonic() > deadline:
            await asyncio.sleep(0)
            deadline = time.monotonic() + YIELD_EVERY
    return {"columns": [{"name": c.name, "type": c.type.name} for c in cursor.columns], "rows": rows,
            "command": cursor.tag if cursor.tag is not None else f"SELECT {len(rows)}"}


def _param_text(value: Any, arrays: bool) -> str:
    """A JSON parameter value as the text a PostgreSQL client would send for it: a JSON array
    becomes an array literal when `arrays` (the parameter is not json/jsonb), objects and
    everything given to a json/jsonb parameter become JSON text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, list) and arrays:
        return "{" + ",".join(_array_element(v) for v in value) + "}"
    return json.dumps(value, ensure_ascii=False)


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "{" + ",".join(_array_element(v) for v in value) + "}"
    text = _param_text(value, False)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
