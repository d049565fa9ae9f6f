"""Every card and appeal action in every state: the allowed ones act, the rest are refused
with a 409 and nothing written."""

from datetime import timedelta
from io import BytesIO

import pytest

from callbacks import services, states
from callbacks.models import CallbackAttempt, Card, CardPhoto, CardState
from core.clock import utcnow
from core.extensions import db
from core.models import Event, OutboundMessage
from core.users import issue_token
from hotline.models import AppealStatus
from tests.callbacks.conftest import CITIZEN
from tests.conftest import csrf_token, login
from tests.factories import make_card, make_photo

PNG = make_photo()
CARD_STATES = list(CardState)
APPEAL_STATUSES = list(AppealStatus)
_ALL = {state: state for state in CARD_STATES}
_WORKING = ("new", "acknowledged", "called_back")

#: What each cabinet action may act on and where it leads, written out (not read from the table).
CABINET = {
    "acknowledge": {"new": "acknowledged", "acknowledged": "acknowledged"},
    "note": _ALL,
    "photo": _ALL,
    "forward": {"new": "new", "acknowledged": "new"},
    "callback": {state: state for state in _WORKING},
    "outcome": {state: "closed" for state in _WORKING},
}
WORKERS = {
    "remind": ("new",),
    "escalate": ("new", "acknowledged"),
    "mark-overdue": ("new", "acknowledged"),
}
APPEAL = {
    "resolve": {s: "resolved" for s in ("routing", "in_work", "missed", "reopened")},
    "take-into-work": {s: "in_work" for s in ("routing", "missed", "resolved", "reopened")},
    "close": {s: "closed" for s in APPEAL_STATUSES if s != "closed"},
}


def test_the_table_is_the_one_written_out_here():
    assert {action: states.CARD_TRANSITIONS[action] for action in CABINET} == CABINET
    for action, allowed in WORKERS.items():
        assert states.states_for("card", action) == allowed
    assert {action: states.APPEAL_TRANSITIONS[action] for action in APPEAL} == APPEAL


def card_in(region, state: str) -> Card:
    """Alpha's missed-call card put in `state`, its appeal in the status that goes with it."""
    card = make_card(region.alpha, region.roads, CITIZEN, "CAstate")
    moment = utcnow()
    card.state = state
    if state == "acknowledged":
        card.acknowledged_at = moment
    if state == "called_back":
        card.called_back_at = moment
        card.appeal.status = AppealStatus.IN_WORK
    if state == "closed":
        card.closed_at = card.appeal.closed_at = moment
        card.appeal.status = AppealStatus.CLOSED
    db.session.commit()
    return card


def snapshot(card_id: int) -> tuple:
    """What any action would change: counts of what it writes, the card and its appeal."""
    db.session.expire_all()
    card = db.session.get(Card, card_id)
    counts = [
        db.session.scalar(db.select(db.func.count(model.id)))
        for model in (Event, CallbackAttempt, CardPhoto, OutboundMessage)
    ]
    return (
        *counts,
        card.state,
        card.municipality_id,
        card.appeal.status,
        card.appeal.municipality_id,
    )


def cabinet_post(client, card: Card, action: str, region, token: str):
    data = {"csrf_token": token}
    data |= {
        "acknowledge": {},
        "note": {"text": "Позвонили в управляющую компанию"},
        "photo": {"kind": "before", "photo": (BytesIO(PNG), "pit.png")},
        "forward": {"municipality": "beta", "reason": "Адрес в Бетинском районе"},
        "callback": {"official": str(region.a["primary"].id)},
        "outcome": {"code": "fixed", "text": "Бригада засыпала яму"},
    }[action]
    path = {"photo": "photos"}.get(action, action)
    return client.post(
        f"/cabinet/cards/{card.id}/{path}", data=data, content_type="multipart/form-data"
    )


