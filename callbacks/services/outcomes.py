"""Recording what was done with an appeal, closing it or taking it back into work."""

from datetime import timedelta

from sqlalchemy import select

from callbacks.models import AppealTracking, Card, CardState
from callbacks.services.common import CardError, now
from callbacks.services.tracking import checkin_interval, ensure_tracking
from callbacks.states import allows, check_appeal, check_card
from core.events import record_event
from core.extensions import db
from core.models import User
from core.queue import enqueue_after_commit
from hotline.models import Appeal
from hotline.services import set_appeal_status

#: Outcome codes an official records; the labels live in `callbacks.forms`.
RESOLUTION_CODES = ("fixed", "scheduled", "explained", "not_confirmed", "other_authority")
#: Phrases of a formal reply ("отписка") that says nothing about what was done.
FORMAL_PHRASES = (
    "в установленном порядке",
    "будет рассмотрен",
    "принято к сведению",
    "принята к сведению",
    "в рамках компетенции",
    "направлено по компетенции",
    "рассмотрено",
    "работа ведется",
    "работа ведётся",
    "вопрос на контроле",
    "находится на контроле",
)
MIN_UNCODED_TEXT = 40
CONFIRMATION_WINDOW = timedelta(days=3)


def looks_formal(text: str) -> bool:
    """Return whether a resolution text is a formal reply that says nothing was done."""
    lowered = text.lower().replace("ё", "е")
    return any(phrase.replace("ё", "е") in lowered for phrase in FORMAL_PHRASES)


def record_outcome(card: Card, code: str | None, text: str, actor: User) -> AppealTracking:
    """Record what was done; the appeal is resolved and the citizen is asked to confirm."""
    check_card(card, "outcome")
    tracking = resolve_appeal(card.appeal, code, text, actor)
    record_event(
        "card",
        card.id,
        "card.outcome",
        {"code": code or None, "text": tracking.resolution_text[:2000]},
        actor=actor,
    )
    db.session.flush()
    return tracking


def resolve_appeal(appeal: Appeal, code: str | None, text: str, actor: User) -> AppealTracking:
    """Resolve an appeal with what was done (no formal replies); ask the citizen to confirm."""
    status = check_appeal(appeal, "resolve")
    text = (text or "").strip()
    if code and code not in RESOLUTION_CODES:
        raise CardError("code", "code")
    if not text:
        raise CardError("text", "text")
    if not code and (looks_formal(text) or len(text) < MIN_UNCODED_TEXT):
        raise CardError("formal", "text")
    tracking = ensure_tracking(appeal)
    moment = now()
    tracking.resolution_code = code or None
    tracking.resolution_text = text
    tracking.resolved_at = moment
    tracking.resolved_by_id = actor.id
    tracking.next_checkin_at = None
    tracking.confirmation = "asked"
    tracking.confirmation_asked_at = moment
    tracking.confirmation_due_at = moment + CONFIRMATION_WINDOW
    set_appeal_status(appeal, status, text[:200], actor)
    close_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)), "resolved")
    enqueue_after_commit(
        "callbacks.jobs.ask_citizen_confirmation",
        appeal.id,
        job_id=f"confirm-ask-{appeal.id}-{tracking.reopen_count}",
    )
    db.session.flush()
    return tracking


def close_appeal(appeal: Appeal, reason: str, actor: User) -> None:
    """Close an appeal without the citizen's word (a duplicate, a withdrawn request), with why."""
    status = check_appeal(appeal, "close")
    reason = (reason or "").strip()
    if not reason:
        raise CardError("reason", "text")
    tracking = ensure_tracking(appeal)
    tracking.next_checkin_at = None
    set_appeal_status(appeal, status, reason[:200], actor)
    close_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)), "closed")
    db.session.flush()


def take_appeal_into_work(appeal: Appeal, note: str, actor: User) -> None:
    """Put an appeal (missed, reopened or resolved too early) back in work, with a note."""
    status = check_appeal(appeal, "take-into-work")
    tracking = ensure_tracking(appeal)
    if tracking.confirmation == "asked":
        tracking.confirmation = None
    tracking.next_checkin_at = now() + checkin_interval(appeal)
    set_appeal_status(appeal, status, (note or "").strip()[:200] or None, actor)
    reopen_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)))


def close_card(card: Card | None, why: str) -> None:
    if card is None or not allows("card", "close", card.state):
        return
    card.state = check_card(card, "close")
    card.closed_at = now()
    record_event("card", card.id, "card.closed", {"why": why}, actor_label="system")


def reopen_card(card: Card | None) -> None:
    """Give a closed card back the state it had: called back, or still owed a callback."""
    if card is None or not allows("card", "reopen", card.state):
        return
    if card.called_back_at is not None:
        card.state = CardState.CALLED_BACK
    elif card.acknowledged_at is not None:
        card.state = CardState.ACKNOWLEDGED
    else:
        card.state = CardState.NEW
    card.closed_at = None
    record_event("card", card.id, "card.reopened", {"state": card.state}, actor_label="system")
