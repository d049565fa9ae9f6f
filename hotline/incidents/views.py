"""The incidents page: operators and managers declare, see and close incidents."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.auth import EmptyForm, roles_required
from core.clock import utcnow
from core.extensions import db
from hotline.incidents import INCIDENT_ROLES
from hotline.incidents import services as incidents
from hotline.incidents.models import Incident
from roster.models import Category, Municipality

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
REGION_TZ = ZoneInfo("Europe/Moscow")
#: How far back the page's figures of incidents go.
RECENT = timedelta(days=30)


class IncidentForm(FlaskForm):
    """Declare an incident."""

    municipality = SelectField(_l("Municipality"), coerce=int, validators=[DataRequired()])
    category = SelectField(_l("Category"), coerce=int, validators=[Optional()])
    area = StringField(_l("Area or address"), validators=[Optional(), Length(max=300)])
    text = TextAreaField(_l("What callers hear"), validators=[DataRequired(), Length(max=300)])
    expected_end = DateTimeLocalField(
        _l("Expected end"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )


def _form() -> IncidentForm:
    form = IncidentForm()
    form.municipality.choices = [
        (m.id, m.name) for m in db.session.scalars(db.select(Municipality).order_by("name"))
    ]
    form.category.choices = [(0, "—")] + [
        (c.id, c.name) for c in db.session.scalars(db.select(Category).order_by("position"))
    ]
    return form


def _prefill(form: IncidentForm) -> None:
    """Fill the declare form from a suggestion's link (municipality, category, text)."""
    form.municipality.data = request.args.get("municipality", type=int)
    form.category.data = request.args.get("category", type=int)
    form.text.data = request.args.get("text", "")[:300] or None


def console_suggestions() -> list[incidents.Cluster]:
    """Return the suggested incidents for the console page (for those who may declare one)."""
    if current_user.role not in INCIDENT_ROLES:
        return []
    return incidents.suggested_incidents()


def incident_board() -> list[tuple[Incident, int]]:
    """Return the open incidents the signed-in user may see, with the calls joined to each."""
    return [
        (incident, incidents.joined_count(incident))
        for incident in incidents.open_incidents()
        if current_user.can_see_municipality(incident.municipality_id)
    ]


@bp.route("/", methods=["GET", "POST"])
@roles_required(*INCIDENT_ROLES)
def index():
    """List open incidents and the suggested ones; declare a new one."""
    form = _form()
    if form.validate_on_submit():
        end = form.expected_end.data
        incidents.declare_incident(
            db.session.get(Municipality, form.municipality.data),
            form.text.data,
            by=current_user,
            category=db.session.get(Category, form.category.data) if form.category.data else None,
            area=form.area.data,
            expected_end_at=end.replace(tzinfo=REGION_TZ) if end else None,
        )
        db.session.commit()
        flash(_("Incident declared: callers from there hear it now."))
        return redirect(url_for("incidents.index"))
    if request.method == "GET":
        _prefill(form)
    return render_template(
        "hotline/incidents.html",
        form=form,
        close_form=EmptyForm(),
        open=incident_board(),
        suggested=incidents.suggested_incidents(),
        recent=incidents.incident_figures(utcnow() - RECENT, utcnow()),
    )


@bp.post("/<int:incident_id>/close")
@roles_required(*INCIDENT_ROLES)
def close(incident_id: int):
    """Close the incident and text every caller who joined it."""
    incident = db.session.get(Incident, incident_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    sent = incidents.close_incident(incident, by=current_user)
    db.session.commit()
    flash(_("Incident closed; %(n)d callers will get an SMS.", n=sent))
    return redirect(url_for("incidents.index"))
