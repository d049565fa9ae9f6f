"""What every part of the cards' services shares: errors, the clock, links, the duty."""

from datetime import datetime

from callbacks.models import Card
from core import clock
from core.extensions import db
from core.urls import public_url
from hotline.models import Appeal
from roster.models import Category

DUTY_ROLES = ("primary", "backup", "supervisor")


class CardError(ValueError):
    """An action on a card cannot be done as asked; the message says why (user language)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def now() -> datetime:
    """Return the current time from the project clock (tests move it)."""
    return clock.utcnow()


def card_path(card_id: int) -> str:
    """Return the cabinet path of a card (for SMS links; no request context needed)."""
    return f"/cabinet/cards/{card_id}"


def card_link(card_id: int) -> str:
    """Return the absolute cabinet link of a card."""
    return public_url(card_path(card_id))


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def duty_from_routing(routing: dict | None) -> dict:
    """Return who was due in each role from a call's routing decision."""
    routing = routing or {}
    return {role: routing.get(role) for role in DUTY_ROLES}


def duty_recipients(card: Card) -> list[dict]:
    """Return the officials of the card's duty, one entry per phone, in role order."""
    return recipients_of_duty(card.duty)


def recipients_of_duty(duty: dict | None) -> list[dict]:
    """Return the officials of a card's stored duty, one entry per phone, in role order."""
    seen, recipients = set(), []
    for role in DUTY_ROLES:
        slot = (duty or {}).get(role)
        if slot and slot.get("phone") and slot["phone"] not in seen:
            seen.add(slot["phone"])
            recipients.append({**slot, "role": role})
    return recipients


def appeal_topic(appeal: Appeal) -> str:
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    return category.name if category else "общий вопрос"
