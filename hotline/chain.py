"""A call's next step: how it is answered, who in the duty chain is rung, each dial result."""

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.logs import bind_log_context
from core.rows import insert_loaded, row_update, write_row
from hotline.appeals import queue_registration_sms, register_appeal
from hotline.caller_id import callback_number
from hotline.calls import (
    FINAL_STATUSES,
    enter_operators_queue,
    operators_on_shift,
    refusal_reason,
    refuse_call,
    set_call_outcome,
)
from hotline.models import (
    Appeal,
    AppealStatus,
    AttemptOutcome,
    Call,
    CallOutcome,
    Channel,
    DialAttempt,
)
from hotline.signals import chain_exhausted
from roster.models import Category, Municipality
from roster.services import resolve_on_duty

log = logging.getLogger(__name__)

# Prebuilt updates (core.rows): the guarded ones apply only while the attempt has no outcome, so
# a retried webhook changes nothing.
_attempts, _calls, _appeals = DialAttempt.__table__, Call.__table__, Appeal.__table__


#: Built once: the municipality's and the topic's names for a whisper.
_WHISPER_SUBJECT = (
    db.select(Municipality.name, Category.name)
    .select_from(Call)
    .join(Municipality, Municipality.id == Call.municipality_id)
    .outerjoin(Category, Category.id == Call.category_id)
    .where(Call.id == bindparam("call_id"))
)


def whisper_subject(call_id: int) -> tuple[str, str | None] | None:
    """Return the municipality's and the topic's names an official hears, from the database."""
    row = db.session.execute(_WHISPER_SUBJECT, {"call_id": call_id}).first()
    return tuple(row) if row else None


def start_chain(call: Call, municipality: Municipality, category: Category | None) -> Appeal:
    """Resolve who is on duty now, keep that decision on the call and register the appeal."""
    if call.chain_started_at is not None:  # a retried webhook: the chain already started
        return call.served_appeal
    now = utcnow()
    with db.session.no_autoflush:  # the roster is read, nothing pending belongs to it
        on_duty = resolve_on_duty(municipality, category, now)
    chain = [
        {
            "role": slot.role,
            "official_id": slot.official_id,
            "full_name": slot.full_name,
            "phone": slot.phone,
        }
        for slot in on_duty.chain()
    ]
    write_row(
        call,
        _CALL_ROUTING,
        municipality_id=municipality.id,
        category_id=category.id if category else None,
        chain_started_at=now,
        routing={
            **on_duty.as_dict(),
            "chain": chain,
            "at": now.isoformat(),
            # what every official rung hears: the whisper needs no database for it
            "subject": {
                "municipality": municipality.name,
                "topic": category.name if category else None,
            },
        },
    )
    record_event(
        "call",
        call.id,
        "chain.started",
        {
            "chain": [step["role"] for step in chain],
            "empty": on_duty.empty_roles(),
            "folded": on_duty.folded,
        },
        actor_label="system",
    )
    if call.served_appeal is not None:  # registered by an operator, or the one called about
        return call.served_appeal
    return register_appeal(
        channel=Channel.PHONE,
        municipality=municipality,
        category=category,
        caller_number=callback_number(call.from_number),
        call=call,
    )


def call_about_appeal(call: Call, appeal: Appeal) -> None:
    """Link a known caller's call to their open appeal: its chain serves it, none is registered."""
    if call.about_appeal_id == appeal.id:
        return  # a retried webhook
    call.about_appeal_id = appeal.id
    set_committed_value(call, "about_appeal", appeal)
    db.session.flush()
    record_event(
        "appeal", appeal.id, "appeal.called-about", {"call_id": call.id}, actor_label="carrier"
    )
    log.info("call %s: about appeal %s", call.call_sid, appeal.number)


def chain_step(call: Call, position: int) -> dict | None:
    """Return who is to be rung at this place in the call's chain."""
    chain = (call.routing or {}).get("chain", [])
    return chain[position] if 0 <= position < len(chain) else None


def begin_attempt(call: Call, position: int) -> DialAttempt:
    """Record that the official at this place is being rung (once, however often asked)."""
    existing = get_attempt(call, position)
    if existing is not None:
        return existing
    step = chain_step(call, position)
    attempt = insert_loaded(
        DialAttempt,
        call_id=call.id,
        position=position,
        role=step["role"],
        official_id=step["official_id"],
        phone=step["phone"],
    )
    set_committed_value(call, "attempts", [*call.attempts, attempt])
    return attempt


