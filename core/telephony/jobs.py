"""SMS jobs: retries (a due attempt, the sweep re-finding due ones), simulated receipts."""

import logging

from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.models import SMS_RETRYING, OutboundMessage
from core.queue import enqueue_due

log = logging.getLogger(__name__)

#: Due messages one sweep looks at.
SWEEP_BATCH = 5000


def retry_job_id(message_id: int, attempt: int) -> str:
    """Return the job id of a message's attempt number `attempt` (one job per attempt)."""
    return f"sms-{message_id}-attempt-{attempt}"


def retry_sms(message_id: int) -> None:
    """Make the due next attempt of an SMS the carrier did not take; nothing if sent or not due."""
    from core.telephony import get_gateway

    message = db.session.get(OutboundMessage, message_id)
    if message is not None and get_gateway().resend_sms(message):
        db.session.commit()


def report_sim_delivery(message_sid: str) -> None:
    """Have the simulated carrier post the delivery receipts of an SMS it took."""
    from core.telephony import get_gateway

    to_number = db.session.scalar(
        select(OutboundMessage.to_number).where(OutboundMessage.provider_sid == message_sid)
    )
    db.session.commit()  # the receipts are written by the webhook, in a transaction of its own
    if to_number is not None:
        get_gateway().report_delivery(message_sid, to_number)


def sweep_sms_retries() -> int:
    """Enqueue the retry of every SMS whose next attempt is due, unless its job waits or runs."""
    due = db.session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts)
        .where(
            OutboundMessage.next_attempt_at <= utcnow(),
            OutboundMessage.status == SMS_RETRYING,
        )
        .order_by(OutboundMessage.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    enqueued = sum(
        enqueue_due(retry_sms, message_id, job_id=retry_job_id(message_id, attempts + 1))
        for message_id, attempts in due
    )
    if enqueued:
        log.info("sms retry sweep: %d due retries enqueued", enqueued)
    return enqueued
