"""Storing e-mails once per purpose and making their attempts: claim, send, retry or give up."""

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.mail.models import (
    EMAIL_FAILED,
    EMAIL_KEPT,
    EMAIL_PENDING,
    EMAIL_RETRYING,
    EMAIL_SENDING,
    EMAIL_SENT,
    OutboundEmail,
)
from core.mail.smtp import MailNotTaken, send_over_smtp
from core.queue import enqueue_after_commit

log = logging.getLogger(__name__)

#: The job that makes a stored e-mail's due attempt.
DELIVER_EMAIL_JOB = "core.mail.jobs.deliver_email"
#: How long a worker may take to hand an e-mail over before it is given up as unknown.
SENDING_LIMIT = timedelta(minutes=10)


def email_job_id(email_id: int, attempt: int) -> str:
    """Return the job id of an e-mail's attempt number `attempt` (one job per attempt)."""
    return f"email-{email_id}-attempt-{attempt}"


def mail_retry_delays() -> list[timedelta]:
    """Return the waits before the second, third, ... try (the `MAIL_RETRY_DELAYS` setting)."""
    return [timedelta(seconds=seconds) for seconds in current_app.config["MAIL_RETRY_DELAYS"]]


def queue_email(
    to: str,
    subject: str,
    text: str,
    html: str = "",
    *,
    purpose: str,
    about: tuple[str, int] | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    at: datetime | None = None,
) -> OutboundEmail:
    """Store an e-mail once per `purpose`, sent by a job after the caller commits (or `at`)."""
    existing = _email_for(purpose)
    if existing is not None:
        return existing
    email = OutboundEmail(
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        purpose=purpose[:120],
        subject_type=about[0] if about else None,
        subject_id=about[1] if about else None,
        status=EMAIL_PENDING,
        attempts=0,
        next_attempt_at=at or utcnow(),
    )
    if attachment is not None:
        email.attachment_name, email.attachment_type, email.attachment_data = attachment
    try:
        with db.session.begin_nested():
            db.session.add(email)
            db.session.flush()
    except IntegrityError:
        existing = _email_for(purpose)
        if existing is None:
            raise
        return existing
    enqueue_after_commit(DELIVER_EMAIL_JOB, email.id, job_id=email_job_id(email.id, 1), at=at)
    return email


def deliver_due_email(email: OutboundEmail) -> bool:
    """Make the due attempt of a stored e-mail in transactions of its own; False if none.

    The attempt is claimed and committed before the server is asked, so a worker killed
    mid-send leaves it `sending` (given up as unknown by the sweep), never sent twice.
    """
    if email.status not in (EMAIL_PENDING, EMAIL_RETRYING) or email.next_attempt_at > utcnow():
        return False
    claimed = db.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.id == email.id,
            OutboundEmail.status == email.status,
            OutboundEmail.attempts == email.attempts,
        )
        .values(
            attempts=email.attempts + 1,
            status=EMAIL_SENDING,
            next_attempt_at=utcnow() + SENDING_LIMIT,
        )
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    db.session.refresh(email)
    if not current_app.config["MAIL_SERVER"]:
        _finish(email, EMAIL_KEPT)
        log.info("email %s to %s kept in the app (no MAIL_SERVER)", email.id, email.to_address)
    else:
        try:
            send_over_smtp(email)
        except MailNotTaken as error:
            _not_taken(email, error)
        else:
            _finish(email, EMAIL_SENT)
            log.info("email %s to %s sent (attempt %d)", email.id, email.to_address, email.attempts)
    db.session.commit()
    return True


def _finish(email: OutboundEmail, status: str) -> None:
    email.status, email.next_attempt_at, email.sent_at = status, None, utcnow()
    _on_timeline(email, "email.sent")


def _not_taken(email: OutboundEmail, error: MailNotTaken) -> None:
    email.last_error = str(error)[:300]
    delays = mail_retry_delays()
    if error.permanent or email.attempts > len(delays):
        email.status, email.next_attempt_at = EMAIL_FAILED, None
        log.warning("email %s to %s failed for good: %s", email.id, email.to_address, error)
        _on_timeline(email, "email.failed")
        return
    email.status = EMAIL_RETRYING
    email.next_attempt_at = utcnow() + delays[email.attempts - 1]
    log.warning(
        "email %s to %s not taken (attempt %d), next at %s: %s",
        email.id,
        email.to_address,
        email.attempts,
        email.next_attempt_at.isoformat(timespec="seconds"),
        error,
    )
    db.session.flush()
    enqueue_after_commit(
        DELIVER_EMAIL_JOB,
        email.id,
        job_id=email_job_id(email.id, email.attempts + 1),
        at=email.next_attempt_at,
    )


def _on_timeline(email: OutboundEmail, verb: str) -> None:
    """Show the message on its subject's timeline (a card's, a user's)."""
    if email.subject_type is None:
        return
    data = {"to": email.to_address, "subject": email.subject, "email": email.id}
    if email.last_error and verb == "email.failed":
        data["reason"] = email.last_error
    record_event(email.subject_type, email.subject_id, verb, data, actor_label="worker")


def _email_for(purpose: str) -> OutboundEmail | None:
    return db.session.scalar(select(OutboundEmail).where(OutboundEmail.purpose == purpose[:120]))
