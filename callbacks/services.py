"""Cards, callbacks and appeal tracking: the services views, webhooks and jobs call."""

import logging
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from callbacks.models import (
    OPEN_STATES,
    AppealTracking,
    CallbackAttempt,
    Card,
    CardPhoto,
    CardState,
)
from callbacks.photos import PhotoRefused, reencode_photo
from callbacks.states import allows, check_appeal, check_card, states_for
from core import clock
from core.events import record_event
from core.extensions import db
from core.models import MUNICIPAL_ROLES, Event, OutboundMessage, User
from core.parsing import parse_id
from core.queue import enqueue_after_commit
from core.telephony import CarrierError, get_gateway
from core.telephony.reasons import reason_of
from core.telephony.retries import CALL_MAX_TRIES, next_try_at
from core.urls import absolute_url, public_url
from hotline.models import Appeal, AppealStatus, Call
from hotline.services import move_appeal, set_appeal_status
from roster.models import Category, Municipality, Official

log = logging.getLogger(__name__)

REMINDER_AFTER = timedelta(minutes=15)
DEFAULT_CALLBACK = timedelta(hours=8)
CONFIRMATION_WINDOW = timedelta(days=3)
#: Check-in interval when the appeal has no category: emergency 2 hours, otherwise daily.
CHECKIN_BY_URGENCY = {"emergency": timedelta(hours=2)}
DEFAULT_CHECKIN = timedelta(days=1)
#: Appeal statuses in which check-ins run.
TRACKED_STATUSES = (AppealStatus.IN_WORK, AppealStatus.MISSED, AppealStatus.REOPENED)
DUTY_ROLES = ("primary", "backup", "supervisor")

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


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


# --- opening ----------------------------------------------------------------------------


def duty_from_routing(routing: dict | None) -> dict:
    """Return who was due in each role from a call's routing decision."""
    routing = routing or {}
    return {role: routing.get(role) for role in DUTY_ROLES}


def checkin_interval(appeal: Appeal) -> timedelta:
    """Return the time between check-ins for an appeal (from its category's setting)."""
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    if category is not None and category.checkin_minutes:
        return timedelta(minutes=category.checkin_minutes)
    return CHECKIN_BY_URGENCY.get(appeal.urgency, DEFAULT_CHECKIN)


def ensure_tracking(appeal: Appeal, start: datetime | None = None) -> AppealTracking:
    """Return the appeal's tracking row, creating it with the first check-in scheduled."""
    tracking = db.session.get(AppealTracking, appeal.id)
    if tracking is None:
        tracking = AppealTracking(
            appeal_id=appeal.id,
            next_checkin_at=(start or now()) + checkin_interval(appeal),
            checkins=0,
            reopen_count=0,
        )
        db.session.add(tracking)
        db.session.flush()
    return tracking


def _card_timing(card: Card, start: datetime, due: datetime | None) -> None:
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
    _card_timing(card, start, appeal.callback_due_at)
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


def next_checkins(appeal_ids: list[int]) -> dict[int, datetime | None]:
    """Return when each of these appeals is checked next (only appeals with tracking)."""
    if not appeal_ids:
        return {}
    rows = db.session.execute(
        select(AppealTracking.appeal_id, AppealTracking.next_checkin_at).where(
            AppealTracking.appeal_id.in_(appeal_ids)
        )
    )
    return {appeal_id: moment for appeal_id, moment in rows}


def schedule_card_jobs(card: Card) -> None:
    """Enqueue (after commit) the opening SMS, the reminder, the escalation and the deadline."""
    from callbacks import jobs

    ids = card_job_ids(card)
    enqueue_after_commit(jobs.notify_card_opened, card.id, job_id=ids["opened"])
    enqueue_after_commit(jobs.remind_card, card.id, job_id=ids["reminder"], at=card.remind_at)
    enqueue_after_commit(jobs.escalate_card, card.id, job_id=ids["escalation"], at=card.escalate_at)
    enqueue_after_commit(
        jobs.mark_card_overdue, card.id, job_id=ids["overdue"], at=card.callback_due_at
    )


