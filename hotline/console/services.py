"""What the operator console does: shifts, the queue, calls, appeals, control and search."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import joinedload

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import SMS_FAILED, SMS_UNDELIVERED, SMS_UNKNOWN, Event, OutboundMessage, User
from core.queue import enqueue_after_commit
from core.telephony import CarrierError
from core.telephony.retries import REDIRECT_RETRY_AFTER, REDIRECT_RETRY_DELAYS, next_try_at
from core.urls import absolute_url
from hotline import services as hotline_services
from hotline.caller_id import is_hidden
from hotline.jobs import registration_sms_purpose
from hotline.models import (
    Appeal,
    AppealStatus,
    Call,
    CallOutcome,
    Channel,
    OperatorShift,
)
from hotline.signals import appeal_registered, next_checkins_wanted
from roster.models import Category, Municipality
from roster.services import resolve_on_duty

log = logging.getLogger(__name__)


#: Wrap-up codes of calls that need no appeal.
WRAPUP_CODES = ("info", "wrong-number", "abusive")
#: Statuses of appeals still open for the control list.
OPEN_STATUSES = (
    AppealStatus.ROUTING,
    AppealStatus.IN_WORK,
    AppealStatus.MISSED,
    AppealStatus.REOPENED,
)
#: A callback deadline for emergencies, whatever the category says.
EMERGENCY_CALLBACK = timedelta(hours=1)
DUTY_ROLES = ("primary", "backup", "supervisor")
HISTORY_LIMIT = 10


class ConsoleError(ValueError):
    """An action the console cannot do as asked; `str()` is a code the view translates."""


# --- presence ---------------------------------------------------------------------------


def current_shift(user: User) -> OperatorShift | None:
    """Return the operator's open shift."""
    return db.session.scalar(
        select(OperatorShift).where(
            OperatorShift.user_id == user.id, OperatorShift.ended_at.is_(None)
        )
    )


def start_shift(user: User, endpoint: str) -> OperatorShift:
    """Open the operator's shift with the endpoint their calls ring (one open shift at a time)."""
    shift = current_shift(user)
    if shift is not None:
        shift.endpoint = endpoint
    else:
        shift = OperatorShift(user_id=user.id, endpoint=endpoint, started_at=utcnow())
        db.session.add(shift)
    db.session.flush()
    record_event("user", user.id, "operator.shift-started", {"endpoint": endpoint}, actor=user)
    log.info("operator %s on shift at %s", user.username, endpoint)
    return shift


def end_shift(user: User) -> bool:
    """Close the operator's open shift; return whether there was one."""
    shift = current_shift(user)
    if shift is None:
        return False
    shift.ended_at = utcnow()
    record_event("user", user.id, "operator.shift-ended", {"shift": shift.id}, actor=user)
    db.session.flush()
    log.info("operator %s off shift", user.username)
    return True


# --- the queue --------------------------------------------------------------------------


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
    if call.operator_answered_at is None:
        call.operator_id = None
        db.session.flush()


def note_carrier_error(call: Call, action: str, reason: str, user: User) -> None:
    """Note on the call's timeline that the carrier did not carry out a console action."""
    record_event(
        "call", call.id, "call.carrier-error", {"action": action, "error": reason[:300]}, actor=user
    )
    db.session.flush()
    log.info("call %s: the carrier did not %s", call.call_sid, action)


# --- the caller card --------------------------------------------------------------------


@dataclass
class CallerCard:
    number: str
    name: str | None
    calls: list[Call]
    appeals: list[Appeal]
    blocked: bool
    rate_limited: bool
    block_review: bool


