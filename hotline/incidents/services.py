"""Declaring an incident, callers joining it, closing it with an SMS to each, and clusters."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import User
from core.telephony import get_gateway
from hotline.caller_id import is_hidden
from hotline.incidents.models import Incident, IncidentCaller
from hotline.models import Appeal, Call
from hotline.prompts import prompt
from roster.models import Category, Municipality

log = logging.getLogger(__name__)

#: Appeals of one municipality and category within this window suggest an incident.
CLUSTER_WINDOW = timedelta(minutes=30)
CLUSTER_SIZE = 3


class IncidentError(ValueError):
    """A request the incident cannot take (`field` names the form field at fault)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def declare_incident(
    municipality: Municipality,
    text: str,
    *,
    by: User | None,
    category: Category | None = None,
    area: str | None = None,
    expected_end_at: datetime | None = None,
) -> Incident:
    """Declare an incident for a municipality; its callers hear it from now on."""
    text = " ".join((text or "").split())
    if not text:
        raise IncidentError("empty", "text")
    incident = Incident(
        municipality_id=municipality.id,
        category_id=category.id if category else None,
        area=(area or "").strip() or None,
        text=text[:2000],
        expected_end_at=expected_end_at,
        declared_by_id=by.id if by else None,
        declared_at=utcnow(),
    )
    db.session.add(incident)
    db.session.flush()
    record_event(
        "incident", incident.id, "incident.declared", {"municipality": municipality.code}, actor=by
    )
    log.info("incident %s declared for %s", incident.id, municipality.code)
    return incident


def open_incidents(municipality_id: int | None = None) -> list[Incident]:
    """Return the open incidents, newest first (of one municipality when given)."""
    query = db.select(Incident).where(Incident.closed_at.is_(None))
    if municipality_id is not None:
        query = query.where(Incident.municipality_id == municipality_id)
    return list(db.session.scalars(query.order_by(Incident.declared_at.desc(), Incident.id)))


def incident_for(municipality_id: int) -> Incident | None:
    """Return the newest open incident callers of this municipality hear."""
    found = open_incidents(municipality_id)
    return found[0] if found else None


def _caller_key(call: Call) -> str:
    return f"call:{call.call_sid}" if is_hidden(call.from_number) else call.from_number


def join_incident(incident: Incident, call: Call) -> bool:
    """Count the caller on the incident once per number; return whether this call added one."""
    key = _caller_key(call)
    exists = db.session.scalar(
        db.select(IncidentCaller.id).where(
            IncidentCaller.incident_id == incident.id, IncidentCaller.caller_key == key
        )
    )
    if exists is not None or incident.closed_at is not None:
        return False
    db.session.add(
        IncidentCaller(
            incident_id=incident.id,
            caller_key=key,
            caller_number=None if is_hidden(call.from_number) else call.from_number,
            call_id=call.id,
        )
    )
    db.session.flush()
    record_event(
        "call", call.id, "incident.joined", {"incident": incident.id}, actor_label="carrier"
    )
    return True


def close_incident(incident: Incident, *, by: User | None) -> int:
    """Close the incident and store the closing SMS to every joined caller; return how many."""
    if incident.closed_at is None:
        incident.closed_at = utcnow()
        incident.closed_by_id = by.id if by else None
        record_event("incident", incident.id, "incident.closed", {}, actor=by)
    text = prompt(
        "sms_incident_closed", municipality=incident.municipality.name, text=incident.text[:100]
    )
    sent = 0
    for caller in incident.callers:
        if caller.caller_number and caller.sms_id is None:
            message = get_gateway().send_sms(
                caller.caller_number, text, purpose=f"incident-closed:{incident.id}:{caller.id}"
            )
            caller.sms_id = message.id
            sent += 1
    db.session.flush()
    log.info("incident %s closed, %d callers texted", incident.id, sent)
    return sent


def joined_count(incident: Incident) -> int:
    """Return how many callers joined the incident."""
    return db.session.scalar(
        db.select(func.count(IncidentCaller.id)).where(IncidentCaller.incident_id == incident.id)
    )


@dataclass(frozen=True)
class Cluster:
    """Appeals of one municipality and category close together: an incident, probably."""

    municipality: Municipality
    category: Category
    appeals: int


def suggested_incidents(now: datetime | None = None) -> list[Cluster]:
    """Return the clusters of ≥3 appeals (same municipality and category, last 30 minutes)
    that no open incident of that municipality and category covers."""
    since = (now or utcnow()) - CLUSTER_WINDOW
    covered = db.select(Incident.id).where(
        Incident.closed_at.is_(None),
        Incident.municipality_id == Appeal.municipality_id,
        Incident.category_id == Appeal.category_id,
    )
    rows = db.session.execute(
        db.select(Appeal.municipality_id, Appeal.category_id, func.count(Appeal.id))
        .where(Appeal.created_at >= since, Appeal.category_id.is_not(None), ~covered.exists())
        .group_by(Appeal.municipality_id, Appeal.category_id)
        .having(func.count(Appeal.id) >= CLUSTER_SIZE)
    ).all()
    return [
        Cluster(db.session.get(Municipality, m), db.session.get(Category, c), n) for m, c, n in rows
    ]


@dataclass(frozen=True)
class IncidentFigures:
    """A report's line: an incident, the calls that joined it and how long it stayed open."""

    incident: Incident
    joined: int
    open_for: timedelta | None


def _open_for(incident: Incident) -> timedelta | None:
    return incident.closed_at - incident.declared_at if incident.closed_at else None


def incident_figures(since: datetime, until: datetime) -> list[IncidentFigures]:
    """Return the incidents declared in the period with calls joined and time to close."""
    joined = func.count(IncidentCaller.id)
    rows = db.session.execute(
        db.select(Incident, joined)
        .outerjoin(IncidentCaller, IncidentCaller.incident_id == Incident.id)
        .where(Incident.declared_at >= since, Incident.declared_at < until)
        .group_by(Incident.id)
        .order_by(Incident.declared_at.desc())
    ).all()
    return [
        IncidentFigures(
            incident,
            count,
            incident.closed_at - incident.declared_at if incident.closed_at else None,
        )
        for incident, count in rows
    ]
