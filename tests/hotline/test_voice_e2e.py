"""Whole calls through the simulated carrier: the duty chain as a citizen and officials live it."""

import re
from datetime import timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from core.models import OutboundMessage
from core.queue import run_worker
from core.telephony.sim import (
    CallerScript,
    SimCarrier,
    answers_and_presses,
    busy,
    fails,
    no_answer,
    voicemail,
)
from core.users import issue_token
from hotline.models import Call, OperatorShift
from hotline.prompts import spoken_number
from hotline.signals import chain_exhausted
from roster.models import DutyShift
from tests.factories import make_shift, make_user
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE

DUTY_NUMBER = "+74872700101"


@pytest.fixture
def carrier(app, region):
    return SimCarrier.in_process(app)


@pytest.fixture
def exhausted_calls():
    fired = []

    def receiver(call, appeal):
        fired.append((call.call_sid, appeal.number))

    chain_exhausted.connect(receiver)
    yield fired
    chain_exhausted.disconnect(receiver)


def stored(sim_call) -> Call:
    db.session.expire_all()
    return db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))


def dialled(sim_call) -> list[tuple[str, bool]]:
    return [(leg.number, leg.bridged) for leg in sim_call.transcript.dialled]


def test_primary_accepts_through_the_voice_menu(carrier, region):
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(digits=["01", "2"]))
    assert dialled(sim_call) == [(region.primary.phone, True)]
    heard = " ".join(sim_call.transcript.said)
    assert "горячую линию губернатора" in heard and "Соединяем" in heard
    leg = sim_call.legs[0]
    assert "Альфинский район" in " ".join(leg.transcript.said)  # the whisper
    call = stored(sim_call)
    assert call.outcome == "connected" and call.category_id == region.roads.id
    assert [(a.role, a.outcome, a.key_pressed) for a in call.attempts] == [
        ("primary", "accepted", True)
    ]
    assert call.attempts[0].dial_call_duration >= 60  # the whisper, then the conversation
    assert call.appeal.status == "in_work" and call.appeal.assignee_id == region.primary.id
    assert call.status == "completed"


def test_with_connection_overrides_every_twiml_url_carries_them_and_is_accepted(app, region):
    """Twilio signs the action URLs with the fragment it was given, and never sends it."""
    app.config["TWILIO_CONNECTION_OVERRIDES"] = "rc=2&rt=timeout"
    carrier = SimCarrier.in_process(app)
    carrier.phone(region.primary.phone, answers_and_presses("1"))

    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(digits=["01", "2"]))

    assert dialled(sim_call) == [(region.primary.phone, True)]
    assert len(sim_call.webhooks) > 3 and carrier.errors == []
    assert {hook.status for hook in sim_call.webhooks} <= {200, 204}  # no 403
    actions = re.findall(r'(?:action|url)="([^"]+)"', " ".join(h.body for h in sim_call.webhooks))
    assert actions and all(url.endswith("#rc=2&amp;rt=timeout") for url in actions)
    assert stored(sim_call).outcome == "connected"


def test_primary_no_answer_then_backup_accepts(carrier, region):
    carrier.phone(region.primary.phone, no_answer)
    carrier.phone(region.backup.phone, answers_and_presses("1"))
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER)
    assert dialled(sim_call) == [(region.primary.phone, False), (region.backup.phone, True)]
    call = stored(sim_call)
    assert [a.outcome for a in call.attempts] == ["no-answer", "accepted"]
    assert call.outcome == "connected" and call.appeal.assignee_id == region.backup.id


def test_voicemail_at_the_primary_is_not_counted(carrier, region):
    carrier.phone(region.primary.phone, voicemail)
    carrier.phone(region.backup.phone, answers_and_presses("1"))
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER)
    call = stored(sim_call)
    first = call.attempts[0]
    assert first.dial_call_status == "completed"  # what Twilio reports for a voicemail
    assert first.key_pressed is False and first.outcome == "not-accepted"
    assert call.attempts[1].outcome == "accepted" and call.outcome == "connected"


def test_wrong_key_is_not_an_acceptance(carrier, region):
    carrier.phone(region.primary.phone, answers_and_presses("5"))
    carrier.phone(region.backup.phone, answers_and_presses("1"))
    call = stored(carrier.incoming_call(CITIZEN, DUTY_NUMBER))
    assert [a.outcome for a in call.attempts] == ["not-accepted", "accepted"]


