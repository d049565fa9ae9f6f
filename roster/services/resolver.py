"""Who is on duty: the resolver the call flow routes by."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, exists, func, select

from core.dbtypes import UTCDateTime
from core.extensions import db
from roster import rules
from roster.models import (
    DUTY_ROLES,
    Category,
    DutyShift,
    Municipality,
    Official,
    Regulation,
    Roster,
    Unavailability,
)


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

    def official_column(column):
        # a lookup by primary key for each of the (at most a few) rows found, so the planner
        # never hashes the whole officials table
        return select(column).where(Official.id == DutyShift.official_id).scalar_subquery()

    return select(
        target.c.roster_id,
        DutyShift.id,
        DutyShift.role,
        DutyShift.kind,
        DutyShift.official_id,
        official_column(Official.full_name),
        official_column(Official.position),
        official_column(Official.phone),
        official_column(Official.active),
        absent,
    ).select_from(target.outerjoin(DutyShift, covering))


_RESOLVER = _build_resolver_statement()


def resolve_on_duty(municipality: Municipality, category: Category | None, at: datetime) -> OnDuty:
    """Return who holds each duty slot of the roster that answers this category at a moment.

    The regulation picks the roster (default: the general one). Overrides win over swaps,
    swaps over the rotation. An absent or deactivated official leaves the slot empty; a
    person in two slots is kept in the higher one (the slot rung first). One indexed query.
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
