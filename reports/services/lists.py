"""Drill-down lists of the calls and cards behind a figure."""

from sqlalchemy import select
from sqlalchemy.orm import aliased

from callbacks.models import Card
from core.extensions import db
from hotline.models import Appeal, Call, DialAttempt
from reports.queries import (
    Scope,
    attempt_metrics,
    call_metrics,
    card_metrics,
    overdue_now_condition,
    seconds_between,
)
from reports.services.answers import wait_condition
from reports.services.common import (
    ReportError,
    calls_builder,
    cards_builder,
    limited_listing,
    with_channel,
)
from roster.models import Category, Official


def list_calls(
    scope: Scope,
    metric: str,
    official_id: int | None = None,
    role: str | None = None,
    wait: tuple[float | None, float | None] | None = None,
) -> dict:
    """Return the calls behind a call figure (of one official and role, of a wait band)."""
    accepted = aliased(DialAttempt)
    acceptor = aliased(Official)
    stmt = calls_builder(scope, accepted)(
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
    if wait is not None:
        stmt = stmt.where(*wait_condition(accepted, *wait))
    return limited_listing(stmt.order_by(Call.chain_started_at, Call.id), _call_extra)


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
        stmt = with_channel(stmt, scope, Appeal.id == Card.appeal_id)
    else:
        conditions = card_metrics(scope.now)
        if metric not in conditions:
            raise ReportError("metric", "metric")
        stmt = cards_builder(scope)(*columns).where(conditions[metric])
    return limited_listing(stmt.order_by(Card.opened_at, Card.id), _card_extra)


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