def test_all_three_fail_registers_a_missed_appeal_and_texts_the_number(
    app, carrier, region, exhausted_calls
):
    carrier.phone(region.primary.phone, busy)
    carrier.phone(region.backup.phone, voicemail)
    carrier.phone(region.supervisor.phone, fails)
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER, CallerScript(message_seconds=25))
    call = stored(sim_call)
    assert [a.outcome for a in call.attempts] == ["busy", "not-accepted", "failed"]
    appeal = call.appeal
    assert call.outcome == "missed" and appeal.status == "missed"
    assert exhausted_calls == [(sim_call.sid, appeal.number)]
    assert any(spoken_number(appeal.number) in text for text in sim_call.transcript.said)
    assert appeal.recording_url and appeal.recording_duration == 25
    run_worker(app, burst=True)
    texts = carrier.sms_to(CITIZEN)
    assert len(texts) == 1 and appeal.number in texts[0]
    message = db.session.scalar(
        db.select(OutboundMessage).where(OutboundMessage.to_number == CITIZEN)
    )
    assert message.to_number == CITIZEN and message.purpose == f"appeal-registered:{appeal.id}"


def test_empty_backup_slot_is_skipped_and_noted(carrier, region):
    db.session.execute(db.delete(DutyShift).where(DutyShift.role == "backup"))
    db.session.commit()
    carrier.phone(region.primary.phone, no_answer)
    carrier.phone(region.supervisor.phone, answers_and_presses("1"))
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER)
    assert dialled(sim_call) == [(region.primary.phone, False), (region.supervisor.phone, True)]
    call = stored(sim_call)
    assert call.routing["backup"] is None
    assert [a.role for a in call.attempts] == ["primary", "supervisor"]
    from core.events import timeline

    started = next(e for e in timeline("call", call.id) if e.verb == "chain.started")
    assert started.data["empty"] == ["backup"]


def test_same_person_in_two_roles_is_rung_once(carrier, region):
    db.session.execute(db.delete(DutyShift).where(DutyShift.role == "supervisor"))
    now = utcnow()
    make_shift(
        region.roster,
        "supervisor",
        region.primary,
        now - timedelta(hours=1),
        now + timedelta(hours=5),
    )
    db.session.commit()
    carrier.phone(region.primary.phone, no_answer)
    carrier.phone(region.backup.phone, no_answer)
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER)
    assert dialled(sim_call) == [(region.primary.phone, False), (region.backup.phone, False)]
    assert stored(sim_call).outcome == "missed"


def test_caller_hanging_up_in_the_menu_is_abandoned(carrier, region):
    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(hang_up_after_verbs=1))
    call = stored(sim_call)
    assert call.outcome == "abandoned" and call.appeal is None


def test_call_api_shows_routing_and_attempts(app, carrier, region):
    carrier.phone(region.primary.phone, voicemail)
    carrier.phone(region.backup.phone, answers_and_presses("1"))
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER)
    client = app.test_client()
    manager = make_user("mary", "manager")
    headers = {"Authorization": f"Bearer {issue_token(manager)}"}
    db.session.commit()
    body = client.get(f"/api/v1/calls/{sim_call.sid}", headers=headers).json
    assert body["outcome"] == "connected"
    assert body["routing"]["primary"]["phone"] == region.primary.phone
    assert [(a["role"], a["dial_call_status"], a["key_pressed"]) for a in body["attempts"]] == [
        ("primary", "completed", False),
        ("backup", "completed", True),
    ]
    assert body["appeal_number"] == stored(sim_call).appeal.number
    missing = client.get("/api/v1/calls/CAnope", headers=headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    head = make_user("hugo", "head", region.place)
    head_headers = {"Authorization": f"Bearer {issue_token(head)}"}
    db.session.commit()
    assert client.get(f"/api/v1/calls/{sim_call.sid}", headers=head_headers).status_code == 403


def test_caller_waits_for_operators_and_may_leave_the_queue_for_the_menu(carrier, region):
    operator = make_user("olga", "operator")
    db.session.add(OperatorShift(user_id=operator.id, endpoint="+79000009999"))
    db.session.commit()
    waiting = carrier.incoming_call(CITIZEN, GOVERNOR_LINE)
    assert carrier.queued("operators") == [waiting]
    assert any("Вы 1-й в очереди" in text for text in waiting.transcript.said)
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    leaving = carrier.incoming_call(
        "+79167654321", GOVERNOR_LINE, CallerScript(digits=["*", "01", "1"])
    )
    assert any("Вы 2-й в очереди" in text for text in leaving.transcript.said)
    assert dialled(leaving) == [(region.primary.phone, True)]
    assert stored(leaving).category_id == region.water.id
    assert carrier.queued("operators") == [waiting]
