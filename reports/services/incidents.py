"""The incidents report: declared in the period, with the calls joined and the time to close."""

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.extensions import db
from core.models import User
from hotline.incidents.models import Incident, IncidentCaller
from reports.queries import Scope
from roster.models import Category, Municipality

_JOINED = (
    select(func.count(IncidentCaller.id))
    .where(IncidentCaller.incident_id == Incident.id)
    .correlate(Incident)
    .scalar_subquery()
)


def _line(incident: Incident, place: str, timezone: str, category: str | None, joined: int):
    closed = incident.closed_at
    return {
        "id": incident.id,
        "municipality_id": incident.municipality_id,
        "municipality": place,
        "timezone": timezone,
        "category": category,
        "area": incident.area,
        "text": incident.text,
        "declared_at": incident.declared_at,
        "expected_end_at": incident.expected_end_at,
        "closed_at": closed,
        "time_to_close": (closed - incident.declared_at).total_seconds() if closed else None,
        "joined": joined,
    }


def _lines(query) -> list[dict]:
    return [_line(*row) for row in db.session.execute(query).all()]


def _select():
    return (
        select(Incident, Municipality.name, Municipality.timezone, Category.name, _JOINED)
        .join(Municipality, Municipality.id == Incident.municipality_id)
        .outerjoin(Category, Category.id == Incident.category_id)
    )


def incident_report(scope: Scope) -> dict:
    """Return the incidents declared in the scope's days and places, newest first, with totals."""
    rows = _lines(
        _select()
        .where(*scope.within(Incident.declared_at, Incident.municipality_id))
        .order_by(Incident.declared_at.desc(), Incident.id.desc())
    )
    closed = [row["time_to_close"] for row in rows if row["time_to_close"] is not None]
    return {
        "rows": rows,
        "total": {
            "incidents": len(rows),
            "joined": sum(row["joined"] for row in rows),
            "closed": len(closed),
            "time_to_close": sum(closed) / len(closed) if closed else None,
        },
    }


def incident_detail(incident_id: int) -> dict | None:
    """Return one incident's line, who declared and closed it, and when each caller joined."""
    declared_by, closed_by = aliased(User), aliased(User)
    row = db.session.execute(
        _select()
        .add_columns(declared_by.full_name, closed_by.full_name)
        .outerjoin(declared_by, declared_by.id == Incident.declared_by_id)
        .outerjoin(closed_by, closed_by.id == Incident.closed_by_id)
        .where(Incident.id == incident_id)
    ).first()
    if row is None:
        return None
    *line, declared_name, closed_name = row
    joins = db.session.scalars(
        select(IncidentCaller.joined_at)
        .where(IncidentCaller.incident_id == incident_id)
        .order_by(IncidentCaller.joined_at, IncidentCaller.id)
    ).all()
    return _line(*line) | {"declared_by": declared_name, "closed_by": closed_name, "joins": joins}