def get_attempt(call: Call, position: int) -> DialAttempt | None:
    """Return the attempt at this place in the chain."""
    return next((attempt for attempt in call.attempts if attempt.position == position), None)


def record_key_press(attempt: DialAttempt, digits: str, dial_call_sid: str | None) -> bool:
    """Note the official's key on the whisper; return whether it accepts the call.

    A 1 on an attempt whose result was stored meanwhile (the chain moved on) accepts nothing.
    """
    accepted = digits == "1"
    if accepted and not attempt.key_pressed:
        if not write_row(
            attempt,
            _PRESS_KEY,
            key_pressed=True,
            accepted_at=utcnow(),
            dial_call_sid=attempt.dial_call_sid or dial_call_sid,
        ):
            return False
        record_event(
            "call",
            attempt.call_id,
            "attempt.key-pressed",
            {"position": attempt.position, "role": attempt.role},
            actor_label="carrier",
        )
    return accepted


def _attempt_outcome(attempt: DialAttempt, dial_status: str) -> str:
    if attempt.key_pressed:
        return AttemptOutcome.ACCEPTED
    if dial_status in ("busy", "failed", "no-answer"):
        return dial_status
    return AttemptOutcome.NOT_ACCEPTED  # answered (voicemail or a person) without the key


_FINISH_ATTEMPT = row_update(
    _attempts,
    ("outcome", "dial_call_status", "dial_call_duration", "dial_call_sid", "ended_at"),
    _attempts.c.outcome.is_(None),
)


_PRESS_KEY = row_update(
    _attempts, ("key_pressed", "accepted_at", "dial_call_sid"), _attempts.c.outcome.is_(None)
)


_APPEAL_IN_HANDS = row_update(_appeals, ("status", "assignee_id"))


_CALL_ROUTING = row_update(
    _calls, ("municipality_id", "category_id", "chain_started_at", "routing")
)


def finish_attempt(
    attempt: DialAttempt,
    dial_status: str | None,
    duration: int | None,
    dial_call_sid: str | None,
    outcome: str | None = None,
) -> bool:
    """Record the Dial result once; return False when it was already recorded (a retry)."""
    outcome = outcome or _attempt_outcome(attempt, dial_status)
    changed = write_row(
        attempt,
        _FINISH_ATTEMPT,
        outcome=outcome,
        dial_call_status=dial_status,
        dial_call_duration=duration,
        dial_call_sid=attempt.dial_call_sid or dial_call_sid,
        ended_at=utcnow(),
    )
    if changed:
        record_event(
            "call",
            attempt.call_id,
            "attempt.finished",
            {
                "position": attempt.position,
                "role": attempt.role,
                "outcome": outcome,
                "dial_call_status": dial_status,
            },
            actor_label="carrier",
        )
    return changed


def record_machine_answer(call: Call, position: int, leg_sid: str | None, answered_by: str) -> None:
    """A voicemail or fax answered this official's leg: it never accepts (once, however often)."""
    attempt = get_attempt(call, position)
    if attempt is None or attempt.key_pressed:
        return
    if finish_attempt(attempt, "completed", None, leg_sid, outcome=AttemptOutcome.MACHINE):
        record_event(
            "call",
            call.id,
            "attempt.answering-machine",
            {"position": position, "role": attempt.role, "answered_by": answered_by},
            actor_label="carrier",
        )


def caller_gone(call: Call, attempt: DialAttempt) -> bool:
    """Whether the citizen hung up before this official accepted."""
    if attempt.key_pressed:
        return False
    return call.ended_at is not None or attempt.outcome == AttemptOutcome.CALLER_HUNG_UP


def may_bridge(call: Call, attempt: DialAttempt) -> bool:
    """Whether 1 on this official's whisper bridges them (again, for a retried webhook)."""
    if caller_gone(call, attempt) or attempt.outcome not in (None, AttemptOutcome.ACCEPTED):
        return False
    return call.outcome is None or (call.outcome == CallOutcome.CONNECTED and attempt.key_pressed)


def connect_call(call: Call, attempt: DialAttempt) -> None:
    """The official accepted: the appeal is in their hands."""
    if not set_call_outcome(call, CallOutcome.CONNECTED):
        return
    appeal = call.served_appeal
    bind_log_context(appeal=appeal.number)
    write_row(
        appeal, _APPEAL_IN_HANDS, status=AppealStatus.IN_WORK, assignee_id=attempt.official_id
    )
    record_event(
        "appeal",
        appeal.id,
        "appeal.accepted",
        {"role": attempt.role, "official_id": attempt.official_id, "call_id": call.id},
        actor_label="carrier",
    )


