"""The operators' floor: each operator's state with its history, and offering waiting calls.

Every change of state is one conditional UPDATE of the operator's row (`WHERE state IN ...`), and
an offer claims the operator (ready → offered) and the call (no operator → this one) in one
transaction: two processes never offer one caller to two operators or two callers to one.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import User
from core.queue import enqueue_after_commit
from hotline.models import Call, OperatorPresence, OperatorState, OperatorStateChange

log = logging.getLogger(__name__)

READY = OperatorState.READY
OFFERED = OperatorState.OFFERED
ON_CALL = OperatorState.ON_CALL
WRAP_UP = OperatorState.WRAP_UP
BREAK = OperatorState.BREAK
OFFLINE = OperatorState.OFFLINE

#: The break reason of an operator who let an offered call ring out.
MISSED_OFFER = "missed-offer"
#: Break reasons an operator can choose in the console.
BREAK_REASONS = ("rest", "lunch", "training", "meeting", "not-ready")
#: Seconds one "extend" adds to a wrap-up.
WRAP_UP_EXTENSION = 30
#: States in which an operator is busy with a call.
BUSY = (OFFERED, ON_CALL)


def offer_seconds() -> int:
    """Return how long an offered call rings an operator."""
    return current_app.config.get("OFFER_SECONDS", 15)


def presence_of(user_id: int) -> OperatorPresence | None:
    """Return the operator's state now (None before her first shift)."""
    return db.session.get(OperatorPresence, user_id)


