"""The duty roster: who is on duty, rotations, overrides, swaps, unavailability and gaps.

Services change the session, record an event and flush; the caller commits. Every change
schedules the municipality's roster refresh (rotation extension and gap check) after commit.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, exists, func, select

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.events import record_event
from core.extensions import db
from core.i18n import local_time
from core.models import User
from roster import rules
from roster.models import (
    DUTY_ROLES,
    Category,
    DutyShift,
    Municipality,
    Official,
    Regulation,
    Roster,
    RosterGap,
    Rotation,
    RotationMember,
    ShiftKind,
    Unavailability,
)

log = logging.getLogger(__name__)

#: Days the gap check looks ahead.
GAP_WINDOW = timedelta(days=14)
DEFAULT_HORIZON_DAYS = 60


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


@dataclass(frozen=True)
class OnDutyOfficial:
    role: str  # "primary" | "backup" | "supervisor"
    official_id: int
    full_name: str
    position: str
    phone: str  # E.164
    shift_id: int

    def as_dict(self) -> dict:
        return {
            "role": self.role,
            "official_id": self.official_id,
            "full_name": self.full_name,
            "position": self.position,
            "phone": self.phone,
            "shift_id": self.shift_id,
        }


@dataclass(frozen=True)
class OnDuty:
    municipality_id: int
    roster_id: int | None  # None when the municipality has no roster at all
    at: datetime  # aware UTC
    primary: OnDutyOfficial | None
    backup: OnDutyOfficial | None
    supervisor: OnDutyOfficial | None
    #: lower role -> higher role it was folded into (the same person in two slots)
    folded: dict[str, str]

    def chain(self) -> list[OnDutyOfficial]:
        """Return the filled slots in ringing order: primary, backup, supervisor."""
        return [slot for slot in (self.primary, self.backup, self.supervisor) if slot]

    def empty_roles(self) -> list[str]:
        """Return the roles nobody holds (a role folded into a higher one is not empty)."""
        return [
            role for role in DUTY_ROLES if getattr(self, role) is None and role not in self.folded
        ]

    def as_dict(self) -> dict:
        """Return the decision as JSON-ready data."""
        return {
            "primary": self.primary.as_dict() if self.primary else None,
            "backup": self.backup.as_dict() if self.backup else None,
            "supervisor": self.supervisor.as_dict() if self.supervisor else None,
            "folded": dict(self.folded),
        }


def _build_resolver_statement():
    at = bindparam("at", type_=UTCDateTime())
    since = bindparam("since", type_=UTCDateTime())
    place, category = bindparam("m"), bindparam("c")
    by_regulation = (
        select(Regulation.roster_id)
        .where(Regulation.municipality_id == place, Regulation.category_id == category)
        .scalar_subquery()
    )
    general = (
        select(Roster.id).where(Roster.municipality_id == place, Roster.is_general)
    ).scalar_subquery()
    target = select(func.coalesce(by_regulation, general).label("roster_id")).subquery("target")
    absent = (
        exists()
        .where(
            Unavailability.official_id == DutyShift.official_id,
            Unavailability.starts_at <= at,
            Unavailability.ends_at > at,
        )
        .label("absent")
    )
    covering = and_(
        DutyShift.roster_id == target.c.roster_id,
        DutyShift.starts_at <= at,
        DutyShift.starts_at > since,
        DutyShift.ends_at > at,
    )
    return select(
        target.c.roster_id,
        DutyShift.id,
        DutyShift.role,
        DutyShift.kind,
        Official.id,
        Official.full_name,
        Official.position,
        Official.phone,
        Official.active,
        absent,
    ).select_from(
        target.outerjoin(DutyShift, covering).outerjoin(
            Official, Official.id == DutyShift.official_id
        )
    )


_RESOLVER = _build_resolver_statement()


def resolve_on_duty(municipality: Municipality, category: Category | None, at: datetime) -> OnDuty:
    """Return who holds each duty slot of the roster that answers this category at a moment.

    The regulation picks the roster (default: the general one). Overrides win over swaps,
    swaps over the rotation. An absent or deactivated official leaves the slot empty; a
    person in two slots is kept in the higher one. One indexed query.
    """
    at = at.astimezone(UTC)
    rows = db.session.execute(
        _RESOLVER,
        {
            "m": municipality.id,
            "c": category.id if category is not None else None,
            "at": at,
            "since": at - rules.MAX_SHIFT_LENGTH,
        },
    ).all()
    roster_id = rows[0][0] if rows else None
    best: dict[str, tuple] = {}
    for row in rows:
        _, shift_id, role, kind, official_id, *_rest, active, _absent = row
        if shift_id is None or not active:
            continue
        rank = (rules.KIND_PRIORITY[kind], shift_id)
        if role not in best or rank > best[role][0]:
            best[role] = (rank, row)
    holders: dict[str, OnDutyOfficial | None] = {}
    for role in DUTY_ROLES:
        entry = best.get(role)
        if entry is None or entry[1][9]:  # nobody planned, or the planned official is absent
            holders[role] = None
            continue
        row = entry[1]
        holders[role] = OnDutyOfficial(role, row[4], row[5], row[6], row[7], row[1])
    kept, folded = rules.fold_duplicates(
        {role: holder.official_id if holder else None for role, holder in holders.items()}
    )
    return OnDuty(
        municipality_id=municipality.id,
        roster_id=roster_id,
        at=at,
        primary=holders["primary"] if kept["primary"] else None,
        backup=holders["backup"] if kept["backup"] else None,
        supervisor=holders["supervisor"] if kept["supervisor"] else None,
        folded=folded,
    )


# --- layers and effective duty ----------------------------------------------------------


def _layers(
    roster_ids: list[int], since: datetime, until: datetime, kinds: tuple[str, ...] | None = None
) -> dict[tuple[int, str], list[rules.Layer]]:
    """Return the shift rows overlapping [since, until) as layers, by (roster, role)."""
    if not roster_ids:
        return {}
    query = db.select(
        DutyShift.id,
        DutyShift.roster_id,
        DutyShift.role,
        DutyShift.official_id,
        DutyShift.starts_at,
        DutyShift.ends_at,
        DutyShift.kind,
    ).where(
        DutyShift.roster_id.in_(roster_ids),
        DutyShift.starts_at < until,
        DutyShift.starts_at > since - rules.MAX_SHIFT_LENGTH,
        DutyShift.ends_at > since,
    )
    if kinds:
        query = query.where(DutyShift.kind.in_(kinds))
    layers: dict[tuple[int, str], list[rules.Layer]] = {}
    for shift_id, roster_id, role, official_id, starts, ends, kind in db.session.execute(query):
        layers.setdefault((roster_id, role), []).append(
            rules.Layer(shift_id, official_id, starts, ends, kind)
        )
    return layers


def _absences(official_ids, since: datetime, until: datetime) -> list[rules.Absence]:
    """Return the absences of these officials overlapping [since, until)."""
    ids = list(set(official_ids))
    if not ids:
        return []
    rows = db.session.scalars(
        db.select(Unavailability).where(
            Unavailability.official_id.in_(ids),
            Unavailability.starts_at < until,
            Unavailability.ends_at > since,
        )
    ).all()
    return [rules.Absence(r.official_id, r.starts_at, r.ends_at, r.reason, r.id) for r in rows]


def _inactive_officials(official_ids) -> set[int]:
    ids = list(set(official_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(
            db.select(Official.id).where(Official.id.in_(ids), Official.active.is_(False))
        )
    )


@dataclass(frozen=True)
class Duty:
    """An uninterrupted stretch one official holds one role of one roster (after layering)."""

    roster_id: int
    role: str
    starts_at: datetime
    ends_at: datetime
    official_id: int | None
    shift_id: int | None
    kind: str | None
    #: The absence that keeps the planned official from the duty, if any.
    absence: rules.Absence | None = None

    @property
    def covered(self) -> bool:
        return self.official_id is not None and self.absence is None


def effective_duties(
    roster_ids: list[int], since: datetime, until: datetime
) -> dict[tuple[int, str], list[Duty]]:
    """Return for each (roster, role) who really holds it over [since, until), gaps included."""
    layers = _layers(roster_ids, since, until)
    inactive = _inactive_officials(layer.official_id for rows in layers.values() for layer in rows)
    holders = {layer.official_id for rows in layers.values() for layer in rows}
    absences = _absences(holders, since, until)
    result = {}
    for roster_id in roster_ids:
        for role in DUTY_ROLES:
            own = [
                layer
                for layer in layers.get((roster_id, role), [])
                if layer.official_id not in inactive
            ]
            segments = rules.mark_absences(rules.effective_segments(own, since, until), absences)
            result[(roster_id, role)] = [
                Duty(
                    roster_id,
                    role,
                    segment.starts_at,
                    segment.ends_at,
                    segment.official_id,
                    segment.layer.shift_id if segment.layer else None,
                    segment.layer.kind if segment.layer else None,
                    segment.absence,
                )
                for segment in segments
            ]
    return result


def duties_of_official(official: Official, since: datetime, until: datetime) -> list[Duty]:
    """Return the stretches an official really is on duty over [since, until), by start."""
    roster_ids = list(
        db.session.scalars(
            db.select(DutyShift.roster_id)
            .where(
                DutyShift.official_id == official.id,
                DutyShift.starts_at < until,
                DutyShift.ends_at > since,
            )
            .distinct()
        )
    )
    duties = [
        duty
        for rows in effective_duties(roster_ids, since, until).values()
        for duty in rows
        if duty.official_id == official.id and duty.covered
    ]
    return sorted(_merge_same_holder(duties), key=lambda duty: (duty.starts_at, duty.role))


def _merge_same_holder(duties: list[Duty]) -> list[Duty]:
    """Join back-to-back stretches of the same person in the same role and roster."""
    merged: list[Duty] = []
    for duty in sorted(duties, key=lambda d: (d.roster_id, d.role, d.starts_at)):
        last = merged[-1] if merged else None
        if (
            last is not None
            and (last.roster_id, last.role, last.official_id)
            == (duty.roster_id, duty.role, duty.official_id)
            and last.ends_at == duty.starts_at
            and last.absence is None
            and duty.absence is None
        ):
            merged[-1] = Duty(
                last.roster_id,
                last.role,
                last.starts_at,
                duty.ends_at,
                last.official_id,
                last.shift_id,
                last.kind,
            )
        else:
            merged.append(duty)
    return merged


def duties_of_municipality(
    municipality: Municipality, since: datetime, until: datetime
) -> list[Duty]:
    """Return every covered duty stretch of the municipality's rosters, by start."""
    roster_ids = [roster.id for roster in rosters_of(municipality)]
    duties = [
        duty
        for rows in effective_duties(roster_ids, since, until).values()
        for duty in rows
        if duty.covered
    ]
    return sorted(_merge_same_holder(duties), key=lambda duty: (duty.starts_at, duty.role))


