"""The wallboard from calls played through the simulated carrier."""

from datetime import timedelta

from core.extensions import db
from hotline.console.wallboard import hour_chart
from hotline.models import Call
from tests.conftest import login
from tests.factories import make_user
from tests.hotline.console.conftest import OPERATOR_PHONE, call_in, post, stored
from tests.hotline.console.test_distribution import on_shift


def test_the_wallboard_counts_todays_calls_and_the_operators(app, carrier, operator, clock):
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    answered = stored(call_in(carrier))
    waiting = call_in(carrier, "+79160000002")  # she is on the first call: this one waits
    clock.advance(seconds=12)
    carrier.caller_hangs_up(waiting.sid)
    still = call_in(carrier, "+79160000003")
    clock.advance(seconds=40)
    page = f"/console/calls/{answered.id}"
    post(olga, f"{page}/wrap-up", {"code": "info"}, page=page)
    last_week = Call(
        call_sid="CA-last-week",
        from_number="+79160000009",
        to_number="+74872000000",
        entry="governor",
        queued_at=answered.queued_at - timedelta(days=7),
        outcome="abandoned",
    )
    db.session.add(last_week)
    make_user("boss", "manager")
    db.session.commit()

    manager = app.test_client()
    login(manager, "boss")
    board = manager.get("/console/wallboard.json").json
    assert board["waiting"] == 1 and board["longest_wait"] == 40
    assert board["operators"]["wrap_up"] == 1 and board["operators"]["ready"] == 0
    today = board["today"]
    assert (today["offered"], today["answered"], today["abandoned"]) == (3, 1, 1)
    assert today["service_level"] == round(1 / 3, 3) and today["speed_of_answer"] is not None
    assert today["handle_time"] is not None and sum(today["by_hour"]) == 3
    assert sum(board["last_week_by_hour"]) == 1
    assert "<svg" in board["chart"] and "polyline" in board["chart"]
    page = manager.get("/console/wallboard")
    assert page.status_code == 200 and 'data-figure="today.answered">1<' in page.text
    assert stored(still).operator_id is None
    assert olga.get("/console/wallboard").status_code == 403  # operators do not see it


def test_the_hour_chart_draws_a_bar_per_hour_and_last_weeks_line():
    chart = str(hour_chart([0] * 10 + [4] + [0] * 13, [1] * 24))
    assert chart.count("<rect") == 24 and "10:00 — 4" in chart
    assert chart.count(",") >= 24  # 24 points in the polyline
