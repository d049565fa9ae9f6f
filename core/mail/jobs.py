"""E-mail jobs: each attempt sent after its commit, and the sweep finding due or stuck ones."""

import logging

from sqlalchemy import select, update

from core.clock import utcnow
from core.extensions import db
from core.mail.models import (
    EMAIL_PENDING,
    EMAIL_RETRYING,
    EMAIL_SENDING,
    EMAIL_UNKNOWN,
    OutboundEmail,
)
from core.mail.outbox import deliver_due_email, email_job_id
from core.queue import enqueue_due_all

log = logging.getLogger(__name__)

#: Due e-mails one sweep looks at.
SWEEP_BATCH = 2000


def deliver_email(email_id: int) -> None:
    """Make the due attempt of a stored e-mail; nothing if sent, taken by another, or not due."""
    email = db.session.get(OutboundEmail, email_id)
    if email is not None:
        deliver_due_email(email)


def sweep_due_email() -> int:
    """Enqueue every due e-mail attempt whose job is lost; give up those a dead worker held."""
    stuck = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.status == EMAIL_SENDING, OutboundEmail.next_attempt_at <= utcnow())
        .values(status=EMAIL_UNKNOWN, next_attempt_at=None)
    ).rowcount
    if stuck:
        log.warning("email sweep: %d e-mails a stopped worker held marked unknown", stuck)
    due = db.session.execute(
        select(OutboundEmail.id, OutboundEmail.attempts)
        .where(
            OutboundEmail.next_attempt_at <= utcnow(),
            OutboundEmail.status.in_((EMAIL_PENDING, EMAIL_RETRYING)),
        )
        .order_by(OutboundEmail.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    return enqueue_due_all(
        deliver_email,
        [((email_id,), email_job_id(email_id, attempts + 1)) for email_id, attempts in due],
    )
