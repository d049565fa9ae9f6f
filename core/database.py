"""Pooled database connections: one the server closed is replaced before use, without a ping.

On SQLite every connection also runs in WAL mode and waits for a lock instead of failing at once:
the web app, the worker and the scheduler of `flask start` write to the same file.
"""

import select
import time

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from core.extensions import db

#: A connection idle longer than this is also pinged before use: a network that dropped it
#: silently leaves nothing on its socket to see.
PING_AFTER_IDLE_SECONDS = 30.0

#: Milliseconds a SQLite connection waits for another process's write lock before it fails.
SQLITE_BUSY_TIMEOUT_MS = 30000


def closed_by_server(dbapi_connection) -> bool:
    """Whether the server spoke on an idle pooled connection: it only does so to end it."""
    # PostgreSQL says "terminating connection" and closes the socket when it restarts or a
    # backend is killed; the socket is then readable. A healthy idle one has nothing to read.
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None:  # SQLite: nothing on the other end to lose
        return False
    try:
        poller = select.poll()
        poller.register(fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - a connection without a socket is as good as closed
        return True


def replace_closed_connections(
    engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS
) -> None:
    """Check each pooled connection as it is handed out; the pool replaces a dead one."""

    @event.listens_for(engine, "checkin")
    def _note_idle(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, proxy) -> None:
        if closed_by_server(dbapi_connection):
            raise exc.DisconnectionError("the database closed this connection")
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("an idle connection is gone") from error


def wait_for_sqlite_locks(engine: Engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Open each SQLite file connection in WAL mode, waiting up to busy_timeout for a lock."""
    # In WAL mode readers never block the writer nor the writer them; only two writers wait
    # for each other. pysqlite begins a transaction just before its first write, so that
    # write waits for the lock (busy_timeout) instead of failing on a stale read snapshot.
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            wait_for_sqlite_locks(engine)
            replace_closed_connections(engine)
