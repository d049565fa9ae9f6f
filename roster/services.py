"""Reading the roster: municipalities and the shifts that cover a moment."""

from datetime import datetime

from core.extensions import db
from roster.models import DUTY_ROLES, DutyShift, Municipality, Roster


def get_municipality(code: str) -> Municipality | None:
    """Return the municipality with this code."""
    return db.session.scalar(db.select(Municipality).where(Municipality.code == code))


def list_municipalities() -> list[Municipality]:
    """Return every municipality, by name."""
    return db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()


def general_roster(municipality: Municipality) -> Roster | None:
    """Return the municipality's general roster."""
    return db.session.scalar(
        db.select(Roster).where(Roster.municipality_id == municipality.id, Roster.is_general)
    )


def shifts_covering(roster: Roster, at: datetime) -> dict[str, DutyShift | None]:
    """Return the shift holding each role of the roster at a moment (overrides win)."""
    rows = db.session.scalars(
        db.select(DutyShift)
        .where(DutyShift.roster_id == roster.id, DutyShift.starts_at <= at, DutyShift.ends_at > at)
        .order_by(DutyShift.kind != "override", DutyShift.kind != "swap", DutyShift.id.desc())
    ).all()
    slots: dict[str, DutyShift | None] = dict.fromkeys(DUTY_ROLES)
    for shift in rows:
        if slots.get(shift.role) is None:
            slots[shift.role] = shift
    return slots


def upcoming_shifts(roster: Roster, since: datetime, until: datetime) -> list[DutyShift]:
    """Return the roster's shifts overlapping [since, until), by start and role."""
    return db.session.scalars(
        db.select(DutyShift)
        .where(
            DutyShift.roster_id == roster.id,
            DutyShift.starts_at < until,
            DutyShift.ends_at > since,
        )
        .order_by(DutyShift.starts_at, DutyShift.role)
    ).all()
