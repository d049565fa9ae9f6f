"""Shared pieces of the reports: filters, the scope, SQL builders of calls, cards and appeals."""

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, func, select, tuple_

from callbacks.models import Card
from core import clock
from core.extensions import db
from core.models import Event
from core.parsing import parse_day
from hotline.models import Appeal, Call, Channel
from reports.queries import MAX_DAYS, Period, Scope, appeal_reference, percentile
from roster.models import Municipality
from roster.services import visible_municipalities as visible_municipalities

CHANNELS = tuple(str(channel) for channel in Channel)
ROLES = ("primary", "backup", "supervisor")
#: Rows shown in a drill-down list.
LIST_LIMIT = 1000


class ReportError(ValueError):
    """A report cannot be made as asked; `code` says why, `field` which argument."""

    def __init__(self, code: str, field: str):
        super().__init__(code)
        self.code, self.field = code, field


def region_tz() -> str:
    """Return the region's time zone."""
    return current_app.config["HOTLINE_TZ"]


def default_period(today: date | None = None) -> Period:
    """Return the last full week, Monday to Sunday, in the region's zone."""
    if today is None:
        today = clock.utcnow().astimezone(ZoneInfo(region_tz())).date()
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


def parse_filters(args) -> tuple[Period, str | None]:
    """Read `from`, `to` (dates, inclusive) and `channel`; default to the last full week."""
    default = default_period()
    values = {}
    for field, fallback in (("from", default.first), ("to", default.last)):
        text = (args.get(field) or "").strip()
        try:
            values[field] = parse_day(text) if text else fallback
        except ValueError:
            raise ReportError("date", field) from None
    if values["from"] > values["to"]:
        raise ReportError("order", "to")
    period = Period(values["from"], values["to"])
    if period.days > MAX_DAYS:
        raise ReportError("long", "from")
    channel = (args.get("channel") or "").strip() or None
    if channel is not None and channel not in CHANNELS:
        raise ReportError("channel", "channel")
    return period, channel


def make_scope(places: list[Municipality], period: Period, channel: str | None = None) -> Scope:
    """Return the scope of a report over these municipalities, now."""
    return Scope(
        period=period,
        places={place.id: place.timezone for place in places},
        now=clock.utcnow(),
        channel=channel,
        dialect=db.session.get_bind().dialect.name,
    )


def with_channel(stmt, scope: Scope, onclause):
    if scope.channel:
        stmt = stmt.join(Appeal, onclause).where(Appeal.channel == scope.channel)
    return stmt


def count_columns(columns: dict) -> list:
    return [func.count(case((condition, 1))).label(name) for name, condition in columns.items()]


def duration_figures(scope: Scope, build, group: list, seconds) -> dict:
    """Return {group key or None for all: (median, 90th percentile)} of durations in seconds."""
    if scope.dialect == "postgresql":
        key = group[0] if len(group) == 1 else tuple_(*group)
        stmt = build(
            *group,
            func.percentile_cont(0.5).within_group(seconds).label("median"),
            func.percentile_cont(0.9).within_group(seconds).label("p90"),
        ).group_by(func.rollup(key))
        result = {}
        for row in db.session.execute(stmt):
            values = tuple(row[: len(group)])
            name = None if all(v is None for v in values) else _key(values)
            result[name] = (round_tenth(row.median), round_tenth(row.p90))
        return result
    collected = defaultdict(list)
    for row in db.session.execute(build(*group, seconds).where(seconds.is_not(None))):
        value = float(row[-1])
        collected[_key(tuple(row[:-1]))].append(value)
        collected[None].append(value)
    return {
        name: (round_tenth(percentile(values, 0.5)), round_tenth(percentile(values, 0.9)))
        for name, values in collected.items()
    }


def _key(values: tuple):
    return values[0] if len(values) == 1 else values


def round_tenth(value) -> float | None:
    return None if value is None else round(float(value), 1)


def ratio(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def calls_builder(scope: Scope, accepted):
    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(Call)
            .outerjoin(
                accepted, and_(accepted.call_id == Call.id, accepted.accepted_at.is_not(None))
            )
            .where(*scope.within(Call.chain_started_at, Call.municipality_id))
        )
        return with_channel(stmt, scope, Appeal.call_id == Call.id)

    return build


def cards_builder(scope: Scope):
    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(Card)
            .join(Call, Call.id == Card.call_id)
            .where(*scope.within(Call.chain_started_at, Call.municipality_id))
        )
        return with_channel(stmt, scope, Appeal.id == Card.appeal_id)

    return build


def reopen_builder(scope: Scope, verbs: tuple[str, ...]):
    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(Event)
            .join(Appeal, Appeal.id == appeal_reference(Event))
            .where(
                Event.subject_type == "appeal",
                Event.verb.in_(verbs),
                *scope.within(Event.at, Appeal.municipality_id),
            )
        )
        if scope.channel:
            stmt = stmt.where(Appeal.channel == scope.channel)
        return stmt

    return build


def appeals_builder(scope: Scope):
    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(Appeal)
            .outerjoin(Card, Card.appeal_id == Appeal.id)
            .where(*scope.within(Appeal.created_at, Appeal.municipality_id))
        )
        if scope.channel:
            stmt = stmt.where(Appeal.channel == scope.channel)
        return stmt

    return build


def place_row(place: Municipality) -> dict:
    return {"id": place.id, "code": place.code, "name": place.name, "timezone": place.timezone}


def limited_listing(stmt, finish) -> dict:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(LIST_LIMIT)).all()
    return {"total": total, "rows": finish(rows), "limit": LIST_LIMIT}
