"""Incidents on the wallboard (live JSON) and in the reports: calls joined, time to close."""

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from core.clock import utcnow
from core.extensions import db
from core.telephony.sim import CallerScript, SimCarrier, Speech
from hotline.incidents.services import close_incident, declare_incident
from reports.services import region_tz
from roster.demo import seed_demo
from roster.models import Category
from roster.services import get_municipality
from tests.conftest import login
from tests.factories import make_user
from tests.hotline.conftest import GOVERNOR_LINE

POWER = "Нет электричества на улице Гагарина, бригада на месте."
WATER = "Нет воды в Пролетарском районе."


def around_today() -> dict:
    """The report's period: the region's yesterday to tomorrow (the clock moves in the tests)."""
    today = utcnow().astimezone(ZoneInfo(region_tz())).date()
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


@pytest.fixture
def incidents(app, clock):
    """Узловский: three callers joined, closed after two hours; Тула: one joined, still open."""
    seed_demo()
    db.session.commit()
    carrier = SimCarrier.in_process(app)
    roads = db.session.scalar(db.select(Category).where(Category.code == "roads"))
    uzlovsky = declare_incident(
        get_municipality("uzlovsky"), POWER, by=None, category=roads, area="ул. Гагарина"
    )
    tula = declare_incident(get_municipality("tula"), WATER, by=None)
    db.session.commit()
    for n, place in ((1, "Узловая"), (2, "в Узловой"), (3, "Узловский район"), (4, "в Туле")):
        carrier.incoming_call(f"+7916444{n:04d}", GOVERNOR_LINE, CallerScript([Speech(place), "1"]))
    clock.advance(hours=2)
    close_incident(db.session.get(type(uzlovsky), uzlovsky.id), by=None)
    db.session.commit()
    make_user("boss", "manager")
    make_user("uzhead", "head", get_municipality("uzlovsky"))
    db.session.commit()
    return uzlovsky.id, tula.id


def signed_in(app, username):
    client = app.test_client()
    login(client, username)
    return client


def test_the_wallboard_lists_the_open_incidents_with_calls_joined(app, clock):
    seed_demo()
    db.session.commit()
    carrier = SimCarrier.in_process(app)
    incident = declare_incident(get_municipality("tula"), WATER, by=None)
    make_user("boss", "manager")
    db.session.commit()
    for n in range(3):
        carrier.incoming_call(
            f"+7916333{n:04d}", GOVERNOR_LINE, CallerScript([Speech("Тула"), "1"])
        )
    manager = signed_in(app, "boss")

    [line] = manager.get("/console/wallboard.json").json["incidents"]
    assert (line["id"], line["municipality"], line["text"]) == (incident.id, "Город Тула", WATER)
    assert line["joined"] == 3
    page = manager.get("/console/wallboard")
    assert f'data-incident="{incident.id}"' in page.text and WATER in page.text
    assert '<span class="joined">3</span>' in page.text

    close_incident(db.session.get(type(incident), incident.id), by=None)
    db.session.commit()
    assert manager.get("/console/wallboard.json").json["incidents"] == []
    assert 'id="wallboard-no-incidents">' in manager.get("/console/wallboard").text


def test_the_report_counts_calls_joined_and_the_time_to_close(app, incidents):
    uzlovsky, tula = incidents
    manager = signed_in(app, "boss")
    page = manager.get("/reports/incidents", query_string=around_today())
    assert page.status_code == 200
    assert page.text.index(f'data-incident="{tula}"') < page.text.index(
        f'data-incident="{uzlovsky}"'
    )  # newest first
    row = page.text[page.text.index(f'data-incident="{uzlovsky}"') :]
    assert '<td class="time-to-close">2:00:00</td>' in row.split("</tr>")[0]
    assert '<td class="joined">3</td>' in row.split("</tr>")[0]
    assert f'href="/reports/incidents/{uzlovsky}"' in page.text
    assert '<strong data-total="joined">4</strong>' in page.text
    assert '<strong data-total="time_to_close">2:00:00</strong>' in page.text

    detail = manager.get(f"/reports/incidents/{uzlovsky}")
    assert detail.status_code == 200 and POWER in detail.text
    assert detail.text.count("<li>") >= 3 and "+7916444" not in detail.text  # no numbers


def test_the_report_exports_csv_and_xlsx(app, incidents):
    uzlovsky, tula = incidents
    manager = signed_in(app, "boss")
    response = manager.get("/reports/incidents", query_string=around_today() | {"format": "csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][1:4] == ["Муниципалитет", "Категория", "Район или адрес"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(uzlovsky)][1] == "Узловский район" and by_id[str(uzlovsky)][6:] == ["2.0", "3"]
    assert by_id[str(tula)][5:] == ["", "", "1"]
    book = load_workbook(
        io.BytesIO(
            manager.get("/reports/incidents", query_string=around_today() | {"format": "xlsx"}).data
        )
    )
    values = list(book.worksheets[0].iter_rows(values_only=True))
    assert sorted(row[-1] for row in values[1:]) == [1, 3]


def test_a_head_sees_only_their_municipalitys_incidents_and_the_period_filters(app, incidents):
    uzlovsky, tula = incidents
    head = signed_in(app, "uzhead")
    page = head.get("/reports/incidents", query_string=around_today())
    assert f'data-incident="{uzlovsky}"' in page.text
    assert f'data-incident="{tula}"' not in page.text
    assert head.get(f"/reports/incidents/{tula}").status_code == 403
    assert head.get(f"/reports/incidents/{uzlovsky}").status_code == 200

    manager = signed_in(app, "boss")
    long_ago = (utcnow() - timedelta(days=30)).date()
    before = {"from": (long_ago - timedelta(days=7)).isoformat(), "to": long_ago.isoformat()}
    earlier = manager.get("/reports/incidents", query_string=before)
    assert "data-incident=" not in earlier.text
    assert manager.get("/reports/incidents/999999").status_code == 404
