"""The managers' reports as plain data: missed calls, officials, ranking, heat map, trends.

What lives where:
- `common`: the filters and the scope of a report, the SQL builders of calls, cards, reopened
  cards and appeals, and the small helpers every report uses.
- `missed`: the missed-call report per municipality and the officials' figures of one.
- `lists`: the drill-down lists of calls and cards behind a figure.
- `ranking`: the municipalities ranked by a weighted score.
- `heat`: the heat map territory × category, its appeal lists and repeated addresses.
- `trends`: the daily and weekly trends.
- `answers`: answer times as a distribution.
- `officials`: the officials with most missed calls.
- `operators`: the operators' figures.
- `erlang`: Erlang C (pure functions); `staffing`: operators needed per hour of next week.
"""

from reports.services.answers import WAIT_EDGES, answer_time_histogram
from reports.services.common import (
    CHANNELS,
    LIST_LIMIT,
    ROLES,
    ReportError,
    default_period,
    make_scope,
    parse_filters,
    region_tz,
    visible_municipalities,
)
from reports.services.heat import HEAT_KINDS, heat_conditions, heat_map, list_appeals
from reports.services.lists import list_calls, list_cards
from reports.services.missed import (
    CALL_FIGURES,
    CARD_FIGURES,
    COUNT_FIGURES,
    OFFICIAL_FIGURES,
    missed_call_figures,
    missed_call_report,
    official_report,
)
from reports.services.officials import top_missing_officials
from reports.services.operators import SERVICE_LEVEL_SECONDS, operator_figures
from reports.services.ranking import CALLBACK_NORM_SECONDS, SCORE_WEIGHTS, ranking, score
from reports.services.staffing import StaffingHour, next_week_start, staffing_plan
from reports.services.trends import TREND_WEEKS, daily_trend, trend_weeks, weekly_trend

__all__ = [
    "TREND_WEEKS",
    "WAIT_EDGES",
    "answer_time_histogram",
    "top_missing_officials",
    "trend_weeks",
    "weekly_trend",
    "StaffingHour",
    "next_week_start",
    "staffing_plan",
    "CALLBACK_NORM_SECONDS",
    "CALL_FIGURES",
    "CARD_FIGURES",
    "CHANNELS",
    "COUNT_FIGURES",
    "HEAT_KINDS",
    "LIST_LIMIT",
    "OFFICIAL_FIGURES",
    "ROLES",
    "SCORE_WEIGHTS",
    "SERVICE_LEVEL_SECONDS",
    "ReportError",
    "daily_trend",
    "default_period",
    "heat_conditions",
    "heat_map",
    "list_appeals",
    "list_calls",
    "list_cards",
    "make_scope",
    "missed_call_figures",
    "missed_call_report",
    "official_report",
    "operator_figures",
    "parse_filters",
    "ranking",
    "region_tz",
    "score",
    "visible_municipalities",
]
