"""Effective duty after layering: per roster and role, per official, the week grid, reminders."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core import clock
from core.extensions import db
from roster import rules
from roster.models import (
    DUTY_ROLES,
    DutyShift,
    Municipality,
    Official,
    Roster,
    Unavailability,
)
from roster.services.common import list_municipalities, officials_of


def shift_layers(
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


def absences_of(official_ids, since: datetime, until: datetime) -> list[rules.Absence]:
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
    layers = shift_layers(roster_ids, since, until)
    inactive = _inactive_officials(layer.official_id for rows in layers.values() for layer in rows)
    holders = {layer.official_id for rows in layers.values() for layer in rows}
    absences = absences_of(holders, since, until)
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


def _rosters_with_shifts_of(official: Official, since: datetime, until: datetime) -> list[int]:
    """Return the ids of the rosters where the official has a shift row overlapping the span."""
    return list(
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


def duties_of_official(official: Official, since: datetime, until: datetime) -> list[Duty]:
    """Return the stretches an official really is on duty over [since, until), by start."""
    roster_ids = _rosters_with_shifts_of(official, since, until)
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
    return duties_of_municipalities([municipality], since, until)[municipality.id]


def duties_of_municipalities(
    municipalities: list[Municipality], since: datetime, until: datetime
) -> dict[int, list[Duty]]:
    """Return, by municipality id, every covered duty stretch of its rosters, by start."""
    place_of = dict(
        db.session.execute(
            db.select(Roster.id, Roster.municipality_id).where(
                Roster.municipality_id.in_([place.id for place in municipalities])
            )
        ).all()
    )
    found: dict[int, list[Duty]] = {place.id: [] for place in municipalities}
    for rows in effective_duties(list(place_of), since, until).values():
        for duty in rows:
            if duty.covered:
                found[place_of[duty.roster_id]].append(duty)
    return {
        place_id: sorted(_merge_same_holder(duties), key=lambda duty: (duty.starts_at, duty.role))
        for place_id, duties in found.items()
    }


# --- refusing absent officials ----------------------------------------------------------


def duties_of_official_planned(official: Official, since: datetime, until: datetime) -> list[Duty]:
    """Return the stretches the official is planned for over [since, until), absent or not."""
    roster_ids = _rosters_with_shifts_of(official, since, until)
    return sorted(
        (
            duty
            for rows in effective_duties(roster_ids, since, until).values()
            for duty in rows
            if duty.official_id == official.id
        ),
        key=lambda duty: duty.starts_at,
    )


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
    now = now or clock.utcnow()
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
    return (now or clock.utcnow()).astimezone(ZoneInfo(municipality.timezone)).date()


# --- feeds ------------------------------------------------------------------------------

#: Local hour from which the evening reminders for tomorrow go out.
REMINDER_HOUR = 18


def due_reminders(now: datetime | None = None) -> list[tuple[Municipality, Duty]]:
    """Return the duties starting tomorrow in municipalities where it is now evening.

    Municipalities whose tomorrow is the same stretch of time are read together.
    """
    now = now or clock.utcnow()
    evening: list[tuple[Municipality, tuple[datetime, datetime]]] = []
    for place in list_municipalities():
        zone = ZoneInfo(place.timezone)
        local = now.astimezone(zone)
        if local.hour >= REMINDER_HOUR:
            evening.append((place, rules.local_day_bounds(local.date() + timedelta(days=1), zone)))
    duties: dict[int, list[Duty]] = {}
    for start, end in {bounds for _place, bounds in evening}:
        places = [place for place, bounds in evening if bounds == (start, end)]
        duties.update(duties_of_municipalities(places, start - timedelta(days=1), end))
    return [
        (place, duty)
        for place, (start, end) in evening
        for duty in duties[place.id]
        if start <= duty.starts_at < end
    ]
