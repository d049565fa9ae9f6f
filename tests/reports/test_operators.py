"""Operators' figures from the queue facts the console records on calls."""

from datetime import timedelta

from core.extensions import db
from core.models import User
from hotline.models import Call, OperatorStateChange
from reports import services
from tests.conftest import login
from tests.factories import make_user
from tests.reports.conftest import NOW, WEEK, local


class Moscow:
    timezone = "Europe/Moscow"


def _queued(number: int, when: str, operator=None, answer=None, wrap=None, outcome="connected"):
    queued = local(Moscow, when)
    answered = queued + timedelta(seconds=answer) if answer is not None else None
    db.session.add(
        Call(
            call_sid=f"CQ{number}",
            from_number=f"+7916100{number:04d}",
            to_number="+74872000000",
            entry="governor",
            status="completed",
            outcome=outcome,
            created_at=queued,
            queued_at=queued,
            operator_id=operator.id if operator else None,
            operator_answered_at=answered,
            wrapup_code="registered" if wrap is not None else None,
            wrapped_up_at=answered + timedelta(seconds=wrap) if wrap is not None else None,
        )
    )


def _queue(monkeypatch):
    import core.clock

    monkeypatch.setattr(core.clock, "now_source", lambda: NOW)
    one = make_user("op1", "operator")
    one.full_name = "Оператор Один"
    two = make_user("op2", "operator")
    two.full_name = "Оператор Два"
    _queued(1, "2026-03-02T10:00:00", one, answer=10, wrap=180)
    _queued(2, "2026-03-03T10:00:00", one, answer=30, wrap=120)
    _queued(3, "2026-03-04T10:00:00", two, answer=15, wrap=300)
    _queued(4, "2026-03-05T10:00:00", outcome="abandoned")
    _queued(5, "2026-03-08T23:59:59", two, answer=5)
    _queued(6, "2026-03-09T00:00:00", one, answer=3, wrap=60)  # next week
    _queued(7, "2026-03-01T23:59:59", outcome="abandoned")  # week before
    db.session.commit()


def test_operator_figures(app, monkeypatch):
    _queue(monkeypatch)
    figures = services.operator_figures(WEEK)
    keys = ("offered", "answered", "abandoned", "speed_of_answer", "service_level", "handling_time")
    assert tuple(figures["total"][k] for k in keys) == (5, 4, 1, 15.0, 0.6, 200.0)
    people = {row["name"]: tuple(row[k] for k in keys) for row in figures["operators"]}
    assert people == {
        "Оператор Один": (None, 2, None, 20.0, 0.5, 150.0),
        "Оператор Два": (None, 2, None, 10.0, 1.0, 300.0),
    }


def test_operators_page_for_managers_only(app, client, monkeypatch):
    _queue(monkeypatch)
    make_user("boss", "manager")
    login(client, "boss")
    page = client.get("/reports/operators", query_string={"from": "2026-03-02", "to": "2026-03-08"})
    assert page.status_code == 200 and "Оператор Один" in page.text
    csv = client.get("/reports/operators", query_string={"format": "csv"}).data.decode("utf-8-sig")
    assert csv.splitlines()[1].split(",")[1:4] == ["5", "4", "1"]


def test_offers_missed_time_in_each_state_and_occupancy(app, client, monkeypatch):
    _queue(monkeypatch)
    one = db.session.scalar(db.select(User).where(User.username == "op1"))
    start = local(Moscow, "2026-03-03T09:00:00")

    def stretch(state, begin, minutes, reason=None):
        db.session.add(
            OperatorStateChange(
                user_id=one.id,
                state=state,
                reason=reason,
                started_at=start + timedelta(minutes=begin),
                ended_at=start + timedelta(minutes=begin + minutes),
            )
        )

    stretch("ready", 0, 30)
    stretch("offered", 30, 1)
    stretch("break", 31, 9, "missed-offer")
    stretch("ready", 40, 20)
    stretch("on_call", 60, 45)
    stretch("wrap_up", 105, 15)
    db.session.commit()
    row = next(
        r for r in services.operator_figures(WEEK)["operators"] if r["operator_id"] == one.id
    )
    assert row["missed_offers"] == 1
    assert row["state_seconds"]["on_call"] == 45 * 60 and row["state_seconds"]["break"] == 9 * 60
    assert row["occupancy"] == (45 + 15) / (30 + 1 + 20 + 45 + 15)
    make_user("boss", "manager")
    login(client, "boss")
    page = client.get("/reports/operators", query_string={"from": "2026-03-02", "to": "2026-03-08"})
    assert '<td class="missed-offers">1</td>' in page.text
    csv = client.get(
        "/reports/operators",
        query_string={"from": "2026-03-02", "to": "2026-03-08", "format": "csv"},
    ).data.decode("utf-8-sig")
    assert "54.1" in csv  # occupancy, %
