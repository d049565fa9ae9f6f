"""An operator on shift, a carrier with the operator's phone, and helpers to drive a call."""

import pytest

from core.extensions import db
from core.telephony.sim import CallerScript, SimCarrier, answers_and_presses, no_answer
from hotline.models import Call
from tests.conftest import csrf_token, login
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE

OPERATOR_PHONE = "+79000009999"
#: A citizen who stays on the line after talking to the operator.
PATIENT = CallerScript(hangs_up_after_bridge=False, talk_seconds=600)


@pytest.fixture
def operator(app):
    user = make_user("olga", "operator")
    user.full_name = "Ольга Операторова"
    db.session.commit()
    return user


@pytest.fixture
def carrier(app, region):
    """The simulated carrier; the operator answers and talks, the trio does not answer."""
    carrier = SimCarrier.in_process(app)
    carrier.phone(OPERATOR_PHONE, answers_and_presses(None, talk_seconds=30))
    for official in (region.primary, region.backup, region.supervisor):
        carrier.phone(official.phone, no_answer())
    return carrier


@pytest.fixture
def console(client, operator):
    """The operator signed in and on shift."""
    login(client, "olga")
    page = client.get("/console/")
    response = client.post(
        "/console/shift", data={"endpoint": OPERATOR_PHONE, "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302
    return client


def stored(sim_call) -> Call:
    db.session.expire_all()
    return db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))


def call_in(carrier, number: str = CITIZEN):
    """A citizen calls the governor's line and waits in the operators' queue."""
    return carrier.incoming_call(number, GOVERNOR_LINE, PATIENT)


def post(client, url: str, data: dict | None = None, page: str = "/console/"):
    """POST a console form with the CSRF token of a page."""
    token = csrf_token(client.get(page).text)
    return client.post(url, data={**(data or {}), "csrf_token": token})


def take(client, carrier, sim_call):
    """Take the call from the queue and let the carrier put the caller through."""
    call = stored(sim_call)
    response = post(client, f"/console/calls/{call.id}/take")
    carrier.run_pending()
    return response


def taken_call(client, carrier, number: str = CITIZEN):
    """A citizen calls and the operator takes the call; return the carrier's and the stored call."""
    sim_call = call_in(carrier, number)
    take(client, carrier, sim_call)
    return sim_call, stored(sim_call)


def submit_appeal(client, call: Call, region, action: str, **changes):
    """Submit the appeal form from the call's page with `action` (connect or register)."""
    page = f"/console/calls/{call.id}"
    return post(
        client, f"{page}/appeal", {**appeal_data(region, **changes), "action": action}, page
    )


def appeal_data(region, **changes) -> dict:
    data = {
        "municipality": region.place.name,
        "category": str(region.roads.id),
        "urgency": "ordinary",
        "address": "ул. Ленина, 5",
        "text": "Яма на дороге у дома",
        "caller_name": "Иван Петров",
        "callback_number": CITIZEN,
    }
    return {**data, **changes}
