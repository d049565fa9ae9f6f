"""Login, logout, CSRF, language, rate limit and municipality scoping."""

import pytest

import core.models
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


def _login_from(client, address: str, username: str, password: str, via_proxy: bool = False):
    """Sign in from a client address: the socket's own, or the one the proxy forwards."""
    headers = {"X-Forwarded-For": address} if via_proxy else {}
    environ = {} if via_proxy else {"REMOTE_ADDR": address}
    page = client.get("/login", headers=headers, environ_base=environ)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
        headers=headers,
        environ_base=environ,
    )


def test_only_failed_logins_count_against_the_limit(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    make_user("olga", "operator")
    for _ in range(5):  # a whole office signing in and out from one address
        assert login(client, "olga").status_code == 302
        home = client.get("/")
        client.post("/logout", data={"csrf_token": csrf_token(home.text)})
    assert [login(client, "olga", "wrong").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_behind_the_proxy_each_citizen_address_has_its_own_limit(app):
    from core import create_app

    proxied = create_app({**app.config, "PROXY_HOPS": 1, "LOGIN_RATE_LIMIT": "3 per minute"})
    make_user("olga", "operator")
    make_user("ivan", "operator")
    with proxied.app_context():
        client = proxied.test_client()
        tried = [
            _login_from(client, "10.0.0.7", "ivan", "wrong", via_proxy=True).status_code
            for _ in range(4)
        ]
        signed_in = _login_from(client, "10.0.0.8", "olga", "password-123", via_proxy=True)
    assert tried == [200, 200, 200, 429]  # the guesser is stopped...
    assert signed_in.status_code == 302  # ...while a colleague behind the same nginx gets in


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    make_user("olga", "operator")
    statuses = [
        _login_from(client, f"10.0.0.{n}", "olga", "wrong", via_proxy=True).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]  # a made-up X-Forwarded-For does not reset the count


def test_failed_logins_to_one_account_are_limited_from_any_address(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per minute"
    make_user("olga", "operator")
    make_user("ivan", "operator")
    guesses = [_login_from(client, f"192.0.2.{n}", "Olga", "wrong").status_code for n in range(4)]
    assert guesses == [200, 200, 200, 429]
    assert _login_from(client, "192.0.2.9", "ivan", "password-123").status_code == 302


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, cookie: str):
    """A second browser that was given a copy of the session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_logout_ends_a_copied_session_cookie_too(app, client):
    make_user("olga", "operator")
    login(client, "olga")
    copied = _cookie(client)
    assert _with_cookie(app, copied).get("/").status_code == 200
    home = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_token(home.text)})
    assert _with_cookie(app, copied).get("/").location.startswith("/login")


def test_password_change_and_deactivation_end_every_session(app, client, runner):
    make_user("olga", "operator")
    login(client, "olga")
    before_change = _cookie(client)
    result = runner.invoke(args=["users", "set-password", "olga", "--password", "new-password-1"])
    assert result.exit_code == 0, result.output
    assert _with_cookie(app, before_change).get("/").location.startswith("/login")
    assert login(client, "olga").status_code == 200  # the old password no longer works
    assert login(client, "olga", "new-password-1").status_code == 302

    before_deactivation = _cookie(client)
    assert runner.invoke(args=["users", "deactivate", "olga"]).exit_code == 0
    assert _with_cookie(app, before_deactivation).get("/").location.startswith("/login")
    assert login(client, "olga", "new-password-1").status_code == 200  # refused
    assert runner.invoke(args=["users", "reactivate", "olga"]).exit_code == 0
    assert login(client, "olga", "new-password-1").status_code == 302
    kinds = db.session.scalars(db.select(Event.verb).where(Event.subject_type == "user")).all()
    assert {"user.password-changed", "user.deactivated", "user.reactivated"} <= set(kinds)


def test_a_session_older_than_its_lifetime_is_refused(app, client):
    import time
    from datetime import timedelta

    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    make_user("olga", "operator")
    login(client, "olga")
    assert client.get("/").status_code == 200
    time.sleep(2.1)
    assert client.get("/").location.startswith("/login")


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


@pytest.mark.parametrize("username", ["nobody", "retired"])
def test_a_login_nobody_may_use_still_checks_a_password_hash(app, client, monkeypatch, username):
    make_user("retired", "operator").active = False
    db.session.commit()
    checked = []
    real_check = core.models.check_password_hash
    monkeypatch.setattr(
        core.models,
        "check_password_hash",
        lambda stored, password: checked.append(password) or real_check(stored, password),
    )
    response = login(client, username, "password-123")
    assert "Неверное имя пользователя или пароль." in response.text
    assert checked == ["password-123"]
