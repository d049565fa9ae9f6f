"""Opening a card, its follow-up jobs, and the cabinet's acknowledge and note."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callbacks.models import Card, CardState
from callbacks.services.common import CardError, duty_from_routing, now, stamp
from callbacks.services.tracking import ensure_tracking
from callbacks.states import check_card
from core.events import record_event
from core.extensions import db
from core.models import User
from core.queue import enqueue_after_commit
from hotline.models import Appeal, Call
from roster.models import Category, Municipality

log = logging.getLogger(__name__)


REMINDER_AFTER = timedelta(minutes=15)
DEFAULT_CALLBACK = timedelta(hours=8)


def set_card_timing(card: Card, start: datetime, due: datetime | None) -> None:
    card.callback_due_at = due or start + DEFAULT_CALLBACK
    card.remind_at = start + REMINDER_AFTER
    card.escalate_at = start + (card.callback_due_at - start) / 2


def open_card(call: Call, appeal: Appeal) -> Card | None:
    """Open the "you were called" card of a call once; return None when it exists already."""
    if db.session.scalar(select(Card.id).where(Card.call_id == call.id)) is not None:
        return None
    start = now()
    card = Card(
        call_id=call.id,
        appeal_id=appeal.id,
        municipality_id=appeal.municipality_id,
        state=CardState.NEW,
        duty=duty_from_routing(call.routing),
        opened_at=start,
    )
    set_card_timing(card, start, appeal.callback_due_at)
    try:
        with db.session.begin_nested():
            db.session.add(card)
            db.session.flush()
    except IntegrityError:
        return None  # opened by a concurrent request for the same call
    ensure_tracking(appeal, start)
    record_event(
        "card",
        card.id,
        "card.opened",
        {"call_id": call.id, "appeal": appeal.number, "due": card.callback_due_at.isoformat()},
        actor_label="system",
    )
    schedule_card_jobs(card)
    log.info("card %s opened for call %s", card.id, call.call_sid)
    return card


def open_registered_card(call: Call, appeal: Appeal) -> Card | None:
    """Open the card of an appeal registered without a duty chain, for the duty on it now."""
    from roster.services import resolve_on_duty

    card = open_card(call, appeal)
    if card is not None and not any(card.duty.values()):
        category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
        place = db.session.get(Municipality, appeal.municipality_id)
        card.duty = duty_from_routing(resolve_on_duty(place, category, card.opened_at).as_dict())
        db.session.flush()
    return card


def schedule_card_jobs(card: Card) -> None:
    """Enqueue (after commit) the opening SMS, the reminder, the escalation and the deadline."""
    ids = card_job_ids(card)
    for kind, job, at in (
        ("opened", "callbacks.jobs.notify_card_opened", None),
        ("reminder", "callbacks.jobs.remind_card", card.remind_at),
        ("escalation", "callbacks.jobs.escalate_card", card.escalate_at),
        ("overdue", "callbacks.jobs.mark_card_overdue", card.callback_due_at),
    ):
        enqueue_after_commit(job, card.id, job_id=ids[kind], at=at)


def card_job_ids(card: Card) -> dict[str, str]:
    """Return the deterministic job ids of a card's follow-ups (they change when it moves)."""
    generation = stamp(card.remind_at)
    return {
        "opened": f"card-{card.id}-opened-{generation}",
        "reminder": f"card-{card.id}-reminder-{generation}",
        "escalation": f"card-{card.id}-escalation-{stamp(card.escalate_at)}",
        "overdue": f"card-{card.id}-overdue-{stamp(card.callback_due_at)}",
    }


def acknowledge_card(
    card: Card, actor: User | None, data: dict | None = None, actor_label: str | None = None
) -> bool:
    """Take a new card into work (by `actor_label`, e.g. an official without an account).

    Returns False on a card already acknowledged; refuses one called back or closed.
    """
    state = check_card(card, "acknowledge")
    if card.state == state:
        return False
    card.state = state
    card.acknowledged_at = now()
    card.acknowledged_by_id = actor.id if actor else None
    record_event(
        "card",
        card.id,
        "card.acknowledged",
        data or {},
        actor=actor,
        actor_label=None if actor else actor_label,
    )
    db.session.flush()
    return True


#: Roles that read notes restricted to the municipality's staff (oversight included).
RESTRICTED_NOTE_READERS = frozenset({"official", "head", "manager", "admin"})


def add_card_note(
    card: Card, text: str, actor: User | None, source: str = "cabinet", restricted: bool = False
) -> int:
    """Add a note to a card's timeline, a restricted one hidden from the contact centre; its id."""
    check_card(card, "note")
    text = text.strip()
    if not text:
        raise CardError("empty", "text")
    return record_event(
        "card",
        card.id,
        "card.note",
        {"text": text[:2000], "source": source, "restricted": restricted},
        actor=actor,
        actor_label=None if actor else source,
    )
