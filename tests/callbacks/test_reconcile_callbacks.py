"""Callbacks left hanging (the carrier restarted, forgot the call, or was never reached)."""

import pytest

from callbacks.jobs import reconcile_callbacks
from callbacks.models import CallbackAttempt
from callbacks.services import (
    CALLBACK_NEVER_PLACED,
    CALLBACK_UNKNOWN,
    CALLBACK_UNKNOWN_AGE,
    start_callback,
)
from core.events import timeline
from core.extensions import db
from core.schedule import periodic_jobs
from core.telephony.sim import SimCarrier
from tests.callbacks.conftest import miss_call
from tests.conftest import carrier_down, csrf_token, login


def click_to_call(client, card, official):
    """The head presses «call back» on the card; return the page's flash text."""
    page = f"/cabinet/cards/{card.id}"
    token = csrf_token(client.get(page).text)
    client.post(f"{page}/callback", data={"csrf_token": token, "official": str(official.id)})
    return client.get(page).text


def the_attempt() -> CallbackAttempt:
    db.session.expire_all()
    return db.session.scalar(db.select(CallbackAttempt))


def finished_reason(card) -> str:
    [finished] = [e for e in timeline("card", card.id) if e.verb == "callback.finished"]
    return finished.data["error"]


@pytest.fixture
def card(client, region):
    card = miss_call(client)
    login(client, "head_a")
    return card


def test_the_sweep_is_a_registered_periodic_job(app):
    assert "callbacks.jobs.reconcile_callbacks" in [job.name for job in periodic_jobs(app)]


def test_a_callback_the_restarted_carrier_forgot_is_finished_at_the_next_sweep(
    app, client, region, card, clock
):
    SimCarrier.in_process(app)  # takes the call; it restarts before ringing anybody
    click_to_call(client, card, region.a["primary"])
    assert the_attempt().call_sid is not None and the_attempt().outcome is None
    SimCarrier.in_process(app)  # the restarted carrier knows no call

    assert reconcile_callbacks() == 0  # too young to be asked about
    clock.advance(seconds=CALLBACK_UNKNOWN_AGE.total_seconds() + 1)
    assert reconcile_callbacks() == 1
    attempt = the_attempt()
    assert attempt.outcome == "failed" and attempt.ended_at is not None
    assert finished_reason(card) == CALLBACK_UNKNOWN
    assert "вызов не прошёл" in client.get(f"/cabinet/cards/{card.id}").text
    assert reconcile_callbacks() == 0


def test_a_callback_never_placed_is_finished(app, region, card, clock):
    attempt = start_callback(card, region.a["primary"], region.head_a)
    db.session.commit()  # the app stopped before the carrier was asked
    clock.advance(seconds=CALLBACK_UNKNOWN_AGE.total_seconds() + 1)
    assert reconcile_callbacks() == 1
    assert the_attempt().outcome == "failed" and the_attempt().id == attempt.id
    assert finished_reason(card) == CALLBACK_NEVER_PLACED


def test_a_carrier_that_cannot_tell_leaves_the_callback_for_the_next_sweep(
    app, client, region, card, clock
):
    SimCarrier.in_process(app)
    click_to_call(client, card, region.a["primary"])
    clock.advance(seconds=CALLBACK_UNKNOWN_AGE.total_seconds() + 1)
    with carrier_down(app, "sim"):
        assert reconcile_callbacks() == 0
    assert the_attempt().outcome is None


def test_with_no_carrier_attached_the_head_reads_that_the_call_is_tried_again(
    app, client, region, card
):
    app.extensions.pop("sim_carrier", None)
    app.config["SIM_CARRIER_URL"] = None
    page = click_to_call(client, card, region.a["primary"])
    assert "Оператор связи не принял вызов: нет связи с оператором связи. Повторим в" in page
    assert "Звонит ваш телефон" not in page
    attempt = the_attempt()
    assert attempt.outcome is None and attempt.call_sid is None and attempt.waiting_for_retry
