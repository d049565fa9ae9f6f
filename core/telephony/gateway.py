"""The telephony gateway interface: outbound calls, SMS, redirects and hang-ups."""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import OutboundMessage

log = logging.getLogger(__name__)

#: Call progress events requested for outbound calls (both gateways ask for the same).
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")


class CarrierError(Exception):
    """The carrier refused a request or could not be reached: the call action did not happen."""


class Gateway:
    """What the product may ask a carrier to do; one subclass per carrier."""

    #: Stored in `OutboundMessage.carrier`.
    carrier = "none"

    def place_call(
        self,
        to: str,
        url: str,
        *,
        from_: str | None = None,
        status_callback: str | None = None,
        timeout: int = 20,
    ) -> str:
        """Ring `to` and run the TwiML at the absolute `url` once answered; return the CallSid.

        Every call action raises `CarrierError` when the carrier refuses it or is unreachable.
        """
        raise NotImplementedError

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Move a live call to the TwiML at the absolute `url`."""
        raise NotImplementedError

    def hangup(self, call_sid: str) -> None:
        """End a live call."""
        raise NotImplementedError

    def delete_recording(self, recording_url: str) -> None:
        """Delete a voice recording kept by the carrier."""
        raise NotImplementedError

    def send_sms(self, to: str, body: str, *, purpose: str | None = None) -> OutboundMessage:
        """Send an SMS once per `purpose` and record it; flush, never commit."""
        if purpose is not None:
            existing = _message_for(purpose)
            if existing is not None:
                return existing
        message = OutboundMessage(
            to_number=to, body=body, carrier=self.carrier, purpose=purpose, status="queued"
        )
        try:
            with db.session.begin_nested():
                db.session.add(message)
                db.session.flush()
        except IntegrityError:
            existing = _message_for(purpose) if purpose is not None else None
            if existing is None:
                raise
            return existing
        self._deliver(message)
        db.session.flush()
        log.info("sms %s to %s: %s", message.provider_sid, to, message.status)
        return message

    def _deliver(self, message: OutboundMessage) -> None:
        """Hand a recorded message to the carrier and set its status and provider id."""
        raise NotImplementedError


def _message_for(purpose: str) -> OutboundMessage | None:
    return db.session.scalar(select(OutboundMessage).where(OutboundMessage.purpose == purpose))
