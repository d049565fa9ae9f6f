"""Voice webhooks: the governor's line, the voice menu, the duty chain and status callbacks."""

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from core.extensions import db
from core.telephony.signature import protect_webhooks
from core.telephony.webhooks import answered_by_machine, form_int, twiml_response
from core.urls import absolute_url
from hotline import appeals, calls, chain, endings, menu, twiml
from hotline.menu import spoken_name_key
from hotline.models import Call
from hotline.prompts import prompt, spoken_number
from roster.models import Category, Municipality

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix="/voice")
protect_webhooks(bp)

#: Failed menu choices before the caller is put through to the regional dispatcher.
MENU_ATTEMPTS = 3
REFUSAL_PROMPTS = {"blocked": "blocked", "rate-limited": "rate_limited"}


def _load_call(call_id: int) -> Call:
    return calls.load_call(call_id) or abort(404)


def _fallbacktwiml_response() -> Response:
    return twiml_response(
        twiml.fallback(prompt("fallback"), current_app.config["REGIONAL_DISPATCHER_NUMBER"])
    )


def add_database_fallback(blueprint: Blueprint, called_leg_endpoints: set[str]) -> None:
    """Answer a database failure with safe TwiML: the caller is put through to the regional
    dispatcher; a called person's leg (a whisper) just hangs up and the caller's Dial goes on."""

    def database_unavailable(error):
        log.error("voice webhook %s failed on the database: %s", request.path, error)
        db.session.rollback()
        if request.endpoint in called_leg_endpoints:
            return twiml_response(twiml.hangup())
        return _fallbacktwiml_response()

    blueprint.register_error_handler(SQLAlchemyError, database_unavailable)


add_database_fallback(bp, {"voice.whisper", "voice.accept"})


@bp.post("/fallback")
def fallback():
    """Answer Twilio's fallback URL with TwiML that needs no database."""
    return _fallbacktwiml_response()


@bp.post("/incoming")
def incoming():
    """Greet a new caller and send them to the operators, the voice menu or a chain."""
    call, duty_place = calls.record_incoming_call(
        request.form["CallSid"], request.form.get("From", ""), request.form.get("To", "")
    )
    document = _render_step(call, chain.answer_call(call, duty_place), intro=prompt("connecting"))
    db.session.commit()
    return twiml_response(document)


@bp.post("/queue/wait")
def queue_wait():
    """Tell a waiting caller their place in the operators' queue."""
    position = form_int("QueuePosition") or 1
    return twiml_response(
        twiml.queue_wait(prompt("queue_wait", position=position), absolute_url("voice.queue_skip"))
    )


@bp.post("/queue/skip")
def queue_skip():
    """`*` while waiting: leave the queue for the voice menu."""
    if request.form.get("Digits") == "*":
        return twiml_response(twiml.leave_queue())
    return queue_wait()


@bp.post("/queue/done")
def queue_done():
    """After the queue: a caller who left it chooses in the voice menu."""
    if request.form.get("QueueResult") == "leave":
        call = calls.find_call(request.form.get("CallSid", ""))
        if call is not None:
            calls.leave_operators_queue(call)
            db.session.commit()
        return twiml_response(_municipality_menu())
    return twiml_response(twiml.hangup())


def _municipality_menu(greeting: str | None = None, apology: str | None = None) -> str:
    entries = menu.menu_municipalities()
    return twiml.menu(
        prompt("menu_municipality"),
        [prompt("menu_municipality_item", code=code, name=place.name) for code, place in entries],
        absolute_url("voice.choose_municipality"),
        digits=2,
        greeting=greeting,
        apology=apology,
        hints=[spoken_name_key(place.name).capitalize() for _, place in entries],
    )


def _category_menu(apology: str | None = None) -> str:
    entries = menu.menu_categories()
    items = [prompt("menu_category_item", digit=key, name=c.name) for key, c in entries]
    return twiml.menu(
        prompt("menu_category"),
        [*items, prompt("menu_category_other")],
        absolute_url("voice.choose_category"),
        digits=1,
        hints=[],
        apology=apology,
    )


def _menu_retry(call: Call, menu_builder) -> str:
    if menu.note_menu_retry(call) >= MENU_ATTEMPTS:
        return twiml.fallback(prompt("fallback"), current_app.config["REGIONAL_DISPATCHER_NUMBER"])
    return menu_builder(apology=prompt("not_understood"))


@bp.post("/menu/municipality")
def choose_municipality():
    """Take the caller's municipality (keypad code or spoken name)."""
    call = calls.find_call(request.form["CallSid"]) or abort(404)
    place = menu.choose_municipality(request.form.get("Digits"), request.form.get("SpeechResult"))
    if place is None:
        document = _menu_retry(call, _municipality_menu)
    else:
        call.municipality_id = place.id
        call.menu_retries = 0
        document = _category_menu()
    db.session.commit()
    return twiml_response(document)


