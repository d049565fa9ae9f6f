"""Rotations: how a role turns over, and the shift rows generated from it."""

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from core import clock
from core.events import record_event
from core.extensions import db
from core.models import User
from roster import rules
from roster.models import DutyShift, Official, Roster, Rotation, RotationMember, ShiftKind
from roster.services.common import (
    RosterError,
    actor_id_of,
    check_official,
    check_role,
    notify_roster_changed,
)
from roster.services.conflicts import refuse_absent
from roster.services.duties import absences_of

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 60


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
    refuse_absent(roster, role, candidates, "officials", existing_kinds=("override", "swap"))

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
                refuse_absent(roster, rotation.role, [candidate], "officials", ("override", "swap"))
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
