"""SMS retries: a message Twilio did not take is tried again with backoff, a refused one is not."""

import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from core.extensions import db
from core.models import OutboundMessage
from core.queue import get_queue, redis_connection
from core.telephony import get_gateway
from core.telephony.jobs import deliver_sms, sweep_due_sms
from core.telephony.sim import SimCarrier
from tests.conftest import (
    RecordingHttpClient,
    carrier_down,
    failing_twilio,
    use_twilio,
    work,
)
from tests.hotline.conftest import twilio_post

CITIZEN = "+79161234567"


def send(purpose: str = "appeal-registered:1") -> int:
    """Store the citizen an SMS, commit and let the worker send it; return the message id."""
    message = get_gateway().send_sms(CITIZEN, "Обращение 25-0001 зарегистрировано", purpose=purpose)
    db.session.commit()
    work(app_of_test())
    return message.id


def app_of_test():
    from flask import current_app

    return current_app._get_current_object()


def stored(message_id: int) -> OutboundMessage:
    db.session.expire_all()
    return db.session.get(OutboundMessage, message_id)


def scheduled_jobs() -> list[str]:
    return get_queue().scheduled_job_registry.get_job_ids()


def messages_posted(http_client: RecordingHttpClient) -> int:
    return sum(request["url"].endswith("/Messages.json") for request in http_client.requests)


@pytest.mark.parametrize(
    "down",
    [
        failing_twilio,
        lambda: RecordingHttpClient(429, {"code": 20429, "message": "Too Many Requests"}),
        lambda: RecordingHttpClient(error=requests.ConnectionError("connection refused")),
    ],
    ids=["server-error", "too-many-requests", "unreachable"],
)
def test_an_sms_twilio_did_not_take_goes_out_on_the_retry(app, clock, down):
    use_twilio(app, down())
    message_id = send()

    message = stored(message_id)
    assert (message.status, message.attempts, message.provider_sid) == ("retrying", 1, None)
    assert message.next_attempt_at == clock.now + timedelta(minutes=1)
    assert message.last_error
    assert scheduled_jobs() == [f"sms-{message_id}-attempt-2"]

    working = use_twilio(app, RecordingHttpClient()).client.http_client
    work(app)  # the retry is not due yet
    assert messages_posted(working) == 0 and stored(message_id).status == "retrying"

    clock.advance(minutes=1, seconds=1)
    assert sweep_due_sms() == 1  # moves the scheduled job forward
    work(app)
    message = stored(message_id)
    assert messages_posted(working) == 1
    assert working.requests[0]["data"]["To"] == CITIZEN
    assert (message.status, message.attempts) == ("queued", 2)
    assert message.provider_sid.startswith("SM") and message.next_attempt_at is None
    assert message.taken

    clock.advance(hours=2)
    assert sweep_due_sms() == 0
    work(app)
    assert messages_posted(working) == 1


def test_an_sms_the_simulated_carrier_did_not_take_goes_out_on_the_retry(app, clock):
    with carrier_down(app, "sim"):
        message_id = send()
    assert stored(message_id).status == "retrying"
    carrier = SimCarrier.in_process(app)

    clock.advance(minutes=1, seconds=1)
    sweep_due_sms()
    work(app)

    assert carrier.sms_to(CITIZEN) == ["Обращение 25-0001 зарегистрировано"]
    message = stored(message_id)
    assert (message.status, message.attempts) == ("delivered", 2)  # the carrier's receipt came
    assert carrier.messages[0].sid == message.provider_sid


@pytest.mark.parametrize(
    "code, text",
    [
        (21211, "Invalid 'To' Phone Number"),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21614, "'To' number is not a valid mobile number"),
    ],
)
def test_a_message_twilio_refuses_for_good_is_not_tried_again(app, clock, code, text):
    refusing = RecordingHttpClient(400, {"code": code, "message": text, "status": 400})
    use_twilio(app, refusing)
    message_id = send()

    message = stored(message_id)
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 1, None)
    assert str(code) in message.last_error
    assert message.failed and not message.taken
    assert scheduled_jobs() == [] and get_queue().count == 0

    clock.advance(hours=3)
    assert sweep_due_sms() == 0
    work(app)
    assert messages_posted(refusing) == 1


def test_the_sweep_finds_a_due_retry_whose_job_was_lost(app, clock):
    use_twilio(app, failing_twilio())
    message_id = send()
    redis_connection().flushdb()  # Redis lost the scheduled retry
    working = use_twilio(app, RecordingHttpClient()).client.http_client

    clock.advance(seconds=59)
    assert sweep_due_sms() == 0  # not due yet
    clock.advance(seconds=2)
    assert sweep_due_sms() == 1
    assert sweep_due_sms() == 0  # its job waits in the queue: not enqueued twice
    work(app)

    assert messages_posted(working) == 1
    assert stored(message_id).status == "queued"


