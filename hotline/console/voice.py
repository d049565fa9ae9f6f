"""Webhooks of the operator console: the caller's leg to the operator, hold, goodbye."""

import re

from flask import Blueprint, abort, current_app, request

from core.clock import utcnow
from core.extensions import db
from core.telephony import protect_webhooks
from core.telephony.webhooks import form_int, twiml_response
from core.urls import absolute_url
from hotline import calls
from hotline import twiml as voice_twiml
from hotline.caller_id import callback_number
from hotline.calls import FINAL_STATUSES
from hotline.console import services, twiml
from hotline.models import Call
from hotline.prompts import prompt, spoken_number
from hotline.voice import add_database_fallback

bp = Blueprint("console_voice", __name__, url_prefix="/voice/console")
protect_webhooks(bp)
add_database_fallback(bp, {"console_voice.operator_answered"})


def _load_call(call_id: int) -> Call:
    return db.session.get(Call, call_id) or abort(404)


def _back_to_queue() -> str:
    return voice_twiml.enqueue_for_operators(
        prompt("greeting"),
        absolute_url("console_voice.queue_wait"),
        absolute_url("voice.queue_done"),
    )


@bp.post("/queue/wait")
def queue_wait():
    """Offer the waiting callers to ready operators, then tell this caller their place and wait."""
    services.offer_waiting_calls()
    return twiml_response(_queue_announcement())


def _queue_announcement() -> str:
    position = form_int("QueuePosition") or 1
    minutes = max(1, round(services.estimated_wait_seconds(position) / 60))
    call = calls.find_call(request.form.get("CallSid", ""))
    waited = (utcnow() - call.queued_at).total_seconds() if call and call.queued_at else 0
    offer = waited >= current_app.config["CALLBACK_OFFER_AFTER_SECONDS"]
    return twiml.queue_wait(
        prompt("queue_estimate", position=position, minutes=minutes),
        absolute_url("console_voice.queue_key"),
        prompt("queue_callback_offer") if offer else None,
    )


@bp.post("/queue/key")
def queue_key():
    """A key while waiting: `*` leaves for the voice menu, 1 asks for a callback in place."""
    digits = request.form.get("Digits")
    if digits == "*":
        return twiml_response(voice_twiml.leave_queue())
    call = calls.find_call(request.form.get("CallSid", ""))
    if digits == "1" and call is not None and call.queued_at is not None:
        waited = (utcnow() - call.queued_at).total_seconds()
        allowed = waited >= current_app.config["CALLBACK_OFFER_AFTER_SECONDS"]
        if allowed and services.request_callback(call):
            db.session.commit()
            return twiml_response(twiml.callback_kept(prompt("queue_callback_kept")))
    return twiml_response(_queue_announcement())


@bp.post("/calls/<int:call_id>/callback/operator")
def callback_operator(call_id: int):
    """The operator answered the callback of a caller who kept their place: dial the citizen."""
    call = _load_call(call_id)
    services.mark_operator_answered(call)
    db.session.commit()
    return twiml_response(
        twiml.dial_citizen(
            prompt("queue_callback_whisper"),
            callback_number(call.from_number) or call.from_number,
            current_app.config["TWILIO_NUMBER"],
            absolute_url("console_voice.callback_done", call_id=call.id),
        )
    )


@bp.post("/calls/<int:call_id>/callback/status")
def callback_status(call_id: int):
    """The operator's callback leg ended: unanswered, the caller is offered to the next one."""
    call = _load_call(call_id)
    status = request.form.get("CallStatus", "")
    if status in FINAL_STATUSES and call.operator_answered_at is None:
        services.return_to_queue(call, status)
        db.session.commit()
        services.offer_waiting_calls()
    return "", 204


@bp.post("/calls/<int:call_id>/callback/done")
def callback_done(call_id: int):
    """The citizen's leg of a kept-place callback ended."""
    _load_call(call_id)
    return twiml_response(voice_twiml.hangup())


