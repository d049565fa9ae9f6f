"""The reconciliation sweep: calls whose end was lost are finished from the carrier's status."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import core.clock
from callbacks.models import Card
from core.extensions import db
from core.models import Event
from core.schedule import periodic_jobs
from core.telephony.sim import CallerScript, SimCarrier, answers_and_presses, no_answer
from hotline.jobs import UNFINISHED_CALL_AGE, reconcile_calls
from hotline.models import Call, DialAttempt, OperatorShift
from tests.conftest import carrier_down
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE

DUTY_NUMBER = "+74872700101"
#: Says the greeting, then hangs up while the first official is being rung.
HANGS_UP_WHILE_RINGING = CallerScript(hang_up_after_verbs=1)


@pytest.fixture
def carrier(app, region):
    """A carrier whose status callbacks never reach the app (lost while the database was down)."""
    carrier = SimCarrier.in_process(app, status_path=None)
    carrier.phone(region.primary.phone, no_answer)
    return carrier


@pytest.fixture
def later(monkeypatch):
    """Return a function that moves the clock on by `delta` (past the age a call is looked at)."""

    def move(delta: timedelta = UNFINISHED_CALL_AGE + timedelta(minutes=1)) -> None:
        monkeypatch.setattr(core.clock, "now_source", lambda: core.clock.system_time() + delta)

    return move


def stored(sim_call) -> Call:
    db.session.expire_all()
    return db.session.scalar(select(Call).where(Call.call_sid == sim_call.sid))


def timeline(call: Call) -> list[str]:
    return list(
        db.session.scalars(
            select(Event.verb)
            .where(Event.subject_type == "call", Event.subject_id == str(call.id))
            .order_by(Event.id)
        )
    )


def cards(call: Call) -> int:
    return db.session.scalar(select(func.count(Card.id)).where(Card.call_id == call.id))


def snapshot(call: Call) -> tuple:
    return (
        call.outcome,
        call.status,
        [(a.role, a.outcome) for a in call.attempts],
        call.appeal.status if call.appeal else None,
        cards(call),
    )


def test_sweep_is_a_registered_periodic_job(app):
    assert "hotline.jobs.reconcile_calls" in [job.name for job in periodic_jobs(app)]


def test_lost_end_while_ringing_is_missed_with_a_card_as_if_the_callback_came(
    app, carrier, region, later
):
    heard = SimCarrier.in_process(app)  # the same call with its status callback
    heard.phone(region.primary.phone, no_answer)
    reference = stored(heard.incoming_call(CITIZEN, DUTY_NUMBER, HANGS_UP_WHILE_RINGING))
    expected = snapshot(reference)
    assert expected == ("missed", "completed", [("primary", "caller-hung-up")], "missed", 1)

    app.extensions["sim_carrier"] = carrier
    sim_call = carrier.incoming_call("+79167654321", DUTY_NUMBER, HANGS_UP_WHILE_RINGING)
    assert sim_call.ended
    call = stored(sim_call)
    assert (call.ended_at, call.outcome, call.attempts[0].outcome) == (None, None, None)

    assert reconcile_calls() == 0  # too young to be looked at
    later()
    assert reconcile_calls() == 1
    call = stored(sim_call)
    assert snapshot(call) == expected and call.ended_at is not None
    assert timeline(call)[-1] == "call.finalised-from-carrier"


def test_lost_end_in_the_menu_is_abandoned(carrier, later):
    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(hang_up_after_verbs=1))
    assert stored(sim_call).outcome is None
    later()
    assert reconcile_calls() == 1
    call = stored(sim_call)
    assert (call.outcome, call.status, call.appeal) == ("abandoned", "completed", None)
    assert timeline(call)[-2:] == ["call.abandoned", "call.finalised-from-carrier"]


def test_a_call_the_carrier_reports_live_is_left_alone(carrier, later):
    operator = make_user("olga", "operator")
    db.session.add(OperatorShift(user_id=operator.id, endpoint="+79000009999"))
    db.session.commit()
    waiting = carrier.incoming_call(CITIZEN, GOVERNOR_LINE)
    assert carrier.queued("operators") == [waiting] and not waiting.ended
    before = timeline(stored(waiting))
    later()
    assert reconcile_calls() == 0
    call = stored(waiting)
    assert (call.ended_at, call.outcome) == (None, None)
    assert timeline(call) == before


def test_a_carrier_error_leaves_the_call_for_the_next_sweep(app, carrier, later, caplog):
    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(hang_up_after_verbs=1))
    later()
    with carrier_down(app, "sim"), caplog.at_level(logging.WARNING, logger="hotline.jobs"):
        assert reconcile_calls() == 0
    assert f"call {sim_call.sid} left for the next sweep" in caplog.text
    assert stored(sim_call).outcome is None
    assert reconcile_calls() == 1
    assert stored(sim_call).outcome == "abandoned"


def test_twilio_error_leaves_the_call_too(app, carrier, later):
    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(hang_up_after_verbs=1))
    later()
    with carrier_down(app, "twilio") as twilio:
        assert reconcile_calls() == 0
    assert [r["method"] for r in twilio.requests] == ["GET"]
    assert stored(sim_call).ended_at is None


def test_sweeping_twice_or_a_late_callback_changes_nothing_more(carrier, region, later):
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER, HANGS_UP_WHILE_RINGING)
    later()
    assert reconcile_calls() == 1
    call = stored(sim_call)
    done, events = snapshot(call), timeline(call)
    assert done[0] == "missed" and done[-1] == 1

    assert reconcile_calls() == 0
    status, _ = carrier.post_webhook(
        "/voice/status",
        {"CallSid": sim_call.sid, "CallStatus": "completed", "SequenceNumber": "3"},
    )
    assert status == 204
    call = stored(sim_call)
    assert snapshot(call) == done and timeline(call) == events


def test_a_callback_that_came_leaves_nothing_for_the_sweep(app, region, later):
    carrier = SimCarrier.in_process(app)
    carrier.phone(region.primary.phone, no_answer)
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER, HANGS_UP_WHILE_RINGING)
    events = timeline(stored(sim_call))
    later()
    assert reconcile_calls() == 0
    assert timeline(stored(sim_call)) == events


def test_an_accepted_attempt_whose_dial_result_was_lost_is_closed(app, region, later):
    carrier = SimCarrier.in_process(app)
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    sim_call = carrier.incoming_call(CITIZEN, DUTY_NUMBER)
    call = stored(sim_call)
    assert call.outcome == "connected"
    attempt = call.attempts[0]
    attempt.outcome, attempt.ended_at = None, None  # the dial result never came
    db.session.commit()
    later(timedelta(minutes=6))

    assert reconcile_calls() == 1
    call = stored(sim_call)
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert [(a.outcome, a.ended_at is not None) for a in call.attempts] == [("accepted", True)]
    assert cards(call) == 0
    assert reconcile_calls() == 0
    assert db.session.scalar(select(func.count(DialAttempt.id))) == 1
