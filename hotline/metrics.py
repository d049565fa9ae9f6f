"""Hotline figures for /metrics, counted from the stored calls and attempts."""

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, Metric
from sqlalchemy import func

from core.extensions import db
from hotline.models import Call, DialAttempt


def call_metrics() -> Iterable[Metric]:
    """Calls by outcome and dial attempts by role and outcome."""
    calls = CounterMetricFamily(
        "hotline_calls", "Calls to the hotline by outcome (in progress: none)", labels=["outcome"]
    )
    rows = db.session.execute(db.select(Call.outcome, func.count()).group_by(Call.outcome))
    for outcome, count in rows:
        calls.add_metric([outcome or "none"], count)
    attempts = CounterMetricFamily(
        "hotline_dial_attempts",
        "Officials rung, by duty role and outcome",
        labels=["role", "outcome"],
    )
    rows = db.session.execute(
        db.select(DialAttempt.role, DialAttempt.outcome, func.count()).group_by(
            DialAttempt.role, DialAttempt.outcome
        )
    )
    for role, outcome, count in rows:
        attempts.add_metric([role, outcome or "ringing"], count)
    return [calls, attempts]
