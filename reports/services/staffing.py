"""The staffing plan: operators needed per hour of the coming week (Erlang C) beside those on shift.

Arrivals per hour of the week are the mean of the same weekday and hour over the last four
weeks; the handle time is the mean of those weeks' answered calls in that hour (the four weeks'
mean where an hour had none). "On shift" counts the operators whose shift covered the same hour
a week before: the console keeps shifts as they happen, not a future timetable.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from core.clock import utcnow
from core.extensions import db
from hotline.models import Call, OperatorShift
from reports.services.common import region_tz
from reports.services.erlang import agents_needed
from reports.services.operators import SERVICE_LEVEL_SECONDS

#: Weeks of history the plan is made from.
HISTORY_WEEKS = 4
#: The service-level target: this share answered within SERVICE_LEVEL_SECONDS.
TARGET_LEVEL = 0.8
#: The handle time assumed when there is no history at all.
DEFAULT_HANDLE_SECONDS = 180.0


@dataclass
class StaffingHour:
    starts_at: datetime
    calls_per_hour: float
    handle_seconds: float
    needed: int
    on_shift: int
    service_level: float

    @property
    def short(self) -> int:
        return max(0, self.needed - self.on_shift)


def next_week_start(today: date | None = None) -> date:
    """Return the Monday of the coming week."""
    today = today or utcnow().astimezone(ZoneInfo(region_tz())).date()
    return today + timedelta(days=7 - today.weekday())


def _hour_of_week(moment: datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return local.weekday() * 24 + local.hour


def staffing_plan(week_start: date) -> list[StaffingHour]:
    """Return the 168 hours of the week starting `week_start` with operators needed and on shift."""
    zone = ZoneInfo(region_tz())
    start = datetime.combine(week_start, time(), zone)
    history_start = start - timedelta(weeks=HISTORY_WEEKS)
    history_end = min(start, utcnow())
    arrivals = [0] * 168
    handled: list[list[float]] = [[] for _ in range(168)]
    rows = db.session.execute(
        select(Call.queued_at, Call.operator_answered_at, Call.wrapped_up_at).where(
            Call.queued_at >= history_start, Call.queued_at < history_end
        )
    )
    for queued, answered, wrapped in rows:
        slot = _hour_of_week(queued, zone)
        arrivals[slot] += 1
        if answered is not None and wrapped is not None:
            handled[slot].append((wrapped - answered).total_seconds())
    every = [seconds for slot in handled for seconds in slot]
    overall = sum(every) / len(every) if every else DEFAULT_HANDLE_SECONDS
    on_shift = _operators_on_shift(start - timedelta(weeks=1), zone)
    plan = []
    for slot in range(168):
        rate = arrivals[slot] / HISTORY_WEEKS
        handle = sum(handled[slot]) / len(handled[slot]) if handled[slot] else overall
        staffing = agents_needed(rate, handle, SERVICE_LEVEL_SECONDS, TARGET_LEVEL)
        plan.append(
            StaffingHour(
                starts_at=start + timedelta(hours=slot),
                calls_per_hour=round(rate, 2),
                handle_seconds=round(handle, 1),
                needed=staffing.agents,
                on_shift=on_shift[slot],
                service_level=staffing.service_level,
            )
        )
    return plan


def _operators_on_shift(week_start: datetime, zone: ZoneInfo) -> list[int]:
    """Return, per hour of the week from `week_start`, how many operators' shifts covered it."""
    end = week_start + timedelta(weeks=1)
    shifts = db.session.execute(
        select(OperatorShift.user_id, OperatorShift.started_at, OperatorShift.ended_at).where(
            OperatorShift.started_at < end,
            or_(OperatorShift.ended_at.is_(None), OperatorShift.ended_at > week_start),
        )
    ).all()
    people: list[set[int]] = [set() for _ in range(168)]
    for user_id, started, ended in shifts:
        slot_start = max(started, week_start)
        slot_end = min(ended or utcnow(), end)
        for slot in range(168):
            hour_start = week_start + timedelta(hours=slot)
            if slot_start < hour_start + timedelta(hours=1) and slot_end > hour_start:
                people[slot].add(user_id)
    return [len(slot) for slot in people]
