"""The daily trend: calls routed to the chain, missed calls and overdue cards per local day."""

from datetime import date

from sqlalchemy import case, func, select

from callbacks.models import Card
from core.extensions import db
from hotline.models import Appeal, Call
from reports.queries import Scope, late_condition
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
