"""Pooled connections: one the server closed is replaced before use, and busy ones cost no ping."""

import time

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


def _terminate(pid: int) -> None:
    """End a backend from another client, as a restart would, and wait until it is gone."""
    outside = create_engine(db.engine.url)
    with outside.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()
        for _ in range(200):  # the backend exits a moment after the signal
            alive = other.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
            other.commit()
            if not alive:
                break
            time.sleep(0.01)
    outside.dispose()


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("terminating a backend needs PostgreSQL")


def test_a_connection_the_server_closed_is_replaced_without_an_error_or_a_ping(
    app, postgresql, monkeypatch
):
    pings = _count_pings(db.engine, monkeypatch)
    first = _backend_pid()
    db.session.commit()  # the connection goes back to the pool
    _terminate(first)

    second = _backend_pid()  # no OperationalError: the dead connection was replaced

    assert second != first
    assert pings == []
    db.session.commit()


def test_a_healthy_idle_connection_is_not_taken_for_a_closed_one(app, postgresql):
    db.session.execute(text("SELECT 1"))
    raw = db.session.connection().connection.dbapi_connection
    db.session.commit()

    assert database.closed_by_server(raw) is False
    _terminate(raw.info.backend_pid)
    assert database.closed_by_server(raw) is True


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
    database.replace_closed_connections(db.engine, idle_seconds=0.0)

    db.session.execute(text("SELECT 1"))
    db.session.commit()

    assert len(pings) >= 1
