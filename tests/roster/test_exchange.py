"""CSV import (dry run, row errors, all or nothing) and export, iCal feeds, SMS reminders."""

import ast
import io
import logging
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from flask import request
from gunicorn.config import Config
from icalendar import Calendar

import roster.views
from core.access_log import QuietPollingLogger
from core.extensions import db
from core.logs import ContextFilter
from core.models import Event, OutboundMessage
from roster import jobs
from roster.models import DutyShift, Municipality, Official
from roster.services import (
    export_shifts,
    feed_token_for,
    general_roster,
    import_officials,
    import_shifts,
    save_rotation,
)
from tests.conftest import (
    BASE_DIR,
    TwilioByNumber,
    counted_statements,
    csrf_token,
    login,
    use_twilio,
    work,
)
from tests.factories import (
    make_absence,
    make_municipality,
    make_official,
    make_shift,
    make_trio,
    make_user,
)

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # 15:00 in Moscow


@pytest.fixture
def alpha(app, monkeypatch):
    monkeypatch.setattr("core.clock.now_source", lambda: NOW)
    place = make_municipality("alpha")
    make_municipality("beta")
    db.session.commit()
    return place


OFFICIALS_CSV = """municipality;full_name;position;phone;active
alpha;Орлов Олег;Дежурный;8 900 111-22-33;да
alpha;Соколова Анна;Заместитель главы;+79001112234;
beta;Лисин Лев;Глава;+7 900 111 22 35;yes
"""


def _count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_officials_import_dry_run_then_write_then_nothing_to_do(alpha):
    dry = import_officials(OFFICIALS_CSV, dry_run=True)
    assert dry.errors == [] and dry.counts() == {"create": 3, "update": 0, "unchanged": 0}
    assert _count(Official) == 0
    done = import_officials(OFFICIALS_CSV, dry_run=False)
    db.session.commit()
    assert done.written and _count(Official) == 3
    orlov = db.session.scalar(db.select(Official).where(Official.full_name == "Орлов Олег"))
    assert orlov.phone == "+79001112233"
    changed = OFFICIALS_CSV.replace("Дежурный;", "Старший дежурный;")
    again = import_officials(changed, dry_run=True)
    assert again.counts() == {"create": 0, "update": 1, "unchanged": 2}


def test_officials_import_reports_row_numbers_and_writes_nothing(alpha):
    broken = OFFICIALS_CSV + "nowhere;Кто-то;;+79001112236;\nalpha;Без телефона;;12345;\n"
    report = import_officials(broken, dry_run=False)
    assert [(e.row, e.field) for e in report.errors] == [(5, "municipality"), (6, "phone")]
    assert not report.written
    db.session.commit()
    assert _count(Official) == 0
    assert import_officials("name;phone\nx;y\n").errors[0].row == 1  # missing columns


def test_shifts_import_is_all_or_nothing_with_absences_checked(alpha):
    import_officials(OFFICIALS_CSV, dry_run=False)
    db.session.commit()
    orlov = db.session.scalar(db.select(Official).where(Official.full_name == "Орлов Олег"))
    make_absence(orlov, datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 3, 27, tzinfo=UTC))
    db.session.commit()
    rows = (
        "municipality,roster,role,phone,starts_at,ends_at,note\n"
        "alpha,,primary,+79001112233,2026-03-19T09:00,2026-03-20T09:00,\n"
        "alpha,general,backup,+79001112234,2026-03-19T09:00+03:00,2026-03-20T09:00+03:00,\n"
    )
    bad = rows + (
        "alpha,,primary,+79001112233,2026-03-25T09:00,2026-03-26T09:00,\n"
        "alpha,,chief,+79001112233,2026-03-21T09:00,2026-03-22T09:00,\n"
        "alpha,,backup,+79001112234,tomorrow,2026-03-22T09:00,\n"
    )
    report = import_shifts(bad, dry_run=False)
    assert [(e.row, e.field) for e in report.errors] == [
        (4, "official_id"),
        (5, "role"),
        (6, "starts_at"),
    ]
    assert "Орлов Олег" in report.errors[0].message
    db.session.commit()
    assert _count(DutyShift) == 0
    dry = import_shifts(rows, dry_run=True)
    assert dry.errors == [] and dry.counts()["create"] == 2
    db.session.commit()
    assert _count(DutyShift) == 0
    done = import_shifts(rows, dry_run=False)
    db.session.commit()
    assert done.written and _count(DutyShift) == 2
    first = db.session.scalar(db.select(DutyShift).order_by(DutyShift.id))
    assert first.starts_at == datetime(2026, 3, 19, 6, tzinfo=UTC)
    assert import_shifts(rows, dry_run=False).counts()["unchanged"] == 2
    exported = export_shifts(alpha, NOW, NOW + timedelta(days=7))
    assert "+79001112233" in exported and "2026-03-19T09:00+03:00" in exported


