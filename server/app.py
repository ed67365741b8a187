"""The server process: opens the database, listens, serves connections, shuts down cleanly.

`Server.run()` starts the HTTP API (server/http.py) if `http_port` is set, so `/health` answers
503 during recovery; opens the data directory (replaying the log in a worker thread while the
event loop serves HTTP; `recovery` tells how far it is), starts the log writer and the
checkpointer (background snapshots), listens on host:port and logs one line when ready. SIGTERM or SIGINT stops accepting new
connections, lets every connection finish the message it is handling (so in-flight
commits complete and are acknowledged), closes the connections and the log, and returns
exit status 0. A failed log write or fsync is fatal: the server stops at once with a
non-zero status and acknowledges nothing more.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import resource
import signal

from engine.database import Database, StorageConfig
from engine.recovery import RecoveryProgress
from server.auth import AuthConfig, is_loopback, password_verifier
from server.config import Config
from server.metrics import Metrics
from server.tls import Tls, load_tls

log = logging.getLogger("rewinddb.server")


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.db: Database | None = None
        self.connections: set = set()
        self._stop = asyncio.Event()
        self.exit_code = 0
        self._listener: asyncio.AbstractServer | None = None
        self.metrics = Metrics(config.log_min_duration_statement)
        self.http = None
        self.stopping = False
        self.recovery = RecoveryProgress()      # how far opening the data directory is
        self.auth = AuthConfig(config.local_auth, config.auth, config.superuser, config.password or None)
        self.tls: Tls | None = None

    def at_capacity(self) -> bool:
        sessions = sum(1 for c in self.connections if c.session is not None)
        return sessions >= self.config.max_connections

    def cancel(self, process_id: int, secret: int) -> None:
        for conn in self.connections:
            if conn.session is not None and conn.session.backend_pid == process_id and conn.secret == secret:
                conn.cancel()

    def stop(self, exit_code: int = 0) -> None:
        self.exit_code = max(self.exit_code, exit_code)
        self._stop.set()

    async def run(self) -> int:
        from server.connection import Connection
        from server.http import HttpApi
        loop = asyncio.get_running_loop()
        log.info("starting rewinddb on data directory %s", self.config.data_dir)
        _raise_file_limit(self.config.max_connections)
        if self.config.tls_cert or self.config.tls_key:
            if not (self.config.tls_cert and self.config.tls_key):
                raise ValueError("TLS needs both tls_cert and tls_key")
            self.tls = load_tls(self.config.tls_cert, self.config.tls_key)
        if self.config.http_port:
            self.http = HttpApi(self)
            await self.http.start(self.config.host, self.config.http_port)
        try:
            db = await asyncio.to_thread(Database.open, self.config.data_dir, storage_config(self.config),
                                         progress=self.recovery)
        except BaseException:
            if self.http is not None:
                await self.http.close()
            raise
        gc.freeze()     # the recovered state is long-lived: keep it out of every future collection
        # A database allocates rows by the million (COPY, big results) and almost none of them
        # are garbage: collect the young generation far less often than Python's default
        # (700 allocations), which halves the time of a bulk load.
        gc.set_threshold(50_000, 20, 100)
        db.bootstrap_role = self.auth.bootstrap_role()
        db.password_verifier = password_verifier
        db.on_fatal = lambda exc: self.stop(1)
        db.settings["synchronous_commit"] = self.config.synchronous_commit
        for name in ("statement_timeout", "idle_session_timeout", "idle_in_transaction_session_timeout"):
            if getattr(self.config, name):
                db.settings[name] = str(getattr(self.config, name))
        db.query_memory_limit = self.config.query_memory_limit
        db.transaction_memory_limit = self.config.transaction_memory_limit
        db.log.on_flushed = self.metrics.flushed
        await db.start()
        self.db = db
        try:
            self._listener = await loop.create_server(lambda: Connection(self), self.config.host,
                                                      self.config.port, reuse_address=True)
        except OSError:
            await db.close()
            if self.http is not None:
                await self.http.close()
            raise
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        port = self._listener.sockets[0].getsockname()[1]
        auth = self.auth
        if not is_loopback(self.config.host) and auth.remote_method != "trust" \
                and db.role(auth.superuser).password is None:
            log.warning("listening on %s, where clients need a password, but superuser %s has none "
                        "(set --password or REWINDDB_PASSWORD)", self.config.host, auth.superuser)
        log.info("rewinddb ready to accept connections on %s:%d (data directory %s, LSN %d%s)",
                 self.config.host, port, self.config.data_dir, db.state.lsn, ", TLS" if self.tls else "")
        await self._stop.wait()
        await self._shutdown()
        return self.exit_code

    async def _shutdown(self) -> None:
        log.info("shutting down")
        self.stopping = True
        if self._listener is not None:
            self._listener.close()
        if self.http is not None:
            await self.http.close()
        busy = [c for c in self.connections if c.busy]
        if busy and self.exit_code == 0:
            deadline = asyncio.get_running_loop().time() + self.config.shutdown_grace
            while any(c.busy for c in busy) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.closed = True
            if conn.task is not None:
                conn.task.cancel()
            if conn.transport is not None:
                conn.transport.close()
        for conn in list(self.connections):
            if conn.task is not None:
                try:
                    await conn.task
                except (asyncio.CancelledError, Exception):
                    pass
        if self.db is not None:
            try:
                await self.db.close()
            except Exception as e:
                log.error("closing the log failed: %s", e)
                self.exit_code = max(self.exit_code, 1)
        log.info("stopped")


def storage_config(config: Config) -> StorageConfig:
    """The engine's storage settings out of the server's."""
    return StorageConfig(segment_size=config.segment_size, snapshot_log_bytes=config.snapshot_log_bytes,
                         snapshot_events=config.snapshot_events, snapshot_interval=config.snapshot_interval,
                         snapshots_kept=config.snapshots_kept, history_window=config.history_window,
                         checkpoint_spacing=config.checkpoint_spacing)


def _raise_file_limit(max_connections: int) -> None:
    """Make room for a socket per allowed connection (plus log segments and spares): raise the
    soft limit on open files towards the hard limit if it is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < wanted:
            log.warning("only %d open files allowed (hard limit); max_connections %d may not all fit",
                        new, max_connections)
