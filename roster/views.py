"""Roster pages: the region overview, a municipality's week grid, the editing forms, CSV, iCal."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from core import clock
from core.auth import EmptyForm, require_municipality_access, roles_required
from core.downloads import csv_attachment
from core.extensions import db
from core.i18n import local_time
from core.journal import record_access
from core.logs import secret_url
from core.parsing import parse_day
from roster import rules
from roster.forms import ImportForm, OverrideForm, RotationForm, SwapForm, UnavailabilityForm
from roster.ical import duty_calendar
from roster.models import DUTY_ROLES, DutyShift, Municipality, Official, Unavailability
from roster.services import (
    GAP_WINDOW,
    RosterError,
    add_override,
    add_unavailability,
    cancel_shift,
    duties_of_municipality,
    duties_of_official,
    export_officials,
    export_shifts,
    feed_token_for,
    find_gaps,
    get_municipality,
    get_roster,
    import_officials,
    import_shifts,
    list_municipalities,
    local_today,
    officials_of,
    reason_label,
    remove_unavailability,
    reset_feed_token,
    role_label,
    rosters_of,
    rotation_for,
    save_rotation,
    stored_gaps,
    subject_for_feed_token,
    swap_shifts,
    unavailabilities_of,
    upcoming_shifts,
    week_grid,
)

bp = Blueprint("roster", __name__, url_prefix="/roster")

#: How far ahead the swap form offers shifts and the CSV export reaches.
PLANNING_WINDOW = timedelta(days=60)
#: How far back the iCal feeds keep past duty.
FEED_HISTORY = timedelta(days=14)


def _place(code: str) -> Municipality:
    place = get_municipality(code) or abort(404)
    require_municipality_access(place)
    return place


def _roster(place: Municipality):
    return get_roster(place, request.args.get("roster")) or abort(404)


def _official_choices(place: Municipality) -> list[SelectChoice]:
    return [
        SelectChoice(o.id, f"{o.full_name} — {o.position}" if o.position else o.full_name)
        for o in officials_of(place, active_only=True)
    ]


def _to_utc(value: datetime, place: Municipality) -> datetime:
    return value.replace(tzinfo=ZoneInfo(place.timezone)).astimezone(UTC)


def _show_error(form, error: RosterError) -> None:
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        flash(error.message, "error")


def _committed(form, change, message: str) -> bool:
    """Run a roster change: commit and say so, or roll back and show why (on the form, if any)."""
    try:
        change()
    except RosterError as error:
        db.session.rollback()
        _show_error(form, error)
        return False
    db.session.commit()
    flash(message, "info")
    return True


def _form_status() -> int:
    """The status of a form page: 400 when a sent form comes back with its errors."""
    return 400 if request.method == "POST" else 200


def _back(place: Municipality, roster=None, **params):
    if roster is not None and not roster.is_general:
        params["roster"] = roster.code
    return redirect(url_for("roster.municipality", code=place.code, **params))


def _week_start(place: Municipality) -> date:
    raw = request.args.get("week")
    try:
        chosen = parse_day(raw) if raw else local_today(place)
    except ValueError:
        chosen = local_today(place)
    return chosen - timedelta(days=chosen.weekday())


@bp.get("/")
@login_required
def region():
    """Show the region's municipalities and which of them have gaps in the next 14 days."""
    if current_user.municipality_id is not None:
        own = db.session.get(Municipality, current_user.municipality_id)
        return redirect(url_for("roster.municipality", code=own.code))
    gaps: dict[int, list] = {}
    for gap in stored_gaps():
        gaps.setdefault(gap.municipality_id, []).append(gap)
    return render_template(
        "roster/region.html", municipalities=list_municipalities(), gaps=gaps, role_label=role_label
    )


