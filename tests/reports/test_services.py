"""Every figure of the report, the ranking and the heat map over the known history."""

from datetime import UTC, date, datetime

import pytest

import core.clock
from reports import services
from reports.queries import Period, percentile
from tests.reports.conftest import WEEK

EXPECTED = {
    "alpha": {
        "routed": 6,
        "accepted": 3,
        "accepted_primary": 1,
        "accepted_backup": 1,
        "accepted_supervisor": 1,
        "answer_rate": 0.5,
        "accept_median": 30.0,
        "accept_p90": 46.0,
        "missed": 3,
        "called_back": 2,
        "in_time": 1,
        "late": 2,
        "callback_median": 21600.0,
        "overdue_now": 2,
        "reopened": 1,
        "asked": 3,
        "reopen_rate": 1 / 3,
    },
    "beta": {
        "routed": 3,
        "accepted": 1,
        "accepted_primary": 1,
        "accepted_backup": 0,
        "accepted_supervisor": 0,
        "answer_rate": 1 / 3,
        "accept_median": 20.0,
        "accept_p90": 20.0,
        "missed": 2,
        "called_back": 2,
        "in_time": 2,
        "late": 0,
        "callback_median": 2700.0,
        "overdue_now": 1,
        "reopened": 0,
        "asked": 0,
        "reopen_rate": None,
    },
    "gamma": {
        "routed": 3,
        "accepted": 1,
        "accepted_primary": 0,
        "accepted_backup": 1,
        "accepted_supervisor": 0,
        "answer_rate": 1 / 3,
        "accept_median": 40.0,
        "accept_p90": 40.0,
        "missed": 2,
        "called_back": 1,
        "in_time": 1,
        "late": 1,
        "callback_median": 3600.0,
        "overdue_now": 1,
        "reopened": 1,
        "asked": 1,
        "reopen_rate": 1.0,
    },
}


def _report(history, period=WEEK, channel=None, user=None):
    places = services.visible_municipalities(user or history.manager)
    return services.missed_call_report(places, services.make_scope(places, period, channel))


def _figures(row) -> dict:
    return {name: row[name] for name in EXPECTED["alpha"]}


def test_every_figure_of_every_municipality(history):
    report = _report(history)
    rows = {row["municipality"]["code"]: _figures(row) for row in report["rows"]}
    assert rows == EXPECTED


def test_region_total(history):
    total = _report(history)["total"]
    assert {k: total[k] for k in ("routed", "accepted", "missed", "called_back", "in_time")} == {
        "routed": 12,
        "accepted": 5,
        "missed": 7,
        "called_back": 5,
        "in_time": 4,
    }
    assert (total["late"], total["overdue_now"], total["reopened"], total["asked"]) == (3, 4, 2, 4)
    assert (total["accept_median"], total["accept_p90"]) == (30.0, 46.0)  # 10 20 30 40 50
    assert total["callback_median"] == 3600.0  # 1800 3600 3600 7200 36000


def test_period_boundaries_are_local_midnight_of_each_municipality(history):
    sunday_only = _report(history, Period(date(2026, 3, 8), date(2026, 3, 8)))
    rows = {row["municipality"]["code"]: row for row in sunday_only["rows"]}
    assert rows["alpha"]["routed"] == 1  # 23:59:59 Moscow
    assert rows["beta"]["routed"] == 0  # 00:30 Monday in Yekaterinburg is not Sunday
    assert rows["gamma"]["routed"] == 1  # 23:30 Kaliningrad, already Monday in Moscow
    monday_after = _report(history, Period(date(2026, 3, 9), date(2026, 3, 9)))
    rows = {row["municipality"]["code"]: row for row in monday_after["rows"]}
    assert (rows["alpha"]["routed"], rows["beta"]["routed"], rows["gamma"]["routed"]) == (1, 1, 0)
    assert rows["alpha"]["reopened"] == 1


def test_default_period_is_the_last_full_week_in_the_region_zone(app, monkeypatch):
    cases = [
        (datetime(2026, 3, 11, 9, 0, tzinfo=UTC), WEEK),
        (datetime(2026, 3, 8, 21, 0, tzinfo=UTC), WEEK),  # Monday 00:00 in Moscow
        (datetime(2026, 3, 8, 20, 59, 59, tzinfo=UTC), WEEK.previous()),  # Sunday 23:59:59
    ]
    for moment, period in cases:
        monkeypatch.setattr(core.clock, "now_source", lambda moment=moment: moment)
        assert services.default_period() == period
    assert WEEK.previous() == Period(date(2026, 2, 23), date(2026, 3, 1))


def test_channel_filter(history):
    report = _report(history, channel="operator")
    rows = {row["municipality"]["code"]: row for row in report["rows"]}
    assert (rows["gamma"]["routed"], rows["gamma"]["accepted_backup"]) == (1, 1)
    assert rows["gamma"]["accept_median"] == 40.0
    assert rows["alpha"]["routed"] == rows["alpha"]["missed"] == rows["alpha"]["overdue_now"] == 0
    assert report["total"]["routed"] == 1


def test_officials_of_a_municipality(history):
    places = services.visible_municipalities(history.manager)
    scope = services.make_scope([history.alpha], WEEK)
    rows = services.official_report(history.alpha, scope)
    got = {
        (row["name"], row["role"]): (
            row["rung"],
            row["accepted"],
            row["not_accepted"],
            row["missed"],
            row["accept_median"],
            row["accept_p90"],
            row["callbacks"],
        )
        for row in rows
    }
    assert got == {
        ("Первов alpha", "primary"): (6, 1, 5, 3, 10.0, 10.0, 1),
        ("Вторых alpha", "backup"): (5, 1, 4, 3, 30.0, 30.0, 1),
        ("Главный alpha", "supervisor"): (4, 1, 3, 3, 50.0, 50.0, 0),
    }
    assert len(places) == 3


