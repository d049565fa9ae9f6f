"""Cards open once from the chain-exhausted signal; the trio is told once; the API is scoped."""

from callbacks.models import AppealTracking, Card
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from core.queue import get_queue
from core.users import issue_token
from hotline.models import Call
from hotline.signals import chain_exhausted
from tests.callbacks.conftest import CITIZEN, miss_call
from tests.conftest import work


def sms_to(number: str) -> list[str]:
    return db.session.scalars(
        db.select(OutboundMessage.body).where(OutboundMessage.to_number == number)
    ).all()


def test_missed_call_opens_one_card_with_the_duty_and_deadline(app, client, region, clock):
    card = miss_call(client)
    assert card is not None and card.state == "new" and not card.overdue
    assert card.municipality_id == region.alpha.id
    assert card.duty["supervisor"]["phone"] == region.a["supervisor"].phone
    assert abs((card.callback_due_at - card.appeal.callback_due_at).total_seconds()) < 1
    assert (card.remind_at - card.opened_at).total_seconds() == 15 * 60
    call = db.session.get(Call, card.call_id)
    chain_exhausted.send(call, appeal=call.appeal)  # a duplicate signal
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 1
    assert db.session.get(AppealTracking, card.appeal_id).next_checkin_at is not None
    assert [e.verb for e in timeline("card", card.id)] == ["card.opened"]
    queued = get_queue()
    assert f"card-{card.id}-opened-{int(card.remind_at.timestamp())}" in queued.job_ids
    assert len(queued.scheduled_job_registry.get_job_ids()) == 3


def test_the_trio_gets_one_sms_each_even_when_the_job_runs_twice(app, client, region, clock):
    card = miss_call(client)
    work(app)
    for official in region.a.values():
        [body] = sms_to(official.phone)
        assert f"карточка №{card.id}" in body and f"/cabinet/cards/{card.id}" in body
    from callbacks.jobs import notify_card_opened

    db.session.get(Card, card.id).notified_at = None
    db.session.commit()
    notify_card_opened(card.id)
    assert all(len(sms_to(o.phone)) == 1 for o in region.a.values())
    assert sms_to(CITIZEN)  # the caller got the registration number


def test_api_lists_and_shows_cards_scoped_to_the_heads_municipality(app, client, region, clock):
    card = miss_call(client)
    head_a, head_b, manager = (
        issue_token(region.head_a),
        issue_token(region.head_b),
        issue_token(region.manager),
    )
    db.session.commit()

    def get(url, token):
        return client.get(url, headers={"Authorization": f"Bearer {token}"})

    listed = get("/api/v1/cards?state=new", head_a).json["cards"]
    assert [c["id"] for c in listed] == [card.id]
    assert listed[0]["caller"]["number"] == CITIZEN
    assert [a["outcome"] for a in listed[0]["attempts"]] == ["no-answer"] * 3
    detail = get(f"/api/v1/cards/{card.id}", head_a).json
    assert detail["municipality"] == "alpha" and detail["timeline"]
    assert get("/api/v1/cards", head_b).json["cards"] == []
    assert get(f"/api/v1/cards/{card.id}", head_b).status_code == 404
    assert get("/api/v1/cards?municipality=alpha", head_b).status_code == 403
    assert get("/api/v1/cards?state=bogus", head_a).status_code == 400
    assert [c["id"] for c in get("/api/v1/cards?municipality=alpha", manager).json["cards"]] == [
        card.id
    ]
