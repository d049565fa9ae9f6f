"""Incidents: declared on the page, announced to callers, joined once each, closed with an SMS."""

import html
import re
from datetime import timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from core.models import OutboundMessage
from core.telephony.sim import CallerScript, SimCarrier, Speech, answers_and_presses
from hotline.incidents.models import Incident, IncidentCaller
from hotline.incidents.services import incident_figures
from hotline.models import Appeal
from roster.demo import MUNICIPALITIES, demo_phone, seed_demo
from roster.services import get_municipality
from tests.conftest import csrf_token, login
from tests.factories import make_user
from tests.hotline.conftest import GOVERNOR_LINE
from tests.hotline.test_first_minute import SPEECH_PATH_LIMIT, speech_length

UZLOVSKY = next(i for i, (code, _, _) in enumerate(MUNICIPALITIES, start=1) if code == "uzlovsky")
TEXT = "нет электричества на улице Гагарина, бригада на месте."


@pytest.fixture
def carrier(app):
    seed_demo()
    db.session.commit()
    sim = SimCarrier.in_process(app)
    sim.phone(demo_phone(UZLOVSKY, 1), answers_and_presses("1"))
    return sim


def declare(client) -> Incident:
    make_user("op", "operator")
    login(client, "op")
    page = client.get("/incidents/")
    uzlovsky = get_municipality("uzlovsky")
    response = client.post(
        "/incidents/",
        data={
            "csrf_token": csrf_token(page.text),
            "municipality": uzlovsky.id,
            "category": 0,
            "area": "ул. Гагарина",
            "text": TEXT,
            "expected_end": (utcnow() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302, response.text
    return db.session.scalar(db.select(Incident))


def test_ten_callers_join_one_incident_each_once_and_all_get_the_closing_sms(client, carrier):
    incident = declare(client)
    numbers = [f"+7916555{n:04d}" for n in range(10)]
    for number in numbers:
        sim_call = carrier.incoming_call(
            number, GOVERNOR_LINE, CallerScript([Speech("в Узловой"), "1"])
        )
        assert any(TEXT in text for text in sim_call.transcript.said)
        assert sim_call.transcript.dialled == []  # nobody rung, no new appeal
    carrier.incoming_call(numbers[0], GOVERNOR_LINE, CallerScript(["1"]))  # again: heard first
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Appeal.id))) == 0
    joined = db.session.scalars(db.select(IncidentCaller.caller_number)).all()
    assert sorted(joined) == numbers  # each counted once

    page = client.get("/incidents/")
    assert f'data-incident="{incident.id}"' in page.text
    assert '<td class="joined">10</td>' in page.text
    client.post(f"/incidents/{incident.id}/close", data={"csrf_token": csrf_token(page.text)})
    client.post(f"/incidents/{incident.id}/close", data={"csrf_token": csrf_token(page.text)})
    db.session.expire_all()
    messages = db.session.scalars(db.select(OutboundMessage)).all()
    assert sorted(m.to_number for m in messages) == numbers
    assert all("устранено" in m.body for m in messages)
    [figures] = incident_figures(utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1))
    assert figures.joined == 10 and figures.open_for is not None


def test_a_caller_who_does_not_join_goes_on_to_the_topics_and_the_chain(client, carrier):
    declare(client)
    sim_call = carrier.incoming_call(
        "+79165550999", GOVERNOR_LINE, CallerScript([Speech("Узловая"), None, "0"])
    )
    assert sim_call.transcript.dialled[0].number == demo_phone(UZLOVSKY, 1)
    length = speech_length(sim_call)
    print(f"\nincident path: {length} characters of speech before the first <Dial>")
    assert length <= SPEECH_PATH_LIMIT + 150


def test_three_appeals_of_one_place_and_topic_in_30_minutes_suggest_an_incident(client, carrier):
    for n in range(3):
        carrier.incoming_call(
            f"+791655510{n:02d}",
            GOVERNOR_LINE,
            CallerScript([Speech("Узловая"), Speech("отопление")]),
        )
    make_user("boss", "manager")
    login(client, "boss")
    page = client.get("/incidents/")
    assert 'id="suggested-incidents"' in page.text and "Узловский район" in page.text


def test_the_incident_shows_in_the_console_and_only_its_municipalitys_cabinet(app, client, carrier):
    incident = declare(client)
    carrier.incoming_call("+79165550001", GOVERNOR_LINE, CallerScript([Speech("Узловая"), "1"]))
    console = client.get("/console/")
    assert 'id="incident-board"' in console.text and TEXT in console.text
    make_user("uz", "official", get_municipality("uzlovsky"))
    make_user("tu", "official", get_municipality("tula"))
    for username, sees in (("uz", True), ("tu", False)):
        other = app.test_client()
        login(other, username)
        cabinet = other.get("/cabinet/")
        assert cabinet.status_code == 200
        assert (f'data-incident="{incident.id}"' in cabinet.text) is sees, username
    page = client.get("/incidents/")
    assert 'id="incident-figures"' in page.text


def test_the_console_suggests_an_incident_and_its_button_opens_the_form_filled_in(client, carrier):
    for n in range(3):
        carrier.incoming_call(
            f"+791655511{n:02d}",
            GOVERNOR_LINE,
            CallerScript([Speech("Узловая"), Speech("отопление")]),
        )
    make_user("oleg", "operator")
    login(client, "oleg")
    console = client.get("/console/").text
    assert 'id="console-suggested-incidents"' in console and "Узловский район" in console
    link = re.search(r'href="(/incidents/\?[^"]+)"', console).group(1)
    form = client.get(html.unescape(link)).text
    place = get_municipality("uzlovsky")
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{place.id}"|value="{place.id}"[^>]*selected', form
    )
    assert re.search(r"<textarea[^>]*>\s*\S", form)  # the text is the appeals' topic
