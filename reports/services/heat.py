"""The heat map territory × category, its appeal lists and repeated addresses."""

from sqlalchemy import func, select

from callbacks.models import Card
from core.extensions import db
from hotline.models import Appeal
from reports.queries import Scope, late_condition
from reports.services.common import (
    ReportError,
    appeals_builder,
    count_columns,
    limited_listing,
    place_row,
    reopen_builder,
)
from roster.models import Category, Municipality

HEAT_KINDS = ("all", "missed", "overdue")


def heat_conditions(now) -> dict:
    """Return the condition of each heat-map switch (rows: appeals with their card)."""
    from sqlalchemy import true

    return {"all": true(), "missed": Card.id.is_not(None), "overdue": late_condition(now)}


def heat_map(places: list[Municipality], scope: Scope) -> dict:
    """Count the period's appeals per municipality and category: all, missed, overdue."""
    group = [Appeal.municipality_id, Appeal.category_id]
    stmt = appeals_builder(scope)(*group, *count_columns(heat_conditions(scope.now))).group_by(
        *group
    )
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
        "rows": [place_row(place) for place in places if place.id in scope.places],
        "columns": columns,
        "cells": cells,
        "max": maximum,
    }


def list_appeals(scope: Scope, kind: str, category: int | str | None = None) -> dict:
    """Return the appeals behind a heat-map cell (or the reopened ones), with repeated addresses."""
    if kind == "reopened":
        stmt = reopen_builder(scope, ("appeal.reopened",))(Appeal.id).distinct()
        base = select(*_appeal_columns()).outerjoin(Card, Card.appeal_id == Appeal.id)
        base = base.outerjoin(Category, Category.id == Appeal.category_id)
        stmt = base.where(Appeal.id.in_(stmt))
        addresses = _repeated(
            select(Appeal.address).where(
                Appeal.id.in_(reopen_builder(scope, ("appeal.reopened",))(Appeal.id))
            )
        )
    else:
        conditions = heat_conditions(scope.now)
        if kind not in conditions:
            raise ReportError("kind", "kind")
        build = appeals_builder(scope)
        where = [conditions[kind]]
        if category == "none":
            where.append(Appeal.category_id.is_(None))
        elif category is not None:
            where.append(Appeal.category_id == int(category))
        stmt = build(*_appeal_columns()).outerjoin(Category, Category.id == Appeal.category_id)
        stmt = stmt.where(*where)
        addresses = _repeated(build(Appeal.address).where(*where))
    listing = limited_listing(
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
