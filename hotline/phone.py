"""The demo web phone: live phones held in tabs, and a quick call with scripted officials."""

import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from core.clock import utcnow
from core.extensions import db
from core.logs import polled
from core.models import User
from core.telephony import CarrierError
from core.telephony.sim import CallerScript, SimCarrier, Speech
from core.telephony.sim.client import LocalCarrier, RemoteCarrier
from hotline.models import Call, OperatorShift
from roster.models import Municipality, Official
from roster.services import resolve_on_duty

bp = Blueprint("phone", __name__, url_prefix="/phone")

BEHAVIOUR_CHOICES = [
    SelectChoice("accepts", _l("answers and presses 1")),
    SelectChoice("voicemail", _l("voicemail picks up")),
    SelectChoice("no_answer", _l("does not answer")),
    SelectChoice("busy", _l("busy")),
    SelectChoice("fails", _l("unreachable")),
]


class WebCallForm(FlaskForm):
    caller = StringField(
        _l("Your number"),
        default="+79161234567",
        validators=[DataRequired(), Regexp(r"^\+\d{10,15}$", message=_l("Use +7XXXXXXXXXX."))],
    )
    dial = SelectField(_l("Dial"), validators=[DataRequired()])
    municipality = SelectField(_l("Municipality (for the voice menu)"), validators=[Optional()])
    said_name = StringField(_l("…or say its name"), validators=[Optional(), Length(max=60)])
    category_digit = StringField(
        _l("Topic key (1–9, 0 other)"), default="1", validators=[Optional(), Regexp(r"^\d$")]
    )
    primary = SelectField(_l("Primary"), choices=BEHAVIOUR_CHOICES, default="no_answer")
    backup = SelectField(_l("Backup"), choices=BEHAVIOUR_CHOICES, default="accepts")
    supervisor = SelectField(_l("Supervisor"), choices=BEHAVIOUR_CHOICES, default="accepts")
    leave_message = BooleanField(_l("Leave a voice message if nobody accepts"), default=True)


class LiveCallForm(FlaskForm):
    caller = StringField(
        _l("Your number"),
        default="+79161234567",
        validators=[DataRequired(), Regexp(r"^\+\d{10,15}$", message=_l("Use +7XXXXXXXXXX."))],
    )
    dial = SelectField(_l("Dial"), validators=[DataRequired()])


#: Whose demo phone it is, by the role of the official's login.
ROLE_NAMES = {"official": _l("official"), "head": _l("head")}
#: What a phone page's buttons send.
PHONE_ACTIONS = {"answer", "reject", "voicemail", "keys", "say", "hangup"}
#: A number a phone page may hold: a phone number or an operator's `client:` endpoint.
PHONE_NUMBER = re.compile(r"\+\d{10,15}|client:[\w.@-]{1,60}")


def _known_shape(number: str) -> None:
    if not PHONE_NUMBER.fullmatch(number):
        abort(404)


def _may_use_phones() -> None:
    """Let through only a simulated carrier and the roles that may use the web phone."""
    if current_app.config["TELEPHONY"] != "sim":
        abort(404)
    if current_user.role not in phone_roles(current_app.config):
        abort(403, _("In a production demo the web phone is for administrators only."))


def demo_numbers(places: list[Municipality]) -> dict[str, list[tuple[str, str]]]:
    """Return the numbers the demo rings, as (number, whose) by group, for the phone pages."""
    linked = db.session.execute(
        db.select(Official.phone, Official.full_name, User.role)
        .where(Official.active)
        .join(User, User.id == Official.user_id)
        .order_by(User.role, Official.full_name)
    ).all()
    operators = db.session.execute(
        db.select(OperatorShift.endpoint, User.full_name)
        .join(User, User.id == OperatorShift.user_id)
        .where(OperatorShift.ended_at.is_(None))
        .order_by(User.full_name)
    ).all()
    callers = db.session.scalars(
        db.select(Call.from_number)
        .where(Call.from_number.is_not(None))
        .group_by(Call.from_number)
        .order_by(db.func.max(Call.id).desc())
        .limit(5)
    ).all()
    linked_places = set(
        db.session.scalars(db.select(Official.municipality_id).where(Official.user_id.is_not(None)))
    )
    shown = [place for place in places if place.id in linked_places] or places[:3]
    on_duty = [
        (slot.phone, f"{slot.full_name} · {place.name}")
        for place in shown
        for slot in resolve_on_duty(place, None, utcnow()).chain()
    ]
    return {
        "users": [
            (phone, f"{name} ({ROLE_NAMES.get(role, role)})") for phone, name, role in linked
        ],
        "on_duty": on_duty,
        "operators": [(endpoint, name) for endpoint, name in operators],
        "citizens": [(number, "") for number in callers],
    }


def phone_owner(number: str) -> str | None:
    """Return whose phone `number` is in the demo: an official's name, or None."""
    official = db.session.scalar(db.select(Official).where(Official.phone == number))
    return official.full_name if official is not None else None


