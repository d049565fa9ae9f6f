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


def _sqlite_engine(path, busy_timeout_ms: int):
    engine = create_engine(f"sqlite:///{path}")
    database.wait_for_sqlite_locks(engine, busy_timeout_ms=busy_timeout_ms)
    return engine


def test_every_sqlite_connection_of_the_app_runs_in_wal_mode_and_waits_for_locks(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the pragmas are SQLite's")
    connection = db.session.connection()

    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    assert (
        connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        == database.SQLITE_BUSY_TIMEOUT_MS
    )
    db.session.rollback()


def test_a_write_commits_while_another_process_is_reading(tmp_path):
    # Without WAL an open read transaction keeps a writer from committing: "database is locked".
    reader_engine = _sqlite_engine(tmp_path / "shared.db", busy_timeout_ms=300)
    writer_engine = _sqlite_engine(tmp_path / "shared.db", busy_timeout_ms=300)
    with writer_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('first')")
    reader = reader_engine.raw_connection()
    cursor = reader.cursor()
    cursor.execute("BEGIN")
    cursor.execute("SELECT body FROM notes")
    cursor.fetchone()  # the read transaction stays open, as a page being rendered

    with writer_engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('second')")

    cursor.execute("SELECT count(*) FROM notes")
    assert cursor.fetchone()[0] == 1  # the reader keeps its snapshot
    reader.rollback()
    reader.close()
    with writer_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM notes").scalar_one() == 2
    reader_engine.dispose()
    writer_engine.dispose()


def test_two_writers_at_once_wait_for_each_other_instead_of_failing(tmp_path):
    import threading

    path = tmp_path / "shared.db"
    engines = [_sqlite_engine(path, busy_timeout_ms=10000) for _ in range(2)]
    with engines[0].begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, writer INTEGER)")
    errors = []

    def write(number: int) -> None:
        try:
            for _ in range(30):
                with engines[number].begin() as conn:
                    conn.exec_driver_sql("SELECT count(*) FROM notes").scalar_one()
                    conn.exec_driver_sql(f"INSERT INTO notes (writer) VALUES ({number})")
                    time.sleep(0.002)  # the lock is held a while, as a job's transaction
                    conn.exec_driver_sql(f"UPDATE notes SET writer = {number} WHERE id = 1")
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with engines[0].connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM notes").scalar_one() == 60
    for engine in engines:
        engine.dispose()
