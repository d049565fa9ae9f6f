"""The voice flow: calls, the voice menu, the duty chain and appeals born from calls."""

import logging
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, bindparam, func
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.logs import bind_log_context
from core.queue import enqueue_after_commit
from core.rows import insert_loaded, row_update, write_row
from hotline.caller_id import callback_number, is_hidden, stored_number
from hotline.jobs import send_registration_sms
from hotline.models import (
    Appeal,
    AppealStatus,
    AttemptOutcome,
    BlockedNumber,
    Call,
    CallOutcome,
    Channel,
    DialAttempt,
    OperatorShift,
)
from hotline.signals import chain_exhausted
from roster.models import Category, Municipality
from roster.services import resolve_on_duty

log = logging.getLogger(__name__)

#: Deadlines for a call with no category (a municipality's own duty number): ordinary.
DEFAULT_CALLBACK_MINUTES = 480
DEFAULT_RESOLUTION_DAYS = 30
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


def menu_municipalities() -> list[tuple[str, Municipality]]:
    """Return the voice menu of municipalities: two-digit codes in alphabetical order."""
    places = db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()
    return [(f"{index:02d}", place) for index, place in enumerate(places, start=1)]


def menu_categories() -> list[tuple[str, Category]]:
    """Return the voice menu of categories: digits 1–9, emergencies first."""
    categories = db.session.scalars(
        db.select(Category).order_by(Category.position, Category.id).limit(9)
    ).all()
    return [(str(index), category) for index, category in enumerate(categories, start=1)]


def _normalise(text: str) -> str:
    return re.sub(r"[^0-9a-zа-я ]", " ", text.lower().replace("ё", "е")).strip()


def spoken_name_key(name: str) -> str:
    """Return the word a caller would say for a municipality: «Тула», «Алексин», «Белёвский»."""
    words = [
        word
        for word in _normalise(name).split()
        if word not in {"город", "район", "рабочий", "поселок", "посёлок", "округ", "городской"}
    ]
    return words[0] if words else _normalise(name)


def choose_municipality(digits: str | None, speech: str | None) -> Municipality | None:
    """Match the caller's keypad code or spoken name to a municipality."""
    entries = menu_municipalities()
    if digits:
        code = digits.zfill(2)
        return next((place for key, place in entries if key == code), None)
    if speech:
        said = _normalise(speech)
        for _, place in entries:
            stem = spoken_name_key(place.name)[:5]
            if stem and any(word.startswith(stem) for word in said.split()):
                return place
    return None


def choose_category(digits: str | None) -> tuple[bool, Category | None]:
    """Return (understood, category) for a keypad choice; `0` means no category."""
    if digits == "0":
        return True, None
    for key, category in menu_categories():
        if digits == key:
            return True, category
    return False, None


def note_menu_retry(call: Call) -> int:
    """Count one more failed menu choice and return the count."""
    call.menu_retries += 1
    return call.menu_retries


def appeal_deadlines(category: Category | None, start: datetime) -> tuple:
    """Return (callback due, resolution due) for an appeal of this category."""
    if category is None:
        return (
            start + timedelta(minutes=DEFAULT_CALLBACK_MINUTES),
            start + timedelta(days=DEFAULT_RESOLUTION_DAYS),
        )
    callback = (
        start + timedelta(minutes=category.callback_minutes) if category.callback_minutes else None
    )
    return callback, start + timedelta(days=category.resolution_days)


def register_appeal(
    *,
    channel: str,
    municipality: Municipality,
    category: Category | None,
    caller_number: str | None,
    call: Call | None = None,
    status: str = AppealStatus.ROUTING,
    **details,
) -> Appeal:
    """Register an appeal with its public number and deadlines."""
    now = utcnow()
    callback_due, resolution_due = appeal_deadlines(category, now)
    appeal = insert_loaded(
        Appeal,
        channel=channel,
        status=status,
        municipality_id=municipality.id,
        category_id=category.id if category else None,
        urgency=category.urgency if category else "ordinary",
        caller_number=caller_number,
        call_id=call.id if call else None,
        created_at=now,
        callback_due_at=callback_due,
        resolution_due_at=resolution_due,
        **details,
    )
    set_committed_value(appeal, "call", call)
    if call is not None:
        set_committed_value(call, "appeal", appeal)
    write_row(appeal, _APPEAL_NUMBER, number=f"{now:%y}-{appeal.id:06d}")
    bind_log_context(appeal=appeal.number)
    record_event(
        "appeal",
        appeal.id,
        "appeal.registered",
        {"number": appeal.number, "channel": channel, "status": status},
    )
    log.info("appeal %s registered (%s)", appeal.number, channel)
    return appeal


def start_chain(call: Call, municipality: Municipality, category: Category | None) -> Appeal:
    """Resolve who is on duty now, keep that decision on the call and register the appeal."""
    if call.chain_started_at is not None:  # a retried webhook: the chain already started
        return call.appeal
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
    if call.appeal is not None:  # registered by an operator before connecting the caller
        return call.appeal
    return register_appeal(
        channel=Channel.PHONE,
        municipality=municipality,
        category=category,
        caller_number=callback_number(call.from_number),
        call=call,
    )


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


