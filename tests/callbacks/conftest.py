"""Two municipalities with duty trios, their users, and missed calls."""

from types import SimpleNamespace

import pytest

from callbacks.models import Card
from core.extensions import db
from core.telephony.sim import SimCarrier, no_answer
from tests.factories import make_category, make_duty_trio, make_municipality, make_user
from tests.hotline.conftest import twilio_post

CITIZEN = "+79161234567"
ALPHA_LINE = "+74872700101"
BETA_LINE = "+74872700202"


@pytest.fixture
def region(app):
    """Alpha and Beta, each with a duty trio; a head, an official, a manager and an operator."""
    alpha = make_municipality("alpha", "Альфинский район", duty_number=ALPHA_LINE)
    beta = make_municipality("beta", "Бетинский район", duty_number=BETA_LINE)
    alpha_trio = make_duty_trio(alpha, "+7900000110", days=10)
    beta_trio = make_duty_trio(beta, "+7900000220", days=10)
    roads = make_category("roads", "ordinary")
    water = make_category("water", "emergency")
    water.callback_minutes, water.checkin_minutes = 60, 120
    db.session.commit()
    users = {
        "head_a": make_user("head_a", "head", alpha),
        "official_a": make_user("official_a", "official", alpha),
        "head_b": make_user("head_b", "head", beta),
        "manager": make_user("manager", "manager"),
        "operator": make_user("operator", "operator"),
    }
    alpha_trio["supervisor"].user_id = users["head_a"].id
    db.session.commit()
    return SimpleNamespace(
        alpha=alpha, beta=beta, a=alpha_trio, b=beta_trio, roads=roads, water=water, **users
    )


@pytest.fixture
def carrier(app, region):
    """The simulated carrier attached to the app; the duty phones do not answer."""
    carrier = SimCarrier.in_process(app)
    for trio in (region.a, region.b):
        for official in trio.values():
            carrier.phone(official.phone, no_answer())
    return carrier


def miss_call(client, sid: str = "CA1", from_: str = CITIZEN, line: str = ALPHA_LINE) -> Card:
    """Call a municipality's duty number; nobody of the trio answers; return the card."""
    twilio_post(client, "/voice/incoming", CallSid=sid, From=from_, To=line)
    from hotline.models import Call

    call = db.session.scalar(db.select(Call).where(Call.call_sid == sid))
    for position in range(3):
        twilio_post(
            client,
            f"/voice/chain/{call.id}/{position}/result",
            CallSid=sid,
            DialCallStatus="no-answer",
        )
    db.session.expire_all()
    return db.session.scalar(db.select(Card).where(Card.call_id == call.id))