def test_a_retry_job_that_runs_twice_sends_the_message_once(app, clock):
    use_twilio(app, failing_twilio())
    message_id = send()
    working = use_twilio(app, RecordingHttpClient()).client.http_client
    clock.advance(minutes=2)

    deliver_sms(message_id)
    deliver_sms(message_id)

    assert messages_posted(working) == 1
    assert stored(message_id).attempts == 2


def test_a_worker_that_read_the_message_before_another_sent_it_does_not_send_it(app, clock):
    use_twilio(app, failing_twilio())
    message_id = send()
    working = use_twilio(app, RecordingHttpClient()).client.http_client
    clock.advance(minutes=2)
    message = db.session.get(OutboundMessage, message_id)  # this worker read it as due...
    with db.engine.begin() as conn:  # ...while another worker made the same attempt
        conn.execute(
            update(OutboundMessage.__table__)
            .where(OutboundMessage.__table__.c.id == message_id)
            .values(attempts=2, status="queued", next_attempt_at=None, provider_sid="SM" + "e" * 32)
        )

    assert get_gateway().deliver_due_sms(message) is False
    assert messages_posted(working) == 0


def test_an_sms_twilio_never_takes_fails_after_the_last_attempt(app, clock):
    down = failing_twilio()
    use_twilio(app, down)
    message_id = send()

    waits = []
    while (message := stored(message_id)).retrying:
        waits.append(message.next_attempt_at - clock.now)
        clock.now = message.next_attempt_at
        assert sweep_due_sms() == 1
        work(app)

    assert waits == [timedelta(minutes=minutes) for minutes in (1, 5, 15, 60)]
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 5, None)
    assert "500" in message.last_error
    assert messages_posted(down) == 5
    clock.advance(days=1)
    assert sweep_due_sms() == 0
    assert get_queue().count == 0 and scheduled_jobs() == []


def test_an_sms_twilio_throttles_waits_as_long_as_its_retry_after_asks(app, clock, twilio_standin):
    twilio_standin.retry_after = 600
    twilio_standin.fail("429", match="Messages")
    message = stored(send())
    assert message.status == "retrying" and message.provider_sid is None
    assert message.next_attempt_at == clock() + timedelta(seconds=600)  # not the usual minute
    assert twilio_standin.messages == {}

    clock.advance(seconds=600)
    deliver_sms(message.id)
    deliver_sms(message.id)  # a second run of the same attempt sends nothing
    message = stored(message.id)
    assert message.status == "queued" and message.attempts == 2
    assert list(twilio_standin.messages) == [message.provider_sid]


def test_an_sms_to_an_unsubscribed_number_fails_at_once_through_the_real_client(
    app, clock, twilio_standin
):
    twilio_standin.fail("21610", match=CITIZEN)
    message = stored(send())
    assert message.status == "failed" and message.next_attempt_at is None
    assert "21610" in message.last_error
    assert scheduled_jobs() == [] and twilio_standin.messages == {}


def test_an_sms_whose_request_timed_out_waits_for_its_receipt_and_is_not_sent_twice(
    app, client, clock, twilio_standin
):
    twilio_standin.fail("hang", match="Messages", seconds=1.5)  # longer than the client waits
    message = stored(send())
    assert message.status == "retrying" and message.provider_sid is None
    # the carrier may have it: the next try waits for a receipt longer than the usual minute
    assert message.next_attempt_at == clock() + timedelta(minutes=2)
    for _ in range(50):  # the stand-in finishes the request it was slow to answer
        if twilio_standin.messages:
            break
        time.sleep(0.1)
    [sid] = twilio_standin.messages
    response = twilio_post(
        client, f"/sms/status?sms={message.id}", MessageSid=sid, MessageStatus="sent"
    )
    assert response.status_code == 204
    message = stored(message.id)
    assert message.status == "sent" and message.provider_sid == sid

    clock.advance(minutes=2)
    assert sweep_due_sms() == 0
    deliver_sms(message.id)
    assert list(twilio_standin.messages) == [sid] and stored(message.id).attempts == 1


def test_an_sms_whose_request_timed_out_and_never_arrived_is_tried_after_the_receipt_wait(
    app, clock
):
    use_twilio(app, RecordingHttpClient(error=requests.ReadTimeout("read timed out")))
    message_id = send()
    message = stored(message_id)
    assert message.status == "retrying"
    assert message.next_attempt_at == clock.now + timedelta(minutes=2)

    working = use_twilio(app, RecordingHttpClient()).client.http_client
    clock.advance(minutes=1, seconds=1)  # the usual first wait is not enough after a timeout
    assert sweep_due_sms() == 0
    clock.advance(minutes=1)
    assert sweep_due_sms() == 1
    work(app)
    assert messages_posted(working) == 1 and stored(message_id).status == "queued"