def caller_card(call: Call) -> CallerCard:
    """Return what the hotline knows of the call's number: other calls, appeals and its flags.

    The flags are those the voice flow applies to this call (`refusal_reason`). Callers with
    a hidden caller ID share no history: nothing tells one from another.
    """
    number = call.from_number
    hidden = is_hidden(number)
    calls = (
        []
        if hidden
        else db.session.scalars(
            select(Call)
            .where(Call.from_number == number, Call.id != call.id)
            .order_by(Call.created_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
    )
    appeals = (
        []
        if hidden
        else db.session.scalars(
            select(Appeal)
            .where(Appeal.caller_number == number)
            .order_by(Appeal.created_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
    )
    refusal = hotline_services.refusal_reason(call)
    return CallerCard(
        number=number,
        name=known_caller_name(number),
        calls=calls,
        appeals=appeals,
        blocked=refusal == "blocked",
        rate_limited=refusal == "rate-limited",
        block_review=not hidden
        and db.session.scalar(
            select(func.count(Event.id)).where(
                Event.subject_type == "number",
                Event.subject_id == number,
                Event.verb == "number.block-review",
            )
        )
        > 0,
    )


# --- who is responsible -----------------------------------------------------------------


@dataclass
class DutySlot:
    role: str
    full_name: str | None
    position: str | None
    phone: str | None
    #: The role a person holding two slots is rung in ("folded" into it).
    folded_into: str | None = None

    @property
    def is_gap(self) -> bool:
        return self.full_name is None and self.folded_into is None


def responsible_now(municipality: Municipality, category: Category | None) -> list[DutySlot]:
    """Return the primary, backup and supervisor on duty now, gaps included."""
    on_duty = resolve_on_duty(municipality, category, utcnow())
    slots = []
    for role in DUTY_ROLES:
        person = getattr(on_duty, role)
        if person is None:
            slots.append(DutySlot(role, None, None, None, on_duty.folded.get(role)))
        else:
            slots.append(DutySlot(role, person.full_name, person.position, person.phone))
    return slots


# --- appeals ----------------------------------------------------------------------------


def register_operator_appeal(
    call: Call,
    user: User,
    *,
    municipality: Municipality,
    category: Category | None,
    urgency: str,
    caller_number: str,
    caller_name: str | None,
    address: str | None,
    text: str,
) -> Appeal:
    """Register the appeal of the operator's call (once per call)."""
    if call.appeal is not None:
        raise ConsoleError("already-registered")
    appeal = hotline_services.register_appeal(
        channel=Channel.OPERATOR,
        municipality=municipality,
        category=category,
        caller_number=caller_number,
        call=call,
        created_by_id=user.id,
        caller_name=caller_name or None,
        address=address or None,
        text=text,
    )
    if urgency != appeal.urgency:
        appeal.urgency = urgency
        if urgency == "emergency":
            due = appeal.created_at + EMERGENCY_CALLBACK
            appeal.callback_due_at = min(appeal.callback_due_at or due, due)
    call.municipality_id = municipality.id
    call.category_id = category.id if category else None
    db.session.flush()
    db.session.refresh(call)
    return appeal


def may_retry_connection(call: Call) -> bool:
    """Return whether a live caller's connection to the chain failed at the carrier (may retry)."""
    appeal = call.appeal
    if (
        appeal is None
        or call.ended_at is not None
        or call.chain_started_at is not None
        or call.outcome is not None
        or call.wrapped_up_at is not None
    ):
        return False
    last = db.session.scalar(
        select(Event)
        .where(
            or_(
                (Event.subject_type == "appeal")
                & (Event.subject_id == str(appeal.id))
                & (Event.verb == "appeal.connect-requested"),
                (Event.subject_type == "call")
                & (Event.subject_id == str(call.id))
                & (Event.verb == "call.carrier-error"),
            )
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    return last is not None and last.data.get("action") == "connect"


def request_connection(appeal: Appeal, user: User) -> None:
    """Note that the operator sends the caller into the appeal's duty chain (the first try)."""
    record_event("appeal", appeal.id, "appeal.connect-requested", {}, actor=user)
    call = appeal.call
    if call is not None:
        call.connect_tries, call.connect_retry_at = 1, None
    db.session.flush()


def connect_url(call: Call) -> str:
    """Return the carrier's URL of the TwiML that sends the caller into the duty chain."""
    return absolute_url("voice.connect_appeal", call_id=call.id)


def connect_retry_job_id(call_id: int, try_number: int) -> str:
    """Return the job id of a connection's try number `try_number` (one job per try)."""
    return f"connect-{call_id}-try-{try_number}"


def connection_not_made(call: Call, error: CarrierError, user: User | None) -> datetime | None:
    """Note the carrier's failure to connect the caller; return when it is tried again, if so.

    A passing failure is retried a few seconds later by a job (enqueued when the caller
    commits) while the caller holds; a refusal or the last try is left to the operator.
    """
    retry_at = next_try_at(error, call.connect_tries, REDIRECT_RETRY_DELAYS, REDIRECT_RETRY_AFTER)
    data = {"action": "connect", "error": str(error)[:300], "try": call.connect_tries}
    if retry_at is not None:
        data["retry_at"] = retry_at.isoformat()
    label = None if user is not None else "worker"
    record_event("call", call.id, "call.carrier-error", data, actor=user, actor_label=label)
    call.connect_retry_at = retry_at
    db.session.flush()
    if retry_at is not None:
        enqueue_after_commit(
            "hotline.console.jobs.retry_connection",
            call.id,
            job_id=connect_retry_job_id(call.id, call.connect_tries + 1),
            at=retry_at,
        )
    log.info("call %s: the carrier did not connect (try %d)", call.call_sid, call.connect_tries)
    return retry_at


def claim_connection_try(call: Call) -> bool:
    """Take the due next try of connecting a live caller; False if done, not due or taken."""
    if call.connect_retry_at is None or call.connect_retry_at > utcnow():
        return False
    if call.ended_at is not None or call.chain_started_at is not None:
        call.connect_retry_at = None
        db.session.flush()
        return False
    claimed = db.session.execute(
        update(Call)
        .where(
            Call.id == call.id,
            Call.connect_tries == call.connect_tries,
            Call.connect_retry_at.is_not(None),
            Call.ended_at.is_(None),
            Call.chain_started_at.is_(None),
        )
        .values(connect_tries=call.connect_tries + 1, connect_retry_at=None)
    )
    if claimed.rowcount != 1:
        return False
    db.session.refresh(call)
    return True


def send_to_municipality(appeal: Appeal, call: Call, user: User) -> None:
    """Register only: the appeal goes to its municipality with its deadline, the caller an SMS."""
    hotline_services.set_call_outcome(call, CallOutcome.HANDLED)
    appeal.status = AppealStatus.IN_WORK
    record_event(
        "appeal",
        appeal.id,
        "appeal.sent-to-municipality",
        {"municipality_id": appeal.municipality_id},
        actor=user,
    )
    finish_call(call, user)
    appeal_registered.send(appeal, call=call)
    if appeal.caller_number:
        hotline_services.queue_registration_sms(appeal)
    db.session.flush()
    log.info("appeal %s sent to municipality %s", appeal.number, appeal.municipality_id)


def finish_call(call: Call, user: User, code: str | None = None) -> None:
    """Close the operator's work on a call, with a wrap-up code when it needed no appeal."""
    if code is not None and code not in WRAPUP_CODES:
        raise ConsoleError("code")
    if code is not None and call.appeal is not None:
        raise ConsoleError("has-appeal")
    call.wrapped_up_at = call.wrapped_up_at or utcnow()
    if code is not None:
        call.wrapup_code = code
        if call.operator_answered_at is not None:
            hotline_services.set_call_outcome(call, CallOutcome.HANDLED)
        if code == "abusive" and not is_hidden(call.from_number):  # nothing to block
            record_event(
                "number",
                call.from_number,
                "number.block-review",
                {"call_id": call.id},
                actor=user,
            )
    record_event("call", call.id, "call.wrapped-up", {"code": code}, actor=user)
    db.session.flush()


@dataclass
class AttemptView:
    position: int
    role: str
    full_name: str | None
    phone: str
    outcome: str | None
    accepted: bool


def chain_progress(call: Call) -> list[AttemptView]:
    """Return the officials rung for the call so far, with how each attempt ended."""
    names = {
        step.get("phone"): step.get("full_name") for step in (call.routing or {}).get("chain", [])
    }
    return [
        AttemptView(
            attempt.position,
            attempt.role,
            names.get(attempt.phone),
            attempt.phone,
            attempt.outcome,
            attempt.key_pressed,
        )
        for attempt in call.attempts
    ]


def appeal_timeline(appeal: Appeal) -> list[Event]:
    """Return the events of the appeal and its call, oldest first, with who acted."""
    subjects = [("appeal", str(appeal.id))]
    if appeal.call_id:
        subjects.append(("call", str(appeal.call_id)))
    return db.session.scalars(
        select(Event)
        .where(or_(*[(Event.subject_type == t) & (Event.subject_id == i) for t, i in subjects]))
        .options(joinedload(Event.actor))
        .order_by(Event.at, Event.id)
    ).all()


# --- control ----------------------------------------------------------------------------


@dataclass
class ControlEntry:
    appeal: Appeal
    next_checkin_at: datetime | None
    overdue: bool
    #: The SMS with the registration number when it failed or did not reach the citizen.
    lost_registration_sms: OutboundMessage | None = None


def next_checkins(appeal_ids: list[int]) -> dict[int, datetime | None]:
    """Ask the tracking (callbacks) when each appeal is checked next."""
    found: dict[int, datetime | None] = {}
    for _receiver, answer in next_checkins_wanted.send(list(appeal_ids)):
        found.update(answer or {})
    return found


def control_list(user: User, mine: bool, now: datetime | None = None) -> list[ControlEntry]:
    """Return the open appeals (the operator's or the centre's), overdue first."""
    now = now or utcnow()
    query = select(Appeal).where(Appeal.status.in_(OPEN_STATUSES))
    if mine:
        query = query.where(Appeal.created_by_id == user.id)
    else:
        query = query.where(Appeal.channel == Channel.OPERATOR)
    appeals = db.session.scalars(query.order_by(Appeal.resolution_due_at).limit(300)).all()
    checkins = next_checkins([appeal.id for appeal in appeals])
    lost = lost_registration_sms([appeal.id for appeal in appeals])
    entries = []
    for appeal in appeals:
        checkin = checkins.get(appeal.id)
        overdue = appeal.resolution_due_at < now or (checkin is not None and checkin < now)
        callback_late = (
            appeal.status in (AppealStatus.ROUTING, AppealStatus.MISSED)
            and appeal.callback_due_at is not None
            and appeal.callback_due_at < now
        )
        entries.append(ControlEntry(appeal, checkin, overdue or callback_late, lost.get(appeal.id)))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    entries.sort(
        key=lambda e: (
            not (e.overdue or e.lost_registration_sms),
            e.next_checkin_at or far,
            e.appeal.id,
        )
    )
    return entries


def lost_registration_sms(appeal_ids: list[int]) -> dict[int, OutboundMessage]:
    """Return, by appeal id, the registration SMS that failed or never reached the citizen."""
    if not appeal_ids:
        return {}
    purposes = {registration_sms_purpose(appeal_id): appeal_id for appeal_id in appeal_ids}
    messages = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.purpose.in_(sorted(purposes)),
            OutboundMessage.status.in_((SMS_FAILED, SMS_UNDELIVERED, SMS_UNKNOWN)),
        )
    )
    return {purposes[message.purpose]: message for message in messages}


def log_control_call(appeal: Appeal, result: str, user: User) -> int:
    """Add the result of the operator's control call to the appeal's timeline; return its id."""
    result = result.strip()
    if not result:
        raise ConsoleError("empty")
    return record_event(
        "appeal", appeal.id, "appeal.control-call", {"text": result[:2000]}, actor=user
    )


# --- search -----------------------------------------------------------------------------


def search_appeals(
    *,
    number: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    municipality_id: int | None = None,
    category_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Appeal]:
    """Find appeals by number, phone, address text, municipality, category and period."""
    query = select(Appeal)
    if number:
        query = query.where(Appeal.number.contains(number.strip(), autoescape=True))
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        query = query.where(Appeal.caller_number.contains(digits[-10:] or phone, autoescape=True))
    if address:
        query = query.where(Appeal.address.icontains(address.strip(), autoescape=True))
    if municipality_id:
        query = query.where(Appeal.municipality_id == municipality_id)
    if category_id:
        query = query.where(Appeal.category_id == category_id)
    if since:
        query = query.where(Appeal.created_at >= since)
    if until:
        query = query.where(Appeal.created_at < until)
    open_first = case((Appeal.status.in_(OPEN_STATUSES), 0), else_=1)
    return db.session.scalars(
        query.order_by(open_first, Appeal.created_at.desc()).limit(limit)
    ).all()
