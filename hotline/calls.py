"""Calls as the carrier reports them: lookup, the incoming call, refusals, the operators' queue."""

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, bindparam, func
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.rows import insert_loaded, row_update, write_row
from hotline.caller_id import is_hidden, stored_number
from hotline.models import (
    BlockedNumber,
    Call,
    CallOutcome,
    OperatorShift,
)
from roster.models import Municipality

log = logging.getLogger(__name__)


#: Twilio statuses after which a call is over.
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


#: What the voice flow reads of a call besides its row, loaded with it.
_WITH_CHAIN = (joinedload(Call.attempts), joinedload(Call.appeal))


# The statements every webhook runs are built once: building one costs more than running it.
_CALL_BY_SID = db.select(Call).where(Call.call_sid == bindparam("call_sid"))


_CALL_BY_SID_WITH_CHAIN = _CALL_BY_SID.options(*_WITH_CHAIN)


_CALL_WITH_CHAIN = db.select(Call).where(Call.id == bindparam("call_id")).options(*_WITH_CHAIN)


def find_call(call_sid: str, *, with_chain: bool = False) -> Call | None:
    """Return the call with this CallSid (`with_chain`: and its attempts and appeal, joined)."""
    query = _CALL_BY_SID_WITH_CHAIN if with_chain else _CALL_BY_SID
    return db.session.scalars(query, {"call_sid": call_sid}).unique().first()


def load_call(call_id: int) -> Call | None:
    """Return the call with its dial attempts and appeal, in one query (every chain webhook)."""
    return db.session.scalars(_CALL_WITH_CHAIN, {"call_id": call_id}).unique().first()


def lock_call(call_id: int) -> Call | None:
    """Return the call with its attempts and appeal as stored now, its row locked until commit."""
    query = (
        db.select(Call)
        .where(Call.id == call_id)
        .options(*_WITH_CHAIN)
        .with_for_update(of=Call)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(query).unique().first()


def record_incoming_call(
    call_sid: str, from_number: str, to_number: str
) -> tuple[Call, Municipality | None]:
    """Register an incoming call once per CallSid (Twilio may post the webhook again).

    A `From` that is no number to call back (withheld, `client:`, `sip:`) is kept as
    `anonymous`; the timeline keeps what the carrier sent. Returns the call and, for a
    municipality's own duty number, that municipality.
    """
    duty_place = municipality_by_duty_number(to_number)
    call = find_call(call_sid)
    if call is not None:
        return call, duty_place
    number = stored_number(from_number)
    call = insert_loaded(
        Call,
        unless_exists="call_sid",
        call_sid=call_sid,
        from_number=number,
        to_number=to_number,
        entry="duty-number" if duty_place else "governor",
        municipality_id=duty_place.id if duty_place else None,
    )
    if call is None:  # a concurrent copy of the webhook stored it first: answer as it did
        return find_call(call_sid), duty_place
    set_committed_value(call, "attempts", [])  # a new call has none: no query to find out
    set_committed_value(call, "appeal", None)
    record_event(
        "call",
        call.id,
        "call.received",
        {"from": from_number[:200], "to": to_number, "hidden": is_hidden(number)},
        actor_label="carrier",
    )
    log.info("call %s from %s to %s", call_sid, number, to_number)
    return call, duty_place


_MUNICIPALITY_BY_DUTY_NUMBER = db.select(Municipality).where(
    Municipality.duty_number == bindparam("number")
)


def municipality_by_duty_number(number: str) -> Municipality | None:
    """Return the municipality whose own duty number this is."""
    return db.session.scalar(_MUNICIPALITY_BY_DUTY_NUMBER, {"number": number})


# the pattern's wildcards `*` and `?` are LIKE's `%` and `_`
_BLOCKED = db.select(BlockedNumber.id).where(
    bindparam("from_number", type_=String).like(
        func.replace(func.replace(BlockedNumber.pattern, "*", "%"), "?", "_")
    )
)


_RECENT_CALLS = db.select(func.count(Call.id)).where(
    Call.from_number == bindparam("from_number"),
    Call.created_at >= bindparam("since"),
    Call.id <= bindparam("call_id"),
)


_REFUSAL_FACTS = db.select(_BLOCKED.exists(), _RECENT_CALLS.scalar_subquery())


def refusal_reason(call: Call, now: datetime | None = None) -> str | None:
    """Return `blocked` or `rate-limited` when the caller gets a polite refusal, else None.

    Hidden callers are not counted together: one CallSid is all that tells them apart, so the
    rate limit does not apply to them (a blocked pattern still may).
    """
    limit, window = current_app.config["CALLER_RATE_LIMIT"]
    since = (now or utcnow()) - timedelta(seconds=window)
    with db.session.no_autoflush:  # the call is stored; its pending event changes nothing here
        is_blocked, recent_calls = db.session.execute(
            _REFUSAL_FACTS, {"from_number": call.from_number, "since": since, "call_id": call.id}
        ).one()
    if is_blocked:
        return "blocked"
    if is_hidden(call.from_number):
        return None
    return "rate-limited" if recent_calls > limit else None


def refuse_call(call: Call, reason: str) -> None:
    """Mark the call refused and note why."""
    if set_call_outcome(call, CallOutcome.REFUSED):
        record_event("call", call.id, "call.refused", {"reason": reason}, actor_label="system")


def operators_on_shift() -> int:
    """Return how many operators are on shift in the console now."""
    return db.session.scalar(
        db.select(func.count(OperatorShift.id)).where(OperatorShift.ended_at.is_(None))
    )


def enter_operators_queue(call: Call) -> None:
    """Note when the call entered the operators' queue (once)."""
    if call.queued_at is None:
        call.queued_at = utcnow()
        record_event("call", call.id, "call.queued", actor_label="carrier")


def leave_operators_queue(call: Call) -> None:
    """Note that the caller left the operators' queue for the voice menu."""
    if call.queued_at is not None and call.left_queue_at is None and call.operator_id is None:
        call.left_queue_at = utcnow()
        record_event("call", call.id, "call.left-queue", actor_label="carrier")


# Prebuilt updates (core.rows): the guarded one applies only while the call has no outcome, so a
# retried webhook changes nothing.
_calls = Call.__table__


_SET_CALL_OUTCOME = row_update(_calls, ("outcome",), _calls.c.outcome.is_(None))


def set_call_outcome(call: Call, outcome: str) -> bool:
    """Set the call's outcome if it has none yet; return whether this request set it."""
    return write_row(call, _SET_CALL_OUTCOME, outcome=outcome)
