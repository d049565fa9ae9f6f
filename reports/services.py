"""The managers' reports as plain data: missed calls, officials, ranking, heat map, trends."""

import logging
from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, distinct, func, select, tuple_
from sqlalchemy.orm import aliased

from callbacks.models import CallbackAttempt, Card
from core import clock
from core.extensions import db
from core.models import Event, User
from core.parsing import parse_day
from hotline.models import Appeal, Call, Channel, DialAttempt
from reports.queries import (
    MAX_DAYS,
    Period,
    Scope,
    appeal_reference,
    attempt_metrics,
    call_metrics,
    card_metrics,
    late_condition,
    overdue_now_condition,
    percentile,
    seconds_between,
)
from roster.models import Category, Municipality, Official
from roster.services import visible_municipalities as visible_municipalities

log = logging.getLogger(__name__)

CHANNELS = tuple(str(channel) for channel in Channel)
ROLES = ("primary", "backup", "supervisor")
HEAT_KINDS = ("all", "missed", "overdue")
#: Rows shown in a drill-down list.
LIST_LIMIT = 1000
#: The callback time that scores 1 (the ordinary callback deadline).
CALLBACK_NORM_SECONDS = 8 * 3600
#: Weights of the ranking score.
SCORE_WEIGHTS = {"missed_rate": 40, "late_share": 30, "callback": 20, "reopen_rate": 10}


class ReportError(ValueError):
    """A report cannot be made as asked; `code` says why, `field` which argument."""

    def __init__(self, code: str, field: str):
        super().__init__(code)
        self.code, self.field = code, field


# --- scope -------------------------------------------------------------------------------


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


def _channel(stmt, scope: Scope, onclause):
    if scope.channel:
        stmt = stmt.join(Appeal, onclause).where(Appeal.channel == scope.channel)
    return stmt


def _counts(columns: dict) -> list:
    return [func.count(case((condition, 1))).label(name) for name, condition in columns.items()]


def _durations(scope: Scope, build, group: list, seconds) -> dict:
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
            result[name] = (_round(row.median), _round(row.p90))
        return result
    collected = defaultdict(list)
    for row in db.session.execute(build(*group, seconds).where(seconds.is_not(None))):
        value = float(row[-1])
        collected[_key(tuple(row[:-1]))].append(value)
        collected[None].append(value)
    return {
        name: (_round(percentile(values, 0.5)), _round(percentile(values, 0.9)))
        for name, values in collected.items()
    }


def _key(values: tuple):
    return values[0] if len(values) == 1 else values


def _round(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _ratio(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


# --- the missed-call report --------------------------------------------------------------

CALL_FIGURES = ("routed", "accepted", "accepted_primary", "accepted_backup", "accepted_supervisor")
CARD_FIGURES = ("missed", "called_back", "in_time", "late")
COUNT_FIGURES = CALL_FIGURES + CARD_FIGURES + ("overdue_now", "reopened", "asked")


def _calls_builder(scope: Scope, accepted):
    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(Call)
            .outerjoin(
                accepted, and_(accepted.call_id == Call.id, accepted.accepted_at.is_not(None))
            )
            .where(*scope.within(Call.chain_started_at, Call.municipality_id))
        )
        return _channel(stmt, scope, Appeal.call_id == Call.id)

    return build


def _cards_builder(scope: Scope):
    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(Card)
            .join(Call, Call.id == Card.call_id)
            .where(*scope.within(Call.chain_started_at, Call.municipality_id))
        )
        return _channel(stmt, scope, Appeal.id == Card.appeal_id)

    return build


def _reopen_builder(scope: Scope, verbs: tuple[str, ...]):
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


