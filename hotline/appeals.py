"""Appeals: registration with number and deadlines, the registration SMS, status and moves."""

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.logs import bind_log_context
from core.queue import enqueue_after_commit
from core.rows import insert_loaded, row_update, write_row
from hotline.models import (
    Appeal,
    AppealStatus,
    Call,
)
from roster.models import Category, Municipality

log = logging.getLogger(__name__)

#: The timeline event of the SMS that gives a caller their appeal's number.
REGISTRATION_SMS = "appeal.registration-sms"

_APPEAL_NUMBER = row_update(Appeal.__table__, ("number",))


#: Deadlines for a call with no category (a municipality's own duty number): ordinary.
DEFAULT_CALLBACK_MINUTES = 480


DEFAULT_RESOLUTION_DAYS = 30


def appeal_deadlines(category: Category | None, start: datetime) -> tuple:
    """Return (callback due, resolution due) for an appeal of this category."""
    if category is None:
        return (
            start + timedelta(minutes=DEFAULT_CALLBACK_MINUTES),
            start + timedelta(days=DEFAULT_RESOLUTION_DAYS),
        )
    callback = (
        start + timedelta(minutes=category.callback_minutes) if category.callback_minutes else None
    )
    return callback, start + timedelta(days=category.resolution_days)


def register_appeal(
    *,
    channel: str,
    municipality: Municipality,
    category: Category | None,
    caller_number: str | None,
    call: Call | None = None,
    status: str = AppealStatus.ROUTING,
    **details,
) -> Appeal:
    """Register an appeal with its public number and deadlines."""
    now = utcnow()
    callback_due, resolution_due = appeal_deadlines(category, now)
    appeal = insert_loaded(
        Appeal,
        channel=channel,
        status=status,
        municipality_id=municipality.id,
        category_id=category.id if category else None,
        urgency=category.urgency if category else "ordinary",
        caller_number=caller_number,
        call_id=call.id if call else None,
        created_at=now,
        callback_due_at=callback_due,
        resolution_due_at=resolution_due,
        **details,
    )
    set_committed_value(appeal, "call", call)
    if call is not None:
        set_committed_value(call, "appeal", appeal)
    write_row(appeal, _APPEAL_NUMBER, number=f"{now:%y}-{appeal.id:06d}")
    bind_log_context(appeal=appeal.number)
    record_event(
        "appeal",
        appeal.id,
        "appeal.registered",
        {"number": appeal.number, "channel": channel, "status": status},
    )
    log.info("appeal %s registered (%s)", appeal.number, channel)
    return appeal


def registration_sms_purpose(appeal_id: int) -> str:
    """Return the purpose of an appeal's registration SMS (it is sent once)."""
    return f"appeal-registered:{appeal_id}"


def queue_registration_sms(appeal: Appeal) -> None:
    """Text the caller the appeal's number once the transaction commits (once per appeal)."""
    enqueue_after_commit(
        "hotline.jobs.send_registration_sms", appeal.id, job_id=f"appeal-registered-sms-{appeal.id}"
    )


def store_recording(call: Call, url: str, duration: int | None) -> None:
    """Keep the caller's voice message with the appeal."""
    appeal = call.served_appeal
    if appeal is None or appeal.recording_url:
        return
    appeal.recording_url = url
    appeal.recording_duration = duration
    record_event(
        "appeal", appeal.id, "appeal.voice-message", {"seconds": duration}, actor_label="carrier"
    )


def set_appeal_status(
    appeal: Appeal, status: str, note: str | None = None, actor=None, actor_label: str | None = None
) -> bool:
    """Move an appeal to a status, noting why on its timeline; return whether it changed."""
    if appeal.status == status:
        return False
    previous = appeal.status
    appeal.status = status
    appeal.closed_at = utcnow() if status == AppealStatus.CLOSED else None
    record_event(
        "appeal",
        appeal.id,
        "appeal.status",
        {"from": previous, "to": status, "note": note},
        actor=actor,
        actor_label=actor_label,
    )
    db.session.flush()
    log.info("appeal %s: %s -> %s", appeal.number, previous, status)
    return True


def move_appeal(
    appeal: Appeal, municipality: Municipality, reason: str, actor=None
) -> datetime | None:
    """Hand an appeal to another municipality with a new callback deadline; return it."""
    previous = appeal.municipality_id
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    appeal.municipality_id = municipality.id
    appeal.callback_due_at = appeal_deadlines(category, utcnow())[0]
    record_event(
        "appeal",
        appeal.id,
        "appeal.moved",
        {"from": previous, "to": municipality.id, "reason": reason},
        actor=actor,
    )
    db.session.flush()
    log.info("appeal %s moved to %s", appeal.number, municipality.code)
    return appeal.callback_due_at
