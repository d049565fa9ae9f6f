"""The console's shifts and queue: who is on shift, the waiting calls, taking and giving back."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import Event, User
from hotline.caller_id import is_hidden
from hotline.console import floor
from hotline.models import (
    Appeal,
    AppealStatus,
    Call,
    OperatorShift,
)

log = logging.getLogger(__name__)


#: Statuses of appeals still open for the control list.
OPEN_STATUSES = (
    AppealStatus.ROUTING,
    AppealStatus.IN_WORK,
    AppealStatus.MISSED,
    AppealStatus.REOPENED,
)


HISTORY_LIMIT = 10


class ConsoleError(ValueError):
    """An action the console cannot do as asked; `str()` is a code the view translates."""


def current_shift(user: User) -> OperatorShift | None:
    """Return the operator's open shift."""
    return db.session.scalar(
        select(OperatorShift).where(
            OperatorShift.user_id == user.id, OperatorShift.ended_at.is_(None)
        )
    )


def start_shift(user: User, endpoint: str, ready: bool = False) -> OperatorShift:
    """Open the operator's shift with the endpoint their calls ring (one open shift at a time).

    A `ready` operator is offered waiting calls at once; otherwise she starts on a break.
    """
    shift = current_shift(user)
    if shift is not None:
        shift.endpoint = endpoint
    else:
        shift = OperatorShift(user_id=user.id, endpoint=endpoint, started_at=utcnow())
        db.session.add(shift)
    db.session.flush()
    record_event("user", user.id, "operator.shift-started", {"endpoint": endpoint}, actor=user)
    floor.go_on_shift(user, ready)
    log.info("operator %s on shift at %s", user.username, endpoint)
    return shift


def end_shift(user: User) -> bool:
    """Close the operator's open shift; return whether there was one."""
    shift = current_shift(user)
    if shift is None:
        return False
    shift.ended_at = utcnow()
    record_event("user", user.id, "operator.shift-ended", {"shift": shift.id}, actor=user)
    floor.go_offline(user)
    db.session.flush()
    log.info("operator %s off shift", user.username)
    return True


def _waiting():
    return select(Call).where(
        Call.queued_at.is_not(None),
        Call.operator_id.is_(None),
        Call.left_queue_at.is_(None),
        Call.ended_at.is_(None),
        Call.outcome.is_(None),
    )


@dataclass
class QueueEntry:
    call: Call
    position: int
    waited_seconds: int
    caller_name: str | None
    open_appeals: list[Appeal] = field(default_factory=list)


def waiting_calls(now: datetime | None = None) -> list[QueueEntry]:
    """Return the calls waiting for an operator, oldest first, with what is known of the caller."""
    now = now or utcnow()
    calls = db.session.scalars(_waiting().order_by(Call.queued_at, Call.id).limit(100)).all()
    numbers = {call.from_number for call in calls if not is_hidden(call.from_number)}
    names, open_appeals = _known_callers(numbers)
    return [
        QueueEntry(
            call=call,
            position=index,
            waited_seconds=max(0, int((now - call.queued_at).total_seconds())),
            caller_name=names.get(call.from_number),
            open_appeals=open_appeals.get(call.from_number, [])[:HISTORY_LIMIT],
        )
        for index, call in enumerate(calls, start=1)
    ]


def _known_callers(numbers: set[str]) -> tuple[dict[str, str], dict[str, list[Appeal]]]:
    """Return the last name each number gave and its open appeals, in two queries for all."""
    if not numbers:
        return {}, {}
    names: dict[str, str] = {}
    for number, name in db.session.execute(
        select(Appeal.caller_number, Appeal.caller_name)
        .where(Appeal.caller_number.in_(numbers), Appeal.caller_name.is_not(None))
        .order_by(Appeal.created_at.desc())
    ):
        names.setdefault(number, name)
    open_appeals: dict[str, list[Appeal]] = {}
    for appeal in db.session.scalars(
        select(Appeal)
        .where(Appeal.caller_number.in_(numbers), Appeal.status.in_(OPEN_STATUSES))
        .order_by(Appeal.created_at.desc())
    ):
        open_appeals.setdefault(appeal.caller_number, []).append(appeal)
    return names, open_appeals


