"""The demo web phone: place a call as a citizen and choose how the officials on duty react."""

from flask import Blueprint, abort, current_app, flash, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from core.clock import utcnow
from core.extensions import db
from core.telephony import CarrierError
from core.telephony.sim import CallerScript, SimCarrier, Speech
from core.telephony.sim.client import LocalCarrier, RemoteCarrier
from hotline.models import Call
from roster.models import Municipality
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
    """Place a simulated call and show what the caller and the officials heard."""
    if current_app.config["TELEPHONY"] != "sim":
        abort(404)
    if current_user.role not in phone_roles(current_app.config):
        abort(403, _("In a production demo the web phone is for administrators only."))
    places = db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()
    codes = {place.code: f"{index:02d}" for index, place in enumerate(places, start=1)}
    form = WebCallForm()
    governor = current_app.config["TWILIO_NUMBER"]
    form.dial.choices = [SelectChoice(governor, _l("Governor's line"))] + [
        SelectChoice(place.duty_number, place.name) for place in places if place.duty_number
    ]
    form.municipality.choices = [SelectChoice(place.code, place.name) for place in places]
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
    return render_template("hotline/phone.html", form=form, result=result)
