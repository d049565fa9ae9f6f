"""/metrics counts calls, attempts and cards from what is stored."""

from core.extensions import db
from hotline.models import Call
from tests.hotline.conftest import CITIZEN, twilio_post


def test_metrics_count_a_missed_call_its_attempts_and_its_open_card(client, region):
    twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To="+74872700101")
    call = db.session.scalar(db.select(Call))
    for position, status in enumerate(("busy", "no-answer", "completed")):
        twilio_post(
            client,
            f"/voice/chain/{call.id}/{position}/result",
            CallSid="CA1",
            DialCallStatus=status,
        )
    body = client.get("/metrics").text
    assert 'hotline_calls_total{outcome="missed"} 1.0' in body
    assert 'hotline_dial_attempts_total{outcome="busy",role="primary"} 1.0' in body
    assert 'hotline_dial_attempts_total{outcome="not-accepted",role="supervisor"} 1.0' in body
    assert "hotline_cards_open 1.0" in body and "hotline_cards_overdue 0.0" in body