@bp.get("/<code>")
@login_required
def municipality(code: str):
    """Show a week of the three duty slots, who is on duty now, gaps, absences and overrides."""
    place = _place(code)
    roster = _roster(place)
    now = clock.utcnow()
    first_day = _week_start(place)
    grid = week_grid(roster, first_day, now)
    today = local_today(place, now)
    on_duty = {
        role: next((cell for _day, cells in grid for cell in cells[role] if cell.now), None)
        for role in DUTY_ROLES
    }
    if not first_day <= today < first_day + timedelta(days=7):
        current = week_grid(roster, today - timedelta(days=today.weekday()), now)
        on_duty = {
            role: next((cell for _d, cells in current for cell in cells[role] if cell.now), None)
            for role in DUTY_ROLES
        }
    rosters = {r.id: r for r in rosters_of(place)}
    changes = [
        shift
        for shift in upcoming_shifts(roster, now, now + PLANNING_WINDOW)
        if shift.kind != "rotation"
    ]
    linked_official = db.session.scalar(
        db.select(Official).where(Official.user_id == current_user.id)
    )
    return render_template(
        "roster/municipality.html",
        place=place,
        roster=roster,
        rosters=rosters,
        grid=grid,
        today=today,
        first_day=first_day,
        on_duty=on_duty,
        roles=DUTY_ROLES,
        role_label=role_label,
        reason_label=reason_label,
        rotations={role: rotation_for(roster, role) for role in DUTY_ROLES},
        gaps=find_gaps(place, now, now + GAP_WINDOW),
        absences=unavailabilities_of(place, now),
        changes=changes,
        linked_official=linked_official,
        can_edit=current_user.role == "admin",
        can_share=current_user.role in ("admin", "head"),
        timedelta=timedelta,
        form=EmptyForm(),
    )


@bp.route("/<code>/rotation/<role>", methods=["GET", "POST"])
@roles_required("admin")
def edit_rotation(code: str, role: str):
    """Set the order, handoff time and turn length of one slot's rotation."""
    place = _place(code)
    roster = _roster(place)
    if role not in DUTY_ROLES:
        abort(404)
    rotation = rotation_for(roster, role)
    form = RotationForm()
    form.set_official_choices(_official_choices(place))
    if request.method == "GET":
        form.starts_on.data = local_today(place)
        if rotation is not None:
            form.handoff.data = rotation.handoff
            length = str(rotation.length_days)
            form.length.data = length if length in ("1", "7") else "custom"
            form.length_days.data = rotation.length_days
            for entry, official_id in zip(form.officials, rotation.official_ids, strict=False):
                entry.data = official_id
        else:
            form.handoff.data = time(9, 0)
    if form.validate_on_submit() and _committed(
        form,
        lambda: save_rotation(
            roster,
            role,
            form.chosen_officials(),
            form.handoff.data,
            form.chosen_length(),
            form.starts_on.data,
        ),
        _("The rotation is saved and the shifts are regenerated."),
    ):
        return _back(place, roster)
    return render_template(
        "roster/rotation_form.html",
        place=place,
        roster=roster,
        role=role,
        role_label=role_label,
        rotation=rotation,
        form=form,
    ), _form_status()


@bp.route("/<code>/override", methods=["GET", "POST"])
@roles_required("admin")
def new_override(code: str):
    """Put someone in a slot for a period, over the rotation."""
    place = _place(code)
    roster = _roster(place)
    form = OverrideForm()
    form.official_id.choices = _official_choices(place)
    if form.validate_on_submit() and _committed(
        form,
        lambda: add_override(
            roster,
            form.role.data,
            db.session.get(Official, form.official_id.data),
            _to_utc(form.starts_at.data, place),
            _to_utc(form.ends_at.data, place),
            form.note.data or "",
        ),
        _("The override is saved."),
    ):
        return _back(place, roster, week=form.starts_at.data.date().isoformat())
    return render_template(
        "roster/form.html",
        place=place,
        roster=roster,
        form=form,
        title=_("Override a slot"),
        fields=[form.role, form.official_id, form.starts_at, form.ends_at, form.note],
    ), _form_status()