def card_job_ids(card: Card) -> dict[str, str]:
    """Return the deterministic job ids of a card's follow-ups (they change when it moves)."""
    generation = _stamp(card.remind_at)
    return {
        "opened": f"card-{card.id}-opened-{generation}",
        "reminder": f"card-{card.id}-reminder-{generation}",
        "escalation": f"card-{card.id}-escalation-{_stamp(card.escalate_at)}",
        "overdue": f"card-{card.id}-overdue-{_stamp(card.callback_due_at)}",
    }


# --- who is told ------------------------------------------------------------------------


def duty_recipients(card: Card) -> list[dict]:
    """Return the officials of the card's duty, one entry per phone, in role order."""
    seen, recipients = set(), []
    for role in DUTY_ROLES:
        slot = (card.duty or {}).get(role)
        if slot and slot.get("phone") and slot["phone"] not in seen:
            seen.add(slot["phone"])
            recipients.append({**slot, "role": role})
    return recipients


def appeal_topic(appeal: Appeal) -> str:
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    return category.name if category else "общий вопрос"


def send_card_sms(card: Card, recipient: dict, kind: str, text: str) -> OutboundMessage:
    """Send one official one SMS about a card (once per card, kind, generation and phone)."""
    purpose = f"card:{card.id}:{kind}:{_stamp(card.remind_at)}:{recipient['phone']}"
    return get_gateway().send_sms(recipient["phone"], text, purpose=purpose[:80])


def card_opened_text(card: Card) -> str:
    """Return the SMS that tells an official about a new card."""
    appeal = card.appeal
    return (
        f"Вам звонили: карточка №{card.id}, {appeal_topic(appeal)}, "
        f"гражданин {_caller_in_sms(appeal)}. "
        f"Перезвонить до {_local(card, card.callback_due_at)}. {card_link(card.id)}"
    )


def _caller_in_sms(appeal: Appeal) -> str:
    if appeal.caller_number:
        return appeal.caller_number
    return "номер скрыт, перезвонить невозможно" if appeal.caller_hidden else "не определён"


