"""Login, logout, CSRF, language, rate limit and municipality scoping."""

import pytest

from core.extensions import db
from core.models import Event
from tests.conftest import csrf_token, login
from tests.factories import make_municipality, make_user


def test_login_page_is_russian_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "Вход" in page.text and "Пароль" in page.text
    assert 'lang="ru"' in page.text


def test_login_then_logout(app, client):
    make_user("olga", "operator")
    response = login(client, "olga")
    assert response.status_code == 302 and response.location == "/"
    home = client.get("/")
    assert "Графики дежурств" in home.text  # the operator's menu
    logout = client.post("/logout", data={"csrf_token": csrf_token(home.text)})
    assert logout.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page
    verbs = db.session.scalars(db.select(Event.verb).where(Event.subject_type == "user")).all()
    assert verbs == ["user.created", "login.succeeded", "logout"]


def test_wrong_password_is_refused_and_recorded(app, client):
    make_user("olga", "operator")
    response = login(client, "olga", "not-the-password")
    assert response.status_code == 200
    assert "Неверное имя пользователя или пароль." in response.text
    assert client.get("/").status_code == 302
    failed = db.session.scalar(db.select(Event).where(Event.verb == "login.failed"))
    assert failed.subject_id == "olga"


def test_login_without_csrf_token_is_rejected(app, client):
    make_user("olga", "operator")
    response = client.post("/login", data={"username": "olga", "password": "password-123"})
    assert response.status_code == 400
    assert "Форма устарела" in response.text
    assert client.get("/").status_code == 302


def test_logout_without_csrf_token_keeps_the_session(app, client):
    make_user("olga", "operator")
    login(client, "olga")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_login_attempts_are_rate_limited(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    make_user("olga", "operator")
    responses = [login(client, "olga", "wrong-password") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert "Слишком много попыток" in responses[-1].text


def test_english_can_be_chosen(app, client):
    make_user("olga", "operator")
    login(client, "olga")
    home = client.get("/")
    client.post("/language/en", data={"csrf_token": csrf_token(home.text), "next": "/"})
    assert "Duty rosters" in client.get("/").text
    assert db.session.scalar(db.select(db.text("locale FROM users"))) == "en"


def test_head_of_one_municipality_gets_403_on_anothers_page(app, client):
    alpha = make_municipality("alpha", "Альфинский район")
    make_municipality("beta", "Бетинский район")
    make_user("head-alpha", "head", alpha)
    login(client, "head-alpha")
    assert client.get("/roster/alpha").status_code == 200
    denied = client.get("/roster/beta")
    assert denied.status_code == 403
    assert "Бетинский район" in denied.text and "только вашим муниципалитетом" in denied.text
    assert client.get("/roster/").location == "/roster/alpha"


def test_regional_roles_see_every_municipality(app, client):
    make_municipality("alpha")
    make_municipality("beta")
    make_user("mary", "manager")
    login(client, "mary")
    assert client.get("/roster/alpha").status_code == 200
    assert client.get("/roster/beta").status_code == 200


def test_pages_require_login(client):
    response = client.get("/roster/")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_unsafe_next_is_ignored(app, client):
    make_user("olga", "operator")
    page = client.get("/login?next=//evil.example/")
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": "olga", "password": "password-123", "csrf_token": csrf_token(page.text)},
    )
    assert response.location == "/"


HOSTILE_NEXT = [
    "//evil.example",
    "/\\evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "\n",
    "/ok\n",
    "",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_after_login_goes_home(app, client, target):
    make_user("olga", "operator")
    page = client.get("/login")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "olga", "password": "password-123", "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302 and response.location == "/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_after_language_choice_goes_home(app, client, target):
    make_user("olga", "operator")
    login(client, "olga")
    home = client.get("/")
    response = client.post(
        "/language/en", data={"csrf_token": csrf_token(home.text), "next": target}
    )
    assert response.status_code == 302 and response.location == "/"


def test_path_on_this_site_is_kept_as_next(app, client):
    make_user("olga", "operator")
    page = client.get("/login")
    response = client.post(
        "/login",
        query_string={"next": "/ok?x=1"},
        data={"username": "olga", "password": "password-123", "csrf_token": csrf_token(page.text)},
    )
    assert response.location == "/ok?x=1"
