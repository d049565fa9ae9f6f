"""Queue plumbing: enqueue after commit, and a real worker running a scheduled job."""

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from core.jobs import record_worker_heartbeat
from core.models import Event
from core.queue import (
    OutboxJob,
    enqueue_after_commit,
    get_queue,
)
from tests.conftest import start_worker


def test_job_is_enqueued_only_after_commit(app):
    enqueue_after_commit(record_worker_heartbeat, "a", job_id="beat-a")
    assert get_queue().count == 0
    db.session.commit()
    assert get_queue().job_ids == ["beat-a"]


def test_a_savepoint_released_enqueues_nothing_until_the_transaction_commits(app):
    # Enqueuing at a savepoint's release once cleared the outbox over another connection that
    # waited, on SQLite, for this very transaction's write lock: "database is locked".
    enqueue_after_commit(record_worker_heartbeat, "c", job_id="beat-c")
    started = time.monotonic()
    with db.session.begin_nested():
        db.session.add(Event(actor_label="test", subject_type="t", subject_id="1", verb="v"))
    assert time.monotonic() - started < 2
    assert get_queue().count == 0
    assert db.session.query(OutboxJob).count() == 1

    db.session.commit()

    assert get_queue().job_ids == ["beat-c"]
    assert db.session.query(OutboxJob).count() == 0


def test_job_is_dropped_on_rollback(app):
    enqueue_after_commit(record_worker_heartbeat, "b", job_id="beat-b")
    db.session.rollback()
    db.session.commit()
    assert get_queue().count == 0


def test_same_job_id_is_not_enqueued_twice(app):
    for _ in range(2):
        enqueue_after_commit(record_worker_heartbeat, "c", job_id="beat-c")
        db.session.commit()
    assert get_queue().job_ids == ["beat-c"]


def test_one_commit_enqueues_new_and_scheduled_jobs_and_skips_a_waiting_one(app):
    enqueue_after_commit(record_worker_heartbeat, "d", job_id="beat-d")
    db.session.commit()
    later = utcnow() + timedelta(hours=1)

    enqueue_after_commit(record_worker_heartbeat, "d", job_id="beat-d")  # still waiting
    enqueue_after_commit(record_worker_heartbeat, "e", job_id="beat-e")
    enqueue_after_commit(record_worker_heartbeat, "f", job_id="beat-f", at=later)
    db.session.commit()

    queue = get_queue()
    assert queue.job_ids == ["beat-d", "beat-e"]
    assert queue.scheduled_job_registry.get_job_ids() == ["beat-f"]
    assert list(queue.fetch_job("beat-e").args) == ["e"]
    assert db.session.scalar(db.select(db.func.count(OutboxJob.key))) == 0


def test_a_finished_job_id_is_enqueued_again(app):
    enqueue_after_commit(record_worker_heartbeat, "g", job_id="beat-g")
    db.session.commit()
    get_queue().fetch_job("beat-g").set_status("finished")
    get_queue().remove("beat-g")

    enqueue_after_commit(record_worker_heartbeat, "g", job_id="beat-g")
    db.session.commit()

    assert get_queue().job_ids == ["beat-g"]


def test_worker_runs_a_job_scheduled_with_enqueue_in(app):
    job = get_queue().enqueue_in(timedelta(seconds=1), record_worker_heartbeat, "scheduled")
    assert get_queue().count == 0  # waiting in the scheduled registry
    worker = start_worker(app, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.rollback()
            beat = db.session.scalar(db.select(Event).where(Event.verb == "worker.heartbeat"))
            if beat is not None:
                break
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        stderr = worker.communicate(timeout=30)[1].decode()
    assert beat is not None, stderr[-2000:]
    assert beat.data == {"note": "scheduled"} and beat.actor_label == "worker"
    assert job.get_status(refresh=True) == "finished"


def test_scheduler_enqueues_registered_periodic_jobs(app):
    from core.schedule import add_periodic, build_scheduler

    app.extensions.pop("hotline.periodic", None)  # only this test's job, not the features'
    add_periodic(app, record_worker_heartbeat, interval=60)
    with pytest.raises(ValueError):
        add_periodic(app, record_worker_heartbeat)
    scheduler = build_scheduler(app)
    assert [job.name for job in scheduler.get_jobs()] == ["core.jobs.record_worker_heartbeat"]
    scheduler.enqueue_jobs()
    assert [job.func_name for job in get_queue().jobs] == ["core.jobs.record_worker_heartbeat"]


def _redis_round_trips(monkeypatch) -> list[str]:
    """Record every round trip to Redis: a command sent alone, or a pipeline's execution."""
    import redis
    from redis.client import Pipeline

    trips = []
    command, execute = redis.Redis.execute_command, Pipeline.execute

    def counted_command(self, *args, **options):
        trips.append(str(args[0]))
        return command(self, *args, **options)

    def counted_execute(self, *args, **options):
        trips.append("pipeline")
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    return trips


def test_due_jobs_are_enqueued_in_two_round_trips_however_many_there_are(app, monkeypatch):
    from core.queue import enqueue_due_all

    queue = get_queue()
    queue.enqueue(record_worker_heartbeat, "w", job_id="due-waiting")
    queue.enqueue_in(timedelta(hours=1), record_worker_heartbeat, "s", job_id="due-scheduled")
    trips = _redis_round_trips(monkeypatch)
    few = [(("w",), "due-waiting"), (("s",), "due-scheduled"), (("n0",), "due-new-0")]
    assert enqueue_due_all(record_worker_heartbeat, few) == 2
    assert len(trips) == 2
    trips.clear()
    many = [((f"m{i}",), f"due-many-{i}") for i in range(10)]
    assert enqueue_due_all(record_worker_heartbeat, many) == 10
    assert len(trips) == 2
    monkeypatch.undo()
    assert queue.job_ids == ["due-waiting", "due-scheduled", "due-new-0"] + [
        f"due-many-{i}" for i in range(10)
    ]
    assert queue.scheduled_job_registry.get_job_ids() == []
    assert list(queue.fetch_job("due-many-3").args) == ["m3"]


def test_a_due_job_that_waits_is_left_alone_and_a_finished_one_runs_again(app):
    from core.queue import enqueue_due

    queue = get_queue()
    assert enqueue_due(record_worker_heartbeat, "x", job_id="due-x") is True
    assert enqueue_due(record_worker_heartbeat, "x", job_id="due-x") is False
    queue.fetch_job("due-x").set_status("finished")
    queue.remove("due-x")
    assert enqueue_due(record_worker_heartbeat, "x", job_id="due-x") is True
    assert queue.job_ids == ["due-x"]
