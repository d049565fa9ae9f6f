"""Voice webhooks: the governor's line, the voice menu, the duty chain and status callbacks."""

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from core.extensions import db
from core.telephony.signature import protect_webhooks
from core.telephony.webhooks import answered_by_machine, form_int, twiml_response
from core.urls import absolute_url
from hotline import appeals, calls, chain, endings, menu, speech, twiml
from hotline.incidents import services as incident_services
from hotline.incidents.models import Incident
from hotline.models import Appeal, Call, CallOutcome
from hotline.prompts import SPOKEN_STATES, prompt, spoken_number
from roster.models import Category, Municipality

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix="/voice")
protect_webhooks(bp)

#: Failed tries by name before the digit menu of municipality groups is read.
SPEECH_TRIES = 2
#: Failed menu choices before the caller is put through to the regional dispatcher.
MENU_ATTEMPTS = 4
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
        call = calls.find_call(request.form.get("CallSid", "")) or abort(404)
        calls.leave_operators_queue(call)
        document = _municipality_menu(call)
        db.session.commit()
        return twiml_response(document)
    return twiml_response(twiml.hangup())


def _municipality_menu(call: Call, greeting: str | None = None, apology: str | None = None) -> str:
    """Ask for the municipality by name; a caller's earlier one is offered under key 1."""
    offered = menu.earlier_municipality(call)
    if offered is not None:
        question = prompt("offer_municipality", place=speech.dative(offered.name))
        action = absolute_url("voice.choose_municipality", offer=offered.id)
    else:
        question = prompt("ask_municipality")
        action = absolute_url("voice.choose_municipality")
    return twiml.ask(
        [apology, greeting, question],
        action,
        digits=1 if offered is not None else 2,
        hints=speech.hints(menu.voice_places()),
    )


def _first_menu(call: Call, greeting: str | None = None) -> str:
    """A known caller hears their open appeal's state first; others are asked for the place."""
    appeal = menu.open_appeal(call)
    if appeal is not None:
        return _appeal_menu(call, appeal, [greeting])
    earlier = menu.earlier_municipality(call)
    incident = incident_services.incident_for(earlier.id) if earlier else None
    if incident is not None:
        return _incident_menu(incident, [greeting], then="menu")
    return _municipality_menu(call, greeting=greeting)


def _incident_menu(incident: Incident, before: list[str | None], *, then: str) -> str:
    """Announce the incident; key 1 joins it, anything else goes on (`then`: menu or topics)."""
    place = incident.municipality
    texts = [prompt("incident", municipality=place.name, text=incident.text)]
    if incident.expected_end_at:
        until = menu.spoken_time(incident.expected_end_at, place.timezone)
        texts.append(prompt("incident_until", until=until))
    texts.append(prompt("incident_join"))
    return twiml.ask(
        [*before, " ".join(texts)],
        absolute_url("voice.incident_answer", incident_id=incident.id, then=then),
        digits=1,
        hints=[],
        speech=False,
    )


@bp.post("/menu/incident/<int:incident_id>")
def incident_answer(incident_id: int):
    """Key 1 on an incident's announcement counts the caller on it («me too»)."""
    call = calls.find_call(request.form["CallSid"]) or abort(404)
    incident = db.session.get(Incident, incident_id) or abort(404)
    if request.form.get("Digits") == "1" and incident.closed_at is None:
        incident_services.join_incident(incident, call)
        calls.set_call_outcome(call, CallOutcome.JOINED_INCIDENT)
        document = twiml.say_and_hangup(prompt("incident_joined"))
    elif request.args.get("then") == "topics":
        document = _category_menu(incident.municipality)
    else:
        document = _municipality_menu(call)
    db.session.commit()
    return twiml_response(document)


def _appeal_menu(call: Call, appeal: Appeal, before: list[str | None]) -> str:
    state = prompt(
        "known_appeal",
        number=spoken_number(appeal.number),
        state=SPOKEN_STATES.get(appeal.status, appeal.status),
        due=menu.spoken_date(appeal.resolution_due_at, appeal.municipality.timezone),
    )
    return twiml.ask(
        [*before, state],
        absolute_url("voice.known_appeal", appeal_id=appeal.id),
        digits=1,
        hints=[],
        speech=False,
    )


@bp.post("/menu/appeal/<int:appeal_id>")
def known_appeal(appeal_id: int):
    """A known caller's key: 1 the latest note, 2 the chain about it, 3 a new matter."""
    call = calls.find_call(request.form["CallSid"]) or abort(404)
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None or appeal.caller_number != call.from_number:
        abort(404)
    digits = request.form.get("Digits")
    if digits == "1":
        note = menu.latest_note(appeal)
        heard = prompt("known_appeal_note", note=note) if note else prompt("known_appeal_no_note")
        document = _appeal_menu(call, appeal, [heard])
    elif digits == "2":
        chain.call_about_appeal(call, appeal)
        document = _start_chain(call, appeal.municipality, appeal.category, prompt("connecting"))
    else:
        document = _municipality_menu(call)
    db.session.commit()
    return twiml_response(document)


def _first_letter(place: speech.Place) -> str:
    return speech.name_word(place.name)[:1].upper()


