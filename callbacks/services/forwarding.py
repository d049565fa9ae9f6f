"""Forwarding a wrongly routed card to another municipality."""

from callbacks.models import Card
from callbacks.services.cards import schedule_card_jobs, set_card_timing
from callbacks.services.common import CardError, duty_from_routing, now
from callbacks.states import check_card
from core.events import record_event
from core.extensions import db
from core.models import User
from hotline.services import move_appeal
from roster.models import Category, Municipality


def forward_card(card: Card, place: Municipality, reason: str, actor: User) -> None:
    """Move a wrongly routed card and its appeal to another municipality with a new deadline."""
    from roster.services import resolve_on_duty

    state = check_card(card, "forward")
    reason = reason.strip()
    if place.id == card.municipality_id:
        raise CardError("same", "municipality")
    if not reason:
        raise CardError("reason", "reason")
    appeal = card.appeal
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    due = move_appeal(appeal, place, reason, actor=actor)
    previous = card.municipality_id
    start = now()
    card.municipality_id = place.id
    card.duty = duty_from_routing(resolve_on_duty(place, category, start).as_dict())
    card.state = state
    card.notified_at = card.reminded_at = card.escalated_at = card.overdue_at = None
    card.acknowledged_at = card.acknowledged_by_id = None
    set_card_timing(card, start, due)
    record_event(
        "card",
        card.id,
        "card.forwarded",
        {
            "from": previous,
            "to": place.id,
            "reason": reason,
            "due": card.callback_due_at.isoformat(),
        },
        actor=actor,
    )
    schedule_card_jobs(card)
    db.session.flush()
