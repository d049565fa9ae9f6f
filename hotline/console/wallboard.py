"""The wallboard: the queue now, the operators by state, today's figures and calls by hour."""

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import func, select

from core.clock import utcnow
from core.extensions import db
from hotline.console import floor
from hotline.incidents.models import Incident, IncidentCaller
from hotline.models import Call
from roster.models import Category, Municipality

#: Answered within this many seconds of queueing meets the service level.
SERVICE_LEVEL_SECONDS = 20
SERVICE_LEVEL_TARGET = 0.8


@dataclass
class DayFigures:
    offered: int
    answered: int
    abandoned: int
    speed_of_answer: float | None
    service_level: float | None
    handle_time: float | None
    by_hour: list[int]


def _day_start(day_offset: int, now: datetime) -> datetime:
    zone = ZoneInfo(current_app.config["HOTLINE_TZ"])
    local = now.astimezone(zone).date() + timedelta(days=day_offset)
    return datetime.combine(local, time(), zone)


def day_figures(start: datetime, until: datetime) -> DayFigures:
    """Return the queue's figures for calls queued from `start` until `until`."""
    rows = db.session.execute(
        select(Call.queued_at, Call.operator_answered_at, Call.wrapped_up_at, Call.outcome).where(
            Call.queued_at >= start, Call.queued_at < until
        )
    ).all()
    waits = [(answered - queued).total_seconds() for queued, answered, _, _ in rows if answered]
    handles = [
        (wrapped - answered).total_seconds()
        for _, answered, wrapped, _ in rows
        if answered and wrapped
    ]
    by_hour = [0] * 24
    for queued, *_ in rows:
        by_hour[int((queued - start).total_seconds() // 3600) % 24] += 1
    within = sum(1 for wait in waits if wait <= SERVICE_LEVEL_SECONDS)
    return DayFigures(
        offered=len(rows),
        answered=len(waits),
        abandoned=sum(
            1 for _, answered, _, outcome in rows if outcome == "abandoned" and not answered
        ),
        speed_of_answer=round(sum(waits) / len(waits), 1) if waits else None,
        service_level=round(within / len(rows), 3) if rows else None,
        handle_time=round(sum(handles) / len(handles), 1) if handles else None,
        by_hour=by_hour,
    )


def _waiting_now(now: datetime) -> tuple[int, int]:
    queued = db.session.scalars(
        select(Call.queued_at).where(
            Call.queued_at.is_not(None),
            Call.operator_answered_at.is_(None),
            Call.left_queue_at.is_(None),
            Call.ended_at.is_(None),
            Call.outcome.is_(None),
        )
    ).all()
    longest = max((int((now - at).total_seconds()) for at in queued), default=0)
    return len(queued), longest


def open_incident_lines() -> list[dict]:
    """Return the open incidents, newest first, with the calls joined to each."""
    joined = (
        select(func.count(IncidentCaller.id))
        .where(IncidentCaller.incident_id == Incident.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Incident, Municipality.name, Municipality.timezone, Category.name, joined)
        .join(Municipality, Municipality.id == Incident.municipality_id)
        .outerjoin(Category, Category.id == Incident.category_id)
        .where(Incident.closed_at.is_(None))
        .order_by(Incident.declared_at.desc(), Incident.id)
    ).all()
    return [
        {
            "id": incident.id,
            "municipality": place,
            "category": category,
            "area": incident.area,
            "text": incident.text,
            "declared": incident.declared_at.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
            "joined": count,
        }
        for incident, place, zone, category, count in rows
    ]


def wallboard(now: datetime | None = None) -> dict:
    """Return everything the wallboard shows, as plain data."""
    now = now or utcnow()
    today = _day_start(0, now)
    last_week = today - timedelta(days=7)
    waiting, longest = _waiting_now(now)
    figures = day_figures(today, today + timedelta(days=1))
    before = day_figures(last_week, last_week + timedelta(days=1))
    return {
        "waiting": waiting,
        "longest_wait": longest,
        "operators": floor.floor_counts(),
        "today": asdict(figures),
        "last_week_by_hour": before.by_hour,
        "target": SERVICE_LEVEL_TARGET,
        "incidents": open_incident_lines(),
        "chart": str(hour_chart(figures.by_hour, before.by_hour)),
    }


def hour_chart(
    today: list[int], last_week: list[int], width: int = 720, height: int = 200
) -> Markup:
    """Return an SVG bar chart of calls by hour today beside a line of the same day last week."""
    top = max([*today, *last_week, 1])
    step = width / 24
    bars, points = [], []
    for hour in range(24):
        bar = today[hour] / top * (height - 20)
        x = hour * step
        bars.append(
            f'<rect class="today" x="{x + 2:.1f}" y="{height - 20 - bar:.1f}" '
            f'width="{step - 4:.1f}" height="{bar:.1f}">'
            f"<title>{hour:02d}:00 — {today[hour]}</title></rect>"
        )
        points.append(
            f"{x + step / 2:.1f},{height - 20 - last_week[hour] / top * (height - 20):.1f}"
        )
        if hour % 3 == 0:
            bars.append(f'<text x="{x + 2:.1f}" y="{height - 4}">{hour:02d}</text>')
    line = f'<polyline class="last-week" fill="none" points="{" ".join(points)}"/>'
    label = escape(f"{sum(today)} / {sum(last_week)}")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="hour-chart" aria-label="{label}">{"".join(bars)}{line}</svg>'
    )
