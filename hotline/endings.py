"""The call's end: status callbacks, and what a hang-up or a lost end leaves open is closed."""

import logging

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.rows import row_update, write_row
from hotline.calls import FINAL_STATUSES, set_call_outcome
from hotline.chain import exhaust_chain, finish_attempt
from hotline.models import (
    AttemptOutcome,
    Call,
    CallOutcome,
)

log = logging.getLogger(__name__)

_calls = Call.__table__
_CALL_STATUS = row_update(_calls, ("status", "status_sequence"))
_CALL_ENDED = row_update(_calls, ("status", "status_sequence", "ended_at"))


def apply_status(call: Call, status: str, sequence: int | None) -> None:
    """Apply a status callback, ignoring ones that arrive late or twice."""
    sequence = -1 if sequence is None else sequence
    if sequence <= call.status_sequence and sequence != -1:
        return
    if call.status in FINAL_STATUSES and status not in FINAL_STATUSES:
        return  # an earlier event arriving after the end
    sequence = max(sequence, call.status_sequence)
    if status not in FINAL_STATUSES or call.ended_at is not None:
        write_row(call, _CALL_STATUS, status=status, status_sequence=sequence)
        return
    write_row(call, _CALL_ENDED, status=status, status_sequence=sequence, ended_at=utcnow())
    finalise_ended_call(call)


def finalise_ended_call(call: Call) -> None:
    """Close what the caller's hang-up left open: a ringing attempt, or a call never routed."""
    if call.outcome is not None or call.callback_requested_at is not None:
        return  # a caller who asked to be rung back keeps their place in the queue
    if call.served_appeal is None and call.operator_answered_at is not None:
        if set_call_outcome(call, CallOutcome.HANDLED):
            record_event("call", call.id, "call.handled", actor_label="carrier")
        return
    if call.served_appeal is None:
        if set_call_outcome(call, CallOutcome.ABANDONED):
            record_event("call", call.id, "call.abandoned", actor_label="carrier")
        return
    for attempt in call.attempts:
        if attempt.outcome is None:
            finish_attempt(attempt, None, None, None, outcome=AttemptOutcome.CALLER_HUNG_UP)
    exhaust_chain(call)


def finalise_from_carrier(call: Call, carrier_status: str, unknown: bool = False) -> bool:
    """Finish a call whose end was never recorded, from the status the carrier reports now.

    The call is closed as the completed status callback would have closed it, and an attempt
    whose dial result never came is closed too; `unknown`: the carrier no longer knows the
    call (noted on the timeline). Returns False, changing nothing, when the carrier reports
    the call live or nothing is left open.
    """
    if carrier_status not in FINAL_STATUSES:
        return False
    open_attempts = [attempt for attempt in call.attempts if attempt.outcome is None]
    if call.ended_at is not None and call.outcome is not None and not open_attempts:
        return False
    if call.ended_at is None:
        apply_status(call, carrier_status, None)
    else:
        finalise_ended_call(call)
    for attempt in call.attempts:
        if attempt.outcome is not None:  # closed above, by the call's end
            continue
        outcome = AttemptOutcome.ACCEPTED if attempt.key_pressed else AttemptOutcome.CALLER_HUNG_UP
        finish_attempt(attempt, None, None, None, outcome=outcome)
    record_event(
        "call",
        call.id,
        "call.finalised-from-carrier",
        {"status": carrier_status, "outcome": call.outcome, "unknown": unknown},
        actor_label="system",
    )
    log.info(
        "call %s finalised from the carrier's status %s%s",
        call.call_sid,
        carrier_status,
        " (unknown to the carrier)" if unknown else "",
    )
    db.session.flush()
    return True
