"""Changing the roster: rotations, overrides, swaps and unavailability."""

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from core import clock
from core.events import record_event
from core.extensions import db
from core.i18n import local_time
from core.models import User
from roster import rules
from roster.models import (
    DutyShift,
    Municipality,
    Official,
    Roster,
    Rotation,
    RotationMember,
    ShiftKind,
    Unavailability,
)
from roster.services.common import (
    RosterError,
    actor_id_of,
    check_official,
    check_role,
    notify_roster_changed,
    reason_label,
    role_label,
)
from roster.services.duties import (
    Duty,
    absences_of,
    duties_of_official_planned,
    shift_layers,
)

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 60


def _conflict_message(conflicts: list[rules.Conflict], place: Municipality, role: str) -> str:
    names = dict(
        db.session.execute(
            db.select(Official.id, Official.full_name).where(
                Official.id.in_({c.candidate.official_id for c in conflicts})
            )
        ).all()
    )
    parts = []
    for conflict in conflicts[:3]:
        parts.append(
            _(
                "%(name)s is unavailable (%(reason)s) from %(absent_from)s to %(absent_to)s "
                "but would be on duty as %(role)s from %(start)s to %(end)s.",
                name=names.get(conflict.candidate.official_id, "?"),
                reason=reason_label(conflict.absence.reason),
                absent_from=local_time(conflict.absence.starts_at, place.timezone),
                absent_to=local_time(conflict.absence.ends_at, place.timezone),
                role=role_label(role).lower(),
                start=local_time(conflict.starts_at, place.timezone),
                end=local_time(conflict.ends_at, place.timezone),
            )
        )
    if len(conflicts) > 3:
        parts.append(_("And %(count)d more such shifts.", count=len(conflicts) - 3))
    return " ".join(parts)


def _refuse_absent(
    roster: Roster,
    role: str,
    candidates: list[rules.Layer],
    field: str,
    existing_kinds: tuple[str, ...] | None = None,
    known_absences: list[rules.Absence] | None = None,
) -> None:
    """Raise RosterError when a candidate row would put an absent official on duty.

    `known_absences`, when given, are the absences loaded already (a superset is fine).
    """
    if not candidates:
        return
    since = min(c.starts_at for c in candidates)
    until = max(c.ends_at for c in candidates)
    officials = {c.official_id for c in candidates}
    if known_absences is None:
        absences = absences_of(officials, since, until)
    else:
        absences = [
            a
            for a in known_absences
            if a.official_id in officials and a.starts_at < until and a.ends_at > since
        ]
    if not absences:
        return
    existing = shift_layers([roster.id], since, until, existing_kinds).get((roster.id, role), [])
    conflicts = rules.absence_conflicts(candidates, existing, absences)
    if conflicts:
        raise RosterError(_conflict_message(conflicts, roster.municipality, role), field)


def rotation_for(roster: Roster, role: str) -> Rotation | None:
    """Return the rotation of one role of a roster."""
    return db.session.scalar(
        db.select(Rotation).where(Rotation.roster_id == roster.id, Rotation.role == role)
    )


def save_rotation(
    roster: Roster,
    role: str,
    official_ids: list[int],
    handoff: time,
    length_days: int,
    starts_on: date,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    now: datetime | None = None,
    actor: User | None = None,
) -> Rotation:
    """Set how a role turns over and regenerate its shift rows from the first slot not yet over.

    The slot covering `now` (or the first slot, when the rotation starts later) is the cut:
    generated rows from the cut on are replaced, an earlier row running past it is cut short.
    Refused when it would put an absent official on duty.
    """
    now = now or clock.utcnow()
    check_role(role)
    place = roster.municipality
    zone = ZoneInfo(place.timezone)
    if not official_ids:
        raise RosterError(_("Put at least one official in the order."), "officials")
    if len(set(official_ids)) != len(official_ids):
        raise RosterError(_("Each official may appear in the order only once."), "officials")
    for official_id in official_ids:
        check_official(db.session.get(Official, official_id), place, "officials")
    if not 1 <= length_days <= rules.MAX_ROTATION_DAYS:
        raise RosterError(
            _("A turn lasts from 1 to %(days)d days.", days=rules.MAX_ROTATION_DAYS),
            "length_days",
        )
    if not 1 <= horizon_days <= 366:
        raise RosterError(_("The horizon is 1 to 366 days."), "horizon_days")
    cut = rules.first_slot_ending_after(starts_on, handoff, length_days, zone, now)
    until = now + timedelta(days=horizon_days)
    slots = rules.rotation_slots(
        starts_on, handoff, length_days, official_ids, zone, cut, max(until, cut)
    )
    slots = [slot for slot in slots if slot.starts_at >= cut]
    candidates = [rules.Layer(None, s.official_id, s.starts_at, s.ends_at) for s in slots]
    _refuse_absent(roster, role, candidates, "officials", existing_kinds=("override", "swap"))

    rotation = rotation_for(roster, role)
    if rotation is None:
        rotation = Rotation(roster_id=roster.id, role=role)
        db.session.add(rotation)
    rotation.handoff, rotation.length_days, rotation.starts_on = handoff, length_days, starts_on
    rotation.horizon_days, rotation.effective_from = horizon_days, cut
    rotation.updated_at, rotation.updated_by_id = now, actor_id_of(actor)
    rotation.members.clear()
    db.session.flush()
    rotation.members.extend(
        RotationMember(position=index, official_id=official_id)
        for index, official_id in enumerate(official_ids)
    )
    generated = db.select(DutyShift).where(
        DutyShift.roster_id == roster.id,
        DutyShift.role == role,
        DutyShift.kind == ShiftKind.ROTATION,
    )
    for row in db.session.scalars(generated.where(DutyShift.starts_at >= cut)):
        db.session.delete(row)
    for row in db.session.scalars(
        generated.where(DutyShift.starts_at < cut, DutyShift.ends_at > cut)
    ):
        row.ends_at = cut
    db.session.flush()
    for slot in slots:
        db.session.add(_rotation_row(roster, role, slot))
    db.session.flush()
    record_event(
        "roster",
        roster.id,
        "rotation.saved",
        {
            "role": role,
            "officials": official_ids,
            "handoff": handoff.strftime("%H:%M"),
            "length_days": length_days,
            "starts_on": starts_on.isoformat(),
            "from": cut.isoformat(),
            "shifts": len(slots),
        },
        actor=actor,
    )
    log.info("rotation %s of roster %s saved: %d shifts", role, roster.id, len(slots))
    notify_roster_changed(place)
    return rotation