# Prebuilt updates (core.rows): the guarded ones apply only while the row has no outcome, so a
# retried webhook changes nothing.
_attempts, _calls, _appeals = DialAttempt.__table__, Call.__table__, Appeal.__table__
_FINISH_ATTEMPT = row_update(
    _attempts,
    ("outcome", "dial_call_status", "dial_call_duration", "dial_call_sid", "ended_at"),
    _attempts.c.outcome.is_(None),
)
_SET_CALL_OUTCOME = row_update(_calls, ("outcome",), _calls.c.outcome.is_(None))
_PRESS_KEY = row_update(
    _attempts, ("key_pressed", "accepted_at", "dial_call_sid"), _attempts.c.outcome.is_(None)
)
_CALL_STATUS = row_update(_calls, ("status", "status_sequence"))
_CALL_ENDED = row_update(_calls, ("status", "status_sequence", "ended_at"))
_APPEAL_IN_HANDS = row_update(_appeals, ("status", "assignee_id"))
_APPEAL_NUMBER = row_update(_appeals, ("number",))
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


def set_call_outcome(call: Call, outcome: str) -> bool:
    """Set the call's outcome if it has none yet; return whether this request set it."""
    return write_row(call, _SET_CALL_OUTCOME, outcome=outcome)


def connect_call(call: Call, attempt: DialAttempt) -> None:
    """The official accepted: the appeal is in their hands."""
    if not set_call_outcome(call, CallOutcome.CONNECTED):
        return
    appeal = call.appeal
    bind_log_context(appeal=appeal.number)
    write_row(
        appeal, _APPEAL_IN_HANDS, status=AppealStatus.IN_WORK, assignee_id=attempt.official_id
    )
    record_event(
        "appeal",
        appeal.id,
        "appeal.accepted",
        {"role": attempt.role, "official_id": attempt.official_id},
        actor_label="carrier",
    )


def exhaust_chain(call: Call) -> Appeal | None:
    """Nobody accepted: the appeal is missed and a card is opened (once per call)."""
    if not set_call_outcome(call, CallOutcome.MISSED):
        return None
    appeal = call.appeal
    bind_log_context(appeal=appeal.number)
    appeal.status = AppealStatus.MISSED
    record_event(
        "appeal",
        appeal.id,
        "appeal.missed",
        {"attempts": [a.outcome for a in call.attempts]},
        actor_label="system",
    )
    chain_exhausted.send(call, appeal=appeal)
    if appeal.caller_number:
        queue_registration_sms(appeal)
    log.info("call %s: chain exhausted, appeal %s missed", call.call_sid, appeal.number)
    return appeal


def queue_registration_sms(appeal: Appeal) -> None:
    """Text the caller the appeal's number once the transaction commits (once per appeal)."""
    enqueue_after_commit(
        send_registration_sms, appeal.id, job_id=f"appeal-registered-sms-{appeal.id}"
    )


def store_recording(call: Call, url: str, duration: int | None) -> None:
    """Keep the caller's voice message with the appeal."""
    appeal = call.appeal
    if appeal is None or appeal.recording_url:
        return
    appeal.recording_url = url
    appeal.recording_duration = duration
    record_event(
        "appeal", appeal.id, "appeal.voice-message", {"seconds": duration}, actor_label="carrier"
    )


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
    if call.outcome is not None:
        return
    if call.appeal is None and call.operator_answered_at is not None:
        if set_call_outcome(call, CallOutcome.HANDLED):
            record_event("call", call.id, "call.handled", actor_label="carrier")
        return
    if call.appeal is None:
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


def set_appeal_status(
    appeal: Appeal, status: str, note: str | None = None, actor=None, actor_label: str | None = None
) -> bool:
    """Move an appeal to a status, noting why on its timeline; return whether it changed."""
    if appeal.status == status:
        return False
    previous = appeal.status
    appeal.status = status
    appeal.closed_at = utcnow() if status == AppealStatus.CLOSED else None
    record_event(
        "appeal",
        appeal.id,
        "appeal.status",
        {"from": previous, "to": status, "note": note},
        actor=actor,
        actor_label=actor_label,
    )
    db.session.flush()
    log.info("appeal %s: %s -> %s", appeal.number, previous, status)
    return True


def move_appeal(
    appeal: Appeal, municipality: Municipality, reason: str, actor=None
) -> datetime | None:
    """Hand an appeal to another municipality with a new callback deadline; return it."""
    previous = appeal.municipality_id
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    appeal.municipality_id = municipality.id
    appeal.callback_due_at = appeal_deadlines(category, utcnow())[0]
    record_event(
        "appeal",
        appeal.id,
        "appeal.moved",
        {"from": previous, "to": municipality.id, "reason": reason},
        actor=actor,
    )
    db.session.flush()
    log.info("appeal %s moved to %s", appeal.number, municipality.code)
    return appeal.callback_due_at