def test_lists_behind_figures_match_the_counts(history):
    places = services.visible_municipalities(history.manager)
    report = _report(history)
    for row in report["rows"]:
        place = next(p for p in places if p.id == row["municipality"]["id"])
        scope = services.make_scope([place], WEEK)
        for metric in (
            "routed",
            "accepted",
            "accepted_primary",
            "accepted_backup",
            "accepted_supervisor",
        ):
            assert services.list_calls(scope, metric)["total"] == row[metric], metric
        for metric in ("missed", "called_back", "in_time", "late", "overdue_now"):
            assert services.list_cards(scope, metric)["total"] == row[metric], metric
        assert services.list_appeals(scope, "reopened")["total"] == row["reopened"]
    alpha = services.make_scope([history.alpha], WEEK)
    missed = services.list_calls(alpha, "missed", official_id=history.trios["alpha"]["primary"].id)
    assert [r["card_id"] for r in missed["rows"]] == [c.card.id for c in history.a[3:]]
    backup = services.list_calls(alpha, "accepted_backup")["rows"]
    assert [(r["id"], r["wait"], r["accepted_by"]) for r in backup] == [
        (history.a[1].call.id, 30.0, "Вторых alpha")
    ]
    late = services.list_cards(alpha, "late")["rows"]
    assert [r["id"] for r in late] == [history.a[4].card.id, history.a[5].card.id]


def test_ranking_order_scores_and_change(history):
    places = services.visible_municipalities(history.manager)
    rows = services.ranking(places, services.make_scope(places, WEEK))
    got = [
        (
            r["municipality"]["code"],
            r["rank"],
            r["score"],
            r["previous_rank"],
            r["previous_score"],
            r["score_change"],
            r["rank_change"],
        )
        for r in rows
    ]
    assert got == [
        ("alpha", 1, 58.3, 2, 70.0, -11.7, 1),
        ("gamma", 2, 54.2, 1, 90.0, -35.8, -1),
        ("beta", 3, 28.5, 3, 0.0, 28.5, 0),
    ]


def test_head_sees_own_row_of_the_ranking_only(history):
    places = services.visible_municipalities(history.manager)
    rows = services.ranking(places, services.make_scope(places, WEEK), shown={history.alpha.id})
    assert [(r["municipality"]["code"], r["rank"]) for r in rows] == [("alpha", 1)]
    assert [p.code for p in services.visible_municipalities(history.head_a)] == ["alpha"]


def test_heat_map_cells(history):
    places = services.visible_municipalities(history.manager)
    heat = services.heat_map(places, services.make_scope(places, WEEK))
    ids = {p.code: p.id for p in places}
    cat = {"roads": history.roads.id, "water": history.water.id, "none": None}
    expected = {
        ("alpha", "roads"): (3, 1, 0),
        ("alpha", "water"): (2, 1, 1),
        ("alpha", "none"): (1, 1, 1),
        ("beta", "roads"): (1, 1, 0),
        ("beta", "water"): (2, 1, 0),
        ("gamma", "roads"): (2, 1, 1),
        ("gamma", "water"): (1, 1, 0),
    }
    got = {
        (place, category): tuple(cell[k] for k in ("all", "missed", "overdue"))
        for place in ids
        for category in cat
        if (cell := heat["cells"].get((ids[place], cat[category])))
    }
    assert got == expected
    assert [c["code"] for c in heat["columns"]] == ["water", "roads", "none"]
    assert heat["max"] == {"all": 3, "missed": 1, "overdue": 1}


def test_heat_cell_lists_appeals_and_repeated_addresses(history):
    scope = services.make_scope([history.alpha], WEEK)
    cell = services.list_appeals(scope, "all", history.roads.id)
    assert [r["number"] for r in cell["rows"]] == [c.appeal.number for c in history.a[:2]] + [
        history.a[3].appeal.number
    ]
    assert cell["addresses"] == [{"address": "ул. Ленина, 1", "count": 3}]
    overdue = services.list_appeals(scope, "overdue", "none")
    assert [r["number"] for r in overdue["rows"]] == [history.a[5].appeal.number]


def test_daily_trend(history):
    places = services.visible_municipalities(history.manager)
    trend = services.daily_trend(services.make_scope(places, WEEK))
    assert [(d["day"].day, d["calls"], d["missed"], d["overdue"]) for d in trend] == [
        (2, 2, 0, 0),
        (3, 1, 0, 0),
        (4, 2, 1, 0),
        (5, 1, 1, 0),
        (6, 2, 2, 1),
        (7, 2, 1, 1),
        (8, 2, 2, 1),
    ]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"from": "2026-13-01"}, "date"),
        ({"from": "2026-03-08", "to": "2026-03-01"}, "order"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, "long"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_bad_filters_are_refused(app, fixed_now, args, code):
    with pytest.raises(services.ReportError) as caught:
        services.parse_filters(args)
    assert caught.value.code == code


def test_percentile_interpolates_like_postgresql():
    assert percentile([10, 30, 50], 0.9) == pytest.approx(46.0)
    assert percentile([5], 0.5) == 5
    assert percentile([], 0.5) is None