def missed_call_figures(scope: Scope) -> dict:
    """Count and time the period's calls, cards and reopenings per municipality (None: all)."""
    figures: dict = defaultdict(lambda: dict.fromkeys(COUNT_FIGURES, 0))
    accepted = aliased(DialAttempt)
    calls = _calls_builder(scope, accepted)
    for row in db.session.execute(
        calls(Call.municipality_id, *_counts(call_metrics(accepted))).group_by(Call.municipality_id)
    ):
        figures[row.municipality_id].update({name: row._mapping[name] for name in CALL_FIGURES})
    wait = seconds_between(Call.chain_started_at, accepted.accepted_at)
    accept_times = _durations(scope, calls, [Call.municipality_id], wait)

    cards = _cards_builder(scope)
    for row in db.session.execute(
        cards(Call.municipality_id, *_counts(card_metrics(scope.now))).group_by(
            Call.municipality_id
        )
    ):
        figures[row.municipality_id].update({name: row._mapping[name] for name in CARD_FIGURES})
    callback = seconds_between(Card.opened_at, Card.called_back_at)
    callback_times = _durations(scope, cards, [Call.municipality_id], callback)

    overdue = select(Card.municipality_id, func.count(Card.id)).where(
        Card.municipality_id.in_(sorted(scope.places)), overdue_now_condition(scope.now)
    )
    overdue = _channel(overdue, scope, Appeal.id == Card.appeal_id)
    for place, count in db.session.execute(overdue.group_by(Card.municipality_id)):
        figures[place]["overdue_now"] = count

    events = _reopen_builder(scope, ("appeal.reopened", "appeal.confirmation-asked"))
    for row in db.session.execute(
        events(
            Appeal.municipality_id,
            func.count(distinct(case((Event.verb == "appeal.reopened", Appeal.id)))).label("r"),
            func.count(
                distinct(case((Event.verb == "appeal.confirmation-asked", Appeal.id)))
            ).label("a"),
        ).group_by(Appeal.municipality_id)
    ):
        figures[row.municipality_id].update(reopened=row.r, asked=row.a)

    result = {}
    for place in [*scope.places, None]:
        counts = (
            dict(figures[place])
            if place is not None
            else {name: sum(figures[p][name] for p in scope.places) for name in COUNT_FIGURES}
        )
        median, p90 = accept_times.get(place, (None, None))
        counts.update(
            accept_median=median,
            accept_p90=p90,
            callback_median=callback_times.get(place, (None, None))[0],
            answer_rate=_ratio(counts["accepted"], counts["routed"]),
            missed_rate=_ratio(counts["missed"], counts["routed"]),
            reopen_rate=_ratio(counts["reopened"], counts["asked"]),
        )
        result[place] = counts
    return result


def missed_call_report(places: list[Municipality], scope: Scope) -> dict:
    """Return the missed-call report: a row per municipality and the region's total."""
    figures = missed_call_figures(scope)
    rows = [
        {"municipality": _place(place), **figures[place.id]}
        for place in places
        if place.id in scope.places
    ]
    return {"period": scope.period, "channel": scope.channel, "rows": rows, "total": figures[None]}


def _place(place: Municipality) -> dict:
    return {"id": place.id, "code": place.code, "name": place.name, "timezone": place.timezone}


# --- officials ---------------------------------------------------------------------------

OFFICIAL_FIGURES = ("rung", "accepted", "not_accepted", "missed")


def official_report(place: Municipality, scope: Scope) -> list[dict]:
    """Return per official and role: rung, accepted, missed, times to accept, callbacks made."""

    def build(*columns):
        stmt = (
            select(*columns)
            .select_from(DialAttempt)
            .join(Call, Call.id == DialAttempt.call_id)
            .where(*scope.within(Call.chain_started_at, Call.municipality_id))
        )
        return _channel(stmt, scope, Appeal.call_id == Call.id)

    group = [DialAttempt.official_id, DialAttempt.role]
    counts = {
        (row.official_id, row.role): {name: row._mapping[name] for name in OFFICIAL_FIGURES}
        for row in db.session.execute(
            build(*group, *_counts(attempt_metrics(Call))).group_by(*group)
        )
    }
    times = _durations(
        scope, build, group, seconds_between(Call.chain_started_at, DialAttempt.accepted_at)
    )
    callbacks = dict(
        db.session.execute(
            _cards_builder(scope)(CallbackAttempt.official_id, func.count(CallbackAttempt.id))
            .join(CallbackAttempt, CallbackAttempt.card_id == Card.id)
            .where(CallbackAttempt.outcome == "answered")
            .group_by(CallbackAttempt.official_id)
        ).all()
    )
    ids = {official for official, _ in counts} | set(callbacks)
    names = dict(
        db.session.execute(
            select(Official.id, Official.full_name).where(Official.id.in_(ids - {None}))
        ).all()
    )
    rows = []
    for (official, role), figures in counts.items():
        median, p90 = times.get((official, role), (None, None))
        rows.append(
            {
                "official_id": official,
                "name": names.get(official, "—"),
                "role": role,
                **figures,
                "answer_rate": _ratio(figures["accepted"], figures["rung"]),
                "accept_median": median,
                "accept_p90": p90,
                "callbacks": callbacks.get(official, 0),
            }
        )
    rows.sort(key=lambda row: (row["name"], ROLES.index(row["role"])))
    return rows


# --- drill-down lists --------------------------------------------------------------------