def test_import_page_shows_dry_run_and_errors(app, alpha):
    make_user("admin", "admin")
    client = app.test_client()
    login(client, "admin")
    page = client.get("/roster/import")
    response = client.post(
        "/roster/import",
        data={
            "csrf_token": csrf_token(page.text),
            "what": "officials",
            "dry_run": "y",
            "file": (io.BytesIO(OFFICIALS_CSV.encode()), "officials.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "Орлов Олег" in response.text
    assert _count(Official) == 0
    response = client.post(
        "/roster/import",
        data={
            "csrf_token": csrf_token(page.text),
            "what": "officials",
            "file": (io.BytesIO((OFFICIALS_CSV + "zzz;X;;1;\n").encode()), "officials.csv"),
        },
        content_type="multipart/form-data",
    )
    assert 'class="grid errors"' in response.text and "<td>5</td>" in response.text
    assert _count(Official) == 0
    export = client.get("/roster/alpha/shifts.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"


def _rotations(place):
    trio = make_trio(place)
    roster = general_roster(place)
    save_rotation(
        roster, "primary", [trio[0].id, trio[1].id], time(9), 1, date(2026, 3, 1), now=NOW
    )
    save_rotation(roster, "supervisor", [trio[2].id], time(9), 7, date(2026, 3, 2), now=NOW)
    db.session.commit()
    return trio


def test_ical_feeds_parse_back_and_need_the_secret(app, alpha, client):
    trio = _rotations(alpha)
    official_token = feed_token_for(trio[0])
    place_token = feed_token_for(alpha)
    db.session.commit()
    response = client.get(f"/roster/feeds/official/{official_token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = list(calendar.walk("VEVENT"))
    assert events and all(
        e.decoded("dtend") - e.decoded("dtstart") == timedelta(days=1) for e in events
    )
    assert all(e.decoded("dtstart").astimezone(UTC).hour == 6 for e in events)  # 09:00 Moscow
    assert len({str(e["uid"]) for e in events}) == len(events)
    whole = Calendar.from_ical(client.get(f"/roster/feeds/municipality/{place_token}.ics").data)
    summaries = [str(e["summary"]) for e in whole.walk("VEVENT")]
    assert any(trio[2].full_name in s for s in summaries)
    assert client.get("/roster/feeds/official/wrong-token.ics").status_code == 404


def _deployed_access_log_format() -> str:
    """Read `access_log_format` from the gunicorn settings without running them."""
    settings = ast.parse((BASE_DIR / "deploy" / "gunicorn.conf.py").read_text())
    return next(
        node.value.value
        for node in settings.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "access_log_format"
    )


def _access_line(environ: dict) -> str:
    """Return the line gunicorn's access log (as deployed) writes for a request's environ."""
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", _deployed_access_log_format())
    access_logger = QuietPollingLogger(config)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    access_logger.access_log.handlers = [handler]
    response = SimpleNamespace(status="200 OK", headers=[], sent=120)
    access_logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(seconds=0.01))
    return lines.getvalue()


def test_logs_show_feed_urls_without_their_token(app, alpha, client, monkeypatch):
    trio = _rotations(alpha)
    token = feed_token_for(trio[0])
    db.session.commit()
    app_lines, environs = [], []
    real_calendar = roster.views.duty_calendar

    def calendar_logging_an_error(*args):
        record = logging.LogRecord(
            "flask.app", logging.ERROR, "", 0, "Exception on %s", (request.path,), None
        )
        ContextFilter().filter(record)
        app_lines.append(record.getMessage())
        environs.append(request.environ)
        return real_calendar(*args)

    monkeypatch.setattr(roster.views, "duty_calendar", calendar_logging_an_error)
    response = client.get(f"/roster/feeds/official/{token}.ics?x=1")
    assert response.status_code == 200
    assert app_lines == ["Exception on /roster/feeds/official/<redacted>.ics"]
    line = _access_line(environs[0])
    assert '"GET /roster/feeds/official/<redacted>.ics HTTP/1.1" 200' in line, line
    assert token not in line
    other = client.get("/login?next=/roster/")
    assert '"GET /login?next=/roster/ HTTP/1.1" 200' in _access_line(other.request.environ)


def test_feed_link_is_made_by_a_head_on_the_page(app, alpha):
    _rotations(alpha)
    make_user("head", "head", alpha)
    client = app.test_client()
    login(client, "head")
    page = client.get("/roster/alpha")
    response = client.post("/roster/alpha/feed", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert "/roster/feeds/municipality/" in client.get("/roster/alpha").text


def test_evening_reminders_are_sent_once_per_duty(app, alpha, monkeypatch):
    pytest.importorskip("core.telephony")
    trio = _rotations(alpha)
    monkeypatch.setattr("core.clock.now_source", lambda: datetime(2026, 3, 18, 14, tzinfo=UTC))
    assert jobs.send_shift_reminders() == 0  # 17:00 in Moscow: not evening yet
    monkeypatch.setattr("core.clock.now_source", lambda: datetime(2026, 3, 18, 16, tzinfo=UTC))
    jobs.send_shift_reminders()
    jobs.send_shift_reminders()
    messages = db.session.scalars(db.select(OutboundMessage)).all()
    # tomorrow (19 March) only the primary changes hands; the weekly supervisor does not
    tomorrow_holder = trio[0] if (date(2026, 3, 19) - date(2026, 3, 1)).days % 2 == 0 else trio[1]
    assert [m.to_number for m in messages] == [tomorrow_holder.phone]
    assert "Район alpha" in messages[0].body and "19.03" in messages[0].body


def test_evening_reminders_are_stored_together_and_sent_one_by_one(app, alpha, monkeypatch, caplog):
    monkeypatch.setattr("core.clock.now_source", lambda: datetime(2026, 3, 18, 16, tzinfo=UTC))
    tomorrow = datetime(2026, 3, 19, 6, tzinfo=UTC)  # 09:00 in Moscow
    trio = make_trio(alpha)
    for role, official in zip(("primary", "backup", "supervisor"), trio, strict=True):
        make_shift(general_roster(alpha), role, official, tomorrow, tomorrow + timedelta(days=1))
    db.session.commit()
    use_twilio(app, TwilioByNumber(refused=trio[1].phone, failing=trio[2].phone))

    assert jobs.send_shift_reminders() == 3
    assert jobs.send_shift_reminders() == 0  # stored already: not again

    statuses = dict(
        db.session.execute(db.select(OutboundMessage.to_number, OutboundMessage.status)).all()
    )
    assert set(statuses.values()) == {"pending"}  # nothing went out inside the transaction
    work(app)  # each reminder is sent by a job of its own: one refusal stops no other
    statuses = dict(
        db.session.execute(db.select(OutboundMessage.to_number, OutboundMessage.status)).all()
    )
    assert statuses == {trio[0].phone: "queued", trio[1].phone: "failed", trio[2].phone: "retrying"}
    lines = [r.getMessage() for r in caplog.records if r.name == "roster.jobs"]
    assert lines == [
        "shift reminders: 3 due, 3 stored to send",
        "shift reminders: 3 due, 0 stored to send",
    ]


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_shifts_import_looks_up_ten_rows_in_as_many_queries_as_three(alpha):
    places = [alpha, db.session.scalar(db.select(Municipality).where(Municipality.code == "beta"))]
    phones = [f"+7900555{index:04d}" for index in range(10)]
    for index, phone in enumerate(phones):
        make_official(places[index % 2], phone, f"Дежурный {index}")
    db.session.commit()

    def lookups_for(count: int) -> int:
        rows = ["municipality;roster;role;phone;starts_at;ends_at;note"]
        for index in range(count):
            day = 19 + index
            code = places[index % 2].code
            roster = "general" if index % 3 == 0 else ""
            rows.append(
                f"{code};{roster};primary;{phones[index]};"
                f"2026-03-{day}T09:00;2026-03-{day + 1}T09:00;замена {index}"
            )
        with counted_statements() as statements:
            report = import_shifts("\n".join(rows) + "\n", dry_run=True)
        assert report.errors == [] and report.counts()["create"] == count
        return len(_selects(statements))

    assert lookups_for(3) == lookups_for(10)


def test_evening_reminders_read_ten_municipalities_in_as_many_queries_as_three(
    app, alpha, monkeypatch
):
    monkeypatch.setattr("core.clock.now_source", lambda: datetime(2026, 3, 18, 16, tzinfo=UTC))
    tomorrow = datetime(2026, 3, 19, 6, tzinfo=UTC)  # 09:00 in Moscow

    def statements_for(count: int) -> int:
        for index in range(_count(DutyShift) // 3, count):
            place = make_municipality(f"m{index:02d}", f"Район {index:02d}")
            roster = general_roster(place)
            trio = make_trio(place, prefix=f"+79{index:02d}12")
            for role, official in zip(("primary", "backup", "supervisor"), trio, strict=True):
                make_shift(roster, role, official, tomorrow, tomorrow + timedelta(days=1))
        db.session.commit()
        with counted_statements() as statements:
            jobs.send_shift_reminders()
        assert _count(OutboundMessage) == 3 * count
        # each message is looked up by its purpose, recorded and its receipt check queued:
        # per-message writes, not reads that grow with the municipalities
        per_message = ("outbound_messages", "outbox_jobs", "SAVEPOINT")
        return len([s for s in statements if not any(word in s for word in per_message)])

    assert statements_for(3) == statements_for(10)


def _officials_csv(prefix: str, count: int) -> str:
    rows = ["municipality;full_name;position;phone;active"]
    rows += [f"alpha;Дежурный {index};Дежурный;{prefix}{index:04d};да" for index in range(count)]
    return "\n".join(rows) + "\n"


def test_officials_import_writes_fifty_rows_in_as_many_statements_as_five(alpha):
    counts = []
    for prefix, count in (("+7900600", 5), ("+7900700", 50)):
        with counted_statements() as statements:
            report = import_officials(_officials_csv(prefix, count), dry_run=False)
        assert report.errors == [] and report.counts()["create"] == count
        db.session.commit()
        counts.append(len(statements))
    assert _count(Official) == 55
    assert counts[0] == counts[1]


def test_shifts_import_writes_fifty_rows_in_as_many_statements_as_five(alpha):
    phones = [f"+7900555{index:04d}" for index in range(50)]
    for index, phone in enumerate(phones):
        make_official(alpha, phone, f"Дежурный {index}")
    db.session.commit()
    counts = []
    for first_day, count in ((0, 5), (10, 50)):
        rows = ["municipality;roster;role;phone;starts_at;ends_at;note"]
        for index in range(count):
            start = NOW + timedelta(days=first_day + index, hours=3)
            rows.append(
                f"alpha;;primary;{phones[index]};{start:%Y-%m-%dT%H:%M};"
                f"{start + timedelta(hours=12):%Y-%m-%dT%H:%M};замена {index}"
            )
        with counted_statements() as statements:
            report = import_shifts("\n".join(rows) + "\n", dry_run=False)
        assert report.errors == [] and report.counts()["create"] == count
        db.session.commit()
        counts.append(len(statements))
    assert _count(DutyShift) == 55
    events = db.session.scalars(db.select(Event.verb).where(Event.verb == "override.added"))
    assert len(events.all()) == 55
    assert counts[0] == counts[1]