def _local(card: Card, moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    place = db.session.get(Municipality, card.municipality_id)
    return moment.astimezone(ZoneInfo(place.timezone)).strftime("%d.%m %H:%M")


def mark_notified(card: Card, messages: list[OutboundMessage]) -> None:
    """Note that the opening SMS of every official of the duty were handed to the gateway."""
    if card.notified_at is None:
        card.notified_at = now()
        record_event(
            "card",
            card.id,
            "card.notified",
            {
                "to": [r["phone"] for r in duty_recipients(card)],
                "sms": [message.id for message in messages],
            },
            actor_label="worker",
        )
        db.session.flush()


def remind_card(card: Card) -> bool:
    """Remind the duty officials of a card still unacknowledged 15 minutes after opening."""
    if not allows("card", "remind", card.state) or card.reminded_at or card.remind_at > now():
        return False
    text = f"Напоминание: карточка №{card.id} не принята в работу. {card_link(card.id)}"
    messages = [
        send_card_sms(card, recipient, "reminder", text) for recipient in duty_recipients(card)
    ]
    card.reminded_at = now()
    record_event(
        "card",
        card.id,
        "card.reminder",
        {"sms": [message.id for message in messages]},
        actor_label="worker",
    )
    db.session.flush()
    return True


def escalate_card(card: Card) -> bool:
    """Tell the supervisor about a card not called back at half its callback deadline."""
    if not allows("card", "escalate", card.state) or card.escalated_at or card.escalate_at > now():
        return False
    supervisor = (card.duty or {}).get("supervisor")
    messages = []
    if supervisor and supervisor.get("phone"):
        text = (
            f"Эскалация: по карточке №{card.id} гражданину не перезвонили, "
            f"срок {_local(card, card.callback_due_at)}. {card_link(card.id)}"
        )
        messages.append(
            send_card_sms(card, {**supervisor, "role": "supervisor"}, "escalation", text)
        )
    card.escalated_at = now()
    record_event(
        "card",
        card.id,
        "card.escalated",
        {
            "to": "supervisor",
            "official_id": (supervisor or {}).get("official_id"),
            "sms": [message.id for message in messages],
        },
        actor_label="worker",
    )
    db.session.flush()
    return True


def mark_card_overdue(card: Card) -> bool:
    """Flag a card whose callback deadline passed and tell the regional managers."""
    if (
        not allows("card", "mark-overdue", card.state)
        or card.overdue_at is not None
        or card.callback_due_at > now()
    ):
        return False
    card.overdue_at = now()
    managers = db.session.scalars(
        select(User.username).where(User.role == "manager", User.active)
    ).all()
    record_event(
        "card",
        card.id,
        "card.overdue",
        {"managers": list(managers), "due": card.callback_due_at.isoformat()},
        actor_label="worker",
    )
    db.session.flush()
    return True


# --- cabinet actions --------------------------------------------------------------------


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
    _card_timing(card, start, due)
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


# --- click-to-call ----------------------------------------------------------------------


def callable_officials(card: Card) -> list[Official]:
    """Return the officials of the card's municipality who may call the citizen back."""
    return db.session.scalars(
        select(Official)
        .where(Official.municipality_id == card.municipality_id, Official.active)
        .order_by(Official.full_name)
    ).all()


def start_callback(card: Card, official: Official, actor: User) -> CallbackAttempt:
    """Record a click-to-call from an official of the card's municipality to the citizen."""
    check_card(card, "callback")
    if official.municipality_id != card.municipality_id:
        raise CardError("official", "official")
    if not card.appeal.caller_number:
        raise CardError("hidden-number" if card.appeal.caller_hidden else "no-number")
    attempt = CallbackAttempt(
        card_id=card.id,
        requested_by_id=actor.id,
        official_id=official.id,
        official_phone=official.phone,
        citizen_number=card.appeal.caller_number,
        started_at=now(),
    )
    db.session.add(attempt)
    db.session.flush()
    record_event(
        "card",
        card.id,
        "callback.started",
        {"attempt": attempt.id, "official_id": official.id, "phone": official.phone},
        actor=actor,
    )
    return attempt


def fail_callback(attempt: CallbackAttempt, reason: str) -> None:
    """The carrier did not place the callback: finish the attempt as failed and say why."""
    if attempt.outcome is not None:
        return
    attempt.outcome = "failed"
    attempt.ended_at = now()
    attempt.retry_at = None
    record_event(
        "card",
        attempt.card_id,
        "callback.finished",
        {"attempt": attempt.id, "outcome": attempt.outcome, "error": reason[:300]},
        actor_label="carrier",
    )
    db.session.flush()
    log.info("callback %s on card %s failed at the carrier", attempt.id, attempt.card_id)


def callback_retry_job_id(attempt_id: int, try_number: int) -> str:
    """Return the job id of a callback's try number `try_number` (one job per try)."""
    return f"callback-{attempt_id}-try-{try_number}"


def ring_official(attempt: CallbackAttempt) -> CarrierError | None:
    """Ask the carrier to ring the official of a callback; flush, never commit.

    Returns None once the phone rings, or the carrier's error: a passing one leaves the
    attempt waiting for its next try (enqueued when the caller commits), else it fails.
    """
    attempt.tried_at = now()
    try:
        call_sid = get_gateway().place_call(
            attempt.official_phone,
            absolute_url("callback_hooks.whisper", attempt_id=attempt.id),
            status_callback=absolute_url("callback_hooks.status", attempt_id=attempt.id),
            timeout=20,
        )
    except CarrierError as error:
        callback_not_placed(attempt, error)
        return error
    attempt.call_sid = call_sid
    attempt.retry_at = None
    db.session.flush()
    return None


def callback_not_placed(attempt: CallbackAttempt, error: CarrierError) -> None:
    """Note why the carrier did not ring the official; schedule the next try or fail."""
    reason = reason_of(error)
    attempt.last_error = reason[:300]
    retry_at = next_try_at(error, attempt.tries)
    if retry_at is None:
        fail_callback(attempt, reason)
        return
    attempt.retry_at = retry_at
    record_event(
        "card",
        attempt.card_id,
        "callback.retrying",
        {
            "attempt": attempt.id,
            "try": attempt.tries,
            "tries": CALL_MAX_TRIES,
            "reason": attempt.last_error,
            "retry_at": retry_at.isoformat(),
        },
        actor_label="carrier",
    )
    db.session.flush()
    enqueue_after_commit(
        "callbacks.jobs.retry_callback",
        attempt.id,
        job_id=callback_retry_job_id(attempt.id, attempt.tries + 1),
        at=retry_at,
    )
    log.info("callback %s: try %d failed, next at %s", attempt.id, attempt.tries, retry_at)


def claim_callback_try(attempt: CallbackAttempt) -> bool:
    """Take the due next try of a callback waiting for one; False if placed, not due or taken.

    A try that timed out may have rung the official after all: an attempt that got a
    CallSid (from any of its webhooks) is never tried again.
    """
    if not attempt.waiting_for_retry or attempt.retry_at > now():
        return False
    claimed = db.session.execute(
        update(CallbackAttempt)
        .where(
            CallbackAttempt.id == attempt.id,
            CallbackAttempt.outcome.is_(None),
            CallbackAttempt.call_sid.is_(None),
            CallbackAttempt.retry_at.is_not(None),
            CallbackAttempt.tries == attempt.tries,
        )
        .values(tries=attempt.tries + 1, retry_at=None, tried_at=now())
    )
    if claimed.rowcount != 1:
        return False
    db.session.refresh(attempt)
    return True


def note_callback_sid(attempt: CallbackAttempt, call_sid: str | None) -> bool:
    """Keep the CallSid a webhook names: the call exists, so no try is made again.

    Returns whether the attempt had none (a try that timed out did place the call).
    """
    if not call_sid or attempt.call_sid is not None:
        return False
    attempt.call_sid = call_sid
    attempt.retry_at = None
    db.session.flush()
    log.info("callback %s: the carrier placed call %s after all", attempt.id, call_sid)
    return True


def due_callback_retries(limit: int) -> list[tuple[int, int]]:
    """Return (id, tries) of the callbacks whose next try is due, oldest first."""
    query = (
        select(CallbackAttempt.id, CallbackAttempt.tries)
        .where(
            CallbackAttempt.retry_at <= now(),
            CallbackAttempt.outcome.is_(None),
            CallbackAttempt.call_sid.is_(None),
        )
        .order_by(CallbackAttempt.retry_at)
        .limit(limit)
    )
    return [(row_id, tries) for row_id, tries in db.session.execute(query)]


def record_callback_key(attempt: CallbackAttempt, digits: str) -> bool:
    """Note the official's key on the callback whisper; return whether it dials the citizen."""
    if digits != "1" or attempt.outcome is not None:
        return False
    if attempt.key_pressed_at is None:
        attempt.key_pressed_at = now()
        record_event(
            "card",
            attempt.card_id,
            "callback.accepted",
            {"attempt": attempt.id},
            actor_label="carrier",
        )
    return True


def finish_callback(attempt: CallbackAttempt, dial_status: str | None, duration: int | None) -> str:
    """Record how the citizen's leg ended; only a bridged call closes the callback duty."""
    if attempt.outcome is not None:
        return attempt.outcome
    answered = dial_status == "completed" and (duration or 0) > 0
    attempt.outcome = "answered" if answered else (dial_status or "failed")
    if attempt.outcome == "completed":
        attempt.outcome = "no-answer"  # completed with no talk time: never bridged
    attempt.dial_call_status = dial_status
    attempt.dial_call_duration = duration
    attempt.ended_at = now()
    record_event(
        "card",
        attempt.card_id,
        "callback.finished",
        {"attempt": attempt.id, "outcome": attempt.outcome, "seconds": duration},
        actor_label="carrier",
    )
    if answered:
        close_callback_duty(attempt)
    db.session.flush()
    return attempt.outcome


#: Outcome of a callback (and reason of a notice call) answered by a voicemail or fax.
MACHINE = "machine"


def finish_unaccepted_callback(attempt: CallbackAttempt, call_status: str) -> None:
    """The official's leg ended without dialling the citizen: note why."""
    if attempt.outcome is not None or attempt.key_pressed_at is not None:
        return
    attempt.outcome = "not-accepted" if call_status == "completed" else call_status
    attempt.ended_at = now()
    record_event(
        "card",
        attempt.card_id,
        "callback.finished",
        {"attempt": attempt.id, "outcome": attempt.outcome},
        actor_label="carrier",
    )
    db.session.flush()


#: A callback placed this long ago is asked about: one the carrier no longer knows is over.
CALLBACK_UNKNOWN_AGE = timedelta(seconds=30)
#: A callback whose call ended this long after it started, with no result, lost its result.
CALLBACK_LOST_AGE = timedelta(minutes=5)
#: Why a callback was finished by the reconciliation sweep (the card's timeline says it).
CALLBACK_NEVER_PLACED = "the call was never placed"
CALLBACK_UNKNOWN = "the telephone network no longer knows the call"
CALLBACK_RESULT_LOST = "the call ended and its result never came"


def unfinished_callbacks(limit: int) -> list[tuple[int, str | None, bool]]:
    """Return (id, CallSid, due) of the callbacks with no outcome old enough to be looked at.

    `due`: old enough that a call the carrier reports over has lost its result. Ages count
    from the last try; an attempt waiting for its next try is left to its retry job.
    """
    moment = now()
    tried = func.coalesce(CallbackAttempt.tried_at, CallbackAttempt.started_at)
    due = tried < moment - CALLBACK_LOST_AGE
    query = (
        select(CallbackAttempt.id, CallbackAttempt.call_sid, case((due, True), else_=False))
        .where(
            CallbackAttempt.outcome.is_(None),
            CallbackAttempt.retry_at.is_(None),  # waiting for a retry is not lost
            tried < moment - CALLBACK_UNKNOWN_AGE,
        )
        .order_by(CallbackAttempt.id.desc())
        .limit(limit)
    )
    return [(row_id, sid, bool(old)) for row_id, sid, old in db.session.execute(query)]


def reconcile_callback(attempt: CallbackAttempt, carrier_status: str | None, due: bool) -> bool:
    """Finish a callback the carrier no longer knows (`None`) or whose end was lost.

    Returns whether the attempt was finished; a live call, or one not yet due, is left alone.
    """
    if attempt.outcome is not None:
        return False
    if attempt.call_sid is None or carrier_status is None:
        reason = CALLBACK_NEVER_PLACED if attempt.call_sid is None else CALLBACK_UNKNOWN
        fail_callback(attempt, reason)
    elif carrier_status not in ("completed", "busy", "failed", "no-answer", "canceled") or not due:
        return False
    elif attempt.key_pressed_at is None:
        finish_unaccepted_callback(attempt, carrier_status)
    else:
        fail_callback(attempt, CALLBACK_RESULT_LOST)
    log.info("callback %s reconciled: %s", attempt.id, attempt.outcome)
    return True


def close_callback_duty(attempt: CallbackAttempt) -> list[Card]:
    """Mark called back every open card of the municipality whose citizen this call reached."""
    card = attempt.card
    cards = db.session.scalars(
        select(Card)
        .join(Appeal, Appeal.id == Card.appeal_id)
        .where(
            Card.municipality_id == card.municipality_id,
            Card.state.in_(states_for("card", "called-back")),
            Card.opened_at <= attempt.started_at,
            Appeal.caller_number == attempt.citizen_number,
        )
    ).all()
    for other in cards:
        other.state = check_card(other, "called-back")
        other.called_back_at = now()
        record_event(
            "card",
            other.id,
            "card.called-back",
            {"attempt": attempt.id, "via_card": card.id, "automatic": other.id != card.id},
            actor_label="carrier",
        )
        if other.appeal.status in (AppealStatus.MISSED, AppealStatus.ROUTING):
            set_appeal_status(
                other.appeal, AppealStatus.IN_WORK, "callback reached the citizen", None, "carrier"
            )
    return cards


# --- outcome, photos, confirmation ------------------------------------------------------


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
    _close_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)), "resolved")
    from callbacks import jobs

    enqueue_after_commit(
        jobs.ask_citizen_confirmation,
        appeal.id,
        job_id=f"confirm-ask-{appeal.id}-{tracking.reopen_count}",
    )
    db.session.flush()
    return tracking


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
        _close_card(card, "confirmed")
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
        _reopen_card(card)
    db.session.flush()
    return True


