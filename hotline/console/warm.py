"""Warm transfer: the operator talks to the other side while the caller holds, then hands over."""

from sqlalchemy import select

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import Event, User
from core.telephony import CarrierError, get_gateway
from core.urls import absolute_url
from hotline.console import floor
from hotline.console.carrier import move_caller, note_carrier_error
from hotline.console.queue import ConsoleError, current_shift, operator_endpoint
from hotline.models import Call
from roster.services import resolve_on_duty

CONSULTING = "call.transfer-consult"
ENDED = ("call.transferred", "call.transfer-cancelled")


def chain_official_number(call: Call) -> tuple[str, str] | None:
    """Return the phone and name of the first official on duty for the call's appeal."""
    appeal = call.appeal
    if appeal is None or appeal.municipality is None:
        return None
    on_duty = resolve_on_duty(appeal.municipality, appeal.category, utcnow())
    for slot in on_duty.chain():
        if slot.phone:
            return slot.phone, slot.full_name or slot.role
    return None


def consultation(call: Call) -> Event | None:
    """Return the warm transfer being prepared on the call (the consultation), if any."""
    last = db.session.scalar(
        select(Event)
        .where(
            Event.subject_type == "call",
            Event.subject_id == str(call.id),
            Event.verb.in_((CONSULTING, *ENDED)),
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    return last if last is not None and last.verb == CONSULTING else None


def reserve_operator(call: Call, user: User, target: User | None) -> str | None:
    """Hold a ready operator for the call's consultation (one atomic step); her endpoint."""
    if target is None or target.id == user.id:
        return None
    shift = current_shift(target)
    if shift is None or not floor.change_state(
        target.id, floor.OFFERED, call_id=call.id, expect=(floor.READY,), actor=user
    ):
        return None
    return shift.endpoint


def start_consultation(
    call: Call, user: User, kind: str, number: str, label: str, operator_id: int | None = None
) -> bool:
    """Hold the caller and ring the operator, whose leg then dials the other side."""
    endpoint = operator_endpoint(call)
    if endpoint is None or call.operator_answered_at is None or consultation(call):
        raise ConsoleError("no-consultation")
    if not move_caller(call, "console_voice.hold_caller", "hold", user):
        _release(call, operator_id)
        return False
    try:
        sid = get_gateway().place_call(
            endpoint,
            absolute_url("console_voice.consult", call_id=call.id, to=number),
            timeout=floor.offer_seconds(),
        )
    except CarrierError as error:
        note_carrier_error(call, "consult", str(error), user)
        _release(call, operator_id)
        move_caller(call, "console_voice.dial_operator", "resume", user)
        return False
    data = {"kind": kind, "to": label, "number": number, "mode": "warm", "sid": sid}
    if operator_id is not None:
        data["operator_id"] = operator_id
    record_event("call", call.id, CONSULTING, data, actor=user)
    db.session.commit()
    return True


def complete_consultation(call: Call, user: User) -> bool:
    """Put the held caller through to the other side; the operator's leg ends."""
    consult = consultation(call) or _no_consultation()
    data = consult.data
    record_event(
        "call",
        call.id,
        "call.transferred",
        {"kind": data["kind"], "to": data["to"], "mode": "warm"},
        actor=user,
    )
    floor.note_wrapping_up(call, user.id)
    if data.get("operator_id"):  # the operator consulted takes the call: her phone rings again
        call.operator_id = data["operator_id"]
        target = absolute_url("console_voice.dial_operator", call_id=call.id)
    else:
        call.wrapped_up_at = call.wrapped_up_at or utcnow()
        target = absolute_url("console_voice.transfer_number", call_id=call.id, to=data["number"])
    _end_leg(data.get("sid"))
    db.session.commit()
    try:
        get_gateway().redirect_call(call.call_sid, target)
    except CarrierError as error:
        note_carrier_error(call, "transfer", str(error), user)
        db.session.commit()
        return False
    return True


def cancel_consultation(call: Call, user: User) -> bool:
    """End the consultation and ring the operator again to go back to the caller."""
    consult = consultation(call) or _no_consultation()
    record_event("call", call.id, "call.transfer-cancelled", {"to": consult.data["to"]}, actor=user)
    _release(call, consult.data.get("operator_id"))  # the operator consulted is free again
    _end_leg(consult.data.get("sid"))
    return move_caller(call, "console_voice.dial_operator", "resume", user)


def _release(call: Call, operator_id: int | None) -> None:
    """Make ready again the operator held for a consultation that did not go through."""
    if operator_id is not None:
        floor.change_state(operator_id, floor.READY, expect=(floor.OFFERED,), expect_call=call.id)
        db.session.commit()


def _no_consultation():
    raise ConsoleError("no-consultation")


def _end_leg(sid: str | None) -> None:
    """Hang up the operator's consultation leg if it is still on."""
    if not sid:
        return
    gateway = get_gateway()
    try:
        if gateway.call_status(sid) in ("queued", "ringing", "in-progress"):
            gateway.hangup(sid)
    except CarrierError:
        pass  # already gone