def list_calls(
    scope: Scope, metric: str, official_id: int | None = None, role: str | None = None
) -> dict:
    """Return the calls behind a call figure (of one official and role when given)."""
    accepted = aliased(DialAttempt)
    acceptor = aliased(Official)
    stmt = _calls_builder(scope, accepted)(
        Call.id,
        Call.chain_started_at,
        Call.from_number,
        Call.outcome,
        Call.municipality_id,
        accepted.role.label("accepted_role"),
        acceptor.full_name.label("accepted_by"),
        seconds_between(Call.chain_started_at, accepted.accepted_at).label("wait"),
        Card.id.label("card_id"),
    )
    stmt = stmt.outerjoin(acceptor, acceptor.id == accepted.official_id).outerjoin(
        Card, Card.call_id == Call.id
    )
    if official_id is not None:
        conditions = attempt_metrics(Call)
        if metric not in conditions:
            raise ReportError("metric", "metric")
        attempts = select(DialAttempt.call_id).where(
            DialAttempt.official_id == official_id, conditions[metric]
        )
        if role:
            attempts = attempts.where(DialAttempt.role == role)
        stmt = stmt.where(Call.id.in_(attempts.correlate_except(DialAttempt)))
    else:
        conditions = call_metrics(accepted)
        if metric not in conditions:
            raise ReportError("metric", "metric")
        stmt = stmt.where(conditions[metric])
    return _listing(stmt.order_by(Call.chain_started_at, Call.id), _call_extra)


def _call_extra(rows: list) -> list[dict]:
    appeals = _appeals_of(Appeal.call_id, [row.id for row in rows])
    return [{**row._asdict(), "appeal": appeals.get(row.id)} for row in rows]


def _appeals_of(column, ids: list[int]) -> dict:
    if not ids:
        return {}
    stmt = (
        select(column.label("key"), Appeal.number, Appeal.address, Category.name.label("category"))
        .outerjoin(Category, Category.id == Appeal.category_id)
        .where(column.in_(ids))
    )
    return {row.key: row._asdict() for row in db.session.execute(stmt)}


def _listing(stmt, finish) -> dict:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(LIST_LIMIT)).all()
    return {"total": total, "rows": finish(rows), "limit": LIST_LIMIT}


def list_cards(scope: Scope, metric: str) -> dict:
    """Return the cards behind a card figure."""
    columns = (
        Card.id,
        Card.opened_at,
        Card.callback_due_at,
        Card.called_back_at,
        Card.state,
        Card.municipality_id,
        Card.appeal_id,
    )
    if metric == "overdue_now":
        stmt = select(*columns).where(
            Card.municipality_id.in_(sorted(scope.places)), overdue_now_condition(scope.now)
        )
        stmt = _channel(stmt, scope, Appeal.id == Card.appeal_id)
    else:
        conditions = card_metrics(scope.now)
        if metric not in conditions:
            raise ReportError("metric", "metric")
        stmt = _cards_builder(scope)(*columns).where(conditions[metric])
    return _listing(stmt.order_by(Card.opened_at, Card.id), _card_extra)


def _card_extra(rows: list) -> list[dict]:
    appeals = _appeals_of(Appeal.id, [row.appeal_id for row in rows])
    callers = dict(
        db.session.execute(
            select(Appeal.id, Appeal.caller_number).where(
                Appeal.id.in_([row.appeal_id for row in rows])
            )
        ).all()
    )
    return [
        {
            **row._asdict(),
            "appeal": appeals.get(row.appeal_id),
            "caller": callers.get(row.appeal_id),
        }
        for row in rows
    ]


# --- ranking -----------------------------------------------------------------------------


def score(figures: dict) -> float:
    """Return the ranking score (0 best … 100 worst) of one municipality's figures."""
    missed_rate = figures["missed_rate"] or 0.0
    late_share = _ratio(figures["late"], figures["missed"]) or 0.0
    if figures["callback_median"] is not None:
        callback = min(figures["callback_median"] / CALLBACK_NORM_SECONDS, 1.0)
    else:
        callback = 1.0 if figures["missed"] else 0.0
    reopen_rate = figures["reopen_rate"] or 0.0
    parts = {
        "missed_rate": missed_rate,
        "late_share": late_share,
        "callback": callback,
        "reopen_rate": reopen_rate,
    }
    return round(sum(SCORE_WEIGHTS[name] * value for name, value in parts.items()), 1)