def exhaust_chain(call: Call) -> Appeal | None:
    """Nobody accepted: the appeal is missed and a card is opened (once per call).

    An appeal called about again keeps its state and its number is not texted a second time.
    """
    if not set_call_outcome(call, CallOutcome.MISSED):
        return None
    appeal = call.served_appeal
    bind_log_context(appeal=appeal.number)
    if call.appeal is not None or appeal.status == AppealStatus.ROUTING:
        appeal.status = AppealStatus.MISSED
    record_event(
        "appeal",
        appeal.id,
        "appeal.missed",
        {"attempts": [a.outcome for a in call.attempts], "call_id": call.id},
        actor_label="system",
    )
    chain_exhausted.send(call, appeal=appeal)
    if appeal.caller_number and call.appeal is not None:
        queue_registration_sms(appeal)
    log.info("call %s: chain exhausted, appeal %s missed", call.call_sid, appeal.number)
    return appeal


# --- the call's next step ---------------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    """What the caller's leg does next: the voice webhooks render it as TwiML."""

    #: `refuse` (for `reason`), `queue` (for the operators), `menu` (the voice menu), `ring` (the
    #: attempt's official), `voice-message` (nobody accepted: the caller may leave one),
    #: `goodbye` (the official accepted and their leg ended) or `hangup`.
    action: str
    attempt: DialAttempt | None = None
    #: Why a refused caller is refused: `blocked` or `rate-limited`.
    reason: str | None = None


def answer_call(call: Call, duty_place: Municipality | None) -> NextStep:
    """Decide how a new call is answered: refused, its duty chain, the queue or the menu."""
    if call.outcome in (None, CallOutcome.REFUSED):  # a retried webhook is refused again
        reason = refusal_reason(call)
        if reason:
            refuse_call(call, reason)
            return NextStep("refuse", reason=reason)
    if call.entry == "duty-number":
        return begin_chain(call, duty_place, None)
    if operators_on_shift():
        enter_operators_queue(call)
        return NextStep("queue")
    return NextStep("menu")


def begin_chain(call: Call, municipality: Municipality, category: Category | None) -> NextStep:
    """Start the call's duty chain (once) and ring its first official."""
    start_chain(call, municipality, category)
    return ring_next(call, 0)


def ring_next(call: Call, position: int) -> NextStep:
    """Ring the official at this place of the chain, or end the chain when none is left."""
    if chain_step(call, position) is None:
        return _exhausted(call)
    return NextStep("ring", begin_attempt(call, position))


def _exhausted(call: Call) -> NextStep:
    exhaust_chain(call)
    return NextStep("voice-message")


def press_key(call: Call, attempt: DialAttempt, digits: str, leg_sid: str | None) -> str:
    """Apply the official's key on the whisper: `bridge`, `caller-gone` or `hangup`.

    A caller who hung up during the whisper is not bridged: the official hears they are gone.
    """
    if digits == "1" and caller_gone(call, attempt):
        return "caller-gone"
    if may_bridge(call, attempt) and record_key_press(attempt, digits, leg_sid):
        connect_call(call, attempt)
        return "bridge"
    return "hangup"


def after_dial(
    call: Call,
    attempt: DialAttempt,
    dial_status: str,
    duration: int | None,
    dial_call_sid: str | None,
    caller_status: str | None,
) -> NextStep:
    """Record how ringing this official ended and decide the call's next step.

    The caller's own status ended: they hung up while this official was rung.
    """
    caller_left = caller_status in FINAL_STATUSES
    finish_attempt(
        attempt,
        dial_status,
        duration,
        dial_call_sid,
        outcome=AttemptOutcome.CALLER_HUNG_UP if caller_left and not attempt.key_pressed else None,
    )
    if attempt.key_pressed:
        return NextStep("goodbye")
    if caller_left:
        exhaust_chain(call)  # the status callback, before or after, changes nothing
        return NextStep("hangup")
    if call.outcome == CallOutcome.MISSED:
        return _exhausted(call)  # a retried webhook gets the same answer
    if call.outcome is not None:
        return NextStep("hangup")
    return ring_next(call, attempt.position + 1)
