"""The console's pages about appeals: the control list, an appeal's timeline, the search."""

from datetime import UTC, datetime, time, timedelta

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from core.auth import roles_required
from core.clock import utcnow
from core.downloads import recording_audio
from core.extensions import db
from core.journal import record_access
from core.telephony.messages import messages_of
from hotline.console import services
from hotline.console.forms import (
    ControlCallForm,
    SearchForm,
)
from hotline.console.views import CONSOLE_ROLES, bp
from hotline.models import Appeal


@bp.get("/control")
@roles_required(*CONSOLE_ROLES)
def control():
    """List the operator's (or the centre's) open appeals with their next check-in."""
    mine = request.args.get("scope", "mine") != "centre"
    return render_template(
        "hotline/console/control.html",
        entries=services.control_list(current_user, mine),
        mine=mine,
        now=utcnow(),
    )


def _render_appeal(appeal: Appeal, form: ControlCallForm | None = None, status: int = 200):
    timeline = services.appeal_timeline(appeal)
    return render_template(
        "hotline/console/appeal.html",
        appeal=appeal,
        timeline=timeline,
        timeline_sms=messages_of(timeline),
        next_checkin=services.next_checkins([appeal.id]).get(appeal.id),
        form=form or ControlCallForm(),
    ), status


@bp.get("/appeals/<int:appeal_id>")
@roles_required(*CONSOLE_ROLES)
def appeal(appeal_id: int):
    """Show an appeal with its timeline and the control call form."""
    appeal = db.session.get(Appeal, appeal_id) or abort(404)
    record_access("appeal", appeal.number or appeal.id, appeal.caller_number)
    return _render_appeal(appeal)


@bp.get("/appeals/<int:appeal_id>/recording")
@roles_required(*CONSOLE_ROLES)
def recording(appeal_id: int):
    """Play the caller's voice message of an appeal, with seeking."""
    appeal = db.session.get(Appeal, appeal_id) or abort(404)
    record_access("recording", appeal.number or appeal.id, appeal.caller_number)
    return recording_audio(appeal.recording_url)


@bp.post("/appeals/<int:appeal_id>/control-call")
@roles_required(*CONSOLE_ROLES)
def control_call(appeal_id: int):
    """Log the result of a control call on the appeal's timeline."""
    appeal = db.session.get(Appeal, appeal_id) or abort(404)
    form = ControlCallForm()
    if not form.validate_on_submit():
        return _render_appeal(appeal, form, 400)
    services.log_control_call(appeal, form.text.data, current_user)
    db.session.commit()
    flash(_("The control call is on the appeal's timeline."), "info")
    return redirect(url_for("console.appeal", appeal_id=appeal.id))


def _day_start(day) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


@bp.get("/search")
@roles_required(*CONSOLE_ROLES)
def search():
    """Find appeals by number, phone, address, municipality, category and period."""
    form = SearchForm(request.args)
    form.municipality.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(str(p.id), p.name) for p in services.all_municipalities()
    ]
    form.category.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(str(c.id), c.name) for c in services.all_categories()
    ]
    results = None
    if request.args and form.validate():
        until = _day_start(form.until.data)
        results = services.search_appeals(
            number=form.number.data,
            phone=form.phone.data,
            address=form.address.data,
            municipality_id=int(form.municipality.data) if form.municipality.data else None,
            category_id=int(form.category.data) if form.category.data else None,
            since=_day_start(form.since.data),
            until=until + timedelta(days=1) if until else None,
        )
        if form.phone.data:
            record_access("search", None, form.phone.data.strip(), {"found": len(results)})
    return render_template("hotline/console/search.html", form=form, results=results)
