"""The incidents report: calls joined and time to close per incident, with its exports."""

from flask import abort, render_template
from flask_babel import gettext as _

from core.auth import require_municipality_access, roles_required
from core.extensions import db
from core.i18n import local_time
from reports import REPORT_ROLES
from reports.exports import Table
from reports.services.incidents import incident_detail, incident_report
from reports.views import bp, export_format, export_name, render_report, report_filters, send_export
from roster.models import Municipality


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def incidents_table(report: dict) -> Table:
    """Return the incidents report as a table (time to close in hours)."""
    headers = [
        _("Incident"),
        _("Municipality"),
        _("Category"),
        _("Area or address"),
        _("Declared"),
        _("Closed"),
        _("Time to close, h"),
        _("Calls joined"),
    ]
    body = [
        [
            row["id"],
            row["municipality"],
            row["category"],
            row["area"],
            local_time(row["declared_at"], row["timezone"]),
            local_time(row["closed_at"], row["timezone"]),
            _hours(row["time_to_close"]),
            row["joined"],
        ]
        for row in report["rows"]
    ]
    return Table(_("Incidents"), headers, body)


@bp.get("/incidents")
@roles_required(*REPORT_ROLES)
def incidents():
    """Show the incidents declared in the period: calls joined and time to close."""
    filters = report_filters()
    report = incident_report(filters.scope)
    if fmt := export_format():
        return send_export([incidents_table(report)], export_name("incidents", filters), fmt)
    return render_report("reports/incidents.html", filters, report=report)


@bp.get("/incidents/<int:incident_id>")
@roles_required(*REPORT_ROLES)
def incident(incident_id: int):
    """Show one incident: what callers heard, when it was declared and closed, who joined when."""
    detail = incident_detail(incident_id) or abort(404)
    require_municipality_access(db.session.get(Municipality, detail["municipality_id"]))
    return render_template("reports/incident.html", incident=detail)
