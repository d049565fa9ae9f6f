"""SMS jobs: each attempt sent after its commit, the sweep finding due ones, simulated receipts."""

import logging

from sqlalchemy import select, update

from core.clock import utcnow
from core.extensions import db
from core.models import SMS_PENDING, SMS_RETRYING, SMS_SENDING, SMS_UNKNOWN, OutboundMessage
from core.queue import enqueue_due_all
from core.telephony.gateway import sms_job_id

log = logging.getLogger(__name__)

#: Due messages one sweep looks at.
SWEEP_BATCH = 5000


def deliver_sms(message_id: int) -> None:
    """Make the due attempt of a stored SMS; nothing if it is sent, taken by another, or not due."""
    from core.telephony import get_gateway

    message = db.session.get(OutboundMessage, message_id)
    if message is not None:
        get_gateway().deliver_due_sms(message)


def deliver_sms_batch(message_ids: list[int]) -> int:
    """Make the due attempt of each of these SMS, one message at a time; return how many went.

    Each message is claimed and committed on its own before the carrier is asked, as
    `deliver_sms` does: a worker killed mid-batch sends none twice, and the SMS sweep finds
    the ones it never reached.
    """
    from core.telephony import get_gateway

    gateway = get_gateway()
    messages = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.id.in_(message_ids))
        .order_by(OutboundMessage.id)
    ).all()
    db.session.commit()
    return sum(gateway.deliver_due_sms(message) for message in messages)


def report_sim_delivery(message_sid: str) -> None:
    """Have the simulated carrier post the delivery receipts of an SMS it took."""
    from core.telephony import get_gateway

    to_number = db.session.scalar(
        select(OutboundMessage.to_number).where(OutboundMessage.provider_sid == message_sid)
    )
    db.session.commit()  # the receipts are written by the webhook, in a transaction of its own
    if to_number is not None:
        get_gateway().report_delivery(message_sid, to_number)


def sweep_due_sms() -> int:
    """Enqueue every SMS attempt that is due unless its job waits or runs; give up stuck ones."""
    give_up_stuck_sms()
    due = db.session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts)
        .where(
            OutboundMessage.next_attempt_at <= utcnow(),
            OutboundMessage.status.in_((SMS_PENDING, SMS_RETRYING)),
        )
        .order_by(OutboundMessage.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    enqueued = enqueue_due_all(
        deliver_sms,
        [((message_id,), sms_job_id(message_id, attempts + 1)) for message_id, attempts in due],
    )
    if enqueued:
        log.info("sms sweep: %d due attempts enqueued", enqueued)
    return enqueued


def give_up_stuck_sms() -> int:
    """Mark `unknown` the SMS a worker claimed and never finished handing over; return how many."""
    stuck = db.session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.status == SMS_SENDING,
            OutboundMessage.next_attempt_at <= utcnow(),
        )
        .values(status=SMS_UNKNOWN, next_attempt_at=None)
    ).rowcount
    db.session.commit()
    if stuck:
        log.warning(
            "sms sweep: %d messages whose worker stopped while sending them marked unknown, "
            "not sent again",
            stuck,
        )
    return stuck
