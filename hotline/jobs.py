"""Hotline jobs."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select

from core.clock import utcnow
from core.events import has_event, record_event
from core.extensions import db
from core.telephony import CallUnknown, CarrierError, get_gateway
from hotline.appeals import REGISTRATION_SMS, registration_sms_purpose
from hotline.calls import lock_call
from hotline.endings import finalise_from_carrier
from hotline.models import Appeal, Call, DialAttempt
from hotline.prompts import prompt

log = logging.getLogger(__name__)

#: A call still not ended this long after it came in has lost its end: longer than any
#: duty chain with a voice message.
UNFINISHED_CALL_AGE = timedelta(minutes=15)
#: An official rung this long ago with no dial result is looked at (left alone while the call
#: is live: an accepted conversation may last).
UNFINISHED_ATTEMPT_AGE = timedelta(minutes=5)
#: A call not ended this long after it came in is asked about each sweep: one its carrier no
#: longer knows (restarted, or lost it) is over and is finished then, whatever its age.
UNKNOWN_CALL_AGE = timedelta(seconds=30)
#: Calls one reconciliation sweep asks the carrier about, newest first.
RECONCILE_BATCH = 200


def send_registration_sms(appeal_id: int) -> None:
    """Send the caller the registration number of their appeal, noted on its timeline (once)."""
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None or not appeal.caller_number:
        return
    message = get_gateway().send_sms(
        appeal.caller_number,
        prompt("sms_registered", number=appeal.number),
        purpose=registration_sms_purpose(appeal.id),
    )
    if not has_event("appeal", appeal.id, REGISTRATION_SMS):  # a job run again notes it once
        record_event(
            "appeal", appeal.id, REGISTRATION_SMS, {"sms": [message.id]}, actor_label="worker"
        )
    db.session.commit()


def unfinished_calls(now: datetime | None = None) -> list[tuple[int, str, bool]]:
    """Return (id, CallSid, due) of the calls not finished; `due`: they should be over by now.

    A call that is not due is finished only if the carrier no longer knows it.
    """
    now = now or utcnow()
    stale_attempts = select(DialAttempt.call_id).where(
        DialAttempt.outcome.is_(None), DialAttempt.started_at < now - UNFINISHED_ATTEMPT_AGE
    )
    due = or_(
        (Call.ended_at.is_(None)) & (Call.created_at < now - UNFINISHED_CALL_AGE),
        Call.id.in_(stale_attempts),
    )
    query = (
        select(Call.id, Call.call_sid, case((due, True), else_=False))
        .where(or_(due, (Call.ended_at.is_(None)) & (Call.created_at < now - UNKNOWN_CALL_AGE)))
        .order_by(Call.id.desc())
        .limit(RECONCILE_BATCH)
    )
    return [(call_id, sid, bool(due)) for call_id, sid, due in db.session.execute(query)]


def reconcile_calls() -> int:
    """Finish the calls whose end was lost, from the status the carrier reports for each.

    A call the carrier no longer knows is over (it restarted, or lost the call); one it reports
    live is left alone; one it cannot tell about waits for the next sweep. A call that may
    still be going on by the clock is finished only when unknown. Returns how many were.
    """
    calls = unfinished_calls()
    db.session.commit()
    gateway = get_gateway()
    finalised = 0
    for call_id, call_sid, due in calls:
        unknown = False
        try:
            status = gateway.call_status(call_sid)
        except CallUnknown:
            status, unknown = "completed", True
        except CarrierError as error:
            log.warning("call %s left for the next sweep: %s", call_sid, error)
            continue
        if not (due or unknown):
            continue
        call = lock_call(call_id)
        if call is not None and finalise_from_carrier(call, status, unknown=unknown):
            finalised += 1
        db.session.commit()
    if finalised:
        log.info("call reconciliation: %d calls finalised from the carrier's status", finalised)
    return finalised
