"""The telephony gateway interface: outbound calls, SMS, redirects, hang-ups and call status."""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from flask import Response, current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.extensions import db
from core.models import SMS_FAILED, SMS_PENDING, SMS_RETRYING, SMS_SENDING, OutboundMessage
from core.queue import enqueue_after_commit

log = logging.getLogger(__name__)

#: The job that makes a stored SMS's due attempt (`core.telephony.jobs.deliver_sms`).
DELIVER_SMS_JOB = "core.telephony.jobs.deliver_sms"
#: The job that makes the due first attempts of a batch of stored SMS, one message at a time.
DELIVER_SMS_BATCH_JOB = "core.telephony.jobs.deliver_sms_batch"


def sms_job_id(message_id: int, attempt: int) -> str:
    """Return the job id of a message's attempt number `attempt` (one job per attempt)."""
    return f"sms-{message_id}-attempt-{attempt}"


#: Call progress events requested for outbound calls (both gateways ask for the same).
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")


def sms_retry_delays() -> list[timedelta]:
    """Return the waits before the second, third, ... try of an SMS the carrier did not take.

    They come from the `SMS_RETRY_DELAYS` setting; the try after the last wait is the last one.
    """
    return [timedelta(seconds=seconds) for seconds in current_app.config["SMS_RETRY_DELAYS"]]


def sms_max_attempts() -> int:
    """Return how many times an SMS is offered to the carrier before it is given up."""
    return len(current_app.config["SMS_RETRY_DELAYS"]) + 1


#: How long an SMS whose request timed out waits for a delivery receipt before it is tried
#: again: the carrier may have taken it, and then its receipt arrives within seconds.
RECEIPT_WAIT = timedelta(minutes=2)

#: States of a stored SMS whose next attempt a job makes once `next_attempt_at` is due.
DUE_STATES = (SMS_PENDING, SMS_RETRYING)

#: How long a worker may take to hand an SMS over before the message is given up as unknown.
SENDING_LIMIT = timedelta(minutes=10)


def recording_sid(recording_url: str) -> str:
    """Return the RecordingSid (`RE…`) a carrier's recording URL names; ValueError if none."""
    match = re.search(r"/Recordings/(RE[0-9A-Za-z]+)", recording_url)
    if match is None:
        raise ValueError(f"not a recording URL: {recording_url}")
    return match.group(1)


class RecordingGone(Exception):
    """The carrier no longer has the recording (deleted, or never kept)."""


#: Kinds of carrier failure; only a refusal is final, the others may pass if tried again.
REFUSED, THROTTLED, CARRIER_FAILURE, TIMEOUT, UNREACHABLE = (
    "refused",
    "throttled",
    "failure",
    "timeout",
    "unreachable",
)

#: The longest wait a carrier's `Retry-After` may add before an SMS is tried again.
LONGEST_RETRY_AFTER = timedelta(hours=1)


class CarrierError(Exception):
    """The carrier refused a request or could not be reached: the call action did not happen.

    `kind` is one of REFUSED, THROTTLED, CARRIER_FAILURE, TIMEOUT, UNREACHABLE; `code` the
    carrier's error code (Twilio's 21211 …); `retry_after` the wait the carrier asked for.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = UNREACHABLE,
        code: int | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        """Trying again cannot help (an invalid number, a number that refuses messages)."""
        return self.kind == REFUSED


class CallUnknown(CarrierError):
    """The carrier does not know the call (404): it is over, e.g. the carrier restarted."""


class SmsNotTaken(Exception):
    """The carrier did not take an SMS; `permanent` when sending it again cannot help."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: timedelta | None = None,
        may_have_arrived: bool = False,
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after
        #: The request reached the carrier but its answer did not come back (a read timeout):
        #: the SMS may be on its way, and its receipt would say so.
        self.may_have_arrived = may_have_arrived


