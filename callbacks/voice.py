"""Webhooks of the callback flow and incoming SMS (signed by the carrier)."""

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from callbacks import notices, services, twiml
from callbacks.models import CallbackAttempt, NoticeCall
from core.extensions import db
from core.telephony import protect_webhooks
from core.telephony.webhooks import answered_by_machine, form_int, twiml_response
from core.urls import absolute_url

log = logging.getLogger(__name__)

bp = Blueprint("callback_hooks", __name__)
protect_webhooks(bp)

#: Webhooks that are not a call's TwiML: on a database failure they ask the carrier to retry.
NOT_TWIML = {"callback_hooks.status", "callback_hooks.notice_status", "callback_hooks.sms_incoming"}


@bp.errorhandler(SQLAlchemyError)
def database_unavailable(error):
    """Answer a database failure without a 500: the official's call ends with an apology.

    Status callbacks and SMS get a 503, so that the carrier retries or uses the fallback URL;
    a callback whose end is lost is finished by the reconciliation.
    """
    log.error("callback webhook %s failed on the database: %s", request.path, error)
    db.session.rollback()
    if request.endpoint in NOT_TWIML:
        return Response(status=503, headers={"Retry-After": "30"})
    return twiml_response(twiml.unavailable())


def _attempt(attempt_id: int) -> CallbackAttempt:
    """Load the attempt a webhook names and keep its CallSid: the call exists."""
    attempt = db.session.get(CallbackAttempt, attempt_id) or abort(404)
    if services.note_callback_sid(attempt, request.form.get("CallSid")):
        db.session.commit()  # kept even when the webhook itself changes nothing
    return attempt


@bp.post("/voice/callbacks/<int:attempt_id>/whisper")
def whisper(attempt_id: int):
    """Tell the answering official which card this is and ask for 1 (a machine: hang up)."""
    attempt = _attempt(attempt_id)
    if answered_by_machine():
        services.finish_unaccepted_callback(attempt, services.MACHINE)
        db.session.commit()
        return twiml_response(twiml.hangup())
    topic = services.appeal_topic(attempt.card.appeal)
    accept = absolute_url("callback_hooks.accept", attempt_id=attempt.id)
    return twiml_response(twiml.callback_whisper(attempt.card_id, topic, accept))


@bp.post("/voice/callbacks/<int:attempt_id>/accept")
def accept(attempt_id: int):
    """The official's key: 1 dials the citizen, anything else ends the call.

    1 on a callback already finished (the leg was reported gone) says so instead of dialling.
    """
    attempt = _attempt(attempt_id)
    if request.form.get("Digits") == "1" and attempt.outcome is not None:
        return twiml_response(twiml.callback_over())
    if services.record_callback_key(attempt, request.form.get("Digits", "")):
        db.session.commit()
        return twiml_response(
            twiml.dial_citizen(
                attempt.citizen_number,
                current_app.config["TWILIO_NUMBER"],
                absolute_url("callback_hooks.result", attempt_id=attempt.id),
            )
        )
    db.session.commit()
    return twiml_response(twiml.hangup())


@bp.post("/voice/callbacks/<int:attempt_id>/result")
def result(attempt_id: int):
    """Record how the citizen's leg ended; only a bridged call counts as a callback."""
    attempt = _attempt(attempt_id)
    outcome = services.finish_callback(
        attempt, request.form.get("DialCallStatus"), form_int("DialCallDuration")
    )
    db.session.commit()
    return twiml_response(twiml.callback_result(outcome == "answered"))


@bp.post("/voice/callbacks/<int:attempt_id>/status")
def status(attempt_id: int):
    """Status callback of the official's leg: note a callback the official never accepted."""
    attempt = _attempt(attempt_id)
    call_status = request.form.get("CallStatus", "")
    if call_status in ("completed", "busy", "failed", "no-answer", "canceled"):
        services.finish_unaccepted_callback(attempt, call_status)
        db.session.commit()
    return Response(status=204)


@bp.post(notices.notice_path("<int:notice_id>"))
def notice(notice_id: int):
    """Read the card to the official whose SMS was not delivered and ask for 1.

    A voicemail or fax that answered is not the official: the call ends as unanswered.
    """
    notice = db.session.get(NoticeCall, notice_id) or abort(404)
    if answered_by_machine():
        notices.end_notice_call(notice, services.MACHINE)
        db.session.commit()
        return twiml_response(twiml.hangup())
    text = notices.notice_text(notice.card)
    key = notices.notice_url(notice.id, "key")
    return twiml_response(twiml.notice_call(text, key))


@bp.post(notices.notice_path("<int:notice_id>", "key"))
def notice_key(notice_id: int):
    """The official's key on the notice call: 1 acknowledges the card as that official."""
    notice = db.session.get(NoticeCall, notice_id) or abort(404)
    acknowledged = request.form.get("Digits") == "1" and notices.acknowledge_by_phone(notice)
    db.session.commit()
    return twiml_response(twiml.notice_answer(acknowledged))


@bp.post(notices.notice_path("<int:notice_id>", "status"))
def notice_status(notice_id: int):
    """Status callback of the notice call: note a call that ended without the official's 1."""
    notice = db.session.get(NoticeCall, notice_id) or abort(404)
    call_status = request.form.get("CallStatus", "")
    if call_status in ("completed", "busy", "failed", "no-answer", "canceled"):
        notices.end_notice_call(notice, call_status)
        db.session.commit()
    return Response(status=204)


@bp.post("/sms/incoming")
def sms_incoming():
    """Apply an incoming SMS: a citizen's confirmation or an official's status reply."""
    services.take_incoming_sms(request.form.get("From", ""), request.form.get("Body", ""))
    db.session.commit()
    return twiml_response('<?xml version="1.0" encoding="UTF-8"?><Response/>')