def change_state(
    user_id: int,
    state: str,
    *,
    reason: str | None = None,
    call_id: int | None = None,
    until: datetime | None = None,
    expect: tuple[str, ...] | None = None,
    expect_call: int | None = None,
    actor: User | None = None,
) -> bool:
    """Move the operator to `state` in one conditional step; False when she was not in `expect`."""
    now = utcnow()
    if db.session.get(OperatorPresence, user_id) is None:
        db.session.add(OperatorPresence(user_id=user_id, state=OFFLINE, since=now))
        db.session.flush()
    statement = update(OperatorPresence).where(OperatorPresence.user_id == user_id)
    if expect is not None:
        statement = statement.where(OperatorPresence.state.in_([str(s) for s in expect]))
    if expect_call is not None:
        statement = statement.where(OperatorPresence.call_id == expect_call)
    values = {"state": str(state), "reason": reason, "since": now, "call_id": call_id}
    changed = db.session.execute(
        statement.values(**values, until=until).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    db.session.execute(
        update(OperatorStateChange)
        .where(OperatorStateChange.user_id == user_id, OperatorStateChange.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        OperatorStateChange(
            user_id=user_id, state=str(state), reason=reason, call_id=call_id, started_at=now
        )
    )
    data = {"state": str(state), "reason": reason, "call_id": call_id}
    record_event("user", user_id, "operator.state", data, actor=actor, actor_label=_label(actor))
    db.session.flush()
    presence = db.session.get(OperatorPresence, user_id)
    db.session.refresh(presence)
    return True


def _label(actor: User | None) -> str | None:
    return None if actor is not None else "floor"


def set_ready(user: User) -> bool:
    """Make the operator ready for calls (from a break or a wrap-up)."""
    return change_state(user.id, READY, expect=(BREAK, WRAP_UP, READY), actor=user)


def take_break(user: User, reason: str) -> bool:
    """Put the operator on a break with its reason (not while a call is offered or on)."""
    return change_state(user.id, BREAK, reason=reason, expect=(READY, WRAP_UP, BREAK), actor=user)


def extend_wrap_up(user: User, seconds: int = WRAP_UP_EXTENSION) -> bool:
    """Give the operator more wrap-up time."""
    presence = presence_of(user.id)
    if presence is None or presence.state != WRAP_UP:
        return False
    start = max(presence.until or utcnow(), utcnow())
    changed = db.session.execute(
        update(OperatorPresence)
        .where(OperatorPresence.user_id == user.id, OperatorPresence.state == str(WRAP_UP))
        .values(until=start + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(presence)
    return changed == 1


def go_on_shift(user: User, ready: bool) -> None:
    """Put an operator starting her shift in the ready state, or on a "not ready" break."""
    if ready:
        change_state(user.id, READY, expect=(OFFLINE, BREAK, WRAP_UP, READY), actor=user)
    else:
        change_state(
            user.id, BREAK, reason="not-ready", expect=(OFFLINE, BREAK, WRAP_UP, READY), actor=user
        )


def go_offline(user: User) -> None:
    """The operator's shift is over."""
    change_state(user.id, OFFLINE, actor=user)


def note_answered(call: Call) -> None:
    """The operator answered the offered call: she is on the call."""
    if call.operator_id is not None:
        change_state(call.operator_id, ON_CALL, call_id=call.id, expect=(OFFERED,))


def note_missed(call: Call, operator_id: int) -> None:
    """The operator let the offered call ring out: she is not ready until she says so."""
    change_state(operator_id, BREAK, reason=MISSED_OFFER, expect=(OFFERED,), expect_call=call.id)


def note_taken(call: Call, user: User) -> None:
    """A supervisor or operator took a call by hand: her state follows the call."""
    change_state(user.id, OFFERED, call_id=call.id, until=_offer_end(), actor=user)


def note_wrapping_up(call: Call, user_id: int) -> None:
    """The call is finished: the operator wraps up for the set time, then is ready again."""
    seconds = current_app.config.get("WRAP_UP_SECONDS", 30)
    until = utcnow() + timedelta(seconds=seconds)
    if change_state(
        user_id, WRAP_UP, call_id=call.id, until=until, expect=BUSY, expect_call=call.id
    ):
        enqueue_after_commit(
            "hotline.console.jobs.end_wrap_ups", job_id=f"wrap-up-{user_id}-{call.id}", at=until
        )


def end_finished_wrap_ups(now: datetime | None = None) -> int:
    """Make ready again the operators whose wrap-up time is over; return how many."""
    now = now or utcnow()
    due = db.session.scalars(
        select(OperatorPresence.user_id).where(
            OperatorPresence.state == str(WRAP_UP), OperatorPresence.until <= now
        )
    ).all()
    return sum(change_state(user_id, READY, expect=(WRAP_UP,)) for user_id in due)


#: How late past its ring time the carrier's word on an offer may come before the offer lapses.
OFFER_GRACE = timedelta(seconds=30)


def lapsed_offers(now: datetime | None = None) -> list[tuple[int, int]]:
    """Return (call id, operator id) of offers unanswered well past their ring time.

    Such an offer was never rung (a process died between the offer and the carrier) or the
    carrier's answer was lost: without this sweep the operator and the caller would wait forever.
    """
    now = now or utcnow()
    return db.session.execute(
        select(Call.id, OperatorPresence.user_id)
        .join(OperatorPresence, OperatorPresence.call_id == Call.id)
        .where(
            OperatorPresence.state == str(OFFERED),
            OperatorPresence.until <= now - OFFER_GRACE,
            Call.operator_id == OperatorPresence.user_id,
            Call.operator_answered_at.is_(None),
        )
        .order_by(Call.queued_at, Call.id)
    ).all()


def _offer_end() -> datetime:
    return utcnow() + timedelta(seconds=offer_seconds())


@dataclass(frozen=True)
class Offer:
    call_id: int
    user_id: int


def _waiting():
    """Callers waiting for an operator: on the line, or rung back in their place (pressed 1)."""
    on_the_line = and_(Call.ended_at.is_(None), Call.left_queue_at.is_(None))
    return select(Call.id).where(
        Call.queued_at.is_not(None),
        Call.operator_id.is_(None),
        Call.outcome.is_(None),
        or_(on_the_line, Call.callback_requested_at.is_not(None)),
    )


def _lock_next_waiting_call() -> int | None:
    """Lock the caller waiting longest that no other process is offering now (PostgreSQL)."""
    return db.session.scalar(
        _waiting()
        .order_by(Call.queued_at, Call.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Call)
    )


def _lock_longest_ready() -> int | None:
    """Lock the operator ready longest that no other process is offering a call now."""
    return db.session.scalar(
        select(OperatorPresence.user_id)
        .where(OperatorPresence.state == str(READY))
        .order_by(OperatorPresence.since, OperatorPresence.user_id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _claim_call(call_id: int, user_id: int) -> bool:
    return (
        db.session.execute(
            update(Call)
            .where(Call.id == call_id)
            .where(Call.id.in_(_waiting().scalar_subquery()))
            .values(operator_id=user_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def offer_next() -> Offer | None:
    """Offer the caller waiting longest to the operator ready longest, as one atomic step.

    Both rows are locked (skipping those another process holds), then changed by conditional
    UPDATEs; the caller commits. None when nobody waits or nobody is ready.
    """
    call_id = _lock_next_waiting_call()
    if call_id is None:
        return None
    user_id = _lock_longest_ready()
    if user_id is None:
        return None
    step = db.session.begin_nested()
    if not change_state(user_id, OFFERED, call_id=call_id, until=_offer_end(), expect=(READY,)):
        step.rollback()
        return None
    if not _claim_call(call_id, user_id):
        step.rollback()
        return None
    step.commit()
    record_event("call", call_id, "call.offered", {"operator_id": user_id}, actor_label="floor")
    log.info("call %s offered to operator %s", call_id, user_id)
    return Offer(call_id, user_id)


def claim_offers(limit: int = 10) -> list[Offer]:
    """Offer waiting callers, oldest first, each to the operator ready longest; commit each."""
    end_finished_wrap_ups()
    db.session.commit()
    offers = []
    for _ in range(limit):
        offer = offer_next()
        db.session.commit()  # one offer, one transaction: its locks are held only that long
        if offer is None:
            break
        offers.append(offer)
    return offers


def withdraw_offer(call: Call, user_id: int) -> None:
    """The carrier could not ring the operator: the caller waits again, she stays ready."""
    if call.operator_answered_at is None and call.operator_id == user_id:
        call.operator_id = None
        db.session.flush()
    change_state(user_id, READY, expect=(OFFERED,), expect_call=call.id)


def floor_counts() -> dict[str, int]:
    """Return how many operators are in each state now (offline left out)."""
    counts = {str(state): 0 for state in OperatorState if state != OFFLINE}
    for (state,) in db.session.execute(
        select(OperatorPresence.state).where(OperatorPresence.state != str(OFFLINE))
    ):
        counts[state] = counts.get(state, 0) + 1
    return counts


def ready_operators(exclude: int | None = None) -> list[User]:
    """Return the operators ready now, longest ready first (to transfer a call to)."""
    return db.session.scalars(
        select(User)
        .join(OperatorPresence, OperatorPresence.user_id == User.id)
        .where(OperatorPresence.state == str(READY), User.id != (exclude or 0))
        .order_by(OperatorPresence.since)
    ).all()
