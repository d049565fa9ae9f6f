"""The operator console pages: shift, live queue, call handling, control and search."""

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from core.auth import EmptyForm, roles_required
from core.events import record_event
from core.extensions import db
from core.journal import record_access
from core.logs import polled
from core.models import User
from core.parsing import parse_id
from core.telephony import CarrierError, get_gateway
from core.telephony.retries import CALL_MAX_TRIES
from core.urls import absolute_url
from hotline.caller_id import callback_number
from hotline.console import floor, services, softphone, wallboard, warm
from hotline.console.forms import (
    BREAK_LABELS,
    STATE_LABELS,
    URGENCY_LABELS,
    WRAPUP_LABELS,
    AppealForm,
    ShiftForm,
    StateForm,
    WrapUpForm,
)
from hotline.labels import (
    appeal_status_labels,
    attempt_outcome_labels,
    call_and_appeal_event_labels,
    call_outcome_labels,
    duty_role_labels,
)
from hotline.models import Appeal, Call
from hotline.phone import phone_roles
from roster.models import Category, Municipality
from roster.rules import normalise_phone

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console")

CONSOLE_ROLES = ("operator", "admin")


def _find_municipality(text: str | None) -> Municipality | None:
    text = (text or "").strip()
    if not text:
        return None
    for place in services.all_municipalities():
        if text.casefold() in (place.name.casefold(), place.code.casefold()):
            return place
    return None


def _find_category(value: str | None) -> Category | None:
    category_id = parse_id(value)
    return db.session.get(Category, category_id) if category_id else None


def _left_reasons() -> dict[str, str]:
    return {
        "no-answer": _("The call went back to the queue: your phone did not answer."),
        "busy": _("The call went back to the queue: your phone was busy."),
        "no-shift": _("The call went back to the queue: your shift had ended."),
        "canceled": _("The call went back to the queue: the caller hung up before you answered."),
        "failed": _(
            "The call went back to the queue: the telephone network could not reach your phone."
        ),
    }


def _left_states() -> dict[str, str]:
    return {
        "waiting": _("The caller is waiting in the queue again: take the call from there."),
        "taken": _("Another operator has taken the call since."),
        "ended": _("The caller has hung up."),
    }


def _render_left(call: Call, left: services.CallLeft, template: str, status: int):
    reasons = _left_reasons()
    return render_template(
        template,
        call=call,
        reason=reasons.get(left.why, reasons["failed"]),
        state=_left_states()[left.now],
    ), status


def _load_call(call_id: int, fragment: bool = False) -> Call:
    """Load the operator's call; a call that went back to the queue from her says why instead."""
    call = db.session.get(Call, call_id) or abort(404)
    if call.operator_id != current_user.id and current_user.role != "admin":
        left = services.call_left(call, current_user)
        if left is None:
            abort(403, _("This call was taken by another operator."))
        if fragment:
            abort(make_response(_render_left(call, left, "hotline/console/_left.html", 200)))
        status = 200 if request.method == "GET" else 409
        abort(make_response(_render_left(call, left, "hotline/console/left.html", status)))
    return call


def _appeal_form(form: AppealForm | None = None, call: Call | None = None) -> AppealForm:
    form = form or AppealForm()
    categories = services.all_categories()
    form.category.choices = [SelectChoice("", _("general question"))] + [
        SelectChoice(str(c.id), c.name) for c in categories
    ]
    if call is not None and not form.is_submitted():
        # a hidden caller ID gives nothing to call back: the operator asks for a number
        form.callback_number.data = callback_number(call.from_number) or ""
        form.caller_name.data = services.known_caller_name(call.from_number)
        form.urgency.data = "ordinary"
    return form


@bp.get("/")
@roles_required(*CONSOLE_ROLES)
def index():
    """Show the operator's shift, their current call and the live queue."""
    shift = services.current_shift(current_user)
    form = ShiftForm()
    if shift is not None:
        form.endpoint.data = shift.endpoint
    return render_template(
        "hotline/console/index.html",
        shift=shift,
        shift_form=form,
        active=services.active_call(current_user),
        entries=services.waiting_calls(),
        presence=floor.presence_of(current_user.id),
        state_form=StateForm(),
        softphone=_softphone(shift),
    )


