"""The demo web phone places real calls through the simulated carrier."""

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