def _rotation_row(roster: Roster, role: str, slot: rules.Slot) -> DutyShift:
    return DutyShift(
        roster_id=roster.id,
        role=role,
        official_id=slot.official_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        kind=ShiftKind.ROTATION,
    )


def extend_rotation(rotation: Rotation, now: datetime | None = None) -> int:
    """Create the rotation's missing shift rows up to its horizon; return how many.

    A slot that would put an absent official on duty is not generated (an event says so);
    it shows as a gap and is generated on a later run once the absence is gone.
    """
    now = now or clock.utcnow()
    roster = rotation.roster
    place = roster.municipality
    zone = ZoneInfo(place.timezone)
    since = max(rotation.effective_from, now)
    until = now + timedelta(days=rotation.horizon_days)
    slots = [
        slot
        for slot in rules.rotation_slots(
            rotation.starts_on,
            rotation.handoff,
            rotation.length_days,
            rotation.official_ids,
            zone,
            since,
            until,
        )
        if slot.starts_at >= rotation.effective_from
    ]
    if not slots:
        return 0
    have = set(
        db.session.scalars(
            db.select(DutyShift.starts_at).where(
                DutyShift.roster_id == roster.id,
                DutyShift.role == rotation.role,
                DutyShift.kind == ShiftKind.ROTATION,
                DutyShift.starts_at >= slots[0].starts_at,
            )
        )
    )
    missing = [slot for slot in slots if slot.starts_at not in have]
    absences = absences_of(rotation.official_ids, slots[0].starts_at, slots[-1].ends_at)
    refused = []
    created = 0
    for slot in missing:
        touched = any(
            a.official_id == slot.official_id
            and a.starts_at < slot.ends_at
            and a.ends_at > slot.starts_at
            for a in absences
        )
        if touched:
            candidate = rules.Layer(None, slot.official_id, slot.starts_at, slot.ends_at)
            try:
                _refuse_absent(
                    roster, rotation.role, [candidate], "officials", ("override", "swap")
                )
            except RosterError as error:
                refused.append({"starts_at": slot.starts_at.isoformat(), "message": error.message})
                continue
        db.session.add(_rotation_row(roster, rotation.role, slot))
        created += 1
    db.session.flush()
    if refused:
        record_event(
            "roster",
            roster.id,
            "rotation.shifts_refused",
            {"role": rotation.role, "refused": refused},
            actor_label="roster",
        )
    if created:
        log.info("rotation %s of roster %s extended by %d", rotation.role, roster.id, created)
    return created


def extend_rotations(municipality_id: int | None = None, now: datetime | None = None) -> int:
    """Extend every rotation (of one municipality, or all) to its horizon; return rows made."""
    query = db.select(Rotation).join(Roster)
    if municipality_id is not None:
        query = query.where(Roster.municipality_id == municipality_id)
    return sum(extend_rotation(rotation, now) for rotation in db.session.scalars(query).all())


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
    known_absences: list[rules.Absence] | None = None,
) -> DutyShift:
    """Put an official in a slot for a period, winning over the rotation and swaps."""
    now = now or clock.utcnow()
    place = roster.municipality
    check_role(role)
    check_official(official, place, "official_id")
    _check_period(starts_at, ends_at, now)
    candidate = rules.Layer(None, official.id, starts_at, ends_at, ShiftKind.OVERRIDE)
    _refuse_absent(roster, role, [candidate], "official_id", known_absences=known_absences)
    shift = DutyShift(
        roster_id=roster.id,
        role=role,
        official_id=official.id,
        starts_at=starts_at,
        ends_at=ends_at,
        kind=ShiftKind.OVERRIDE,
        note=note[:200],
        created_by_id=actor_id_of(actor),
    )
    db.session.add(shift)
    db.session.flush()
    record_event(
        "roster",
        roster.id,
        "override.added",
        {
            "shift_id": shift.id,
            "role": role,
            "official_id": official.id,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        },
        actor=actor,
    )
    log.info("override %s in roster %s: %s", role, roster.id, official.id)
    notify_roster_changed(place)
    return shift


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
        _refuse_absent(slot.roster, slot.role, [candidate], field)
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


# --- gaps -------------------------------------------------------------------------------