def _ranked(places: list[Municipality], scope: Scope) -> list[dict]:
    figures = missed_call_figures(scope)
    rows = [
        {"municipality": _place(place), **figures[place.id], "score": score(figures[place.id])}
        for place in places
    ]
    rows.sort(key=lambda row: (-row["score"], -row["missed"], row["municipality"]["name"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def ranking(places: list[Municipality], scope: Scope, shown: set[int] | None = None) -> list[dict]:
    """Rank municipalities by score, worst first, with the change since the previous period."""
    current = _ranked(places, scope)
    previous = {
        row["municipality"]["id"]: row
        for row in _ranked(places, scope.with_period(scope.period.previous()))
    }
    for row in current:
        before = previous[row["municipality"]["id"]]
        row["previous_score"] = before["score"]
        row["previous_rank"] = before["rank"]
        row["score_change"] = round(row["score"] - before["score"], 1)
        row["rank_change"] = before["rank"] - row["rank"]
    return [row for row in current if shown is None or row["municipality"]["id"] in shown]


# --- heat map ----------------------------------------------------------------------------


def _appeals_builder(scope: Scope):
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


def heat_conditions(now) -> dict:
    """Return the condition of each heat-map switch (rows: appeals with their card)."""
    from sqlalchemy import true

    return {"all": true(), "missed": Card.id.is_not(None), "overdue": late_condition(now)}


def heat_map(places: list[Municipality], scope: Scope) -> dict:
    """Count the period's appeals per municipality and category: all, missed, overdue."""
    group = [Appeal.municipality_id, Appeal.category_id]
    stmt = _appeals_builder(scope)(*group, *_counts(heat_conditions(scope.now))).group_by(*group)
    cells = {
        (row.municipality_id, row.category_id): {kind: row._mapping[kind] for kind in HEAT_KINDS}
        for row in db.session.execute(stmt)
    }
    categories = list(
        db.session.scalars(select(Category).order_by(Category.position, Category.name))
    )
    columns = [{"id": c.id, "code": c.code, "name": c.name} for c in categories]
    if any(category is None for _, category in cells):
        columns.append({"id": None, "code": "none", "name": None})
    maximum = {kind: max((cell[kind] for cell in cells.values()), default=0) for kind in HEAT_KINDS}
    return {
        "rows": [_place(place) for place in places if place.id in scope.places],
        "columns": columns,
        "cells": cells,
        "max": maximum,
    }


def list_appeals(scope: Scope, kind: str, category: int | str | None = None) -> dict:
    """Return the appeals behind a heat-map cell (or the reopened ones), with repeated addresses."""
    if kind == "reopened":
        stmt = _reopen_builder(scope, ("appeal.reopened",))(Appeal.id).distinct()
        base = select(*_appeal_columns()).outerjoin(Card, Card.appeal_id == Appeal.id)
        base = base.outerjoin(Category, Category.id == Appeal.category_id)
        stmt = base.where(Appeal.id.in_(stmt))
        addresses = _repeated(
            select(Appeal.address).where(
                Appeal.id.in_(_reopen_builder(scope, ("appeal.reopened",))(Appeal.id))
            )
        )
    else:
        conditions = heat_conditions(scope.now)
        if kind not in conditions:
            raise ReportError("kind", "kind")
        build = _appeals_builder(scope)
        where = [conditions[kind]]
        if category == "none":
            where.append(Appeal.category_id.is_(None))
        elif category is not None:
            where.append(Appeal.category_id == int(category))
        stmt = build(*_appeal_columns()).outerjoin(Category, Category.id == Appeal.category_id)
        stmt = stmt.where(*where)
        addresses = _repeated(build(Appeal.address).where(*where))
    listing = _listing(
        stmt.order_by(Appeal.created_at, Appeal.id), lambda rows: [r._asdict() for r in rows]
    )
    listing["addresses"] = addresses
    return listing


def _appeal_columns() -> tuple:
    return (
        Appeal.id,
        Appeal.number,
        Appeal.created_at,
        Appeal.municipality_id,
        Appeal.address,
        Appeal.status,
        Appeal.channel,
        Appeal.caller_number,
        Category.name.label("category"),
        Card.id.label("card_id"),
    )


def _repeated(addresses_stmt, top: int = 10) -> list[dict]:
    """Return the addresses that occur at least twice among the rows, most frequent first."""
    inner = addresses_stmt.where(Appeal.address.is_not(None)).subquery()
    normal = func.lower(func.trim(inner.c.address))
    stmt = (
        select(func.min(inner.c.address).label("address"), func.count().label("count"))
        .group_by(normal)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), func.min(inner.c.address))
        .limit(top)
    )
    return [row._asdict() for row in db.session.execute(stmt)]


# --- trends ------------------------------------------------------------------------------


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
    stmt = _channel(stmt, scope, Appeal.call_id == Call.id)
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


# --- operators ---------------------------------------------------------------------------

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
            "speed_of_answer": _round(row.speed_of_answer),
            "service_level": _ratio(row.within, row.offered if whole_queue else row.answered),
            "within": row.within,
            "handling_time": _round(row.handling_time),
        }

    return {
        "total": figures(total, "", True),
        "operators": [figures(row, row.full_name or row.username, False) for row in people],
    }