# --- refusing absent officials ----------------------------------------------------------


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
) -> None:
    """Raise RosterError when a candidate row would put an absent official on duty."""
    if not candidates:
        return
    since = min(c.starts_at for c in candidates)
    until = max(c.ends_at for c in candidates)
    absences = _absences([c.official_id for c in candidates], since, until)
    if not absences:
        return
    existing = _layers([roster.id], since, until, existing_kinds).get((roster.id, role), [])
    conflicts = rules.absence_conflicts(candidates, existing, absences)
    if conflicts:
        raise RosterError(_conflict_message(conflicts, roster.municipality, role), field)


def _check_official(official: Official | None, place: Municipality, field: str) -> Official:
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


def _check_role(role: str) -> str:
    if role not in DUTY_ROLES:
        raise RosterError(_("Unknown duty slot %(role)s.", role=role), "role")
    return role


def _roster_changed(place: Municipality) -> None:
    """Refresh the municipality's rotations and gap list once this change is committed."""
    from core.queue import enqueue_after_commit
    from roster.jobs import refresh_roster

    enqueue_after_commit(refresh_roster, place.id, job_id=f"roster-refresh-{place.id}")


def _actor_id(actor: User | None) -> int | None:
    if actor is not None:
        return actor.id
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


# --- rotations --------------------------------------------------------------------------


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
    now = now or utcnow()
    _check_role(role)
    place = roster.municipality
    zone = ZoneInfo(place.timezone)
    if not official_ids:
        raise RosterError(_("Put at least one official in the order."), "officials")
    if len(set(official_ids)) != len(official_ids):
        raise RosterError(_("Each official may appear in the order only once."), "officials")
    for official_id in official_ids:
        _check_official(db.session.get(Official, official_id), place, "officials")
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
    rotation.updated_at, rotation.updated_by_id = now, _actor_id(actor)
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
    _roster_changed(place)
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
    now = now or utcnow()
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
    absences = _absences(rotation.official_ids, slots[0].starts_at, slots[-1].ends_at)
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
) -> DutyShift:
    """Put an official in a slot for a period, winning over the rotation and swaps."""
    now = now or utcnow()
    place = roster.municipality
    _check_role(role)
    _check_official(official, place, "official_id")
    _check_period(starts_at, ends_at, now)
    candidate = rules.Layer(None, official.id, starts_at, ends_at, ShiftKind.OVERRIDE)
    _refuse_absent(roster, role, [candidate], "official_id")
    shift = DutyShift(
        roster_id=roster.id,
        role=role,
        official_id=official.id,
        starts_at=starts_at,
        ends_at=ends_at,
        kind=ShiftKind.OVERRIDE,
        note=note[:200],
        created_by_id=_actor_id(actor),
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
    _roster_changed(place)
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
    now = utcnow()
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
        _check_official(official, place, field)
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
            created_by_id=_actor_id(actor),
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
    _roster_changed(place)
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
    _roster_changed(place)


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
        created_by_id=_actor_id(actor),
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
    _roster_changed(official.municipality)
    return row, left_open


def duties_of_official_planned(official: Official, since: datetime, until: datetime) -> list[Duty]:
    """Return the stretches the official is planned for over [since, until), absent or not."""
    roster_ids = list(
        db.session.scalars(
            db.select(DutyShift.roster_id)
            .where(
                DutyShift.official_id == official.id,
                DutyShift.starts_at < until,
                DutyShift.ends_at > since,
            )
            .distinct()
        )
    )
    return sorted(
        (
            duty
            for rows in effective_duties(roster_ids, since, until).values()
            for duty in rows
            if duty.official_id == official.id
        ),
        key=lambda duty: duty.starts_at,
    )


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
    _roster_changed(official.municipality)


def unavailabilities_of(municipality: Municipality, since: datetime) -> list[Unavailability]:
    """Return the absences of the municipality's officials that end after `since`."""
    return db.session.scalars(
        db.select(Unavailability)
        .join(Official)
        .where(Official.municipality_id == municipality.id, Unavailability.ends_at > since)
        .order_by(Unavailability.starts_at)
    ).all()


# --- gaps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterGapInfo:
    roster_id: int
    gap: rules.Gap


def find_gaps(municipality: Municipality, since: datetime, until: datetime) -> list[RosterGapInfo]:
    """Return every interval of [since, until) in which a slot of a roster has nobody."""
    rosters = rosters_of(municipality)
    duties = effective_duties([r.id for r in rosters], since, until)
    found = []
    for roster in rosters:
        for role in DUTY_ROLES:
            segments = [
                rules.Segment(
                    duty.starts_at,
                    duty.ends_at,
                    rules.Layer(duty.shift_id, duty.official_id, duty.starts_at, duty.ends_at)
                    if duty.official_id is not None
                    else None,
                    duty.absence,
                )
                for duty in duties[(roster.id, role)]
            ]
            found.extend(RosterGapInfo(roster.id, gap) for gap in rules.find_gaps(role, segments))
    return sorted(found, key=lambda item: (item.gap.starts_at, DUTY_ROLES.index(item.gap.role)))


def check_gaps(municipality: Municipality, now: datetime | None = None) -> list[RosterGap]:
    """Replace the municipality's gap list with the gaps of the next 14 days.

    When the list changes, a `roster.gaps_found` (or `roster.gaps_closed`) event tells the
    municipality's head and the roster administrators.
    """
    now = now or utcnow()
    until = now + GAP_WINDOW
    found = find_gaps(municipality, now, until)
    previous = db.session.scalars(
        db.select(RosterGap).where(RosterGap.municipality_id == municipality.id)
    ).all()

    def key(roster_id, role, starts, ends, reason, old_now=None):
        return (roster_id, role, None if starts <= (old_now or now) else starts, ends, reason)

    old_keys = {
        key(g.roster_id, g.role, g.starts_at, g.ends_at, g.reason, g.found_at) for g in previous
    }
    new_keys = {
        key(i.roster_id, i.gap.role, i.gap.starts_at, i.gap.ends_at, i.gap.reason) for i in found
    }
    for row in previous:
        db.session.delete(row)
    rows = [
        RosterGap(
            municipality_id=municipality.id,
            roster_id=item.roster_id,
            role=item.gap.role,
            starts_at=item.gap.starts_at,
            ends_at=item.gap.ends_at,
            reason=item.gap.reason,
            found_at=now,
        )
        for item in found
    ]
    db.session.add_all(rows)
    db.session.flush()
    if new_keys != old_keys and rows:
        record_event(
            "municipality",
            municipality.id,
            "roster.gaps_found",
            {
                "notify": ["head", "admin"],
                "gaps": [
                    {
                        "roster_id": row.roster_id,
                        "role": row.role,
                        "starts_at": row.starts_at.isoformat(),
                        "ends_at": row.ends_at.isoformat(),
                        "reason": row.reason,
                    }
                    for row in rows
                ],
            },
            actor_label="roster",
        )
        log.info("municipality %s: %d roster gaps", municipality.code, len(rows))
    elif previous and not rows:
        record_event(
            "municipality", municipality.id, "roster.gaps_closed", {}, actor_label="roster"
        )
    return rows


def stored_gaps(municipality: Municipality | None = None) -> list[RosterGap]:
    """Return the gaps found by the last checks (of one municipality or all), by start."""
    query = db.select(RosterGap).order_by(RosterGap.starts_at)
    if municipality is not None:
        query = query.where(RosterGap.municipality_id == municipality.id)
    return db.session.scalars(query).all()


# --- the week grid ----------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    """One stretch of a role within one local day of the week grid."""

    role: str
    starts_at: datetime
    ends_at: datetime
    official: Official | None
    kind: str | None
    absent: bool
    now: bool


def week_grid(
    roster: Roster, first_day: date, now: datetime | None = None
) -> list[tuple[date, dict[str, list[GridCell]]]]:
    """Return seven local days from `first_day`, each with the stretches of the three slots."""
    now = now or utcnow()
    zone = ZoneInfo(roster.municipality.timezone)
    since = rules.local_day_bounds(first_day, zone)[0]
    until = rules.local_day_bounds(first_day + timedelta(days=6), zone)[1]
    duties = effective_duties([roster.id], since, until)
    officials = {o.id: o for o in officials_of(roster.municipality)}
    days = []
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        start, end = rules.local_day_bounds(day, zone)
        cells: dict[str, list[GridCell]] = {}
        for role in DUTY_ROLES:
            cells[role] = [
                GridCell(
                    role,
                    max(duty.starts_at, start),
                    min(duty.ends_at, end),
                    officials.get(duty.official_id),
                    duty.kind,
                    duty.absence is not None,
                    max(duty.starts_at, start) <= now < min(duty.ends_at, end),
                )
                for duty in duties[(roster.id, role)]
                if duty.starts_at < end and duty.ends_at > start
            ]
        days.append((day, cells))
    return days


def local_today(municipality: Municipality, now: datetime | None = None) -> date:
    """Return today's date in the municipality's time zone."""
    return (now or utcnow()).astimezone(ZoneInfo(municipality.timezone)).date()


# --- feeds ------------------------------------------------------------------------------


def feed_token_for(subject: Municipality | Official) -> str:
    """Return the secret token of a municipality's or official's iCal feed, making one once."""
    if not subject.feed_token:
        subject.feed_token = secrets.token_urlsafe(24)
        record_event(
            "municipality" if isinstance(subject, Municipality) else "official",
            subject.id,
            "feed.token_issued",
        )
        db.session.flush()
    return subject.feed_token


def reset_feed_token(subject: Municipality | Official) -> str:
    """Replace a feed token (the old link stops working)."""
    subject.feed_token = None
    db.session.flush()
    return feed_token_for(subject)


def subject_for_feed_token(kind: str, token: str) -> Municipality | Official | None:
    """Return the municipality or official whose feed this token opens."""
    model = Municipality if kind == "municipality" else Official
    if not token:
        return None
    return db.session.scalar(db.select(model).where(model.feed_token == token))


# --- reminders --------------------------------------------------------------------------

#: Local hour from which the evening reminders for tomorrow go out.
REMINDER_HOUR = 18


def due_reminders(now: datetime | None = None) -> list[tuple[Municipality, Duty]]:
    """Return the duties starting tomorrow in municipalities where it is now evening."""
    now = now or utcnow()
    due = []
    for place in list_municipalities():
        zone = ZoneInfo(place.timezone)
        local = now.astimezone(zone)
        if local.hour < REMINDER_HOUR:
            continue
        tomorrow = local.date() + timedelta(days=1)
        start, end = rules.local_day_bounds(tomorrow, zone)
        for duty in duties_of_municipality(place, start - timedelta(days=1), end):
            if start <= duty.starts_at < end:
                due.append((place, duty))
    return due
