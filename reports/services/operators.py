"""The operators' figures: answered, abandoned, service level, handling times."""

from sqlalchemy import and_, case, func, select

from core.clock import utcnow
from core.extensions import db
from core.models import User
from hotline.models import Call, OperatorStateChange
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

    floor = floor_figures(start, end)
    operators = [figures(row, row.full_name or row.username, False) for row in people]
    known = {row["operator_id"] for row in operators}
    names = dict(
        db.session.execute(
            select(User.id, func.coalesce(User.full_name, User.username)).where(
                User.id.in_(set(floor) - known)
            )
        ).all()
    )
    for user_id in sorted(set(floor) - known):
        empty = dict.fromkeys(
            ("offered", "abandoned", "speed_of_answer", "service_level", "handling_time")
        )
        operators.append({**empty, "name": names[user_id], "operator_id": user_id, "answered": 0})
    for row in operators:
        row.update(floor.get(row["operator_id"], _no_floor()))
    return {"total": figures(total, "", True), "operators": operators}


#: Operator states counted as working time (occupancy's denominator) and busy time (numerator).
WORKING_STATES = ("ready", "offered", "on_call", "wrap_up")
BUSY_STATES = ("on_call", "wrap_up")
STATES = ("ready", "offered", "on_call", "wrap_up", "break", "offline")


def _no_floor() -> dict:
    return {"missed_offers": 0, "state_seconds": dict.fromkeys(STATES, 0), "occupancy": None}


def floor_figures(start, end) -> dict[int, dict]:
    """Return per operator: offers missed, seconds in each state and occupancy in the period."""
    rows = db.session.execute(
        select(
            OperatorStateChange.user_id,
            OperatorStateChange.state,
            OperatorStateChange.reason,
            OperatorStateChange.started_at,
            OperatorStateChange.ended_at,
        ).where(
            OperatorStateChange.started_at < end,
            (OperatorStateChange.ended_at.is_(None)) | (OperatorStateChange.ended_at > start),
        )
    ).all()
    now = utcnow()
    found: dict[int, dict] = {}
    for user_id, state, reason, started, ended in rows:
        entry = found.setdefault(user_id, _no_floor())
        seconds = (min(ended or now, end) - max(started, start)).total_seconds()
        entry["state_seconds"][state] = entry["state_seconds"].get(state, 0) + max(0, int(seconds))
        if state == "break" and reason == "missed-offer" and started >= start:
            entry["missed_offers"] += 1
    for entry in found.values():
        spent = entry["state_seconds"]
        working = sum(spent[state] for state in WORKING_STATES)
        busy = sum(spent[state] for state in BUSY_STATES)
        entry["occupancy"] = ratio(busy, working)
    return found
