"""The daily and weekly trends: calls routed to the chain, missed calls and overdue cards."""

from datetime import date, timedelta

from sqlalchemy import case, func, select

from callbacks.models import Card
from core.extensions import db
from hotline.models import Appeal, Call
from reports.queries import Period, Scope, late_condition
from reports.services.common import with_channel


def daily_trend(scope: Scope) -> list[dict]:
    """Return per local day: calls routed to the chain, missed calls, overdue cards."""
    day = scope.local_day(Call.chain_started_at, Call.municipality_id).label("day")
    stmt = (
        select(
            day,
            func.count(Call.id).label("calls"),
            func.count(Card.id).label("missed"),
            func.count(case((late_condition(scope.now), 1))).label("overdue"),
        )
        .select_from(Call)
        .outerjoin(Card, Card.call_id == Call.id)
        .where(*scope.within(Call.chain_started_at, Call.municipality_id))
        .group_by(day)
    )
    stmt = with_channel(stmt, scope, Appeal.call_id == Call.id)
    found = {
        date.fromisoformat(str(row.day)[:10]): row._asdict() for row in db.session.execute(stmt)
    }
    return [
        {
            "day": moment,
            "calls": found.get(moment, {}).get("calls", 0),
            "missed": found.get(moment, {}).get("missed", 0),
            "overdue": found.get(moment, {}).get("overdue", 0),
        }
        for moment in scope.period.dates()
    ]


#: Weeks a weekly trend shows at least (more when the period is longer).
TREND_WEEKS = 8


def trend_weeks(period: Period, weeks: int = TREND_WEEKS) -> list[Period]:
    """Return the Monday-to-Sunday weeks up to the period's end, at least `weeks`, the last cut."""
    last_monday = period.last - timedelta(days=period.last.weekday())
    first_monday = min(
        period.first - timedelta(days=period.first.weekday()),
        last_monday - timedelta(weeks=weeks - 1),
    )
    count = (last_monday - first_monday).days // 7 + 1
    mondays = [first_monday + timedelta(weeks=index) for index in range(count)]
    return [Period(monday, min(monday + timedelta(days=6), period.last)) for monday in mondays]


def weekly_trend(scope: Scope, weeks: int = TREND_WEEKS) -> list[dict]:
    """Return per week up to the period's end: calls routed, missed calls, overdue cards."""
    periods = trend_weeks(scope.period, weeks)
    days = daily_trend(scope.with_period(Period(periods[0].first, periods[-1].last)))
    result = []
    for week in periods:
        inside = [day for day in days if week.first <= day["day"] <= week.last]
        result.append(
            {"week": week, **{name: sum(day[name] for day in inside) for name in TREND_FIGURES}}
        )
    return result


TREND_FIGURES = ("calls", "missed", "overdue")
