"""Handling a call in the console: the caller card, who is responsible, the appeal, connecting."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import Event, User
from core.queue import enqueue_after_commit
from core.telephony import CarrierError
from core.telephony.retries import REDIRECT_RETRY_AFTER, REDIRECT_RETRY_DELAYS, next_try_at
from core.urls import absolute_url
from hotline.appeals import queue_registration_sms, register_appeal
from hotline.caller_id import is_hidden
from hotline.calls import refusal_reason, set_call_outcome
from hotline.console import floor
from hotline.console.queue import HISTORY_LIMIT, ConsoleError, known_caller_name
from hotline.models import (
    Appeal,
    AppealStatus,
    Call,
    CallOutcome,
    Channel,
)
from hotline.signals import appeal_registered
from roster.models import Category, Municipality
from roster.services import resolve_on_duty

log = logging.getLogger(__name__)


#: Wrap-up codes of calls that need no appeal.
WRAPUP_CODES = ("info", "wrong-number", "abusive")


#: A callback deadline for emergencies, whatever the category says.
EMERGENCY_CALLBACK = timedelta(hours=1)


DUTY_ROLES = ("primary", "backup", "supervisor")


def all_categories() -> list[Category]:
    """Return every category in menu order."""
    return db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all()


def all_municipalities() -> list[Municipality]:
    """Return every municipality by name."""
    return db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()


@dataclass
class CallerCard:
    number: str
    name: str | None
    calls: list[Call]
    appeals: list[Appeal]
    blocked: bool
    rate_limited: bool
    block_review: bool


def caller_card(call: Call) -> CallerCard:
    """Return what the hotline knows of the call's number: other calls, appeals and its flags.

    The flags are those the voice flow applies to this call (`refusal_reason`). Callers with
    a hidden caller ID share no history: nothing tells one from another.
    """
    number = call.from_number
    hidden = is_hidden(number)
    calls = (
        []
        if hidden
        else db.session.scalars(
            select(Call)
            .where(Call.from_number == number, Call.id != call.id)
            .order_by(Call.created_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
    )
    appeals = (
        []
        if hidden
        else db.session.scalars(
            select(Appeal)
            .where(Appeal.caller_number == number)
            .order_by(Appeal.created_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
    )
    refusal = refusal_reason(call)
    return CallerCard(
        number=number,
        name=known_caller_name(number),
        calls=calls,
        appeals=appeals,
        blocked=refusal == "blocked",
        rate_limited=refusal == "rate-limited",
        block_review=not hidden
        and db.session.scalar(
            select(func.count(Event.id)).where(
                Event.subject_type == "number",
                Event.subject_id == number,
                Event.verb == "number.block-review",
            )
        )
        > 0,
    )


@dataclass
class DutySlot:
    role: str
    full_name: str | None
    position: str | None
    phone: str | None
    #: The role a person holding two slots is rung in ("folded" into it).
    folded_into: str | None = None

    @property
    def is_gap(self) -> bool:
        return self.full_name is None and self.folded_into is None


def responsible_now(municipality: Municipality, category: Category | None) -> list[DutySlot]:
    """Return the primary, backup and supervisor on duty now, gaps included."""
    on_duty = resolve_on_duty(municipality, category, utcnow())
    slots = []
    for role in DUTY_ROLES:
        person = getattr(on_duty, role)
        if person is None:
            slots.append(DutySlot(role, None, None, None, on_duty.folded.get(role)))
        else:
            slots.append(DutySlot(role, person.full_name, person.position, person.phone))
    return slots


def register_operator_appeal(
    call: Call,
    user: User,
    *,
    municipality: Municipality,
    category: Category | None,
    urgency: str,
    caller_number: str,
    caller_name: str | None,
    address: str | None,
    text: str,
) -> Appeal:
    """Register the appeal of the operator's call (once per call)."""
    if call.appeal is not None:
        raise ConsoleError("already-registered")
    appeal = register_appeal(
        channel=Channel.OPERATOR,
        municipality=municipality,
        category=category,
        caller_number=caller_number,
        call=call,
        created_by_id=user.id,
        caller_name=caller_name or None,
        address=address or None,
        text=text,
    )
    if urgency != appeal.urgency:
        appeal.urgency = urgency
        if urgency == "emergency":
            due = appeal.created_at + EMERGENCY_CALLBACK
            appeal.callback_due_at = min(appeal.callback_due_at or due, due)
    call.municipality_id = municipality.id
    call.category_id = category.id if category else None
    db.session.flush()
    db.session.refresh(call)
    return appeal


