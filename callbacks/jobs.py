"""Tracking jobs: thin, idempotent, keyed by deterministic job ids; the sweep re-finds due work."""

import logging

from sqlalchemy import select

from callbacks import notices, services
from callbacks.models import (
    OPEN_STATES,
    AppealTracking,
    CallbackAttempt,
    Card,
    CardState,
    NoticeCall,
)
from core.batches import enqueue_alone, enqueue_batches
from core.extensions import db
from core.queue import enqueue_due_all, relay_outbox, requeue_abandoned
from core.telephony import CallUnknown, CarrierError, get_gateway
from hotline.models import Appeal

log = logging.getLogger(__name__)

#: Rows of each kind of due work one sweep looks at.
SWEEP_BATCH = 5000


def notify_card_opened(card_id: int) -> None:
    """Send the opening SMS to each official of the card's duty, committing after each one."""
    card = db.session.get(Card, card_id)
    if card is None or card.notified_at is not None:
        return
    text = services.card_opened_text(card)
    messages = []
    for recipient in services.duty_recipients(card):
        messages.append(services.send_card_sms(card, recipient, "opened", text))
        db.session.commit()  # a worker killed after this point does not resend this one
    services.mark_notified(card, messages)
    notices.watch_deliveries(card, messages)
    db.session.commit()


def follow_up_notice(notice_id: int) -> None:
    """Ring the official whose opening SMS was not delivered, once; retry passing failures."""
    notice = db.session.get(NoticeCall, notice_id)
    if notice is None:
        return
    if notices.check_notice(notice):
        db.session.commit()
    if not notices.claim_notice_try(notice):
        return
    db.session.commit()  # the try is taken before the call: a second run never rings again
    try:
        call_sid = get_gateway().place_call(
            notice.official_phone,
            notices.notice_url(notice.id),
            status_callback=notices.notice_url(notice.id, "status"),
        )
    except CarrierError as error:
        notices.notice_not_placed(notice, error)
    else:
        notices.record_notice_call(notice, call_sid, None)
    db.session.commit()


def retry_callback(attempt_id: int) -> None:
    """Make the due next try of a click-to-call the carrier did not take; at most once."""
    attempt = db.session.get(CallbackAttempt, attempt_id)
    if attempt is None or not services.claim_callback_try(attempt):
        return
    db.session.commit()  # the try is taken before the carrier is asked: a second run skips
    services.ring_official(attempt)
    db.session.commit()


def _apply(model, row_id: int, service, lock: bool = False) -> None:
    """Load a row and apply a service to it; commit only when the service did something.

    `lock`: wait for the row's lock first, so a batch that holds it finishes before.
    """
    row = db.session.get(model, row_id, with_for_update=lock or None)
    if row is not None and service(row):
        db.session.commit()


def remind_card(card_id: int) -> None:
    """Remind the duty of a card nobody acknowledged within 15 minutes."""
    _apply(Card, card_id, services.remind_card)


def escalate_card(card_id: int) -> None:
    """Tell the supervisor at half the callback deadline."""
    _apply(Card, card_id, services.escalate_card)


def mark_card_overdue(card_id: int) -> None:
    """Flag the card overdue when its callback deadline passed."""
    _apply(Card, card_id, services.mark_card_overdue)


def run_checkin(appeal_id: int) -> None:
    """Ask the responsible official for a status update on an appeal in work."""
    _apply(AppealTracking, appeal_id, services.run_checkin, lock=True)


def run_checkins(appeal_ids: list[int]) -> int:
    """Do the due check-ins of a batch of appeals in one transaction; return how many.

    When the batch fails, each of its due check-ins is handed to `run_checkin`, alone.
    """
    try:
        done = services.run_checkins(appeal_ids)
        db.session.commit()
    except Exception:
        log.exception("check-in batch of %d failed: each is retried alone", len(appeal_ids))
        db.session.rollback()
        due = services.due_checkins(len(appeal_ids), appeal_ids)
        job_ids = dict(
            (appeal_id, services.checkin_job_id_of(appeal_id, at)) for appeal_id, at in due
        )
        enqueue_alone(run_checkin, job_ids, job_ids.get)
        db.session.commit()
        return 0
    return len(done)


def ask_citizen_confirmation(appeal_id: int) -> None:
    """Ask the citizen by SMS whether the resolved matter is really solved."""
    _apply(Appeal, appeal_id, services.ask_citizen)