@bp.post("/<code>/shifts/<int:shift_id>/cancel")
@roles_required("admin")
def cancel(code: str, shift_id: int):
    """Remove an override or a swap row."""
    place = _place(code)
    shift = _posted_row(DutyShift, shift_id, lambda row: row.roster.municipality_id, place)
    _committed(None, lambda: cancel_shift(shift), _("The change is cancelled."))
    return _back(place, shift.roster)


def _posted_row(model, row_id: int, municipality_of, place: Municipality):
    """Return the municipality's row a button posted for; 404 for another's, 400 for a bad form."""
    row = db.session.get(model, row_id)
    if row is None or municipality_of(row) != place.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return row


def _shift_label(shift: DutyShift, place: Municipality) -> str:
    start = local_time(shift.starts_at, place.timezone)
    end = local_time(shift.ends_at, place.timezone)
    return f"{start} – {end} · {role_label(shift.role)} · {shift.official.full_name}"


@bp.route("/<code>/swap", methods=["GET", "POST"])
@roles_required("admin")
def swap(code: str):
    """Exchange two officials' shifts."""
    place = _place(code)
    roster = _roster(place)
    now = clock.utcnow()
    shifts = [
        shift
        for shift in upcoming_shifts(roster, now, now + PLANNING_WINDOW)
        if shift.ends_at > now
    ]
    form = SwapForm()
    choices = [SelectChoice(shift.id, _shift_label(shift, place)) for shift in shifts]
    form.first_id.choices = choices
    form.second_id.choices = choices
    if form.validate_on_submit() and _committed(
        form,
        lambda: swap_shifts(
            db.session.get(DutyShift, form.first_id.data),
            db.session.get(DutyShift, form.second_id.data),
            form.note.data or "",
        ),
        _("The shifts are swapped."),
    ):
        return _back(place, roster)
    return render_template(
        "roster/form.html",
        place=place,
        roster=roster,
        form=form,
        title=_("Swap two shifts"),
        fields=[form.first_id, form.second_id, form.note],
    ), _form_status()


@bp.route("/<code>/unavailability", methods=["GET", "POST"])
@roles_required("admin")
def unavailability(code: str):
    """Record a vacation or sick leave, and list the absences to come."""
    place = _place(code)
    form = UnavailabilityForm()
    form.official_id.choices = _official_choices(place)
    if form.validate_on_submit():
        zone = ZoneInfo(place.timezone)
        official = db.session.get(Official, form.official_id.data)
        if official is None or official.municipality_id != place.id:
            abort(400)
        try:
            _row, left_open = add_unavailability(
                official,
                rules.local_day_bounds(form.starts_on.data, zone)[0],
                rules.local_day_bounds(form.ends_on.data, zone)[1],
                form.reason.data,
                form.note.data or "",
            )
        except RosterError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("The absence is recorded."), "info")
            for duty in left_open[:5]:
                flash(
                    _(
                        "%(name)s was planned as %(role)s from %(start)s to %(end)s: "
                        "this slot is now a gap; add an override.",
                        name=official.full_name,
                        role=role_label(duty.role).lower(),
                        start=local_time(duty.starts_at, place.timezone),
                        end=local_time(duty.ends_at, place.timezone),
                    ),
                    "error",
                )
            return redirect(url_for("roster.unavailability", code=place.code))
    return render_template(
        "roster/unavailability.html",
        place=place,
        form=form,
        absences=unavailabilities_of(place, clock.utcnow()),
        reason_label=reason_label,
        button=EmptyForm(),
    ), _form_status()


@bp.post("/<code>/unavailability/<int:absence_id>/delete")
@roles_required("admin")
def delete_unavailability(code: str, absence_id: int):
    """Remove a recorded absence."""
    place = _place(code)
    row = _posted_row(Unavailability, absence_id, lambda row: row.official.municipality_id, place)
    remove_unavailability(row)
    db.session.commit()
    flash(_("The absence is removed."), "info")
    return redirect(url_for("roster.unavailability", code=place.code))


