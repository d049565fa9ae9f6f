"""Gap detection: uncovered intervals of the next 14 days."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import clock
from core.events import record_event
from core.extensions import db
from roster import rules
from roster.models import (
    DUTY_ROLES,
    Municipality,
    RosterGap,
)
from roster.services.common import rosters_of
from roster.services.duties import effective_duties

log = logging.getLogger(__name__)

#: Days the gap check looks ahead.
GAP_WINDOW = timedelta(days=14)


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
    now = now or clock.utcnow()
    until = now + GAP_WINDOW
    found = find_gaps(municipality, now, until)
    previous = db.session.scalars(
        db.select(RosterGap).where(RosterGap.municipality_id == municipality.id)
    ).all()

    def key(roster_id, role, starts, ends, reason, checked_at):
        # a gap cut by the window's start or end moves with the clock: compare it without that
        opened = None if starts <= checked_at else starts
        closed = None if ends >= checked_at + GAP_WINDOW else ends
        return roster_id, role, opened, closed, reason

    old_keys = {
        key(g.roster_id, g.role, g.starts_at, g.ends_at, g.reason, g.found_at) for g in previous
    }
    new_keys = {
        key(i.roster_id, i.gap.role, i.gap.starts_at, i.gap.ends_at, i.gap.reason, now)
        for i in found
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