def close_appeal(appeal: Appeal, reason: str, actor: User) -> None:
    """Close an appeal without the citizen's word (a duplicate, a withdrawn request), with why."""
    status = check_appeal(appeal, "close")
    reason = (reason or "").strip()
    if not reason:
        raise CardError("reason", "text")
    tracking = ensure_tracking(appeal)
    tracking.next_checkin_at = None
    set_appeal_status(appeal, status, reason[:200], actor)
    _close_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)), "closed")
    db.session.flush()


def take_appeal_into_work(appeal: Appeal, note: str, actor: User) -> None:
    """Put an appeal (missed, reopened or resolved too early) back in work, with a note."""
    status = check_appeal(appeal, "take-into-work")
    tracking = ensure_tracking(appeal)
    if tracking.confirmation == "asked":
        tracking.confirmation = None
    tracking.next_checkin_at = now() + checkin_interval(appeal)
    set_appeal_status(appeal, status, (note or "").strip()[:200] or None, actor)
    _reopen_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)))


def close_unconfirmed(tracking: AppealTracking) -> bool:
    """Close an appeal the citizen did not answer about within three days."""
    if tracking.confirmation != "asked" or tracking.confirmation_due_at > now():
        return False
    if not allows("appeal", "close", tracking.appeal.status):
        return False
    tracking.confirmation = "unconfirmed"
    appeal = tracking.appeal
    set_appeal_status(appeal, AppealStatus.CLOSED, "unconfirmed", None, "tracking")
    _close_card(db.session.scalar(select(Card).where(Card.appeal_id == appeal.id)), "unconfirmed")
    db.session.flush()
    return True