def _groups_menu(apology: str | None = None) -> str:
    """The digit fallback: groups of municipalities by first letter, «0 — оператор»."""
    parts = menu.place_groups(menu.voice_places())
    if len(parts) == 1:
        return _group_menu(0, apology)
    items = [
        prompt("menu_group_item", digit=i, first=_first_letter(p[0]), last=_first_letter(p[-1]))
        for i, p in enumerate(parts, start=1)
    ]
    return twiml.ask(
        [apology, " ".join([prompt("menu_groups"), *items, prompt("menu_operator")])],
        absolute_url("voice.choose_municipality", stage="groups"),
        digits=1,
        hints=speech.hints(menu.voice_places()),
    )


def _group_menu(group: int, apology: str | None = None) -> str:
    """One group of at most eight municipalities by digit, «0 — оператор»."""
    places = menu.place_groups(menu.voice_places())[group]
    items = [
        prompt("menu_place_item", digit=i, name=place.name)
        for i, place in enumerate(places, start=1)
    ]
    return twiml.ask(
        [apology, " ".join([*items, prompt("menu_operator")])],
        absolute_url("voice.choose_municipality", stage="group", group=group),
        digits=1,
        hints=speech.hints(places),
    )


def _category_menu(place: Municipality, apology: str | None = None) -> str:
    """The five most frequent topics here this month by digit or name, then «0 — другое»."""
    topics = menu.top_categories(place)
    items = [
        prompt("topic_item", digit=i, name=speech.spoken_topic(category.name))
        for i, category in enumerate(topics, start=1)
    ]
    return twiml.ask(
        [apology, " ".join([prompt("ask_topic"), *items, prompt("topic_other")])],
        absolute_url("voice.choose_category", topics=",".join(str(c.id) for c in topics)),
        digits=1,
        hints=[speech.spoken_topic(category.name) for category in topics],
    )


def _dispatcher() -> str:
    return twiml.fallback(prompt("fallback"), current_app.config["REGIONAL_DISPATCHER_NUMBER"])


def _to_operator(call: Call) -> str:
    """«0 — оператор»: the operators' queue when someone is on shift, else the dispatcher."""
    if calls.operators_on_shift():
        calls.enter_operators_queue(call)
        return twiml.enqueue_for_operators(
            prompt("connecting_short"),
            absolute_url("voice.queue_wait"),
            absolute_url("voice.queue_done"),
        )
    return _dispatcher()


def _municipality_retry(call: Call) -> str:
    """A failed try: by name again, then the digit groups, at last the dispatcher."""
    tries = menu.note_menu_retry(call)
    apology = prompt("not_understood")
    if tries >= MENU_ATTEMPTS:
        return _dispatcher()
    if tries >= SPEECH_TRIES:
        return _groups_menu(apology)
    return _municipality_menu(call, apology=apology)


@bp.post("/menu/municipality")
def choose_municipality():
    """Take the caller's municipality: a name, key 1 for the offered one, or the digit groups."""
    call = calls.find_call(request.form["CallSid"]) or abort(404)
    stage = request.args.get("stage", "speech")
    digits, said = request.form.get("Digits"), request.form.get("SpeechResult")
    group_count = len(menu.place_groups(menu.voice_places()))
    place = None
    document = None
    if digits == "0" and stage != "speech":
        document = _to_operator(call)
    elif stage == "groups" and digits and digits.isdigit() and 1 <= int(digits) <= group_count:
        document = _group_menu(int(digits) - 1)
    else:
        place = menu.choose_municipality(
            digits,
            said,
            offered_id=request.args.get("offer", type=int),
            group=request.args.get("group", type=int) if stage == "group" else None,
        )
    if document is None and place is None:
        document = _municipality_retry(call)
    elif place is not None:
        call.municipality_id = place.id
        call.menu_retries = 0
        incident = incident_services.incident_for(place.id)
        if incident is not None:
            document = _incident_menu(incident, [], then="topics")
        else:
            document = _category_menu(place)
    db.session.commit()
    return twiml_response(document)


def _topic_ids() -> list[int] | None:
    text = request.args.get("topics")
    if text is None:
        return None
    return [int(part) for part in text.split(",") if part.isdigit()]


@bp.post("/menu/category")
def choose_category():
    """Take the caller's topic and start the duty chain."""
    call = calls.find_call(request.form["CallSid"], with_chain=True) or abort(404)
    if call.municipality_id is None:
        document = _municipality_menu(call)
    else:
        place = db.session.get(Municipality, call.municipality_id)
        understood, category = menu.choose_category(
            request.form.get("Digits"), _topic_ids(), request.form.get("SpeechResult")
        )
        if understood:
            document = _start_chain(call, place, category, prompt("connecting_short"))
        elif menu.note_menu_retry(call) >= MENU_ATTEMPTS:
            document = _dispatcher()
        else:
            document = _category_menu(place, apology=prompt("not_understood"))
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
        return _first_menu(call, prompt("greeting"))
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
            prompt(
                "exhausted" if call.appeal else "exhausted_known",
                number=spoken_number(call.served_appeal.number),
            ),
            absolute_url("voice.recording", call_id=call.id),
            prompt("recorded"),
        )
    if step.action == "goodbye":
        return twiml.say_and_hangup(prompt("connected_goodbye"))
    return twiml.hangup()


def _start_chain(
    call: Call, place: Municipality, category: Category | None, intro: str | None = None
) -> str:
    step = chain.begin_chain(call, place, category)
    return _render_step(call, step, intro=intro or prompt("connecting"))


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
