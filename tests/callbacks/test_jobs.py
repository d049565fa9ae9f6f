"""Tracking jobs on a real Redis and a real RQ worker, driven by the sweep and a movable clock."""

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from redis import Redis
from rq.job import Job

from callbacks.jobs import sweep
from callbacks.models import AppealTracking, Card
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from core.queue import OutboxJob, get_queue, redis_connection
from core.telephony.jobs import sweep_due_sms
from hotline.models import Appeal, Channel
from hotline.services import register_appeal
from tests import factories
from tests.callbacks.conftest import miss_call
from tests.conftest import (
    RecordingHttpClient,
    counted_statements,
    start_worker,
    use_twilio,
    work,
)


def bodies(number: str) -> list[str]:
    return db.session.scalars(
        db.select(OutboundMessage.body)
        .where(OutboundMessage.to_number == number)
        .order_by(OutboundMessage.id)
    ).all()


def verbs(card: Card) -> list[str]:
    return [event.verb for event in timeline("card", card.id)]


def test_reminder_escalation_and_overdue_at_their_times(app, client, region, clock):
    card = miss_call(client)
    primary, supervisor = region.a["primary"].phone, region.a["supervisor"].phone
    work(app)
    clock.advance(minutes=14)
    sweep()
    work(app)
    assert "card.reminder" not in verbs(card) and len(bodies(primary)) == 1
    clock.advance(minutes=1, seconds=1)
    sweep()
    work(app)
    assert "card.reminder" in verbs(card)
    assert "не принята в работу" in bodies(primary)[-1]
    clock.advance(hours=3, minutes=44)  # just before half of the 8 hours
    sweep()
    work(app)
    assert "card.escalated" not in verbs(card)
    clock.advance(minutes=1)
    sweep()
    work(app)
    assert "Эскалация" in bodies(supervisor)[-1]
    assert not any("Эскалация" in body for body in bodies(primary))
    assert not db.session.get(Card, card.id).overdue
    clock.advance(hours=4, seconds=1)
    sweep()
    work(app)
    card = db.session.get(Card, card.id)
    assert card.overdue and card.state == "new"
    [overdue] = [e for e in timeline("card", card.id) if e.verb == "card.overdue"]
    assert overdue.data["managers"] == ["manager"]
    sweep()
    work(app)
    assert verbs(card).count("card.reminder") == 1 and verbs(card).count("card.overdue") == 1


def test_acknowledged_card_gets_no_reminder(app, client, region, clock):
    card = miss_call(client)
    from callbacks.services import acknowledge_card

    acknowledge_card(db.session.get(Card, card.id), region.head_a)
    db.session.commit()
    clock.advance(minutes=20)
    sweep()
    work(app)
    assert "card.reminder" not in verbs(card)


def test_sweep_recovers_a_deleted_job(app, client, region, clock):
    card = miss_call(client)
    queue = get_queue()
    [opened] = [job_id for job_id in queue.job_ids if job_id.startswith(f"card-{card.id}-opened")]
    Job.fetch(opened, connection=redis_connection()).delete()
    assert queue.count == 1  # only the caller's registration SMS is left
    work(app)
    assert bodies(region.a["primary"].phone) == []
    found = sweep()
    assert found["opened"] == 1
    work(app)
    assert len(bodies(region.a["primary"].phone)) == 1
    assert sweep()["opened"] == 0


def test_redis_down_when_the_card_opens_then_jobs_arrive_when_it_is_back(
    app, client, region, clock
):
    alive = app.extensions["hotline.redis"]
    app.extensions["hotline.redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        card = miss_call(client)
    finally:
        app.extensions["hotline.redis"] = alive
    assert card is not None and card.state == "new"
    waiting = db.session.scalars(db.select(OutboxJob.func)).all()
    assert "callbacks.jobs.notify_card_opened" in waiting
    assert "hotline.jobs.send_registration_sms" in waiting
    assert get_queue().count == 0
    clock.advance(minutes=1)
    sweep()  # the periodic sweep relays the outbox first
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxJob)) == 0
    assert len(get_queue().scheduled_job_registry.get_job_ids()) == 3
    work(app)
    assert all(len(bodies(official.phone)) == 1 for official in region.a.values())
    assert len(bodies(card.appeal.caller_number)) == 1