@pytest.mark.parametrize("state", CARD_STATES)
@pytest.mark.parametrize("action", list(CABINET))
def test_cabinet_action_in_every_card_state(client, region, carrier, action, state):
    card = card_in(region, state)
    login(client, "head_a")
    token = csrf_token(client.get(f"/cabinet/cards/{card.id}").text)
    before = snapshot(card.id)
    answer = cabinet_post(client, card, action, region, token)
    after = snapshot(card.id)
    if state not in CABINET[action]:
        assert answer.status_code == 409
        assert "Нельзя" in answer.text and "карточка" in answer.text
        assert after == before
        return
    assert answer.status_code == 302, answer.text
    assert after[4] == CABINET[action][state]
    if action == "forward":
        assert after[5] == region.beta.id
    if action in ("note", "photo", "callback"):
        written = {"note": 0, "photo": 2, "callback": 1}[action]
        assert after[written] == before[written] + 1


@pytest.mark.parametrize("state", CARD_STATES)
@pytest.mark.parametrize("action", ["acknowledge", "outcome"])
def test_api_card_action_in_every_card_state(client, region, action, state):
    card = card_in(region, state)
    token = {"Authorization": f"Bearer {issue_token(region.head_a)}"}
    db.session.commit()
    before = snapshot(card.id)
    body = {"code": "fixed", "text": "Бригада засыпала яму"} if action == "outcome" else None
    answer = client.post(f"/api/v1/cards/{card.id}/{action}", json=body, headers=token)
    if state not in CABINET[action]:
        assert answer.status_code == 409
        code = "card_closed" if state == "closed" else "invalid_state"
        assert answer.json["error"] == {
            "code": code,
            "message": f"the card is {state}: {action} is not allowed",
            "field": None,
        }
        assert snapshot(card.id) == before
        return
    assert answer.status_code == 200 and answer.json["state"] == CABINET[action][state]


@pytest.mark.parametrize("status", APPEAL_STATUSES)
@pytest.mark.parametrize("action", list(APPEAL))
def test_api_appeal_action_in_every_status(client, region, action, status):
    card = make_card(region.alpha, region.roads, CITIZEN, "CAstatus")
    card.appeal.status = status
    if status in ("resolved", "closed"):
        card.state, card.closed_at = CardState.CLOSED, utcnow()
    if status == "closed":
        card.appeal.closed_at = utcnow()
    user = region.manager if action == "close" else region.head_a
    token = {"Authorization": f"Bearer {issue_token(user)}"}
    db.session.commit()
    before = snapshot(card.id)
    body = {
        "resolve": {"status": "resolved", "code": "fixed", "text": "Бригада засыпала яму"},
        "take-into-work": {"status": "in_work", "text": "Житель пишет, что не сделано"},
        "close": {"status": "closed", "text": "Дубликат"},
    }[action]
    answer = client.post(f"/api/v1/appeals/{card.appeal.number}/status", json=body, headers=token)
    if status not in APPEAL[action]:
        assert answer.status_code == 409
        error = answer.json["error"]
        assert error["code"] == ("closed" if status == "closed" else "same_status")
        assert error["field"] is None and status in error["message"]
        assert snapshot(card.id) == before
        return
    assert answer.status_code == 200 and answer.json["status"] == APPEAL[action][status]


@pytest.mark.parametrize("state", CARD_STATES)
@pytest.mark.parametrize("action", list(WORKERS))
def test_worker_action_in_every_card_state(region, action, state):
    card = card_in(region, state)
    card.remind_at = card.escalate_at = card.callback_due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    before = snapshot(card.id)
    service = {
        "remind": services.remind_card,
        "escalate": services.escalate_card,
        "mark-overdue": services.mark_card_overdue,
    }[action]
    assert service(db.session.get(Card, card.id)) is (state in WORKERS[action])
    db.session.commit()
    if state not in WORKERS[action]:
        assert snapshot(card.id) == before


@pytest.mark.parametrize("state", CARD_STATES)
def test_the_card_page_offers_only_the_actions_its_state_allows(client, region, state):
    card = card_in(region, state)
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    offered = {
        "acknowledge": 'id="acknowledge"',
        "callback": 'id="callback-form"',
        "outcome": 'id="outcome-form"',
        "forward": f"/cabinet/cards/{card.id}/forward",
        "note": f"/cabinet/cards/{card.id}/note",
        "photo": 'id="photo-form"',
    }
    for action, mark in offered.items():
        shown = state in CABINET[action] and not (action == "acknowledge" and state != "new")
        assert (mark in page) is shown, action
