"""The caller hangs up while the operator's phone rings: nobody is bridged or queued again."""

from core.extensions import db
from core.telephony.sim import no_answer
from hotline.models import Call
from tests.hotline.conftest import twilio_post
from tests.hotline.console.conftest import OPERATOR_PHONE, call_in, post, stored


def test_an_operator_answering_after_the_caller_hung_up_is_told_and_not_bridged(console, carrier):
    carrier.phone(OPERATOR_PHONE, no_answer())
    sim_call = call_in(carrier)
    call = stored(sim_call)
    post(console, f"/console/calls/{call.id}/take")
    twilio_post(console, "/voice/status", CallSid=call.call_sid, CallStatus="completed")
    base = f"/voice/console/calls/{call.id}/operator"
    answered = twilio_post(console, f"{base}/answered", CallSid="CAop")
    assert "Гражданин уже положил трубку" in answered.text and "<Hangup" in answered.text
    results = [
        twilio_post(
            console,
            f"{base}/result",
            CallSid=call.call_sid,
            CallStatus="completed",
            DialCallStatus="completed",
        )
        for _ in range(2)
    ]
    assert results[0].text == results[1].text
    assert "<Enqueue" not in results[0].text and "<Hangup" in results[0].text
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.operator_answered_at is None and call.outcome == "abandoned"
    assert call.operator_id is None


def test_a_caller_gone_before_the_operator_result_is_not_queued_again(console, carrier):
    carrier.phone(OPERATOR_PHONE, no_answer())
    sim_call = call_in(carrier)
    call = stored(sim_call)
    post(console, f"/console/calls/{call.id}/take")
    base = f"/voice/console/calls/{call.id}/operator"
    result = twilio_post(
        console,
        f"{base}/result",
        CallSid=call.call_sid,
        CallStatus="completed",
        DialCallStatus="no-answer",
    )
    assert "<Enqueue" not in result.text
    twilio_post(console, "/voice/status", CallSid=call.call_sid, CallStatus="completed")
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.outcome == "abandoned" and call.operator_id is None
