"""SMS delivery receipts: the signed `POST /sms/status` every SMS names as its StatusCallback."""

import logging

from flask import Blueprint, Response, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.extensions import db
from core.models import OutboundMessage
from core.parsing import parse_id
from core.telephony.signature import protect_webhooks
from core.urls import webhook_url

log = logging.getLogger(__name__)

#: Path of the receipt webhook (built without a request: SMS are sent from jobs too).
SMS_STATUS_PATH = "/sms/status"

#: How far along each MessageStatus is; a receipt never moves a message back.
#: The phone's word (delivered, read) outranks the carrier's undelivered or failed.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "undelivered": 3,
    "failed": 3,
    "delivered": 4,
    "read": 5,
}

#: What Twilio's delivery error codes mean to the person reading the card.
ERROR_REASONS = {
    "30003": _l("the phone is off or out of reach"),
    "30004": _l("the recipient blocks messages"),
    "30005": _l("the number does not exist"),
    "30006": _l("a landline or a network that takes no SMS"),
    "30007": _l("filtered by the mobile operator"),
    "30008": _l("the mobile operator did not say why"),
}

bp = Blueprint("sms_receipts", __name__)
protect_webhooks(bp)


def status_callback_url(message_id: int | None = None) -> str:
    """Return the absolute URL the carrier posts an SMS's delivery receipts to.

    It names the message, so a receipt that arrives before the worker has stored the
    carrier's MessageSid still finds it.
    """
    return webhook_url(SMS_STATUS_PATH + (f"?sms={message_id}" if message_id else ""))


def sms_error_reason(error_code: str | None) -> str:
    """Return in words why an SMS did not reach the phone, from the carrier's error code."""
    return str(ERROR_REASONS.get(error_code or "", _l("the mobile operator did not say why")))


def record_receipt(
    message_sid: str, status: str, error_code: str | None, message_id: int | None = None
) -> OutboundMessage | None:
    """Store what a delivery receipt says about an SMS unless the message is already further on.

    Returns the message when the receipt changed it; flush, never commit.
    """
    rank = STATUS_RANK.get(status)
    if rank is None or not message_sid:
        return None
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.provider_sid == message_sid).with_for_update()
    )
    if message is None and message_id is not None:  # the worker has not stored the sid yet
        message = db.session.scalar(
            select(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.provider_sid.is_(None))
            .with_for_update()
        )
        if message is not None:
            message.provider_sid = message_sid
    if message is None:
        log.warning("receipt %s for an unknown sms %s ignored", status, message_sid)
        return None
    if STATUS_RANK.get(message.status, -1) > rank or message.status == status:
        return None
    message.status = status
    message.error_code = (error_code or None) if rank == 3 else None
    log.info("sms %s to %s: %s %s", message_sid, message.to_number, status, error_code or "")
    db.session.flush()
    return message


@bp.post(SMS_STATUS_PATH)
def sms_status():
    """Store the delivery state (queued, sent, delivered, undelivered, failed) of an SMS."""
    form = request.form
    record_receipt(
        form.get("MessageSid", ""),
        form.get("MessageStatus", form.get("SmsStatus", "")),
        form.get("ErrorCode", "")[:8],
        parse_id(request.args.get("sms")),
    )
    db.session.commit()
    return Response(status=204)