def close_unconfirmed(appeal_id: int) -> None:
    """Close an appeal whose citizen gave no answer within three days."""
    _apply(AppealTracking, appeal_id, services.close_unconfirmed)


def reconcile_callbacks() -> int:
    """Finish the callbacks the carrier no longer knows or whose end was lost; return how many."""
    attempts = services.unfinished_callbacks(SWEEP_BATCH)
    db.session.commit()
    gateway = get_gateway()
    finished = 0
    for attempt_id, call_sid, due in attempts:
        status = None
        if call_sid is not None:
            try:
                status = gateway.call_status(call_sid)
            except CallUnknown:
                status = None
            except CarrierError as error:
                log.warning("callback %s left for the next sweep: %s", attempt_id, error)
                continue
        attempt = db.session.get(CallbackAttempt, attempt_id)
        if attempt is not None and services.reconcile_callback(attempt, status, due):
            finished += 1
        db.session.commit()
    if finished:
        log.info("callback reconciliation: %d callbacks finished", finished)
    return finished


def sweep() -> dict[str, int]:
    """Relay the outbox, then find due work in the database and enqueue what is missing."""
    relay_outbox()
    requeue_abandoned()
    moment = services.now()
    found = {"tracking": services.track_new_appeals(SWEEP_BATCH)}
    cards = _due_cards(Card.notified_at.is_(None))
    found["opened"] = _enqueue(cards, notify_card_opened, "opened")
    cards = _due_cards(
        Card.state == CardState.NEW, Card.reminded_at.is_(None), Card.remind_at <= moment
    )
    found["reminder"] = _enqueue(cards, remind_card, "reminder")
    cards = _due_cards(
        Card.state.in_(OPEN_STATES), Card.escalated_at.is_(None), Card.escalate_at <= moment
    )
    found["escalation"] = _enqueue(cards, escalate_card, "escalation")
    cards = _due_cards(Card.state.in_(OPEN_STATES), ~Card.overdue, Card.callback_due_at <= moment)
    found["overdue"] = _enqueue(cards, mark_card_overdue, "overdue")
    found["checkin"] = _enqueue_checkins()
    found["callback"] = enqueue_due_all(
        retry_callback,
        [
            ((attempt_id,), services.callback_retry_job_id(attempt_id, tries + 1))
            for attempt_id, tries in services.due_callback_retries(SWEEP_BATCH)
        ],
    )
    found["notice"] = enqueue_due_all(
        follow_up_notice,
        [
            ((notice_id,), notices.notice_job_id(notice_id))
            for notice_id in notices.due_notices(SWEEP_BATCH)
        ]
        + [
            ((notice_id,), notices.notice_retry_job_id(notice_id, n + 1))
            for notice_id, n in notices.due_notice_retries(SWEEP_BATCH)
        ],
    )
    unconfirmed = db.session.execute(
        select(AppealTracking.appeal_id, AppealTracking.reopen_count)
        .where(AppealTracking.confirmation == "asked", AppealTracking.confirmation_due_at <= moment)
        .limit(SWEEP_BATCH)
    ).all()
    found["unconfirmed"] = enqueue_due_all(
        close_unconfirmed,
        [
            ((appeal_id,), f"confirm-expire-{appeal_id}-{reopen_count}")
            for appeal_id, reopen_count in unconfirmed
        ],
    )
    db.session.commit()
    if any(found.values()):
        log.info("sweep: %s", found)
    return found


def _due_cards(*conditions) -> list[Card]:
    return db.session.scalars(
        select(Card).where(*conditions).order_by(Card.id).limit(SWEEP_BATCH)
    ).all()


def _enqueue(cards: list[Card], job, kind: str) -> int:
    """Enqueue `job(card.id)` for each due card: two Redis round trips for all of them."""
    return enqueue_due_all(job, [((card.id,), services.card_job_ids(card)[kind]) for card in cards])


def _enqueue_checkins() -> int:
    """Enqueue the due check-ins in batches (`run_checkins`); return how many were enqueued."""
    due = services.due_checkins(SWEEP_BATCH)
    return enqueue_batches(
        run_checkins, [(appeal_id, services.stamp(at)) for appeal_id, at in due], "checkins"
    )


def send_morning_digests() -> int:
    """E-mail the heads whose municipality's clock shows 08:00 hours their morning digest."""
    sent = services.send_head_digests()
    db.session.commit()
    return sent