def _close_card(card: Card | None, why: str) -> None:
    if card is None or not allows("card", "close", card.state):
        return
    card.state = check_card(card, "close")
    card.closed_at = now()
    record_event("card", card.id, "card.closed", {"why": why}, actor_label="system")


def _reopen_card(card: Card | None) -> None:
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


def confirmation_text(appeal: Appeal) -> str:
    """Return the SMS that asks the citizen whether the matter is solved."""
    return (
        f"Обращение {appeal.number} отмечено как решённое. "
        "Ответьте 1, если проблема решена, или 2, если нет."
    )


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


# --- check-ins --------------------------------------------------------------------------


def responsible_phone(appeal: Appeal) -> str | None:
    """Return the phone of the official answering for an appeal (assignee, else the duty)."""
    if appeal.assignee_id:
        official = db.session.get(Official, appeal.assignee_id)
        if official is not None:
            return official.phone
    card = db.session.scalar(select(Card).where(Card.appeal_id == appeal.id))
    if card is not None:
        recipients = duty_recipients(card)
        if recipients:
            return recipients[0]["phone"]
    return None


def run_checkin(tracking: AppealTracking) -> bool:
    """Ask the responsible official for a status update on an appeal in work, and reschedule."""
    moment = now()
    if tracking.next_checkin_at is None or tracking.next_checkin_at > moment:
        return False
    appeal = tracking.appeal
    if appeal.status not in TRACKED_STATUSES:
        tracking.next_checkin_at = None
        return False
    number = tracking.checkins + 1
    phone = responsible_phone(appeal)
    messages = []
    if phone:
        messages.append(
            get_gateway().send_sms(
                phone,
                f"Контроль обращения {appeal.number}: ответьте коротко, что сделано "
                f"(например: «{appeal.number} бригада выехала»).",
                purpose=f"checkin:{appeal.id}:{number}",
            )
        )
    record_event(
        "appeal",
        appeal.id,
        "appeal.checkin",
        {"n": number, "to": phone, "sms": [message.id for message in messages]},
        actor_label="worker",
    )
    tracking.checkins = number
    tracking.last_checkin_at = moment
    tracking.next_checkin_at = moment + checkin_interval(appeal)
    db.session.flush()
    return True


