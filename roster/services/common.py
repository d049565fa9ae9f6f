"""Errors, labels, lookups and the helpers every roster change uses."""

import logging
from datetime import datetime

from flask_babel import gettext as _

from core.extensions import db
from core.models import MUNICIPAL_ROLES, User
from core.queue import enqueue_after_commit
from roster import rules
from roster.models import (
    DUTY_ROLES,
    DutyShift,
    Municipality,
    Official,
    Roster,
)

log = logging.getLogger(__name__)

#: The job that refreshes a municipality's roster, named by path so services never import jobs.
REFRESH_JOB = "roster.jobs.refresh_roster"


class RosterError(ValueError):
    """A roster change is refused; `message` says why and `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def role_label(role: str) -> str:
    """Return the translated name of a duty role."""
    return {"primary": _("Primary"), "backup": _("Backup"), "supervisor": _("Supervisor")}.get(
        role, role
    )


def reason_label(reason: str) -> str:
    """Return the translated name of an absence reason."""
    return {"vacation": _("vacation"), "sick": _("sick leave"), "other": _("other absence")}.get(
        reason, reason
    )


# --- reading ----------------------------------------------------------------------------


def get_municipality(code: str) -> Municipality | None:
    """Return the municipality with this code."""
    return db.session.scalar(db.select(Municipality).where(Municipality.code == code))


def list_municipalities() -> list[Municipality]:
    """Return every municipality, by name."""
    return db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()


def visible_municipalities(user: User) -> list[Municipality]:
    """Return the municipalities a user may see, by name (an official or a head: their own)."""
    query = db.select(Municipality).order_by(Municipality.name)
    if user.role in MUNICIPAL_ROLES:
        query = query.where(Municipality.id == user.municipality_id)
    return list(db.session.scalars(query))


def general_roster(municipality: Municipality) -> Roster | None:
    """Return the municipality's general roster."""
    return db.session.scalar(
        db.select(Roster).where(Roster.municipality_id == municipality.id, Roster.is_general)
    )


def rosters_of(municipality: Municipality) -> list[Roster]:
    """Return the municipality's rosters, the general one first."""
    return db.session.scalars(
        db.select(Roster)
        .where(Roster.municipality_id == municipality.id)
        .order_by(Roster.is_general.desc(), Roster.code)
    ).all()


def get_roster(municipality: Municipality, code: str | None) -> Roster | None:
    """Return the municipality's roster with this code (the general one when no code)."""
    if not code:
        return general_roster(municipality)
    return db.session.scalar(
        db.select(Roster).where(Roster.municipality_id == municipality.id, Roster.code == code)
    )


def officials_of(municipality: Municipality, active_only: bool = False) -> list[Official]:
    """Return the municipality's officials, by name."""
    query = db.select(Official).where(Official.municipality_id == municipality.id)
    if active_only:
        query = query.where(Official.active)
    return db.session.scalars(query.order_by(Official.full_name)).all()


def shifts_covering(roster: Roster, at: datetime) -> dict[str, DutyShift | None]:
    """Return the shift row holding each role of the roster at a moment (overrides win)."""
    rows = db.session.scalars(
        db.select(DutyShift).where(
            DutyShift.roster_id == roster.id,
            DutyShift.starts_at <= at,
            DutyShift.starts_at > at - rules.MAX_SHIFT_LENGTH,
            DutyShift.ends_at > at,
        )
    ).all()
    slots: dict[str, DutyShift | None] = dict.fromkeys(DUTY_ROLES)
    for role in DUTY_ROLES:
        own = [row for row in rows if row.role == role]
        if own:
            slots[role] = max(own, key=lambda row: (rules.KIND_PRIORITY[row.kind], row.id))
    return slots


def upcoming_shifts(roster: Roster, since: datetime, until: datetime) -> list[DutyShift]:
    """Return the roster's shift rows overlapping [since, until), by start and role."""
    return db.session.scalars(
        db.select(DutyShift)
        .where(
            DutyShift.roster_id == roster.id,
            DutyShift.starts_at < until,
            DutyShift.starts_at > since - rules.MAX_SHIFT_LENGTH,
            DutyShift.ends_at > since,
        )
        .order_by(DutyShift.starts_at, DutyShift.role, DutyShift.id)
    ).all()


# --- who is on duty ---------------------------------------------------------------------


def check_official(official: Official | None, place: Municipality, field: str) -> Official:
    if official is None:
        raise RosterError(_("Choose an official."), field)
    if official.municipality_id != place.id:
        raise RosterError(
            _("%(name)s does not work in %(place)s.", name=official.full_name, place=place.name),
            field,
        )
    if not official.active:
        raise RosterError(
            _("%(name)s is deactivated and cannot be on duty.", name=official.full_name), field
        )
    return official


def check_role(role: str) -> str:
    if role not in DUTY_ROLES:
        raise RosterError(_("Unknown duty slot %(role)s.", role=role), "role")
    return role


def notify_roster_changed(place: Municipality) -> None:
    """Refresh the municipality's rotations and gap list once this change is committed."""
    enqueue_after_commit(REFRESH_JOB, place.id, job_id=f"roster-refresh-{place.id}")


def actor_id_of(actor: User | None) -> int | None:
    if actor is not None:
        return actor.id
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None