@bp.get("/<code>/shifts.csv")
@login_required
def shifts_csv(code: str):
    """Download the municipality's shifts of the coming 60 days as CSV."""
    place = _place(code)
    now = clock.utcnow()
    body = export_shifts(place, now - timedelta(days=1), now + PLANNING_WINDOW)
    record_access(
        "export",
        f"shifts-{place.code}",
        None,
        {"format": "csv", "filter": {"municipality": place.code}},
    )
    return csv_attachment(body, f"shifts-{place.code}.csv")


@bp.get("/officials.csv")
@roles_required("admin")
def officials_csv():
    """Download every official as CSV."""
    record_access("export", "officials", None, {"format": "csv", "filter": {}})
    return csv_attachment(export_officials(list_municipalities()), "officials.csv")


@bp.route("/import", methods=["GET", "POST"])
@roles_required("admin")
def import_csv():
    """Import officials or shifts from CSV: a dry run first, nothing written on any error."""
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors.append(_("Save the file as UTF-8 CSV."))
        else:
            run = import_officials if form.what.data == "officials" else import_shifts
            report = run(text, dry_run=form.dry_run.data)
            if report.written:
                db.session.commit()
                flash(_("The file is imported."), "info")
            else:
                db.session.rollback()
    return render_template("roster/import.html", form=form, report=report)


@bp.post("/<code>/feed")
@roles_required("admin", "head")
def municipality_feed_token(code: str):
    """Make (or, when asked, replace) the secret link of the municipality's calendar."""
    place = _place(code)
    if not EmptyForm().validate_on_submit():
        abort(400)
    (reset_feed_token if request.form.get("reset") else feed_token_for)(place)
    db.session.commit()
    return redirect(url_for("roster.municipality", code=place.code))


@bp.post("/officials/<int:official_id>/feed")
@login_required
def official_feed_token(official_id: int):
    """Make the secret link of an official's own calendar (the official or an admin)."""
    official = db.session.get(Official, official_id) or abort(404)
    if current_user.role != "admin" and official.user_id != current_user.id:
        abort(403, _("Only the official or an administrator may do this."))
    if not EmptyForm().validate_on_submit():
        abort(400)
    (reset_feed_token if request.form.get("reset") else feed_token_for)(official)
    db.session.commit()
    return redirect(url_for("roster.municipality", code=official.municipality.code))


@bp.get("/feeds/municipality/<token>.ics")
@secret_url
def municipality_ical(token: str):
    """Serve the municipality's duty calendar to whoever holds the secret link."""
    place = subject_for_feed_token("municipality", token) or abort(404)
    now = clock.utcnow()
    names = {o.id: o.full_name for o in officials_of(place)}
    duties = duties_of_municipality(place, now - FEED_HISTORY, now + PLANNING_WINDOW)
    body = duty_calendar(
        _("Duty: %(place)s", place=place.name),
        duties,
        lambda d: f"{role_label(d.role)}: {names.get(d.official_id, '')}",
        lambda d: _("Duty roster of %(place)s", place=place.name),
        now,
    )
    return Response(body, mimetype="text/calendar")


@bp.get("/feeds/official/<token>.ics")
@secret_url
def official_ical(token: str):
    """Serve an official's own duty calendar to whoever holds the secret link."""
    official = subject_for_feed_token("official", token) or abort(404)
    now = clock.utcnow()
    place = official.municipality
    duties = duties_of_official(official, now - FEED_HISTORY, now + PLANNING_WINDOW)
    body = duty_calendar(
        _("My duty: %(name)s", name=official.full_name),
        duties,
        lambda d: _(
            "On duty (%(role)s): %(place)s", role=role_label(d.role).lower(), place=place.name
        ),
        lambda d: _("Duty roster of %(place)s", place=place.name),
        now,
    )
    return Response(body, mimetype="text/calendar")
