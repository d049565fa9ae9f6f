"""The officials with most missed calls across the municipalities of a report."""

from sqlalchemy import case, distinct, func, select

from core.extensions import db
from hotline.models import Appeal, Call, CallOutcome, DialAttempt
from reports.queries import Scope
from reports.services.common import with_channel
from roster.models import Municipality, Official


def top_missing_officials(scope: Scope, limit: int = 5) -> list[dict]:
    """Return the officials who left most of the period's calls unaccepted, most first.

    `not_accepted`: calls the official was rung for and did not accept; `missed`: those of
    them nobody of the chain accepted.
    """
    not_accepted = func.count(distinct(Call.id)).label("not_accepted")
    missed = func.count(distinct(case((Call.outcome == CallOutcome.MISSED, Call.id))))
    stmt = (
        select(
            DialAttempt.official_id,
            Call.municipality_id,
            not_accepted,
            missed.label("missed"),
        )
        .select_from(DialAttempt)
        .join(Call, Call.id == DialAttempt.call_id)
        .where(
            *scope.within(Call.chain_started_at, Call.municipality_id),
            DialAttempt.accepted_at.is_(None),
            DialAttempt.official_id.is_not(None),
        )
        .group_by(DialAttempt.official_id, Call.municipality_id)
        .order_by(not_accepted.desc(), missed.desc(), DialAttempt.official_id)
        .limit(limit)
    )
    rows = db.session.execute(with_channel(stmt, scope, Appeal.call_id == Call.id)).all()
    officials = {row.official_id for row in rows}
    places = {row.municipality_id for row in rows}
    names = dict(
        db.session.execute(
            select(Official.id, Official.full_name).where(Official.id.in_(officials))
        ).all()
    )
    codes = {
        row.id: row
        for row in db.session.execute(
            select(Municipality.id, Municipality.code, Municipality.name).where(
                Municipality.id.in_(places)
            )
        )
    }
    return [
        {
            "official_id": row.official_id,
            "name": names.get(row.official_id, "—"),
            "municipality": {
                "code": codes[row.municipality_id].code,
                "name": codes[row.municipality_id].name,
            },
            "not_accepted": row.not_accepted,
            "missed": row.missed,
        }
        for row in rows
    ]
