"""Due check-ins in batches: bulk statements, exactly once with a killed worker and two workers."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, text

from callbacks import jobs
from callbacks.models import AppealTracking
from config import BASE_DIR
from core import batches
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from core.queue import enqueue_due_all, get_queue, redis_connection, redis_url_of
from hotline.models import Appeal, Channel
from hotline.services import register_appeal
from tests import factories
from tests.conftest import counted_statements, work


def due_appeals(region, clock, count: int, start: int = 0) -> list[int]:
    """Register `count` appeals in work, every third one with no assignee but a card's duty."""
    trio = list(region.a.values())
    ids = []
    for index in range(start, start + count):
        caller = f"+7916200{index:04d}"
        if index % 3 == 0:
            card = factories.make_card(region.alpha, region.roads, caller, f"CB{index:04d}", trio)
            appeal = card.appeal
            appeal.status = "in_work"
        else:
            appeal = register_appeal(
                channel=Channel.PHONE,
                municipality=region.alpha,
                category=region.water if index % 2 else region.roads,
                caller_number=caller,
                status="in_work",
            )
            appeal.assignee_id = region.b["backup"].id
        db.session.flush()
        tracking = db.session.get(AppealTracking, appeal.id)
        if tracking is None:
            tracking = AppealTracking(appeal_id=appeal.id, checkins=0, reopen_count=0)
            db.session.add(tracking)
        tracking.next_checkin_at = clock.now - timedelta(minutes=1)
        ids.append(appeal.id)
    db.session.commit()
    return ids


def checkin_sms(appeal_id: int) -> list[OutboundMessage]:
    return db.session.scalars(
        db.select(OutboundMessage).where(OutboundMessage.purpose.like(f"checkin:{appeal_id}:%"))
    ).all()


def test_due_checkins_go_in_batches_each_done_once_to_the_responsible_phone(
    app, region, clock, monkeypatch
):
    monkeypatch.setattr(batches, "BATCH_SIZE", 2)
    ids = due_appeals(region, clock, 5)
    found = jobs.sweep()
    assert found["checkin"] == 5
    queued = [get_queue().fetch_job(job_id) for job_id in get_queue().job_ids]
    batch_jobs = [job for job in queued if job.func_name == "callbacks.jobs.run_checkins"]
    assert sorted(len(job.args[0]) for job in batch_jobs) == [1, 2, 2]
    assert jobs.sweep()["checkin"] == 0  # the same due batches wait already
    work(app)
    assert get_queue().failed_job_registry.count == 0
    for index, appeal_id in enumerate(ids):
        tracking = db.session.get(AppealTracking, appeal_id)
        assert tracking.checkins == 1
        [message] = checkin_sms(appeal_id)
        phone = region.a["primary"].phone if index % 3 == 0 else region.b["backup"].phone
        assert message.to_number == phone and message.status == "sent"
        assert db.session.get(Appeal, appeal_id).number in message.body
        [event] = [e for e in timeline("appeal", appeal_id) if e.verb == "appeal.checkin"]
        assert event.data == {"n": 1, "to": phone, "sms": [message.id]}
        minutes = 120 if index % 2 and index % 3 else 1440
        assert tracking.next_checkin_at - tracking.last_checkin_at == timedelta(minutes=minutes)
    assert not any(
        job.startswith("checkin-") for job in get_queue().finished_job_registry.get_job_ids()
    )
    assert jobs.sweep()["checkin"] == 0


def test_a_batch_takes_as_many_statements_for_fifty_checkins_as_for_five(app, region, clock):
    def statements_for(count: int, start: int) -> int:
        ids = due_appeals(region, clock, count, start)
        with counted_statements() as statements:
            assert jobs.run_checkins(ids) == count
        return len(statements)

    assert statements_for(5, 0) == statements_for(50, 5)


def test_a_batch_that_fails_hands_each_checkin_to_its_own_job(app, region, clock):
    ids = due_appeals(region, clock, 3)
    stored = OutboundMessage(  # an earlier try stored this one's SMS: the bulk INSERT refuses
        to_number=region.b["backup"].phone,
        body="stored before",
        carrier="sim",
        purpose=f"checkin:{ids[1]}:1",
        status="sent",
        attempts=1,
    )
    db.session.add(stored)
    db.session.commit()
    assert jobs.run_checkins(ids) == 0
    alone = sorted(job for job in get_queue().job_ids if job.startswith("checkin"))
    assert alone == sorted(
        f"checkin-{i}-{int((clock.now - timedelta(minutes=1)).timestamp())}" for i in ids
    )
    work(app)
    assert [db.session.get(AppealTracking, i).checkins for i in ids] == [1, 1, 1]
    assert [len(checkin_sms(i)) for i in ids] == [1, 1, 1]
    assert checkin_sms(ids[1])[0].body == "stored before"  # not sent a second time
    assert get_queue().failed_job_registry.count == 0


