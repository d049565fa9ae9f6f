"""Click-to-call: ringing the official, retries, the citizen's leg and reconciliation."""

import logging
from datetime import timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import contains_eager

from callbacks.models import CallbackAttempt, Card
from callbacks.services.common import CardError, now
from callbacks.states import check_card, states_for
from core.events import record_event
from core.extensions import db
from core.models import User
from core.queue import enqueue_after_commit
from core.telephony import CarrierError, get_gateway
from core.telephony.reasons import reason_of
from core.telephony.retries import CALL_MAX_TRIES, next_try_at
from core.urls import absolute_url
from hotline.models import Appeal, AppealStatus
from hotline.services import set_appeal_status
from roster.models import Official

log = logging.getLogger(__name__)


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


def place_callback(
    card: Card, official: Official, actor: User
) -> tuple[CallbackAttempt, CarrierError | None]:
    """Start a click-to-call and ask the carrier to ring the official; the caller commits after.

    The attempt is committed before the carrier is asked, since its webhooks must find it;
    the carrier's error comes back, noted on the attempt (a passing one waits for a retry).
    """
    attempt = start_callback(card, official, actor)
    db.session.commit()
    return attempt, ring_official(attempt)


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
        .options(contains_eager(Card.appeal))
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
