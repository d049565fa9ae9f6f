"""The operators' figures: answered, abandoned, service level, handling times."""

from sqlalchemy import and_, case, func, select

from core.extensions import db
from core.models import User
from hotline.models import Call
from reports.queries import Period, seconds_between
from reports.services.common import ratio, region_tz, round_tenth

#: An operator answering within this many seconds meets the service level.
SERVICE_LEVEL_SECONDS = 20


def operator_figures(period: Period) -> dict:
    """Return the queue's figures for the period (region's days) in total and per operator."""
    start, end = period.bounds(region_tz())
    queued, answered = Call.queued_at, Call.operator_answered_at
    wait = seconds_between(queued, answered)
    handling = seconds_between(answered, Call.wrapped_up_at)
    columns = (
        func.count(Call.id).label("offered"),
        func.count(answered).label("answered"),
        func.count(case((and_(Call.outcome == "abandoned", answered.is_(None)), 1))).label(
            "abandoned"
        ),
        func.avg(wait).label("speed_of_answer"),
        func.count(case((wait <= SERVICE_LEVEL_SECONDS, 1))).label("within"),
        func.avg(handling).label("handling_time"),
    )
    where = (queued >= start, queued < end)
    total = db.session.execute(select(*columns).where(*where)).one()
    people = db.session.execute(
        select(Call.operator_id, User.full_name, User.username, *columns)
        .join(User, User.id == Call.operator_id)
        .where(*where)
        .group_by(Call.operator_id, User.full_name, User.username)
        .order_by(User.username)
    ).all()

    def figures(row, name: str, whole_queue: bool) -> dict:
        return {
            "name": name,
            "operator_id": getattr(row, "operator_id", None),
            "offered": row.offered if whole_queue else None,
            "answered": row.answered,
            "abandoned": row.abandoned if whole_queue else None,
            "speed_of_answer": round_tenth(row.speed_of_answer),
            "service_level": ratio(row.within, row.offered if whole_queue else row.answered),
            "within": row.within,
            "handling_time": round_tenth(row.handling_time),
        }

    return {
        "total": figures(total, "", True),
        "operators": [figures(row, row.full_name or row.username, False) for row in people],
    }