class CountingCarrier(BaseHTTPRequestHandler):
    """The simulated carrier's control endpoint: counts every SMS handed to it."""

    received: list[dict] = []
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with type(self).lock:
            type(self).received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_carrier():
    CountingCarrier.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingCarrier)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def start_burst_worker(app, carrier_url: str) -> subprocess.Popen:
    """Start `flask worker --burst` in a session of its own, its SMS going to `carrier_url`."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url_of(redis_connection()),
            "HOTLINE_INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SIM_CARRIER_URL": carrier_url,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def sms_per_appeal(ids: list[int]) -> list[int]:
    """How many SMS the carrier got about each appeal (its number is in the body)."""
    numbers = dict(db.session.execute(db.select(Appeal.id, Appeal.number)).all())
    bodies = [sms["body"] for sms in CountingCarrier.received]
    return [sum(f" {numbers[i]}:" in body for body in bodies) for i in ids]


def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks between processes: PostgreSQL")


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    app, region, clock, counting_carrier
):
    postgresql_only(app)
    ids = due_appeals(region, clock, 30)  # due by the machine's clock too, the workers' one
    assert jobs.sweep()["checkin"] == 30
    blocker = create_engine(db.engine.url).connect()
    worker = None
    try:
        blocker.begin()
        blocker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        worker = start_burst_worker(app, counting_carrier)
        deadline = time.monotonic() + 60
        waiting = 0
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.2)
            waiting = db.session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'INSERT INTO events%'"
                )
            )
            db.session.commit()
        assert waiting, "the worker never reached the batch's events"
        os.killpg(worker.pid, signal.SIGKILL)  # mid-batch: its SMS rows are written, not committed
        worker.wait(timeout=10)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        blocker.rollback()
        blocker.close()
    db.session.expire_all()
    assert [db.session.get(AppealTracking, i).checkins for i in ids] == [0] * 30
    assert db.session.scalar(db.select(db.func.count(OutboundMessage.id))) == 0
    assert CountingCarrier.received == []

    # RQ gives the dead worker's job up once its heartbeat expires; the sweep finds the work.
    get_queue().started_job_registry.cleanup(timestamp=time.time() + 3600)
    jobs.sweep()
    queued = [get_queue().fetch_job(job_id) for job_id in get_queue().job_ids]
    batched = [i for job in queued if "run_checkins" in job.func_name for i in job.args[0]]
    assert sorted(batched) == ids  # queued again, by the sweep or by RQ's cleanup
    worker = start_burst_worker(app, counting_carrier)
    assert worker.wait(timeout=120) == 0
    db.session.expire_all()
    assert [db.session.get(AppealTracking, i).checkins for i in ids] == [1] * 30
    assert sms_per_appeal(ids) == [1] * 30
    assert all(len(checkin_sms(i)) == 1 for i in ids)


def test_two_workers_never_take_the_same_checkin(app, region, clock, counting_carrier):
    postgresql_only(app)
    ids = due_appeals(region, clock, 120)  # due by the machine's clock too, the workers' one
    # Every check-in is offered to both workers: forwards in the sweep's batches of 200, and
    # backwards in batches of 20 under other job ids, so the two meet mid-way.
    assert jobs.sweep()["checkin"] == 120
    backwards = list(reversed(ids))
    enqueue_due_all(
        jobs.run_checkins,
        [((backwards[i : i + 20],), f"backwards-{i}") for i in range(0, 120, 20)],
    )
    workers = [start_burst_worker(app, counting_carrier) for _ in range(2)]
    assert [worker.wait(timeout=180) for worker in workers] == [0, 0]
    db.session.expire_all()
    assert [db.session.get(AppealTracking, i).checkins for i in ids] == [1] * 120
    events = db.session.execute(
        text("SELECT subject_id, count(*) FROM events WHERE verb = 'appeal.checkin' GROUP BY 1")
    ).all()
    assert len(events) == 120 and {count for _, count in events} == {1}
    assert sms_per_appeal(ids) == [1] * 120
    assert get_queue().failed_job_registry.count == 0
