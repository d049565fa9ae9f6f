"""Changing who is on duty by hand: overrides, swaps, cancelling, and unavailability."""

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import insert

from core import clock
from core.events import record_event
from core.extensions import db
from core.models import Event, User
from core.sessions import signed_in_user
from roster import rules
from roster.models import DutyShift, Municipality, Official, Roster, ShiftKind, Unavailability
from roster.services.common import (
    RosterError,
    actor_id_of,
    check_official,
    check_role,
    notify_roster_changed,
)
from roster.services.conflicts import refuse_absent
from roster.services.duties import Duty, duties_of_official_planned

log = logging.getLogger(__name__)


# --- overrides, swaps, cancelling -------------------------------------------------------


def add_override(
    roster: Roster,
    role: str,
    official: Official,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    *,
    actor: User | None = None,
    now: datetime | None = None,
) -> DutyShift:
    """Put an official in a slot for a period, winning over the rotation and swaps."""
    override = check_override(roster, role, official, starts_at, ends_at, note, now=now)
    return add_overrides([override], actor=actor)[0]


def check_override(
    roster: Roster,
    role: str,
    official: Official,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    *,
    now: datetime | None = None,
    known_absences: list[rules.Absence] | None = None,
) -> DutyShift:
    """Return the override row these values make, unsaved; raise RosterError if it is refused.

    `known_absences`, when given, are the absences loaded already (a superset is fine).
    """
    now = now or clock.utcnow()
    check_role(role)
    check_official(official, roster.municipality, "official_id")
    _check_period(starts_at, ends_at, now)
    candidate = rules.Layer(None, official.id, starts_at, ends_at, ShiftKind.OVERRIDE)
    refuse_absent(roster, role, [candidate], "official_id", known_absences=known_absences)
    return DutyShift(
        roster_id=roster.id,
        role=role,
        official_id=official.id,
        starts_at=starts_at,
        ends_at=ends_at,
        kind=ShiftKind.OVERRIDE,
        note=note[:200],
    )


def add_overrides(shifts: list[DutyShift], *, actor: User | None = None) -> list[DutyShift]:
    """Save override rows made by `check_override` in one flush, each with its event."""
    if not shifts:
        return shifts
    created_by_id = actor_id_of(actor)
    columns = ("roster_id", "role", "official_id", "starts_at", "ends_at", "kind", "note")
    db.session.execute(
        insert(DutyShift),
        [
            {**{name: getattr(s, name) for name in columns}, "created_by_id": created_by_id}
            for s in shifts
        ],
    )
    shifts = _saved_overrides(shifts)
    record_events(
        [
            (
                "roster",
                shift.roster_id,
                "override.added",
                {
                    "shift_id": shift.id,
                    "role": shift.role,
                    "official_id": shift.official_id,
                    "starts_at": shift.starts_at.isoformat(),
                    "ends_at": shift.ends_at.isoformat(),
                },
            )
            for shift in shifts
        ],
        actor=actor,
    )
    places = {shift.roster.municipality.id: shift.roster.municipality for shift in shifts}
    for shift in shifts:
        log.info("override %s in roster %s: %s", shift.role, shift.roster_id, shift.official_id)
    for place in places.values():
        notify_roster_changed(place)
    return shifts


def _saved_overrides(shifts: list[DutyShift]) -> list[DutyShift]:
    """Return the stored override rows of these unsaved ones, in their order, in one query."""
    stored = db.session.scalars(
        db.select(DutyShift)
        .where(
            DutyShift.kind == ShiftKind.OVERRIDE,
            DutyShift.roster_id.in_({shift.roster_id for shift in shifts}),
            DutyShift.starts_at >= min(shift.starts_at for shift in shifts),
            DutyShift.starts_at <= max(shift.starts_at for shift in shifts),
        )
        .order_by(DutyShift.id)
    )
    found = {_shift_key(row): row for row in stored}
    return [found[_shift_key(shift)] for shift in shifts]


def _shift_key(shift: DutyShift) -> tuple:
    return (shift.roster_id, shift.role, shift.official_id, shift.starts_at, shift.ends_at)


def record_events(events: list[tuple[str, int, str, dict]], *, actor: User | None) -> None:
    """Append (subject type, subject id, verb, data) events by one actor in one statement."""
    actor = actor or signed_in_user()
    db.session.execute(
        insert(Event.__table__),
        [
            {
                "subject_type": subject_type,
                "subject_id": str(subject_id),
                "verb": verb,
                "data": data,
                "actor_id": actor.id if actor else None,
                "actor_label": actor.username if actor else "system",
            }
            for subject_type, subject_id, verb, data in events
        ],
    )


