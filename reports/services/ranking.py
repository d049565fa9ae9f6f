"""Ranking the municipalities by a weighted score of their figures."""

from reports.queries import Scope
from reports.services.common import place_row, ratio
from reports.services.missed import missed_call_figures
from roster.models import Municipality

#: The callback time that scores 1 (the ordinary callback deadline).
CALLBACK_NORM_SECONDS = 8 * 3600
#: Weights of the ranking score.
SCORE_WEIGHTS = {"missed_rate": 40, "late_share": 30, "callback": 20, "reopen_rate": 10}


def score(figures: dict) -> float:
    """Return the ranking score (0 best … 100 worst) of one municipality's figures."""
    missed_rate = figures["missed_rate"] or 0.0
    late_share = ratio(figures["late"], figures["missed"]) or 0.0
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
        {"municipality": place_row(place), **figures[place.id], "score": score(figures[place.id])}
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