@dataclass(frozen=True)
class CallRequest:
    """An outbound call as every gateway places it: whom to ring, the TwiML to run, and how."""

    to: str
    url: str
    from_: str
    status_callback: str | None = None
    #: Seconds the phone rings before the call ends unanswered.
    timeout: int = 20
    machine_detection: bool = True


class Gateway:
    """What the product may ask a carrier to do; one subclass per carrier."""

    #: Stored in `OutboundMessage.carrier`.
    carrier = "none"

    #: The app's number calls and SMS come from (set by each gateway).
    from_number: str = ""

    def place_call(
        self,
        to: str,
        url: str,
        *,
        from_: str | None = None,
        status_callback: str | None = None,
        timeout: int = CallRequest.timeout,
        machine_detection: bool = CallRequest.machine_detection,
    ) -> str:
        """Ring `to` and run the TwiML at the absolute `url` once answered; return the CallSid.

        `machine_detection`: the carrier tells the TwiML request who answered (`AnsweredBy`:
        `human`, `machine_start`, `machine_end_beep`, `fax`...), so a voicemail is known as such.

        Every call action raises `CarrierError` when the carrier refuses it or is unreachable.
        """
        call = CallRequest(
            to, url, from_ or self.from_number, status_callback, timeout, machine_detection
        )
        sid = self._place_call(call)
        log.info("placed call %s to %s", sid, to)
        return sid

    def _place_call(self, call: CallRequest) -> str:
        """Hand the call to the carrier; return the CallSid it assigned."""
        raise NotImplementedError

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Move a live call to the TwiML at the absolute `url`."""
        raise NotImplementedError

    def hangup(self, call_sid: str) -> None:
        """End a live call."""
        raise NotImplementedError

    def call_status(self, call_sid: str) -> str:
        """Return the carrier's CallStatus of a call: `queued`, `ringing`, `in-progress`,
        `completed`, `busy`, `failed`, `no-answer` or `canceled`; `CallUnknown` when the
        carrier does not know the call, another `CarrierError` when it cannot tell.
        """
        raise NotImplementedError

    def delete_recording(self, recording_url: str) -> None:
        """Delete a voice recording at the carrier and any local copy; gone already is fine."""
        raise NotImplementedError

    def recording_response(self, recording_url: str) -> Response:
        """Return the audio of a recording for the current request; its `Range` gets a 206.

        Raises `RecordingGone` when the carrier has no such recording, `CarrierError` when it
        cannot be reached or refuses.
        """
        raise NotImplementedError

    def send_sms(self, to: str, body: str, *, purpose: str | None = None) -> OutboundMessage:
        """Store an SMS once per `purpose`, to be sent by a job once the caller commits; flush.

        Nothing goes to the carrier inside the caller's transaction: a rollback drops the
        message with the rest, and a commit that fails after the carrier took it cannot
        make it go out twice.
        """
        if purpose is not None:
            existing = _message_for(purpose)
            if existing is not None:
                return existing
        message = OutboundMessage(
            to_number=to,
            body=body,
            carrier=self.carrier,
            purpose=purpose,
            status=SMS_PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
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
        enqueue_after_commit(DELIVER_SMS_JOB, message.id, job_id=sms_job_id(message.id, 1))
        return message

    def send_sms_many(self, messages: list[tuple[str, str, str]]) -> dict[str, int]:
        """Store (to, body, purpose) SMS in one INSERT, sent by one batch job after the commit.

        Returns the message id of each purpose. For work that claimed its rows, so none of
        these purposes is stored yet: one that is raises `IntegrityError`, and the caller's
        batch rolls back whole. Each message still leaves alone, with its own retries.
        """
        if not messages:
            return {}
        moment = utcnow()
        table = OutboundMessage.__table__
        rows = [
            {
                "to_number": to,
                "body": body,
                "carrier": self.carrier,
                "purpose": purpose,
                "status": SMS_PENDING,
                "attempts": 0,
                "next_attempt_at": moment,
                "created_at": moment,
            }
            for to, body, purpose in messages
        ]
        stored = db.session.execute(
            insert(table).returning(table.c.id, table.c.purpose), rows
        ).all()
        ids = {purpose: message_id for message_id, purpose in stored}
        first = min(ids.values())
        enqueue_after_commit(
            DELIVER_SMS_BATCH_JOB,
            sorted(ids.values()),
            job_id=f"sms-batch-{first}-{len(ids)}",
        )
        return ids

    def deliver_due_sms(self, message: OutboundMessage) -> bool:
        """Make the due attempt of a stored SMS in transactions of its own; False if none.

        The attempt is claimed and committed before the carrier is asked, so a worker that
        dies mid-request leaves the message `sending` (given up as `unknown` by the sweep),
        never sent again; the carrier's answer is committed right after.
        """
        if message.status not in DUE_STATES or message.next_attempt_at > utcnow():
            return False
        claimed = db.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message.id,
                OutboundMessage.status == message.status,
                OutboundMessage.attempts == message.attempts,
            )
            .values(
                attempts=message.attempts + 1,
                status=SMS_SENDING,
                next_attempt_at=utcnow() + SENDING_LIMIT,
                carrier=self.carrier,
            )
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            return False
        db.session.commit()
        self._attempt(message)
        db.session.commit()
        return True

    def _attempt(self, message: OutboundMessage) -> None:
        """Hand the message to the carrier; when it is not taken, schedule a retry or give up."""
        try:
            self._deliver(message)
        except SmsNotTaken as error:
            self._not_taken(message, error)
        else:
            self._taken(message)
            log.info(
                "sms %s to %s: %s (attempt %d)",
                message.provider_sid,
                message.to_number,
                message.status,
                message.attempts,
            )
        db.session.flush()
        if message.retrying:
            enqueue_after_commit(
                DELIVER_SMS_JOB,
                message.id,
                job_id=sms_job_id(message.id, message.attempts + 1),
                at=message.next_attempt_at,
            )

    def _taken(self, message: OutboundMessage) -> None:
        """Keep what the carrier answered, unless its delivery receipt came in first."""
        provider_sid, status = message.provider_sid, message.status
        db.session.refresh(message, with_for_update=True)
        message.next_attempt_at = None
        message.provider_sid = message.provider_sid or provider_sid
        if message.status == SMS_SENDING:
            message.status = status

    def _not_taken(self, message: OutboundMessage, error: SmsNotTaken) -> None:
        """Record why the carrier did not take the message, and whether it is tried again."""
        message.provider_sid = None
        message.last_error = str(error)[:300]
        if error.permanent or message.attempts >= sms_max_attempts():
            message.status, message.next_attempt_at = SMS_FAILED, None
            why = "refused for good" if error.permanent else "last attempt"
            log.warning(
                "%s did not take the sms to %s (attempt %d, %s): %s",
                self.carrier,
                message.to_number,
                message.attempts,
                why,
                message.last_error,
            )
            return
        message.status = SMS_RETRYING
        delay = sms_retry_delays()[message.attempts - 1]
        if error.retry_after is not None:  # the carrier asked to wait (429 `Retry-After`)
            delay = max(delay, min(error.retry_after, LONGEST_RETRY_AFTER))
        if error.may_have_arrived:  # a receipt in the meantime means it went out: no new try
            delay = max(delay, RECEIPT_WAIT)
        message.next_attempt_at = utcnow() + delay
        log.warning(
            "%s did not take the sms to %s (attempt %d of %d, next at %s): %s",
            self.carrier,
            message.to_number,
            message.attempts,
            sms_max_attempts(),
            message.next_attempt_at.isoformat(timespec="seconds"),
            message.last_error,
        )

    def _deliver(self, message: OutboundMessage) -> None:
        """Hand a recorded message to the carrier and set its status and provider id.

        Raises `SmsNotTaken` when the carrier refuses the message or cannot be reached.
        """
        raise NotImplementedError


def _message_for(purpose: str) -> OutboundMessage | None:
    return db.session.scalar(select(OutboundMessage).where(OutboundMessage.purpose == purpose))
