"""The wallboard in Chromium: an incident declared while it is open appears without a reload."""

from core.extensions import db
from hotline.incidents.services import close_incident, declare_incident
from tests.conftest import BROWSER_TEST, browser_login
from tests.factories import make_user

pytestmark = BROWSER_TEST

TEXT = "Нет электричества в посёлке Партизан, бригада на месте."


def test_an_incident_appears_on_the_open_wallboard_and_leaves_it_when_closed(
    app, region, server, browser
):
    make_user("boss", "manager")
    db.session.commit()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    browser_login(page, server, "boss")
    page.goto(f"{server}/console/wallboard")
    assert page.is_visible("#wallboard-no-incidents")

    incident = declare_incident(region.place, TEXT, by=None, area="пос. Партизан")
    db.session.commit()
    line = page.wait_for_selector(f"#wallboard-incidents li[data-incident='{incident.id}']")
    assert TEXT in line.inner_text() and region.place.name in line.inner_text()
    assert line.query_selector(".joined").inner_text() == "0"
    assert not page.is_visible("#wallboard-no-incidents")

    close_incident(incident, by=None)
    db.session.commit()
    page.wait_for_selector(f"li[data-incident='{incident.id}']", state="detached")
    assert page.is_visible("#wallboard-no-incidents")