def known_caller_name(number: str) -> str | None:
    """Return the name the caller gave last time, if any (none for a hidden caller ID)."""
    if is_hidden(number):
        return None
    return db.session.scalar(
        select(Appeal.caller_name)
        .where(Appeal.caller_number == number, Appeal.caller_name.is_not(None))
        .order_by(Appeal.created_at.desc())
        .limit(1)
    )


def open_appeals_of(number: str) -> list[Appeal]:
    """Return the caller's appeals that are still open."""
    return db.session.scalars(
        select(Appeal)
        .where(Appeal.caller_number == number, Appeal.status.in_(OPEN_STATUSES))
        .order_by(Appeal.created_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()


def take_call(call: Call, user: User) -> bool:
    """Give a waiting call to the operator; return False when it is no longer waiting."""
    taken = db.session.execute(
        update(Call)
        .where(
            Call.id == call.id,
            Call.operator_id.is_(None),
            Call.queued_at.is_not(None),
            Call.left_queue_at.is_(None),
            Call.ended_at.is_(None),
            Call.outcome.is_(None),
        )
        .values(operator_id=user.id)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if taken:
        record_event("call", call.id, "call.taken", {"operator": user.username}, actor=user)
        floor.note_taken(call, user)
        log.info("call %s taken by %s", call.call_sid, user.username)
    return bool(taken)


def take_next_call(user: User) -> Call | None:
    """Give the operator the call that has waited longest."""
    for call in db.session.scalars(_waiting().order_by(Call.queued_at, Call.id).limit(5)):
        if take_call(call, user):
            return call
    return None


def active_call(user: User) -> Call | None:
    """Return the call the operator is handling now (taken and not wrapped up)."""
    return db.session.scalar(
        select(Call)
        .where(Call.operator_id == user.id, Call.wrapped_up_at.is_(None))
        .order_by(Call.id.desc())
        .limit(1)
    )


def operator_endpoint(call: Call) -> str | None:
    """Return the endpoint of the open shift of the operator who took the call."""
    if call.operator_id is None:
        return None
    return db.session.scalar(
        select(OperatorShift.endpoint).where(
            OperatorShift.user_id == call.operator_id, OperatorShift.ended_at.is_(None)
        )
    )


def mark_operator_answered(call: Call) -> None:
    """Note that the operator's endpoint answered and was bridged to the caller (once)."""
    if call.operator_answered_at is None:
        call.operator_answered_at = utcnow()
        record_event("call", call.id, "call.operator-answered", actor_label="carrier")
    floor.note_answered(call)  # also the operator a call was transferred to


def return_to_queue(call: Call, dial_status: str) -> None:
    """The operator's endpoint did not answer: the call waits for an operator again."""
    if call.operator_answered_at is not None or call.operator_id is None:
        return
    record_event(
        "call",
        call.id,
        "call.operator-missed",
        {"operator_id": call.operator_id, "status": dial_status},
        actor_label="carrier",
    )
    floor.note_missed(call, call.operator_id)
    call.operator_id = None


@dataclass
class CallLeft:
    """Why a call the operator took is no longer hers, and where it is now."""

    #: The dial status of her phone's leg (`no-answer`, `busy`, `failed`...) or `no-shift`.
    why: str
    #: `waiting` (back in the queue), `taken` (by another operator) or `ended`.
    now: str


def call_left(call: Call, user: User) -> CallLeft | None:
    """Return why a call went back to the queue from this operator, or None if it never did."""
    missed = db.session.scalars(
        select(Event)
        .where(
            Event.subject_type == "call",
            Event.subject_id == str(call.id),
            Event.verb == "call.operator-missed",
        )
        .order_by(Event.id.desc())
    ).all()
    mine = next((event for event in missed if event.data.get("operator_id") == user.id), None)
    if mine is None:
        return None
    if call.operator_id is not None:
        now = "taken"
    elif call.ended_at is not None or call.outcome is not None:
        now = "ended"
    else:
        now = "waiting"
    return CallLeft(why=mine.data.get("status") or "failed", now=now)


def release_call(call: Call) -> None:
    """Give back a taken call its operator was never put through to: it waits in the queue again."""
    if call.operator_answered_at is None and call.operator_id is not None:
        floor.withdraw_offer(call, call.operator_id)
        db.session.flush()


#: The handle time assumed when no call was handled in the last hour.
DEFAULT_HANDLE_SECONDS = 180


def estimated_wait_seconds(position: int, now: datetime | None = None) -> int:
    """Estimate a caller's wait from their place, the last hour's handle times and the staff."""
    now = now or utcnow()
    handled = db.session.execute(
        select(Call.operator_answered_at, Call.wrapped_up_at).where(
            Call.wrapped_up_at >= now - timedelta(hours=1), Call.operator_answered_at.is_not(None)
        )
    ).all()
    times = [(wrapped - answered).total_seconds() for answered, wrapped in handled]
    handle = sum(times) / len(times) if times else DEFAULT_HANDLE_SECONDS
    staffed = sum(count for state, count in floor.floor_counts().items() if state != floor.BREAK)
    return int(position * handle / max(staffed, 1))


def request_callback(call: Call) -> bool:
    """Note that the waiting caller asked to be rung back in their place; False if not waiting."""
    if call.operator_id is not None or call.outcome is not None or call.ended_at is not None:
        return False
    call.callback_requested_at = utcnow()
    record_event("call", call.id, "call.callback-requested", {}, actor_label="caller")
    db.session.flush()
    log.info("call %s: the caller keeps their place for a callback", call.call_sid)
    return True


#: A caller who hung up after waiting longer than this is on the "call back" list.
ABANDONED_AFTER_SECONDS = 10


@dataclass
class AbandonedCall:
    call: Call
    waited_seconds: int


def abandoned_to_call_back(now: datetime | None = None, hours: int = 24) -> list[AbandonedCall]:
    """Return the callers who hung up after waiting over 10 s and were not answered since."""
    now = now or utcnow()
    calls = db.session.scalars(
        select(Call)
        .where(
            Call.queued_at >= now - timedelta(hours=hours),
            Call.outcome == "abandoned",
            Call.operator_answered_at.is_(None),
            Call.ended_at.is_not(None),
        )
        .order_by(Call.queued_at.desc())
        .limit(300)
    ).all()
    numbers = {call.from_number for call in calls if not is_hidden(call.from_number)}
    answered_later = dict(
        db.session.execute(
            select(Call.from_number, func.max(Call.queued_at))
            .where(Call.from_number.in_(numbers), Call.operator_answered_at.is_not(None))
            .group_by(Call.from_number)
        ).all()
    )
    listed = []
    for call in calls:
        waited = int((call.ended_at - call.queued_at).total_seconds())
        reached = answered_later.get(call.from_number)
        if waited > ABANDONED_AFTER_SECONDS and (reached is None or reached < call.queued_at):
            listed.append(AbandonedCall(call, waited))
    return listed


def transfer_to_operator(call: Call, user: User, target: User) -> bool:
    """Hand the call over to a ready operator (one atomic step); False when she is not ready."""
    if target.id == user.id or not floor.change_state(
        target.id, floor.OFFERED, call_id=call.id, expect=(floor.READY,), actor=user
    ):
        return False
    floor.note_wrapping_up(call, user.id)
    call.operator_id = target.id
    record_event(
        "call",
        call.id,
        "call.transferred",
        {"kind": "operator", "to": target.username, "mode": "cold"},
        actor=user,
    )
    db.session.flush()
    return True


def transfer_to_number(call: Call, user: User, number: str) -> None:
    """Note that the operator sends the caller to another number; her work on the call ends."""
    record_event(
        "call",
        call.id,
        "call.transferred",
        {"kind": "number", "to": number, "mode": "cold"},
        actor=user,
    )
    floor.note_wrapping_up(call, user.id)
    call.wrapped_up_at = call.wrapped_up_at or utcnow()
    db.session.flush()