def phone_roles(config) -> set[str]:
    """Return who may use the web phone: everyone signed in; in a production demo, admins."""
    if config["HOTLINE_ENV"] == "production":
        return {"admin"}
    return {"operator", "official", "head", "manager", "admin"}


def _carrier() -> LocalCarrier | RemoteCarrier:
    """Return the carrier service the app uses, else the one attached (made on first use)."""
    app = current_app._get_current_object()
    attached = app.extensions.get("sim_carrier")
    if attached is None and app.config.get("SIM_CARRIER_URL"):
        return RemoteCarrier(app.config["SIM_CARRIER_URL"])
    return LocalCarrier(attached or SimCarrier.in_process(app))


def _menu_inputs(form: WebCallForm, codes: dict[str, str]) -> list:
    first = (
        Speech(form.said_name.data) if form.said_name.data else codes.get(form.municipality.data)
    )
    return [first, form.category_digit.data or None]


@bp.route("/", methods=["GET", "POST"])
@login_required
def web_phone():
    """Place a quick call and show what the caller and the officials heard; list the phones."""
    _may_use_phones()
    places = db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()
    codes = {place.code: f"{index:02d}" for index, place in enumerate(places, start=1)}
    form = WebCallForm()
    governor = current_app.config["TWILIO_NUMBER"]
    form.dial.choices = [SelectChoice(governor, _l("Governor's line"))] + [
        SelectChoice(place.duty_number, place.name) for place in places if place.duty_number
    ]
    form.municipality.choices = [SelectChoice(place.code, place.name) for place in places]
    live = LiveCallForm(prefix="live")
    live.dial.choices = form.dial.choices
    result = None
    if form.validate_on_submit():
        carrier = _carrier()
        chosen = next((p for p in places if p.duty_number == form.dial.data), None) or next(
            (p for p in places if p.code == form.municipality.data), None
        )
        script = CallerScript(
            inputs=_menu_inputs(form, codes) if form.dial.data == governor else (),
            message_seconds=20 if form.leave_message.data else 0,
        )
        try:
            if chosen is not None:
                on_duty = resolve_on_duty(chosen, None, utcnow())
                for slot in on_duty.chain():
                    carrier.phone(slot.phone, getattr(form, slot.role).data)
            sim_call = carrier.incoming_call(form.caller.data, form.dial.data, script)
        except CarrierError:
            flash(
                _("The simulated telephone network is not running: the call was not placed."),
                "error",
            )
        else:
            db.session.expire_all()
            record = db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))
            result = {"sim": sim_call, "call": record}
    return render_template(
        "hotline/phone.html", form=form, live=live, result=result, numbers=demo_numbers(places)
    )


@bp.post("/live")
@login_required
def live_call():
    """Call the line (or a duty number) from a phone held in this tab."""
    _may_use_phones()
    live = LiveCallForm(prefix="live")
    places = db.session.scalars(db.select(Municipality)).all()
    live.dial.choices = [current_app.config["TWILIO_NUMBER"]] + [
        place.duty_number for place in places if place.duty_number
    ]
    if not live.validate_on_submit():
        flash(_("Enter your number as +7XXXXXXXXXX and choose what to dial."), "error")
        return redirect(url_for("phone.web_phone"))
    try:
        _carrier().phone_dial(live.caller.data, live.dial.data)
    except CarrierError:
        flash(
            _("The simulated telephone network is not running: the call was not placed."),
            "error",
        )
        return redirect(url_for("phone.web_phone"))
    return redirect(url_for("phone.handset", number=live.caller.data))


@bp.get("/<number>")
@login_required
def handset(number: str):
    """The phone of `number` in this tab: it rings, answers, takes keys and hangs up."""
    _may_use_phones()
    _known_shape(number)
    return render_template("hotline/handset.html", number=number, owner=phone_owner(number))


@bp.get("/<number>/state")
@login_required
@polled
def handset_state(number: str):
    """Hold `number` for this tab and return what its phone shows (polled every second)."""
    _may_use_phones()
    _known_shape(number)
    try:
        return jsonify(_carrier().phone_state(number))
    except CarrierError:
        return jsonify({"number": number, "state": "offline", "peer": None, "call": None}), 503


@bp.post("/<number>/press")
@login_required
def handset_press(number: str):
    """Do what the person pressed on the phone: answer, reject, voicemail, keys, say, hang up."""
    _may_use_phones()
    _known_shape(number)
    action = request.form.get("action", "")
    keys = request.form.get("keys", "")
    if action not in PHONE_ACTIONS or not re.fullmatch(r"[0-9*#]{0,20}", keys):
        abort(400)
    try:
        state = _carrier().phone_act(number, action, keys, request.form.get("speech", "")[:60])
    except CarrierError:
        return jsonify({"number": number, "state": "offline", "peer": None, "call": None}), 503
    return jsonify(state)
