"""The demo web phone places real calls through the simulated carrier."""

import time

from core.extensions import db
from hotline.models import Call
from tests.conftest import csrf_token, login
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN


def test_web_phone_rings_the_chain_with_the_chosen_behaviours(client, region):
    make_user("olga", "operator")
    login(client, "olga")
    page = client.get("/phone/")
    assert page.status_code == 200 and "Веб-телефон" in page.text
    result = client.post(
        "/phone/",
        data={
            "csrf_token": csrf_token(page.text),
            "caller": CITIZEN,
            "dial": "+74872700101",
            "municipality": "alpha",
            "category_digit": "1",
            "primary": "voicemail",
            "backup": "accepts",
            "supervisor": "busy",
        },
    )
    assert result.status_code == 200
    assert "соединён с должностным лицом" in result.text
    assert "+79000000101" in result.text and "+79000000102" in result.text
    call = db.session.scalar(db.select(Call))
    assert [a.outcome for a in call.attempts] == ["not-accepted", "accepted"]


def test_web_phone_explains_a_bad_number(client, region):
    make_user("olga", "operator")
    login(client, "olga")
    page = client.get("/phone/")
    result = client.post(
        "/phone/",
        data={"csrf_token": csrf_token(page.text), "caller": "12", "dial": "+74872700101"},
    )
    assert "Формат: +7XXXXXXXXXX." in result.text
    assert db.session.scalar(db.select(db.func.count(Call.id))) == 0


def test_web_phone_button_says_call_as_an_action(client, region):
    make_user("olga", "operator")
    login(client, "olga")
    page = client.get("/phone/")
    assert '<button type="submit">Позвонить</button>' in page.text


def test_the_web_phone_lists_the_demos_phones_with_links_to_their_pages(client, region):
    head = make_user("galina", "head", region.place)
    region.supervisor.user_id = head.id
    db.session.commit()
    make_user("olga", "operator")
    login(client, "olga")
    page = client.get("/phone/").text
    assert "Живой звонок" in page and "Быстрый звонок" in page
    assert f'href="/phone/{region.supervisor.phone}"' in page
    assert f"{region.supervisor.full_name} (руководитель)" in page
    assert f'href="/phone/{region.primary.phone}"' in page  # on duty now


def test_a_phone_page_holds_its_number_and_shows_a_ringing_call(client, region, app):
    from core.telephony.sim import SimCarrier

    carrier = SimCarrier.in_process(app, threaded_actions=True)
    make_user("olga", "operator")
    login(client, "olga")
    page = client.get(f"/phone/{region.primary.phone}")
    assert page.status_code == 200 and "Телефон +79000000101" in page.text
    assert client.get(f"/phone/{region.primary.phone}/state").json["state"] == "idle"
    assert carrier.live.held(region.primary.phone)

    carrier.place_call(region.primary.phone, "/voice/status", timeout=2)
    deadline = time.monotonic() + 5
    while client.get(f"/phone/{region.primary.phone}/state").json["state"] != "ringing":
        assert time.monotonic() < deadline, "the phone never rang"
        time.sleep(0.05)
    token = csrf_token(page.text)
    pressed = client.post(
        f"/phone/{region.primary.phone}/press", data={"action": "reject", "csrf_token": token}
    )
    assert pressed.json["done"] is True
    carrier.wait_idle()
    assert carrier.calls_to(region.primary.phone)[0].status == "busy"
    bad = client.post(
        f"/phone/{region.primary.phone}/press", data={"action": "dance", "csrf_token": token}
    )
    assert bad.status_code == 400


def test_phone_pages_follow_the_web_phones_access_rules(client, region, app):
    make_user("olga", "operator")
    login(client, "olga")
    assert client.get("/phone/not-a-number").status_code == 404
    app.config["HOTLINE_ENV"] = "production"
    assert client.get(f"/phone/{region.primary.phone}").status_code == 403
    assert client.get(f"/phone/{region.primary.phone}/state").status_code == 403
    app.config["HOTLINE_ENV"] = "development"
    app.config["TELEPHONY"] = "twilio"
    assert client.get(f"/phone/{region.primary.phone}").status_code == 404
