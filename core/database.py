"""Pooled database connections: checked before use only after they sat idle."""

import time

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from core.extensions import db

#: A connection idle longer than this is pinged before use (a database restart may have cut
#: it). Busy connections are not: under load that ping was one more round trip per request.
PING_AFTER_IDLE_SECONDS = 2.0


def ping_idle_connections(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Replace a pooled connection that went stale while idle with a fresh one, before use."""

    @event.listens_for(engine, "checkin")
    def _note_idle(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("idle connection is gone") from error


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
