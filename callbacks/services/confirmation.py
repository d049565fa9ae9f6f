"""The citizen's confirmation: the question by SMS, the answer, the unanswered close."""

from sqlalchemy import select

from callbacks.models import AppealTracking, Card
from callbacks.services.common import now
from callbacks.services.outcomes import close_card, reopen_card
from callbacks.services.tracking import checkin_interval
from callbacks.states import allows
from core.events import record_event
from core.extensions import db
from core.telephony import get_gateway
from hotline.models import Appeal, AppealStatus
from hotline.prompts import prompt
from hotline.services import set_appeal_status


def answer_confirmation(appeal: Appeal, solved: bool, channel: str) -> bool:
    """Take the citizen's answer: solved closes the appeal, not solved reopens it."""
    tracking = db.session.get(AppealTracking, appeal.id)
    action = "confirm" if solved else "reject"
    if (
        tracking is None
        or tracking.confirmation != "asked"
        or not allows("appeal", action, appeal.status)
    ):
        return False
    card = db.session.scalar(select(Card).where(Card.appeal_id == appeal.id))
    if solved:
        tracking.confirmation = "confirmed"
        set_appeal_status(appeal, AppealStatus.CLOSED, f"confirmed by {channel}", None, "citizen")
        close_card(card, "confirmed")
    else:
        tracking.confirmation = "rejected"
        tracking.reopen_count += 1
        tracking.next_checkin_at = now() + checkin_interval(appeal)
        set_appeal_status(appeal, AppealStatus.REOPENED, f"not solved ({channel})", None, "citizen")
        record_event(
            "appeal",
            appeal.id,
            "appeal.reopened",
            {"municipality_id": appeal.municipality_id, "count": tracking.reopen_count},
            actor_label="citizen",
        )
        reopen_card(card)
    db.session.flush()
    return True


def close_unconfirmed(tracking: AppealTracking) -> bool:
    """Close an appeal the citizen did not answer about within three days."""
    if tracking.confirmation != "asked" or tracking.confirmation_due_at > now():
        return False
    if not allows("appeal", "close", tracking.appeal.status):
        return False
    tracking.confirmation = "unconfirmed"
    appeal = tracking.appeal
    set_appeal_status(appeal, AppealStatus.CLOSED, "unconfirmed", None, "tracking")
    close_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)), "unconfirmed")
    db.session.flush()
    return True


def confirmation_text(appeal: Appeal) -> str:
    """Return the SMS that asks the citizen whether the matter is solved."""
    return prompt("sms_confirmation", number=appeal.number)


def ask_citizen(appeal: Appeal) -> bool:
    """Send the citizen the "is it solved" SMS (once per round)."""
    tracking = db.session.get(AppealTracking, appeal.id)
    if tracking is None or tracking.confirmation != "asked" or not appeal.caller_number:
        return False
    message = get_gateway().send_sms(
        appeal.caller_number,
        confirmation_text(appeal),
        purpose=f"confirm:{appeal.id}:{tracking.reopen_count}",
    )
    record_event(
        "appeal",
        appeal.id,
        "appeal.confirmation-asked",
        {"sms": [message.id]},
        actor_label="worker",
    )
    db.session.flush()
    return True
