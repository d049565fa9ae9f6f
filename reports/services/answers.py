"""Answer times as a distribution: accepted calls per band of the caller's wait."""

from sqlalchemy import and_
from sqlalchemy.orm import aliased

from core.extensions import db
from hotline.models import Call, DialAttempt
from reports.queries import Scope, seconds_between
from reports.services.common import calls_builder, count_columns

#: The bands' lower edges in seconds; the last band has no upper edge.
WAIT_EDGES = (0, 10, 20, 30, 45, 60, 90, 120)


def wait_condition(accepted, low: float | None, high: float | None):
    """Return the condition: the call was accepted after a wait in [low, high) seconds."""
    wait = seconds_between(Call.chain_started_at, accepted.accepted_at)
    conditions = [accepted.accepted_at.is_not(None)]
    if low is not None:
        conditions.append(wait >= low)
    if high is not None:
        conditions.append(wait < high)
    return conditions


def answer_time_histogram(scope: Scope) -> list[dict]:
    """Return per band of time to accept: its edges and the accepted calls in it."""
    accepted = aliased(DialAttempt)
    bands = list(zip(WAIT_EDGES, [*WAIT_EDGES[1:], None], strict=True))
    columns = {
        f"band{index}": and_(*wait_condition(accepted, low, high))
        for index, (low, high) in enumerate(bands)
    }
    row = db.session.execute(calls_builder(scope, accepted)(*count_columns(columns))).one()
    return [
        {"low": low, "high": high, "calls": row._mapping[f"band{index}"]}
        for index, (low, high) in enumerate(bands)
    ]
