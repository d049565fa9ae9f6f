"""Pure roster rules: rotations in local wall-clock time, layering of shifts, gaps, phones.

Nothing here touches Flask or the database, so these functions are tested directly.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers

ROLES = ("primary", "backup", "supervisor")
#: Roles from the highest to the lowest: a person in two slots keeps the higher one, the one
#: the chain rings first (someone on primary duty is rung as primary, not after the backup).
ROLES_BY_RANK = ("primary", "backup", "supervisor")
#: Which kind of shift wins when two cover the same moment (higher wins; then the newer row).
KIND_PRIORITY = {"rotation": 0, "swap": 1, "override": 2}
#: No shift row is longer than this, so the resolver looks back a bounded time on its index.
MAX_SHIFT_LENGTH = timedelta(days=31)
MAX_ROTATION_DAYS = 28


# --- rotations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One turn of a rotation: who holds the role from `starts_at` to `ends_at` (UTC)."""

    index: int
    starts_at: datetime
    ends_at: datetime
    official_id: int


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of a local wall-clock time on a day.

    A time skipped by a spring-forward change is read with the offset in force before it
    (02:30 on the change night becomes 03:30 summer time); a time that occurs twice in the
    autumn is its first occurrence. Every slot boundary comes from this one function, so one
    slot's end is always exactly the next slot's start: no gaps and no overlaps.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def slot_start(starts_on: date, handoff: time, length_days: int, index: int, zone: ZoneInfo):
    """Return the UTC start of slot `index` of a rotation."""
    return local_to_utc(starts_on + timedelta(days=index * length_days), handoff, zone)