class HangingCarrier(BaseHTTPRequestHandler):
    """Takes the first SMS and hangs on the second, like a worker stuck mid-job."""

    received: list[str] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(body.decode())
        if len(type(self).received) > 1:
            time.sleep(60)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_a_worker_killed_while_sending_an_sms_never_sends_it_twice(app, client, region, clock):
    card = miss_call(client)
    queue = get_queue()
    for job_id in queue.job_ids:  # leave only the card's opening SMS
        if "opened" not in job_id:
            Job.fetch(job_id, connection=redis_connection()).delete()
    db.session.commit()
    HangingCarrier.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), HangingCarrier)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker = start_worker(app, SIM_CARRIER_URL=f"http://127.0.0.1:{server.server_port}")
    try:
        deadline = time.monotonic() + 30
        while len(HangingCarrier.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(HangingCarrier.received) == 2, "the worker never reached the second SMS"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        server.shutdown()
        server.server_close()
    db.session.expire_all()
    trio = primary, backup, supervisor = [region.a[role].phone for role in region.a]
    assert db.session.get(Card, card.id).notified_at is not None  # all three were stored first
    states = dict(
        db.session.execute(db.select(OutboundMessage.to_number, OutboundMessage.status)).all()
    )
    assert states == {primary: "sent", backup: "claimed", supervisor: "pending"}

    # The dead worker's heartbeat expires; RQ then counts its job as abandoned.
    queue.started_job_registry.cleanup(timestamp=time.time() + 3600)
    clock.now = datetime.now(UTC)  # the worker stored the messages on the machine's clock
    work(app)  # the supervisor's SMS goes out; the backup's, maybe sent already, does not
    clock.advance(minutes=11)
    sweep_due_sms()
    work(app)
    states = dict(
        db.session.execute(db.select(OutboundMessage.to_number, OutboundMessage.status)).all()
    )
    assert states == {primary: "sent", backup: "unknown", supervisor: "sent"}
    sent_to = [sum(phone in request for request in HangingCarrier.received) for phone in trio]
    assert sent_to == [1, 1, 0]  # the supervisor's went out through this process's carrier
    assert sweep()["opened"] == 0


def test_checkins_follow_the_urgency_and_record_on_the_timeline(app, client, region, clock):
    card = miss_call(client)
    appeal = card.appeal
    appeal.category_id, appeal.urgency = region.water.id, "emergency"
    tracking = db.session.get(AppealTracking, appeal.id)
    tracking.next_checkin_at = clock.now + timedelta(minutes=region.water.checkin_minutes)
    db.session.commit()
    work(app)
    clock.advance(hours=2, seconds=1)
    sweep()
    work(app)
    tracking = db.session.get(AppealTracking, appeal.id)
    assert tracking.checkins == 1
    assert "Контроль обращения" in bodies(region.a["primary"].phone)[-1]
    assert [e.verb for e in timeline("appeal", appeal.id)].count("appeal.checkin") == 1
    assert (tracking.next_checkin_at - clock.now).total_seconds() == 2 * 3600
    sweep()
    work(app)
    assert db.session.get(AppealTracking, appeal.id).checkins == 1


def test_sms_twilio_could_not_be_reached_for_go_out_once_it_is_back(app, client, region, clock):
    card = miss_call(client)
    numbers = [official.phone for official in region.a.values()] + [card.appeal.caller_number]

    def statuses() -> list[list[str]]:
        return [
            db.session.scalars(
                db.select(OutboundMessage.status).where(OutboundMessage.to_number == number)
            ).all()
            for number in numbers
        ]

    use_twilio(app, RecordingHttpClient(error=requests.ConnectionError("connection refused")))
    work(app)
    assert statuses() == [["retrying"]] * 4
    assert get_queue().failed_job_registry.count == 0
    assert db.session.get(Card, card.id).notified_at is not None

    back = use_twilio(app, RecordingHttpClient())
    clock.advance(minutes=1, seconds=1)
    sweep_due_sms()
    work(app)
    assert statuses() == [["queued"]] * 4
    assert sorted(r["data"]["To"] for r in back.client.http_client.requests) == sorted(numbers)


def test_the_minute_sweep_takes_as_many_queries_for_fifty_appeals_as_for_five(app, region, clock):
    trio = list(region.a.values())

    def statements_for(count: int) -> int:
        made = db.session.scalar(db.select(db.func.count(Card.id)))
        for index in range(made, count):
            caller = f"+7916100{index:04d}"
            category = region.water if index % 2 else region.roads
            factories.make_card(region.alpha, category, caller, f"CS{index:04d}", trio)
            register_appeal(
                channel=Channel.PHONE,
                municipality=region.alpha,
                category=category if index % 3 else None,
                caller_number=caller,
                status="in_work",
            )
        db.session.commit()
        with counted_statements() as statements:
            found = sweep()
        assert found["tracking"] == count - made
        untracked = (
            db.select(Appeal).outerjoin(AppealTracking).where(AppealTracking.appeal_id.is_(None))
        )
        assert db.session.scalars(untracked).all() == []
        return len(statements)

    assert statements_for(5) == statements_for(50)
