"""Card figures for /metrics, counted from the stored cards."""

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func

from callbacks.models import OPEN_STATES, Card
from core.extensions import db


def card_metrics() -> Iterable[Metric]:
    """Cards whose callback duty is open, and those of them past their deadline."""
    open_cards, overdue = db.session.execute(
        db.select(func.count(), func.count().filter(Card.overdue)).where(
            Card.state.in_(OPEN_STATES)
        )
    ).one()
    yield GaugeMetricFamily("hotline_cards_open", "Cards waiting for a callback", value=open_cards)
    yield GaugeMetricFamily(
        "hotline_cards_overdue", "Open cards past their deadline", value=overdue
    )
