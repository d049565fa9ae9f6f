"""Hotline jobs."""

from core.extensions import db
from core.telephony import get_gateway
from hotline.models import Appeal
from hotline.prompts import prompt


def send_registration_sms(appeal_id: int) -> None:
    """Send the caller the registration number of their appeal (once)."""
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None or not appeal.caller_number:
        return
    get_gateway().send_sms(
        appeal.caller_number,
        prompt("sms_registered", number=appeal.number),
        purpose=f"appeal-registered:{appeal.id}",
    )
    db.session.commit()
