"""The gateway that speaks to Twilio's REST API."""

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from core.models import OutboundMessage
from core.telephony.gateway import STATUS_CALLBACK_EVENTS, CarrierError, Gateway, SmsNotTaken

log = logging.getLogger(__name__)


def describe_error(error: Exception) -> str:
    """Return one plain line about a Twilio error (never the coloured text meant for a terminal)."""
    if isinstance(error, TwilioRestException):
        code = f" {error.code}" if error.code else ""
        return f"HTTP {error.status}{code}: {error.msg}"
    return f"{type(error).__name__}: {error}"


@contextmanager
def carrier_errors(action: str) -> Iterator[None]:
    """Turn Twilio's refusals and network failures during `action` into `CarrierError`."""
    try:
        yield
    except (TwilioException, requests.RequestException) as error:
        log.warning("Twilio: %s failed: %s", action, describe_error(error))
        raise CarrierError(f"Twilio: {action} failed: {describe_error(error)}") from error


class TwilioGateway(Gateway):
    """Outbound calls and SMS through `twilio.rest.Client`."""

    carrier = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        http_client: HttpClient | None = None,
    ) -> None:
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number

    def place_call(
        self,
        to: str,
        url: str,
        *,
        from_: str | None = None,
        status_callback: str | None = None,
        timeout: int = 20,
    ) -> str:
        """Create a call with the Calls resource and return its CallSid."""
        options = {}
        if status_callback:
            options = {
                "status_callback": status_callback,
                "status_callback_method": "POST",
                "status_callback_event": list(STATUS_CALLBACK_EVENTS),
            }
        with carrier_errors(f"call to {to}"):
            call = self.client.calls.create(
                to=to,
                from_=from_ or self.from_number,
                url=url,
                method="POST",
                timeout=timeout,
                **options,
            )
        log.info("placed call %s to %s", call.sid, to)
        return call.sid

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Point a live call at new TwiML (`calls(sid).update(url=...)`)."""
        with carrier_errors(f"redirect of {call_sid}"):
            self.client.calls(call_sid).update(url=url, method="POST")

    def hangup(self, call_sid: str) -> None:
        """End a live call (`calls(sid).update(status="completed")`)."""
        with carrier_errors(f"hang-up of {call_sid}"):
            self.client.calls(call_sid).update(status="completed")

    def call_status(self, call_sid: str) -> str:
        """Return the call's status as Twilio has it (`calls(sid).fetch().status`)."""
        with carrier_errors(f"status of {call_sid}"):
            return str(self.client.calls(call_sid).fetch().status)

    def delete_recording(self, recording_url: str) -> None:
        """Delete the recording the URL names (`recordings(sid).delete()`)."""
        match = re.search(r"/Recordings/(RE[0-9a-fA-F]{32})", recording_url)
        if match is None:
            raise ValueError(f"not a Twilio recording URL: {recording_url}")
        with carrier_errors(f"deletion of recording {match.group(1)}"):
            self.client.recordings(match.group(1)).delete()

    def _deliver(self, message: OutboundMessage) -> None:
        """Create the message with the Messages resource; `SmsNotTaken` when Twilio did not."""
        try:
            sent = self.client.messages.create(
                to=message.to_number, from_=self.from_number, body=message.body
            )
        except (TwilioException, requests.RequestException) as error:
            raise SmsNotTaken(describe_error(error), permanent=is_refusal(error)) from error
        message.provider_sid = sent.sid
        message.status = sent.status or "queued"


def is_refusal(error: Exception) -> bool:
    """Tell whether Twilio refused a request for good (a 4xx answer such as 21211 "invalid To").

    Network failures, 5xx answers and 429 (too many requests) pass: trying again may work.
    """
    if not isinstance(error, TwilioRestException) or error.status is None:
        return False
    return 400 <= error.status < 500 and error.status != 429