def _check_period(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if ends_at <= starts_at:
        raise RosterError(_("The end must be after the start."), "ends_at")
    if ends_at - starts_at > rules.MAX_SHIFT_LENGTH:
        raise RosterError(
            _(
                "One shift lasts at most %(days)d days; add another for the rest.",
                days=rules.MAX_SHIFT_LENGTH.days,
            ),
            "ends_at",
        )
    if ends_at <= now:
        raise RosterError(_("This period is already over."), "ends_at")


def swap_shifts(
    first: DutyShift, second: DutyShift, note: str = "", *, actor: User | None = None
) -> tuple[DutyShift, DutyShift]:
    """Exchange the officials of two shifts: each takes the other's time and slot."""
    now = clock.utcnow()
    place = first.roster.municipality
    if first.id == second.id:
        raise RosterError(_("Choose two different shifts."), "second_id")
    if second.roster.municipality_id != place.id:
        raise RosterError(_("Both shifts must belong to the same municipality."), "second_id")
    if first.official_id == second.official_id:
        raise RosterError(_("Both shifts belong to the same official."), "second_id")
    for shift, field in ((first, "first_id"), (second, "second_id")):
        if shift.ends_at <= now:
            raise RosterError(_("This shift is already over."), field)
    for official, field in ((first.official, "second_id"), (second.official, "first_id")):
        check_official(official, place, field)
    made = []
    for slot, taker, field in ((first, second, "first_id"), (second, first, "second_id")):
        candidate = rules.Layer(None, taker.official_id, slot.starts_at, slot.ends_at, "swap")
        refuse_absent(slot.roster, slot.role, [candidate], field)
        row = DutyShift(
            roster_id=slot.roster_id,
            role=slot.role,
            official_id=taker.official_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            kind=ShiftKind.SWAP,
            note=note[:200],
            created_by_id=actor_id_of(actor),
        )
        db.session.add(row)
        made.append(row)
    db.session.flush()
    record_event(
        "roster",
        first.roster_id,
        "shifts.swapped",
        {
            "shifts": [first.id, second.id],
            "officials": [first.official_id, second.official_id],
            "swap_rows": [row.id for row in made],
        },
        actor=actor,
    )
    log.info("shifts %s and %s swapped", first.id, second.id)
    notify_roster_changed(place)
    return made[0], made[1]


def cancel_shift(shift: DutyShift, *, actor: User | None = None) -> None:
    """Remove an override or swap row; the rotation underneath holds the slot again."""
    if shift.kind == ShiftKind.ROTATION:
        raise RosterError(_("Generated shifts change with the rotation, not one by one."))
    place = shift.roster.municipality
    record_event(
        "roster",
        shift.roster_id,
        f"{shift.kind}.cancelled",
        {"shift_id": shift.id, "role": shift.role, "official_id": shift.official_id},
        actor=actor,
    )
    db.session.delete(shift)
    db.session.flush()
    notify_roster_changed(place)


# --- unavailability ---------------------------------------------------------------------


def add_unavailability(
    official: Official,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    note: str = "",
    *,
    actor: User | None = None,
) -> tuple[Unavailability, list[Duty]]:
    """Record that an official cannot be on duty; return the row and the duties it leaves open.

    From now on no shift that puts the official on duty in this period can be saved; duties
    already planned in it show as gaps until someone is put in.
    """
    if ends_at <= starts_at:
        raise RosterError(_("The end must be after the start."), "ends_at")
    if reason not in ("vacation", "sick", "other"):
        raise RosterError(_("Choose a reason."), "reason")
    row = Unavailability(
        official_id=official.id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        note=note[:200],
        created_by_id=actor_id_of(actor),
    )
    db.session.add(row)
    db.session.flush()
    left_open = [
        duty
        for duty in duties_of_official_planned(official, starts_at, ends_at)
        if duty.absence is not None
    ]
    record_event(
        "official",
        official.id,
        "unavailability.added",
        {
            "unavailability_id": row.id,
            "reason": reason,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "duties_left_open": len(left_open),
        },
        actor=actor,
    )
    log.info("official %s unavailable (%s)", official.id, reason)
    notify_roster_changed(official.municipality)
    return row, left_open


def remove_unavailability(row: Unavailability, *, actor: User | None = None) -> None:
    """Delete an absence; the official can be planned in that period again."""
    official = row.official
    record_event(
        "official",
        official.id,
        "unavailability.removed",
        {"unavailability_id": row.id, "reason": row.reason},
        actor=actor,
    )
    db.session.delete(row)
    db.session.flush()
    notify_roster_changed(official.municipality)


def unavailabilities_of(municipality: Municipality, since: datetime) -> list[Unavailability]:
    """Return the absences of the municipality's officials that end after `since`."""
    return db.session.scalars(
        db.select(Unavailability)
        .join(Official)
        .where(Official.municipality_id == municipality.id, Unavailability.ends_at > since)
        .order_by(Unavailability.starts_at)
    ).all()