def checkin_job_id(tracking: AppealTracking) -> str:
    """Return the deterministic job id of an appeal's next check-in."""
    return f"checkin-{tracking.appeal_id}-{_stamp(tracking.next_checkin_at)}"


# --- incoming SMS -----------------------------------------------------------------------

_ANSWER_YES = {"1", "да", "решено", "yes"}
_ANSWER_NO = {"2", "нет", "не решено", "no"}


def take_incoming_sms(from_number: str, body: str) -> str:
    """Apply an SMS: a citizen's confirmation or an official's short status reply."""
    text = body.strip()
    word = text.lower().rstrip(".!")
    if word in _ANSWER_YES | _ANSWER_NO:
        appeal = db.session.scalar(
            select(Appeal)
            .join(AppealTracking, AppealTracking.appeal_id == Appeal.id)
            .where(Appeal.caller_number == from_number, AppealTracking.confirmation == "asked")
            .order_by(AppealTracking.confirmation_asked_at.desc())
            .limit(1)
        )
        if appeal is not None and answer_confirmation(appeal, word in _ANSWER_YES, "sms"):
            return "confirmation"
    officials = db.session.scalars(select(Official).where(Official.phone == from_number)).all()
    if officials and text:
        card = _card_for_reply(officials, text)
        if card is not None:
            note = re.sub(r"^\s*(№|#)?\s*[\d-]+\s*", "", text) or text
            add_card_note(card, note, None, source=f"sms {from_number}")
            return "status-reply"
    record_event("sms", from_number, "sms.unmatched", {"body": text[:300]}, actor_label="carrier")
    return "unmatched"