def may_retry_connection(call: Call) -> bool:
    """Return whether a live caller's connection to the chain failed at the carrier (may retry)."""
    appeal = call.appeal
    if (
        appeal is None
        or call.ended_at is not None
        or call.chain_started_at is not None
        or call.outcome is not None
        or call.wrapped_up_at is not None
    ):
        return False
    last = db.session.scalar(
        select(Event)
        .where(
            or_(
                (Event.subject_type == "appeal")
                & (Event.subject_id == str(appeal.id))
                & (Event.verb == "appeal.connect-requested"),
                (Event.subject_type == "call")
                & (Event.subject_id == str(call.id))
                & (Event.verb == "call.carrier-error"),
            )
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    return last is not None and last.data.get("action") == "connect"


def request_connection(appeal: Appeal, user: User) -> None:
    """Note that the operator sends the caller into the appeal's duty chain (the first try)."""
    record_event("appeal", appeal.id, "appeal.connect-requested", {}, actor=user)
    call = appeal.call
    if call is not None:
        call.connect_tries, call.connect_retry_at = 1, None
    db.session.flush()


def connect_url(call: Call) -> str:
    """Return the carrier's URL of the TwiML that sends the caller into the duty chain."""
    return absolute_url("voice.connect_appeal", call_id=call.id)


def connect_retry_job_id(call_id: int, try_number: int) -> str:
    """Return the job id of a connection's try number `try_number` (one job per try)."""
    return f"connect-{call_id}-try-{try_number}"


def connection_not_made(call: Call, error: CarrierError, user: User | None) -> datetime | None:
    """Note the carrier's failure to connect the caller; return when it is tried again, if so.

    A passing failure is retried a few seconds later by a job (enqueued when the caller
    commits) while the caller holds; a refusal or the last try is left to the operator.
    """
    retry_at = next_try_at(error, call.connect_tries, REDIRECT_RETRY_DELAYS, REDIRECT_RETRY_AFTER)
    data = {"action": "connect", "error": str(error)[:300], "try": call.connect_tries}
    if retry_at is not None:
        data["retry_at"] = retry_at.isoformat()
    label = None if user is not None else "worker"
    record_event("call", call.id, "call.carrier-error", data, actor=user, actor_label=label)
    call.connect_retry_at = retry_at
    db.session.flush()
    if retry_at is not None:
        enqueue_after_commit(
            "hotline.console.jobs.retry_connection",
            call.id,
            job_id=connect_retry_job_id(call.id, call.connect_tries + 1),
            at=retry_at,
        )
    log.info("call %s: the carrier did not connect (try %d)", call.call_sid, call.connect_tries)
    return retry_at


def claim_connection_try(call: Call) -> bool:
    """Take the due next try of connecting a live caller; False if done, not due or taken."""
    if call.connect_retry_at is None or call.connect_retry_at > utcnow():
        return False
    if call.ended_at is not None or call.chain_started_at is not None:
        call.connect_retry_at = None
        db.session.flush()
        return False
    claimed = db.session.execute(
        update(Call)
        .where(
            Call.id == call.id,
            Call.connect_tries == call.connect_tries,
            Call.connect_retry_at.is_not(None),
            Call.ended_at.is_(None),
            Call.chain_started_at.is_(None),
        )
        .values(connect_tries=call.connect_tries + 1, connect_retry_at=None)
    )
    if claimed.rowcount != 1:
        return False
    db.session.refresh(call)
    return True


def send_to_municipality(appeal: Appeal, call: Call, user: User) -> None:
    """Register only: the appeal goes to its municipality with its deadline, the caller an SMS."""
    set_call_outcome(call, CallOutcome.HANDLED)
    appeal.status = AppealStatus.IN_WORK
    record_event(
        "appeal",
        appeal.id,
        "appeal.sent-to-municipality",
        {"municipality_id": appeal.municipality_id},
        actor=user,
    )
    finish_call(call, user)
    appeal_registered.send(appeal, call=call)
    if appeal.caller_number:
        queue_registration_sms(appeal)
    db.session.flush()
    log.info("appeal %s sent to municipality %s", appeal.number, appeal.municipality_id)


def finish_call(call: Call, user: User, code: str | None = None) -> None:
    """Close the operator's work on a call, with a wrap-up code when it needed no appeal."""
    if code is not None and code not in WRAPUP_CODES:
        raise ConsoleError("code")
    if code is not None and call.appeal is not None:
        raise ConsoleError("has-appeal")
    if call.wrapped_up_at is None and call.operator_id is not None:
        floor.note_wrapping_up(call, call.operator_id)
    call.wrapped_up_at = call.wrapped_up_at or utcnow()
    if code is not None:
        call.wrapup_code = code
        if call.operator_answered_at is not None:
            set_call_outcome(call, CallOutcome.HANDLED)
        if code == "abusive" and not is_hidden(call.from_number):  # nothing to block
            record_event(
                "number",
                call.from_number,
                "number.block-review",
                {"call_id": call.id},
                actor=user,
            )
    record_event("call", call.id, "call.wrapped-up", {"code": code}, actor=user)
    db.session.flush()


@dataclass
class AttemptView:
    position: int
    role: str
    full_name: str | None
    phone: str
    outcome: str | None
    accepted: bool


def chain_progress(call: Call) -> list[AttemptView]:
    """Return the officials rung for the call so far, with how each attempt ended."""
    names = {
        step.get("phone"): step.get("full_name") for step in (call.routing or {}).get("chain", [])
    }
    return [
        AttemptView(
            attempt.position,
            attempt.role,
            names.get(attempt.phone),
            attempt.phone,
            attempt.outcome,
            attempt.key_pressed,
        )
        for attempt in call.attempts
    ]
