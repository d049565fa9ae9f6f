"""The missed-call report per municipality and the officials' figures of one."""

from collections import defaultdict

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import aliased

from callbacks.models import CallbackAttempt, Card
from core.extensions import db
from core.models import Event
from hotline.models import Appeal, Call, DialAttempt
from reports.queries import (
    Scope,
    attempt_metrics,
    call_metrics,
    card_metrics,
    overdue_now_condition,
    seconds_between,
)
from reports.services.common import (
    ROLES,
    calls_builder,
    cards_builder,
    count_columns,
    duration_figures,
    place_row,
    ratio,
    reopen_builder,
    with_channel,
)
from roster.models import Municipality, Official

CALL_FIGURES = ("routed", "accepted", "accepted_primary", "accepted_backup", "accepted_supervisor")
CARD_FIGURES = ("missed", "called_back", "in_time", "late")
COUNT_FIGURES = CALL_FIGURES + CARD_FIGURES + ("overdue_now", "reopened", "asked")


def missed_call_figures(scope: Scope) -> dict:
    """Count and time the period's calls, cards and reopenings per municipality (None: all)."""
    figures: dict = defaultdict(lambda: dict.fromkeys(COUNT_FIGURES, 0))
    accepted = aliased(DialAttempt)
    calls = calls_builder(scope, accepted)
    for row in db.session.execute(
        calls(Call.municipality_id, *count_columns(call_metrics(accepted))).group_by(
            Call.municipality_id
        )
    ):
        figures[row.municipality_id].update({name: row._mapping[name] for name in CALL_FIGURES})
    wait = seconds_between(Call.chain_started_at, accepted.accepted_at)
    accept_times = duration_figures(scope, calls, [Call.municipality_id], wait)

    cards = cards_builder(scope)
    for row in db.session.execute(
        cards(Call.municipality_id, *count_columns(card_metrics(scope.now))).group_by(
            Call.municipality_id
        )
    ):
        figures[row.municipality_id].update({name: row._mapping[name] for name in CARD_FIGURES})
    callback = seconds_between(Card.opened_at, Card.called_back_at)
    callback_times = duration_figures(scope, cards, [Call.municipality_id], callback)

    overdue = select(Card.municipality_id, func.count(Card.id)).where(
        Card.municipality_id.in_(sorted(scope.places)), overdue_now_condition(scope.now)
    )
    overdue = with_channel(overdue, scope, Appeal.id == Card.appeal_id)
    for place, count in db.session.execute(overdue.group_by(Card.municipality_id)):
        figures[place]["overdue_now"] = count

    events = reopen_builder(scope, ("appeal.reopened", "appeal.confirmation-asked"))
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
            answer_rate=ratio(counts["accepted"], counts["routed"]),
            missed_rate=ratio(counts["missed"], counts["routed"]),
            reopen_rate=ratio(counts["reopened"], counts["asked"]),
        )
        result[place] = counts
    return result


def missed_call_report(places: list[Municipality], scope: Scope) -> dict:
    """Return the missed-call report: a row per municipality and the region's total."""
    figures = missed_call_figures(scope)
    rows = [
        {"municipality": place_row(place), **figures[place.id]}
        for place in places
        if place.id in scope.places
    ]
    return {"period": scope.period, "channel": scope.channel, "rows": rows, "total": figures[None]}


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
        return with_channel(stmt, scope, Appeal.call_id == Call.id)

    group = [DialAttempt.official_id, DialAttempt.role]
    counts = {
        (row.official_id, row.role): {name: row._mapping[name] for name in OFFICIAL_FIGURES}
        for row in db.session.execute(
            build(*group, *count_columns(attempt_metrics(Call))).group_by(*group)
        )
    }
    times = duration_figures(
        scope, build, group, seconds_between(Call.chain_started_at, DialAttempt.accepted_at)
    )
    callbacks = dict(
        db.session.execute(
            cards_builder(scope)(CallbackAttempt.official_id, func.count(CallbackAttempt.id))
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
                "answer_rate": ratio(figures["accepted"], figures["rung"]),
                "accept_median": median,
                "accept_p90": p90,
                "callbacks": callbacks.get(official, 0),
            }
        )
    rows.sort(key=lambda row: (row["name"], ROLES.index(row["role"])))
    return rows
