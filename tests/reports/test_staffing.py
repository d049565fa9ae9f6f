"""The staffing report: Erlang C over four weeks of arrivals, beside the operators on shift."""

import io
from datetime import date, timedelta

import openpyxl

from core.extensions import db
from hotline.models import Call, OperatorShift
from reports import services
from tests.conftest import login
from tests.factories import make_user
from tests.reports.conftest import local


class Moscow:
    timezone = "Europe/Moscow"


MONDAYS = ("2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09")


def _history():
    """100 calls in each of the last four Mondays' 10:00 hour, 180 s each; one shift 10–12."""
    operator = make_user("op1", "operator")
    number = 0
    for monday in MONDAYS:
        start = local(Moscow, f"{monday}T10:00:00")
        for index in range(100):
            number += 1
            queued = start + timedelta(seconds=36 * index)
            answered = queued + timedelta(seconds=5)
            db.session.add(
                Call(
                    call_sid=f"CS{number}",
                    from_number=f"+7916200{number:04d}",
                    to_number="+74872000000",
                    entry="governor",
                    status="completed",
                    outcome="handled",
                    created_at=queued,
                    queued_at=queued,
                    operator_id=operator.id,
                    operator_answered_at=answered,
                    wrapped_up_at=answered + timedelta(seconds=180),
                )
            )
    db.session.add(
        OperatorShift(
            user_id=operator.id,
            endpoint="+79000000001",
            started_at=local(Moscow, "2026-03-09T10:00:00"),
            ended_at=local(Moscow, "2026-03-09T12:00:00"),
        )
    )
    db.session.commit()


def test_the_plan_needs_eight_operators_for_five_erlangs(app, fixed_now):
    _history()
    week = services.next_week_start()
    assert week == date(2026, 3, 16)
    plan = services.staffing_plan(week)
    assert len(plan) == 168
    monday_ten = plan[10]
    assert (monday_ten.calls_per_hour, monday_ten.handle_seconds) == (100, 180)
    assert monday_ten.needed == 8  # Erlang C: 7 answer 74 % within 20 s, 8 answer 88 %
    assert (monday_ten.on_shift, monday_ten.short) == (1, 7)
    assert plan[11].needed == 0 and plan[11].on_shift == 1
    assert plan[24 + 10].needed == 0  # Tuesdays had no calls


def test_staffing_page_and_downloads_for_managers(app, client, fixed_now):
    _history()
    make_user("boss", "manager")
    login(client, "boss")
    page = client.get("/reports/staffing")
    assert page.status_code == 200
    assert 'data-needed="8" data-on-shift="1"' in page.text
    csv = client.get("/reports/staffing", query_string={"format": "csv"}).data.decode("utf-8-sig")
    lines = csv.splitlines()
    assert len(lines) == 169 and lines[11].split(",")[-4:] == ["180.0", "8", "1", "7"]
    xlsx = client.get("/reports/staffing", query_string={"format": "xlsx", "week": "2026-03-18"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 169
    assert client.get("/reports/staffing", query_string={"week": "soon"}).status_code == 400


def test_operators_cannot_see_the_staffing_plan(app, client):
    make_user("olga", "operator")
    db.session.commit()
    login(client, "olga")
    assert client.get("/reports/staffing").status_code == 403