@bp.post("/calls/<int:call_id>/operator")
def dial_operator(call_id: int):
    """Ring the endpoint of the operator who took the call."""
    call = _load_call(call_id)
    endpoint = services.operator_endpoint(call)
    if endpoint is None:  # the operator went off shift meanwhile
        services.return_to_queue(call, "no-shift")
        db.session.commit()
        return twiml_response(_back_to_queue())
    return twiml_response(
        twiml.dial_operator(
            endpoint,
            # the carrier refuses a withheld caller ID as callerId: the operator sees the line's
            callback_number(call.from_number) or current_app.config["TWILIO_NUMBER"],
            absolute_url("console_voice.operator_answered", call_id=call.id),
            absolute_url("console_voice.operator_result", call_id=call.id),
            services.offer_seconds(),
        )
    )


@bp.post("/calls/<int:call_id>/operator/answered")
def operator_answered(call_id: int):
    """The operator picked up: note it and bridge them to the caller (if still there)."""
    call = _load_call(call_id)
    if call.ended_at is not None:  # the caller hung up while the operator's phone rang
        return twiml_response(voice_twiml.say_and_hangup(prompt("caller_gone")))
    services.mark_operator_answered(call)
    db.session.commit()
    return twiml_response(twiml.operator_answered())


@bp.post("/calls/<int:call_id>/operator/result")
def operator_result(call_id: int):
    """After the operator's leg: hold the caller for the operator, or queue them again.

    A caller whose own CallStatus ended hung up: nobody is queued again.
    """
    call = _load_call(call_id)
    if call.ended_at is not None or request.form.get("CallStatus") in FINAL_STATUSES:
        services.return_to_queue(call, request.form.get("DialCallStatus", "failed"))
        db.session.commit()
        return twiml_response(voice_twiml.hangup())
    if call.operator_answered_at is not None:
        return twiml_response(
            twiml.hold(
                absolute_url("console_voice.hold_wait"), absolute_url("console_voice.hold_done")
            )
        )
    services.return_to_queue(call, request.form.get("DialCallStatus", "failed"))
    db.session.commit()
    return twiml_response(_back_to_queue())


@bp.post("/calls/<int:call_id>/hold")
def hold_caller(call_id: int):
    """The operator put the caller on hold: they wait in the hold queue until resumed."""
    _load_call(call_id)
    return twiml_response(
        twiml.hold(absolute_url("console_voice.hold_wait"), absolute_url("console_voice.hold_done"))
    )


@bp.post("/calls/<int:call_id>/transfer")
def transfer_number(call_id: int):
    """Put the caller through to the number the operator transferred them to."""
    call = _load_call(call_id)
    number = request.args.get("to", "")
    if not re.fullmatch(r"\+\d{10,15}|client:[\w.@-]{1,120}", number):
        abort(400)
    return twiml_response(
        twiml.transfer_to_number(
            prompt("transfer_connecting"),
            number,
            current_app.config["TWILIO_NUMBER"],
            absolute_url("console_voice.callback_done", call_id=call.id),
        )
    )


@bp.post("/calls/<int:call_id>/consult")
def consult(call_id: int):
    """The operator's consultation leg: she talks to the other side while the caller holds."""
    _load_call(call_id)
    number = request.args.get("to", "")
    if not re.fullmatch(r"\+\d{10,15}|client:[\w.@-]{1,120}", number):
        abort(400)
    return twiml_response(
        twiml.consult(prompt("transfer_consult"), number, current_app.config["TWILIO_NUMBER"])
    )


@bp.post("/hold/wait")
def hold_wait():
    """What a caller on hold hears."""
    return twiml_response(twiml.hold_wait())


@bp.post("/hold/done")
def hold_done():
    """The caller left the hold queue without being moved on: end the call."""
    return twiml_response(voice_twiml.hangup())


@bp.post("/calls/<int:call_id>/registered")
def registered(call_id: int):
    """Tell the caller their appeal's number and say goodbye."""
    call = _load_call(call_id)
    appeal = call.appeal or abort(404)
    return twiml_response(twiml.registered(spoken_number(appeal.number)))


@bp.post("/calls/<int:call_id>/goodbye")
def goodbye(call_id: int):
    """Thank the caller and hang up (the operator wrapped the call up)."""
    _load_call(call_id)
    return twiml_response(twiml.goodbye())
