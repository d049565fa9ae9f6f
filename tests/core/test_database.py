"""Pooled connections: an idle one cut by a database restart is replaced before use."""

import pytest
from sqlalchemy import create_engine, text

from core import database
from core.extensions import db


def _backend_pid() -> int:
    return db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _count_pings(engine, monkeypatch) -> list:
    pings = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    return pings


def test_a_connection_killed_while_idle_is_replaced_without_an_error(app, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("terminating a backend needs PostgreSQL")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    db.engine.dispose()
    database.ping_idle_connections(db.engine, idle_seconds=0.0)
    first = _backend_pid()
    db.session.commit()  # the connection goes back to the pool
    outside = create_engine(db.engine.url)  # another client, as a restart would be
    with outside.begin() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    outside.dispose()

    second = _backend_pid()  # no OperationalError: the dead connection was replaced

    assert second != first
    db.session.commit()


def test_a_connection_reused_at_once_is_not_pinged(app, monkeypatch):
    pings = _count_pings(db.engine, monkeypatch)
    db.session.execute(text("SELECT 1"))
    db.session.commit()
    for _ in range(5):
        db.session.execute(text("SELECT 1"))
        db.session.commit()

    assert pings == []


def test_a_connection_idle_longer_than_the_limit_is_pinged(app, monkeypatch):
    pings = _count_pings(db.engine, monkeypatch)
    db.session.execute(text("SELECT 1"))
    db.session.commit()
    database.ping_idle_connections(db.engine, idle_seconds=0.0)

    db.session.execute(text("SELECT 1"))
    db.session.commit()

    assert len(pings) >= 1