@bp.post("/menu/category")
def choose_category():
    """Take the caller's topic and start the duty chain."""
    call = calls.find_call(request.form["CallSid"], with_chain=True) or abort(404)
    if call.municipality_id is None:
        document = _municipality_menu()
    else:
        understood, category = menu.choose_category(request.form.get("Digits"))
        if understood:
            place = db.session.get(Municipality, call.municipality_id)
            document = _start_chain(call, place, category)
        else:
            document = _menu_retry(call, _category_menu)
    db.session.commit()
    return twiml_response(document)


def _render_step(call: Call, step: chain.NextStep, intro: str | None = None) -> str:
    """Return the TwiML of the call's next step."""
    if step.action == "refuse":
        return twiml.say_and_hangup(prompt(REFUSAL_PROMPTS[step.reason]))
    if step.action == "queue":
        return twiml.enqueue_for_operators(
            prompt("greeting"),
            absolute_url("console_voice.queue_wait"),  # offers the caller to ready operators
            absolute_url("voice.queue_done"),
        )
    if step.action == "menu":
        return _municipality_menu(greeting=prompt("greeting"))
    if step.action == "ring":
        # the names the official hears travel in the whisper's URL, which Twilio signs
        subject = (call.routing or {}).get("subject", {})
        position = step.attempt.position
        return twiml.dial_official(
            intro,
            step.attempt.phone,
            current_app.config["TWILIO_NUMBER"],
            absolute_url("voice.whisper", call_id=call.id, position=position, **subject),
            absolute_url("voice.dial_result", call_id=call.id, position=position),
        )
    if step.action == "voice-message":
        return twiml.offer_voice_message(
            prompt("exhausted", number=spoken_number(call.appeal.number)),
            absolute_url("voice.recording", call_id=call.id),
            prompt("recorded"),
        )
    if step.action == "goodbye":
        return twiml.say_and_hangup(prompt("connected_goodbye"))
    return twiml.hangup()


def _start_chain(call: Call, place: Municipality, category: Category | None) -> str:
    return _render_step(call, chain.begin_chain(call, place, category), intro=prompt("connecting"))


@bp.post("/calls/<int:call_id>/connect")
def connect_appeal(call_id: int):
    """Send a live caller whose appeal an operator registered into that appeal's duty chain."""
    call = _load_call(call_id)
    appeal = call.appeal or abort(404)
    document = _start_chain(call, appeal.municipality, appeal.category)
    db.session.commit()
    return twiml_response(document)


@bp.post("/chain/<int:call_id>/<int:position>/whisper")
def whisper(call_id: int, position: int):
    """Tell the answering official who calls and ask them to press 1 (a machine: hang up)."""
    if answered_by_machine():
        chain.record_machine_answer(
            _load_call(call_id), position, request.form.get("CallSid"), request.form["AnsweredBy"]
        )
        db.session.commit()
        return twiml_response(twiml.hangup())
    municipality, topic = request.args.get("municipality"), request.args.get("topic")
    if municipality is None:  # a chain started before the names were put in the URL
        municipality, topic = chain.whisper_subject(call_id) or abort(404)
    text = prompt("whisper", municipality=municipality, topic=topic or "общий вопрос")
    return twiml_response(
        twiml.whisper(text, absolute_url("voice.accept", call_id=call_id, position=position))
    )


@bp.post("/chain/<int:call_id>/<int:position>/accept")
def accept(call_id: int, position: int):
    """The official's key on the whisper: 1 bridges the caller, anything else hangs up."""
    call = _load_call(call_id)
    attempt = chain.get_attempt(call, position) or abort(404)
    result = chain.press_key(
        call, attempt, request.form.get("Digits", ""), request.form.get("CallSid")
    )
    if result == "caller-gone":
        return twiml_response(twiml.say_and_hangup(prompt("caller_gone")))
    db.session.commit()
    return twiml_response(twiml.bridge() if result == "bridge" else twiml.hangup())


@bp.post("/chain/<int:call_id>/<int:position>/result")
def dial_result(call_id: int, position: int):
    """Record how ringing this official ended and go on to the next one if needed."""
    call = _load_call(call_id)
    attempt = chain.get_attempt(call, position) or abort(404)
    step = chain.after_dial(
        call,
        attempt,
        request.form.get("DialCallStatus", "failed"),
        form_int("DialCallDuration"),
        request.form.get("DialCallSid"),
        request.form.get("CallStatus"),
    )
    document = _render_step(call, step)
    db.session.commit()
    return twiml_response(document)


@bp.post("/calls/<int:call_id>/recording")
def recording(call_id: int):
    """Keep the caller's voice message with the appeal."""
    call = _load_call(call_id)
    if request.form.get("RecordingUrl"):
        appeals.store_recording(call, request.form["RecordingUrl"], form_int("RecordingDuration"))
    db.session.commit()
    return twiml_response(twiml.say_and_hangup(prompt("recorded")))


@bp.post("/status")
def status():
    """Apply a call status callback (late, repeated and reordered ones are tolerated)."""
    call = calls.find_call(request.form.get("CallSid", ""))
    if call is not None:
        endings.apply_status(call, request.form.get("CallStatus", ""), form_int("SequenceNumber"))
        db.session.commit()
    return Response(status=204)