def rotation_slots(
    starts_on: date,
    handoff: time,
    length_days: int,
    official_ids: Sequence[int],
    zone: ZoneInfo,
    since: datetime,
    until: datetime,
) -> list[Slot]:
    """Return the rotation's slots overlapping [since, until), officials taking turns in order."""
    if not official_ids or until <= since:
        return []
    if not 1 <= length_days <= MAX_ROTATION_DAYS:
        raise ValueError(f"a rotation turns over every 1 to {MAX_ROTATION_DAYS} days")
    local_since = since.astimezone(zone).date()
    index = max(0, (local_since - starts_on).days // length_days - 1)
    slots = []
    start = slot_start(starts_on, handoff, length_days, index, zone)
    while start < until:
        end = slot_start(starts_on, handoff, length_days, index + 1, zone)
        if end > since:
            official = official_ids[index % len(official_ids)]
            slots.append(Slot(index, start, end, official))
        index, start = index + 1, end
    return slots


def first_slot_ending_after(
    starts_on: date, handoff: time, length_days: int, zone: ZoneInfo, moment: datetime
) -> datetime:
    """Return the start of the first slot that ends after `moment` (the one covering it, or the
    first slot when the rotation has not begun)."""
    slots = rotation_slots(starts_on, handoff, length_days, [0], zone, moment, moment + _TICK)
    if slots:
        return slots[0].starts_at
    return slot_start(starts_on, handoff, length_days, 0, zone)


_TICK = timedelta(microseconds=1)


# --- layering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """A shift row as the rules see it."""

    shift_id: int | None
    official_id: int
    starts_at: datetime
    ends_at: datetime
    kind: str = "rotation"

    @property
    def rank(self) -> tuple[int, int]:
        # A row not saved yet (shift_id None) is newer than every saved one.
        return KIND_PRIORITY[self.kind], self.shift_id if self.shift_id is not None else 1 << 62


@dataclass(frozen=True)
class Segment:
    """An interval in which one layer (or none) holds a role."""

    starts_at: datetime
    ends_at: datetime
    layer: Layer | None
    #: The absence that makes the holder unavailable in this interval, if any.
    absence: object | None = None

    @property
    def official_id(self) -> int | None:
        return self.layer.official_id if self.layer else None

    @property
    def covered(self) -> bool:
        return self.layer is not None and self.absence is None


def winner(layers: Iterable[Layer], at: datetime) -> Layer | None:
    """Return the layer holding the role at a moment: overrides, then swaps, then the rotation;
    among equals the newest row."""
    covering = [layer for layer in layers if layer.starts_at <= at < layer.ends_at]
    return max(covering, key=lambda layer: layer.rank, default=None)


def effective_segments(layers: Sequence[Layer], since: datetime, until: datetime) -> list[Segment]:
    """Return who holds the role over [since, until), as consecutive segments (empty ones too)."""
    if until <= since:
        return []
    bounds = {since, until}
    for layer in layers:
        for moment in (layer.starts_at, layer.ends_at):
            if since < moment < until:
                bounds.add(moment)
    ordered = sorted(bounds)
    segments: list[Segment] = []
    for start, end in zip(ordered, ordered[1:], strict=False):
        holder = winner(layers, start)
        if segments and segments[-1].layer == holder:
            segments[-1] = Segment(segments[-1].starts_at, end, holder)
        else:
            segments.append(Segment(start, end, holder))
    return segments


@dataclass(frozen=True)
class Absence:
    """A period an official cannot be on duty."""

    official_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str = "vacation"
    absence_id: int | None = None


def mark_absences(segments: Sequence[Segment], absences: Sequence[Absence]) -> list[Segment]:
    """Split segments where their holder is absent and attach that absence."""
    result: list[Segment] = []
    for segment in segments:
        own = sorted(
            (
                a
                for a in absences
                if segment.layer is not None
                and a.official_id == segment.layer.official_id
                and a.starts_at < segment.ends_at
                and a.ends_at > segment.starts_at
            ),
            key=lambda a: a.starts_at,
        )
        cursor = segment.starts_at
        for absence in own:
            start, end = max(absence.starts_at, cursor), min(absence.ends_at, segment.ends_at)
            if end <= start:
                continue
            if start > cursor:
                result.append(Segment(cursor, start, segment.layer))
            result.append(Segment(start, end, segment.layer, absence))
            cursor = end
        if cursor < segment.ends_at:
            result.append(Segment(cursor, segment.ends_at, segment.layer))
    return result


@dataclass(frozen=True)
class Gap:
    """An interval in which a role has nobody who can take a call."""

    role: str
    starts_at: datetime
    ends_at: datetime
    #: `empty` (nobody planned) or `unavailable` (the planned official is absent).
    reason: str


def find_gaps(role: str, segments: Sequence[Segment]) -> list[Gap]:
    """Return the uncovered intervals of a role, adjacent ones of the same reason merged."""
    gaps: list[Gap] = []
    for segment in segments:
        if segment.covered:
            continue
        reason = "empty" if segment.layer is None else "unavailable"
        if gaps and gaps[-1].ends_at == segment.starts_at and gaps[-1].reason == reason:
            gaps[-1] = Gap(role, gaps[-1].starts_at, segment.ends_at, reason)
        else:
            gaps.append(Gap(role, segment.starts_at, segment.ends_at, reason))
    return gaps


@dataclass(frozen=True)
class Conflict:
    """A candidate shift that would put an absent official on duty."""

    candidate: Layer
    absence: Absence
    starts_at: datetime
    ends_at: datetime


def absence_conflicts(
    candidates: Sequence[Layer], existing: Sequence[Layer], absences: Sequence[Absence]
) -> list[Conflict]:
    """Return where a candidate row would be the one on duty while its official is absent.

    A candidate is fine when the absent part is taken over by a row that wins over it (e.g. an
    override made for the vacation); otherwise it is a conflict.
    """
    conflicts = []
    for candidate in candidates:
        own = [a for a in absences if a.official_id == candidate.official_id]
        if not own:
            continue
        rivals = [
            layer
            for layer in existing
            if layer.starts_at < candidate.ends_at and layer.ends_at > candidate.starts_at
        ]
        segments = effective_segments([*rivals, candidate], candidate.starts_at, candidate.ends_at)
        for segment in mark_absences(segments, own):
            if segment.layer == candidate and segment.absence is not None:
                conflicts.append(
                    Conflict(candidate, segment.absence, segment.starts_at, segment.ends_at)
                )
    return conflicts


# --- who is on duty ---------------------------------------------------------------------


def fold_duplicates(holders: dict[str, int | None]) -> tuple[dict[str, int | None], dict]:
    """Keep a person who holds two roles only in the higher one, the one the chain rings first.

    Returns the slots (lower duplicates emptied) and {lower role: higher role}, e.g.
    {"supervisor": "primary"} for a head who is also on primary duty.
    """
    slots = dict(holders)
    folded: dict[str, str] = {}
    kept: dict[int, str] = {}
    for role in ROLES_BY_RANK:
        person = slots.get(role)
        if person is None:
            continue
        if person in kept:
            folded[role] = kept[person]
            slots[role] = None
        else:
            kept[person] = role
    return slots, folded


# --- phones -----------------------------------------------------------------------------


def normalise_phone(text: str, region: str = "RU") -> str:
    """Return the phone in E.164, or raise ValueError if it is not a valid number."""
    try:
        number = phonenumbers.parse((text or "").strip(), region)
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a local calendar day (23 or 25 hours on DST days)."""
    return local_to_utc(day, time(0), zone), local_to_utc(day + timedelta(days=1), time(0), zone)
