"""Reading cards: the cabinet's query, one visible card, its SMS and its timeline."""

from datetime import datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from callbacks.models import OPEN_STATES, Card
from callbacks.services.cards import RESTRICTED_NOTE_READERS
from callbacks.services.common import DUTY_ROLES
from core.extensions import db
from core.models import MUNICIPAL_ROLES, Event, OutboundMessage, User
from hotline.models import Appeal
from roster.models import Official


def cards_query(
    user: User,
    *,
    municipality_id: int | None = None,
    state: str | None = None,
    category_id: int | None = None,
    since: datetime | None = None,
    overdue: bool | None = None,
):
    """Return the select of the cards a user may see, filtered, open ones first by deadline.

    Each card comes with its appeal, the appeal's category and its municipality.
    """
    query = (
        select(Card)
        .join(Appeal, Appeal.id == Card.appeal_id)
        .options(
            contains_eager(Card.appeal).joinedload(Appeal.category),
            joinedload(Card.municipality),
        )
    )
    if user.role in MUNICIPAL_ROLES:
        query = query.where(Card.municipality_id == user.municipality_id)
    if municipality_id is not None:
        query = query.where(Card.municipality_id == municipality_id)
    if state:
        query = query.where(Card.state == state)
    if category_id is not None:
        query = query.where(Appeal.category_id == category_id)
    if since is not None:
        query = query.where(Card.opened_at >= since)
    if overdue is not None:
        query = query.where(Card.overdue if overdue else ~Card.overdue)
    closed_last = case((Card.state.in_(OPEN_STATES), 0), else_=1)
    return query.order_by(closed_last, Card.callback_due_at, Card.id)


def get_visible_card(user: User, card_id: int) -> Card | None:
    """Return the card if the user may see it (another municipality's card is None)."""
    card = db.session.get(Card, card_id)
    if card is None or not user.can_see_municipality(card.municipality_id):
        return None
    return card


def card_messages(card: Card) -> list[OutboundMessage]:
    """Return the SMS about a card and its appeal, oldest first, each with its delivery state.

    They are looked up by the numbers they went to (the citizen, the duty the card has and the
    one the call rang, the assignee), so the page reads the indexed rows of those numbers only.
    """
    appeal = card.appeal
    phones = {appeal.caller_number}
    for slots in (card.duty or {}, card.call.routing or {}):
        phones.update((slots.get(role) or {}).get("phone") for role in DUTY_ROLES)
    if appeal.assignee_id:
        phones.add(
            db.session.scalar(select(Official.phone).where(Official.id == appeal.assignee_id))
        )
    phones.discard(None)
    if not phones:
        return []
    return db.session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.to_number.in_(sorted(phones)),
            or_(
                OutboundMessage.purpose.like(f"card:{card.id}:%"),
                OutboundMessage.purpose == f"appeal-registered:{appeal.id}",
                OutboundMessage.purpose.like(f"confirm:{appeal.id}:%"),
                OutboundMessage.purpose.like(f"checkin:{appeal.id}:%"),
            ),
        )
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
    ).all()


def card_timeline(card: Card, viewer: User) -> list[Event]:
    """Return the events of the card, its call and its appeal, oldest first, as `viewer` may see."""
    subjects = [
        ("card", str(card.id)),
        ("call", str(card.call_id)),
        ("appeal", str(card.appeal_id)),
    ]
    events = db.session.scalars(
        select(Event)
        .where(or_(*[(Event.subject_type == t) & (Event.subject_id == i) for t, i in subjects]))
        .options(joinedload(Event.actor))
        .order_by(Event.at, Event.id)
    ).all()
    if viewer.role in RESTRICTED_NOTE_READERS:
        return events
    return [event for event in events if not event.data.get("restricted")]