def _card_for_reply(officials: list[Official], text: str) -> Card | None:
    places = {official.municipality_id for official in officials}
    match = re.match(r"^\s*(?:№|#)?\s*([\d-]+)", text)
    query = select(Card).join(Appeal, Appeal.id == Card.appeal_id)
    query = query.where(Card.municipality_id.in_(places), Card.state != CardState.CLOSED)
    if match:
        token = match.group(1)
        card_id = parse_id(token)
        named = or_(Appeal.number == token, Card.id == card_id if card_id else False)
        card = db.session.scalar(query.where(named))
        if card is not None:
            return card
    return db.session.scalar(query.order_by(Card.opened_at.desc()).limit(1))


# --- reading ----------------------------------------------------------------------------


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


def save_photo(card: Card, kind: str, data: bytes, actor: User) -> CardPhoto:
    """Store a re-encoded copy of a before/after photo under the instance folder.

    The upload must decode as a JPEG, PNG or WebP within the size and pixel limits; the copy
    keeps the pixels only, so EXIF (GPS), comments and anything appended to the file are gone.
    """
    import secrets
    from pathlib import Path

    check_card(card, "photo")
    if kind not in ("before", "after"):
        raise CardError("kind", "kind")
    if len(data) > current_app.config.get("MAX_PHOTO_BYTES", 5 * 1024 * 1024):
        raise CardError("size", "photo")
    try:
        clean = reencode_photo(data, current_app.config["MAX_PHOTO_PIXELS"])
    except PhotoRefused as refusal:
        raise CardError(str(refusal), "photo") from refusal
    name = f"{card.id}-{secrets.token_hex(12)}.{clean.extension}"
    folder = Path(current_app.config["INSTANCE_DIR"]) / "card-photos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(clean.data)
    photo = CardPhoto(
        card_id=card.id,
        kind=kind,
        stored_name=name,
        content_type=clean.content_type,
        size=len(clean.data),
        uploaded_by_id=actor.id,
        uploaded_at=now(),
    )
    db.session.add(photo)
    db.session.flush()
    record_event("card", card.id, "card.photo", {"kind": kind, "photo": photo.id}, actor=actor)
    return photo


def photo_path(photo: CardPhoto):
    """Return the file of a stored photo."""
    from pathlib import Path

    return Path(current_app.config["INSTANCE_DIR"]) / "card-photos" / photo.stored_name