def _softphone(shift) -> dict | None:
    """Return how the page's softphone rings the shift's endpoint, with its labels."""
    if shift is None:
        return None
    telephony = current_app.config["TELEPHONY"]
    if not shift.endpoint.startswith("client:"):
        return None  # her calls ring a phone, not this page
    if telephony == "twilio":
        mode = "twilio"
    elif telephony == "sim" and current_user.role in phone_roles(current_app.config):
        mode = "sim"
    else:
        return None
    labels = {
        "idle": _("Waiting for a call"),
        "ringing": _("A call is offered: answer it"),
        "on-call": _("On the call"),
        "error": _("The softphone cannot reach the telephone network"),
        "unavailable": _("The softphone is not configured on this Twilio account."),
        "mute": _("Mute"),
        "unmute": _("Unmute"),
        "hold": _("Hold"),
        "resume": _("Resume"),
    }
    return {"mode": mode, "labels": labels}


@bp.get("/abandoned")
@roles_required(*CONSOLE_ROLES)
def abandoned():
    """List the callers who hung up after waiting over 10 s, to call back."""
    return render_template(
        "hotline/console/abandoned.html", entries=services.abandoned_to_call_back()
    )


@bp.post("/calls/<int:call_id>/transfer")
@roles_required(*CONSOLE_ROLES)
def transfer(call_id: int):
    """Transfer the call cold to a ready operator, the appeal's duty chain, or any number."""
    call = _load_call(call_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    kind = request.form.get("target")
    back = redirect(url_for("console.call", call_id=call.id))
    if call.ended_at is not None:
        flash(_("The caller has hung up."), "error")
        return back
    if kind == "chain":
        if call.appeal is None:
            flash(_("Register the appeal first: the duty chain is the appeal's."), "error")
            return back
        record_event("call", call.id, "call.transferred", {"kind": "chain"}, actor=current_user)
        return _connect(call, call.appeal)
    if kind == "operator":
        target = db.session.get(User, parse_id(request.form.get("operator")) or 0)
        if target is None or not services.transfer_to_operator(call, current_user, target):
            db.session.rollback()
            flash(_("That operator is not ready for a call."), "error")
            return back
        services.move_caller(call, "console_voice.dial_operator", "transfer", current_user)
        flash(_("The call is transferred."), "info")
        return redirect(url_for("console.index"))
    if kind == "number":
        try:
            number = normalise_phone(request.form.get("number", ""))
        except ValueError:
            flash(_("Enter a valid phone number, e.g. +7 916 123-45-67."), "error")
            return back
        services.transfer_to_number(call, current_user, number)
        db.session.commit()
        try:
            get_gateway().redirect_call(
                call.call_sid,
                absolute_url("console_voice.transfer_number", call_id=call.id, to=number),
            )
        except CarrierError as error:
            services.note_carrier_error(call, "transfer", str(error), current_user)
            db.session.commit()
            flash(_("The telephone network did not transfer the caller. Try again."), "error")
            return back
        flash(_("The call is transferred."), "info")
        return redirect(url_for("console.index"))
    abort(400)


@bp.post("/calls/<int:call_id>/warm")
@roles_required(*CONSOLE_ROLES)
def warm_transfer(call_id: int):
    """Transfer warm: talk to the other side while the caller holds, then complete or cancel."""
    call = _load_call(call_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    back = redirect(url_for("console.call", call_id=call.id))
    if call.ended_at is not None:
        flash(_("The caller has hung up."), "error")
        return back
    step = request.form.get("step")
    try:
        if step == "complete":
            done = warm.complete_consultation(call, current_user)
            if not done:
                flash(_carrier_failed(), "error")
                return back
            flash(_("The call is transferred."), "info")
            return redirect(url_for("console.index"))
        if step == "cancel":
            if not warm.cancel_consultation(call, current_user):
                flash(_carrier_failed(), "error")
            return back
        target = _warm_target(call, request.form.get("target"))
        if target is None:
            return back
        if not warm.start_consultation(call, current_user, *target):
            db.session.rollback()
            flash(_carrier_failed(), "error")
    except services.ConsoleError:
        db.session.rollback()
        flash(_("There is no consultation to complete on this call."), "error")
    return back


def _carrier_failed() -> str:
    return _("The telephone network did not move the caller: try again.")


def _warm_target(call: Call, kind: str | None) -> tuple[str, str, str, int | None] | None:
    """Return the kind, number, label and operator of the side to consult (or flash why not)."""
    if kind == "chain":
        official = warm.chain_official_number(call)
        if official is None:
            flash(_("Register the appeal first: the duty chain is the appeal's."), "error")
            return None
        return "chain", official[0], official[1], None
    if kind == "number":
        try:
            number = normalise_phone(request.form.get("number", ""))
        except ValueError:
            flash(_("Enter a valid phone number, e.g. +7 916 123-45-67."), "error")
            return None
        return "number", number, number, None
    if kind == "operator":
        target = db.session.get(User, parse_id(request.form.get("operator")) or 0)
        endpoint = warm.reserve_operator(call, current_user, target)
        if endpoint is None:
            db.session.rollback()
            flash(_("That operator is not ready for a call."), "error")
            return None
        return "operator", endpoint, target.username, target.id
    abort(400)


WALLBOARD_ROLES = ("manager", "admin")


@bp.get("/wallboard")
@roles_required(*WALLBOARD_ROLES)
def wallboard_page():
    """Show the wallboard in large type; it refreshes itself from the JSON below."""
    return render_template("hotline/console/wallboard.html", board=wallboard.wallboard())


@bp.get("/wallboard.json")
@polled
@roles_required(*WALLBOARD_ROLES)
def wallboard_data():
    """Return the wallboard's figures and chart (polled every few seconds)."""
    return jsonify(wallboard.wallboard())


@bp.post("/calls/<int:call_id>/hold")
@roles_required(*CONSOLE_ROLES)
def hold(call_id: int):
    """Put the caller on hold (they hear the hold message), or ring you again to resume."""
    call = _load_call(call_id)
    if not EmptyForm().validate_on_submit() or call.operator_answered_at is None:
        abort(400)
    resume = bool(request.form.get("resume"))
    verb = "call.resumed" if resume else "call.held"
    record_event("call", call.id, verb, {}, actor=current_user)
    endpoint = "console_voice.dial_operator" if resume else "console_voice.hold_caller"
    if not services.move_caller(call, endpoint, "hold", current_user):
        return jsonify(
            {
                "error": {
                    "code": "carrier",
                    "message": _("The telephone network did not move the caller: try again."),
                }
            }
        ), 502
    return jsonify({"held": not resume})


@bp.get("/queue")
@polled
@roles_required(*CONSOLE_ROLES)
def queue():
    """Return the live queue fragment (polled by the console page)."""
    return render_template(
        "hotline/console/_queue.html",
        entries=services.waiting_calls(),
        shift=services.current_shift(current_user),
        active=services.active_call(current_user),
        presence=floor.presence_of(current_user.id),
    )


@bp.post("/shift")
@roles_required(*CONSOLE_ROLES)
def start_shift():
    """Start (or move) the operator's shift to the endpoint given."""
    form = ShiftForm()
    if not form.validate_on_submit():
        return render_template(
            "hotline/console/index.html",
            shift=services.current_shift(current_user),
            shift_form=form,
            active=services.active_call(current_user),
            entries=services.waiting_calls(),
            presence=floor.presence_of(current_user.id),
            state_form=StateForm(),
        ), 400
    services.start_shift(current_user, form.endpoint.data, ready=form.ready.data)
    db.session.commit()
    flash(_("You are on shift; calls ring %(endpoint)s.", endpoint=form.endpoint.data), "info")
    services.offer_waiting_calls()
    return redirect(url_for("console.index"))


@bp.post("/token")
@roles_required(*CONSOLE_ROLES)
def token():
    """Return a short-lived access token for the signed-in operator's softphone."""
    identity = softphone.softphone_identity(current_user)
    asked = request.form.get("identity") or (request.get_json(silent=True) or {}).get("identity")
    if asked and asked != identity:
        message = _("A softphone token is given only for your own identity.")
        return jsonify({"error": {"code": "forbidden", "message": message}}), 403
    try:
        jwt, seconds = softphone.access_token(current_user)
    except softphone.SoftphoneUnavailable:
        message = _("The softphone is not configured on this Twilio account.")
        return jsonify({"error": {"code": "softphone-unavailable", "message": message}}), 409
    return jsonify({"token": jwt, "identity": identity, "expires_in": seconds})


@bp.post("/state")
@roles_required(*CONSOLE_ROLES)
def change_state():
    """Make yourself ready, take a break with its reason, or extend your wrap-up."""
    form = StateForm()
    if not form.validate_on_submit() or services.current_shift(current_user) is None:
        abort(400)
    if form.action.data == "ready":
        changed = floor.set_ready(current_user)
    elif form.action.data == "break":
        reason = form.reason.data if form.reason.data in BREAK_LABELS else "not-ready"
        changed = floor.take_break(current_user, reason)
    else:
        changed = floor.extend_wrap_up(current_user)
    db.session.commit()
    if not changed:
        flash(_("Finish the call you are on first."), "error")
    elif form.action.data == "ready":
        services.offer_waiting_calls()
    return redirect(url_for("console.index"))


@bp.post("/shift/end")
@roles_required(*CONSOLE_ROLES)
def end_shift():
    """End the operator's shift."""
    if EmptyForm().validate_on_submit() and services.end_shift(current_user):
        db.session.commit()
        flash(_("Your shift is over."), "info")
    return redirect(url_for("console.index"))


def _ring_operator(call: Call):
    if not services.ring_operator(call, current_user):
        flash(
            _(
                "The telephone network did not put the caller through to you; "
                "the call is back in the queue. Try again."
            ),
            "error",
        )
        return redirect(url_for("console.index"))
    return redirect(url_for("console.call", call_id=call.id))


def _connect(call: Call, appeal: Appeal):
    """Send the caller into the appeal's duty chain; a passing carrier failure is retried."""
    result = services.connect_caller(call, appeal, current_user)
    if result == "connected":
        flash(_("Appeal %(number)s registered; connecting the caller.", number=appeal.number))
    else:
        flash(_connection_failed(appeal, result == "retrying"), "error")
    return redirect(url_for("console.call", call_id=call.id))


def _connection_failed(appeal: Appeal, retrying: bool) -> str:
    if retrying:
        return _(
            "Appeal %(number)s is registered, but the telephone network did not connect the "
            "caller; the network is tried again in a few seconds while the caller holds.",
            number=appeal.number,
        )
    return _(
        "Appeal %(number)s is registered, but the telephone network did not connect "
        "the caller. Try again.",
        number=appeal.number,
    )


@bp.post("/take-next")
@roles_required(*CONSOLE_ROLES)
def take_next():
    """Take the call that has waited longest: the caller is put through to your endpoint."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    if services.current_shift(current_user) is None:
        flash(_("Start your shift first."), "error")
        return redirect(url_for("console.index"))
    call = services.take_next_call(current_user)
    if call is None:
        flash(_("Nobody is waiting."), "info")
        return redirect(url_for("console.index"))
    return _ring_operator(call)


@bp.post("/calls/<int:call_id>/take")
@roles_required(*CONSOLE_ROLES)
def take(call_id: int):
    """Take this waiting call: the caller is put through to your endpoint."""
    call = db.session.get(Call, call_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if services.current_shift(current_user) is None:
        flash(_("Start your shift first."), "error")
        return redirect(url_for("console.index"))
    if not services.take_call(call, current_user):
        db.session.rollback()
        flash(_("This call is no longer waiting."), "error")
        return redirect(url_for("console.index"))
    return _ring_operator(call)


def _render_call(call: Call, form: AppealForm | None = None, status: int = 200):
    form = _appeal_form(form, call)
    if call.appeal is not None:
        place, category = call.appeal.municipality, call.appeal.category
    else:
        place = _find_municipality(form.municipality.data)
        category = _find_category(form.category.data)
    return render_template(
        "hotline/console/call.html",
        call=call,
        appeal=call.appeal,
        card=services.caller_card(call),
        form=form,
        wrapup_form=WrapUpForm(),
        municipalities=services.all_municipalities(),
        categories=services.all_categories(),
        place=place,
        responsible=services.responsible_now(place, category) if place else None,
        progress=services.chain_progress(call),
        retry_connection=services.may_retry_connection(call),
        connect_tries=CALL_MAX_TRIES,
        hung_up=_hung_up_notice(call),
        ready_operators=floor.ready_operators(exclude=current_user.id),
        consultation=warm.consultation(call),
    ), status


@bp.get("/calls/<int:call_id>")
@roles_required(*CONSOLE_ROLES)
def call(call_id: int):
    """Show the call: caller card, appeal form, who is responsible, the chain's progress."""
    call = _load_call(call_id)
    record_access("caller", call.call_sid, call.from_number)
    return _render_call(call)


@bp.get("/responsible")
@roles_required(*CONSOLE_ROLES)
def responsible():
    """Return the "who is responsible" fragment for a municipality and category."""
    place = _find_municipality(request.args.get("municipality"))
    category = _find_category(request.args.get("category"))
    return render_template(
        "hotline/console/_responsible.html",
        place=place,
        responsible=services.responsible_now(place, category) if place else None,
    )


@bp.post("/calls/<int:call_id>/appeal")
@roles_required(*CONSOLE_ROLES)
def register(call_id: int):
    """Register the caller's appeal, then connect them now or send it to the municipality."""
    call = _load_call(call_id)
    form = _appeal_form(AppealForm(), call)
    place = _find_municipality(form.municipality.data)
    valid = form.validate_on_submit()
    if form.municipality.data and place is None:
        form.municipality.errors = [*form.municipality.errors, _("No such municipality.")]
        valid = False
    if not valid:
        return _render_call(call, form, 400)
    if call.appeal is not None:
        flash(_("The appeal of this call is registered already."), "error")
        return redirect(url_for("console.call", call_id=call.id))
    appeal = services.register_operator_appeal(
        call,
        current_user,
        municipality=place,
        category=_find_category(form.category.data),
        urgency=form.urgency.data,
        caller_number=form.callback_number.data,
        caller_name=form.caller_name.data,
        address=form.address.data,
        text=form.text.data,
    )
    live = call.ended_at is None
    if request.form.get("action") == "connect" and live:
        return _connect(call, appeal)
    services.send_to_municipality(appeal, call, current_user)
    if not services.move_caller(call, "console_voice.registered", "registered", current_user):
        flash(
            _(
                "Appeal %(number)s registered and sent to the municipality, but the telephone "
                "network did not read the caller its number: tell it yourself.",
                number=appeal.number,
            ),
            "error",
        )
    else:
        flash(_("Appeal %(number)s registered and sent to the municipality.", number=appeal.number))
    return redirect(url_for("console.call", call_id=call.id))


@bp.post("/calls/<int:call_id>/connect")
@roles_required(*CONSOLE_ROLES)
def connect(call_id: int):
    """Send the caller of a registered appeal into its duty chain (again, after a failure)."""
    call = _load_call(call_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not services.may_retry_connection(call):
        flash(_("This caller can no longer be connected."), "error")
        return redirect(url_for("console.call", call_id=call.id))
    return _connect(call, call.appeal)


@bp.get("/calls/<int:call_id>/state")
@polled
@roles_required(*CONSOLE_ROLES)
def call_state(call_id: int):
    """Return why the call left the operator or ended unanswered; 204 while undecided (polled)."""
    call = _load_call(call_id, fragment=True)
    hung_up = _hung_up_notice(call)
    if hung_up:
        return render_template("hotline/console/_left.html", reason=hung_up, state="")
    if call.operator_answered_at is not None or call.appeal is not None:
        return ""  # settled: the page stops asking
    return "", 204


def _hung_up_notice(call: Call) -> str | None:
    if call.ended_at is not None and call.operator_answered_at is None and call.appeal is None:
        return _("The caller hung up before you answered.")
    return None


@bp.get("/calls/<int:call_id>/progress")
@polled
@roles_required(*CONSOLE_ROLES)
def progress(call_id: int):
    """Return the fragment with the duty chain's attempts so far (polled live)."""
    call = _load_call(call_id, fragment=True)
    return render_template(
        "hotline/console/_progress.html",
        call=call,
        appeal=call.appeal,
        progress=services.chain_progress(call),
    )


@bp.post("/calls/<int:call_id>/wrap-up")
@roles_required(*CONSOLE_ROLES)
def wrap_up(call_id: int):
    """Finish a call that needed no appeal with a wrap-up code; the caller hears goodbye."""
    call = _load_call(call_id)
    form = WrapUpForm()
    if not form.validate_on_submit():
        return _render_call(call, status=400)
    try:
        services.finish_call(call, current_user, form.code.data)
    except services.ConsoleError:
        db.session.rollback()
        flash(_("A call with an appeal is finished without a wrap-up code."), "error")
        return redirect(url_for("console.call", call_id=call.id))
    if not services.move_caller(call, "console_voice.goodbye", "goodbye", current_user):
        flash(
            _(
                "The call is wrapped up, but the telephone network did not say goodbye to "
                "the caller: end the call on your phone."
            ),
            "error",
        )
        return redirect(url_for("console.index"))
    flash(_("The call is wrapped up: %(code)s.", code=WRAPUP_LABELS[form.code.data]), "info")
    return redirect(url_for("console.index"))


@bp.post("/calls/<int:call_id>/finish")
@roles_required(*CONSOLE_ROLES)
def finish(call_id: int):
    """Finish the operator's work on a call whose appeal is registered."""
    call = _load_call(call_id)
    if EmptyForm().validate_on_submit():
        services.finish_call(call, current_user)
        db.session.commit()
    return redirect(url_for("console.index"))


@bp.app_template_filter("waited_time")
def waited(seconds: int) -> str:
    """Format a waiting time as M:SS."""
    return f"{seconds // 60}:{seconds % 60:02d}"


@bp.context_processor
def console_labels() -> dict:
    """Give the console templates the translated names of roles, statuses and outcomes."""
    return {
        "urgency_labels": URGENCY_LABELS,
        "wrapup_labels": WRAPUP_LABELS,
        "duty_role_labels": duty_role_labels(),
        "appeal_states": appeal_status_labels(),
        "attempt_results": attempt_outcome_labels(),
        "call_outcomes": call_outcome_labels(),
        "console_events": call_and_appeal_event_labels(),
        "state_labels": STATE_LABELS,
        "break_labels": BREAK_LABELS,
    }
