"""Roster pages."""

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from core.auth import require_municipality_access
from core.clock import utcnow
from core.extensions import db
from roster.models import DUTY_ROLES, Municipality
from roster.services import (
    general_roster,
    get_municipality,
    list_municipalities,
    shifts_covering,
    upcoming_shifts,
)

bp = Blueprint("roster", __name__, url_prefix="/roster")


@bp.get("/")
@login_required
def region():
    """List the region's municipalities; officials and heads go to their own."""
    if current_user.municipality_id is not None:
        own = db.session.get(Municipality, current_user.municipality_id)
        return redirect(url_for("roster.municipality", code=own.code))
    return render_template("roster/region.html", municipalities=list_municipalities())


@bp.get("/<code>")
@login_required
def municipality(code: str):
    """Show who is on duty now in a municipality and the shifts of the coming days."""
    place = get_municipality(code) or abort(404)
    require_municipality_access(place)
    roster = general_roster(place)
    now = utcnow()
    on_duty = shifts_covering(roster, now) if roster else dict.fromkeys(DUTY_ROLES)
    shifts = upcoming_shifts(roster, now, now + timedelta(days=7)) if roster else []
    return render_template(
        "roster/municipality.html", place=place, on_duty=on_duty, shifts=shifts, roles=DUTY_ROLES
    )
