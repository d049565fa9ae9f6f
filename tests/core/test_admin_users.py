"""The administrator's user page: access, deactivation, passwords, tokens."""

import re
from datetime import timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from core.models import ApiToken, Event, User
from core.users import create_token, issue_token
from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login, csrf_token, login
from tests.factories import make_municipality, make_user


@pytest.fixture
def people(app):
    """An admin signed in on `client`, and an operator with a token."""
    tula = make_municipality("tula", "Город Тула")
    return {
        "admin": make_user("root", "admin"),
        "operator": make_user("olga", "operator"),
        "manager": make_user("mark", "manager"),
        "head": make_user("hanna", "head", tula),
        "official": make_user("oleg", "official", tula),
    }


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _me(app, token: str) -> int:
    return app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code


def _post(client, path: str, **data):
    """Post a form of the user's page with the page's CSRF token."""
    user_id = re.search(r"/admin/(?:users|tokens)/(\d+)", path).group(1)
    page = client.get(f"/admin/users/{user_id}") if "/users/" in path else client.get("/")
    return client.post(path, data={"csrf_token": csrf_token(page.text), **data})


def _fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_only_admins_open_the_users_page(app, client, people):
    login(client, "root")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "<h1>Пользователи</h1>" in page.text and 'href="/admin/users"' in page.text
    for login_name in ("root", "olga", "mark", "hanna", "oleg"):
        assert f">{login_name}</a>" in page.text
    assert "Город Тула" in page.text and "активен" in page.text
    assert client.get(f"/admin/users/{people['operator'].id}").status_code == 200
    for role in ("operator", "manager", "head", "official"):
        other = app.test_client()
        login(other, people[role].username)
        assert other.get("/admin/users").status_code == 403
        assert other.get(f"/admin/users/{people['operator'].id}").status_code == 403
        token = csrf_token(other.get("/").text)
        denied = other.post(
            f"/admin/users/{people['admin'].id}/deactivate", data={"csrf_token": token}
        )
        assert denied.status_code == 403
        assert 'href="/admin/users"' not in other.get("/").text
    assert app.test_client().get("/admin/users").location.startswith("/login")


def test_the_list_counts_only_valid_tokens_and_shows_the_last_sign_in(app, client, clock, people):
    operator = people["operator"]
    issue_token(operator, 1)
    issue_token(operator)
    db.session.commit()
    clock.advance(days=2)
    login(client, "root")
    row = re.search(r">olga</a>.*?</tr>", client.get("/admin/users").text, re.S).group(0)
    assert row.count("<td>1</td>") == 1  # one live, one expired
    assert "—" in row  # olga never signed in
    root_row = re.search(r">root</a>.*?</tr>", client.get("/admin/users").text, re.S).group(0)
    assert re.search(r"\d\d:\d\d", root_row)  # the admin's own sign-in


def test_deactivation_ends_the_users_session_and_refuses_their_tokens(app, client, people):
    operator = people["operator"]
    token = issue_token(operator)
    db.session.commit()
    theirs = app.test_client()
    login(theirs, "olga")
    assert theirs.get("/").status_code == 200 and _me(app, token) == 200

    login(client, "root")
    answer = _post(client, f"/admin/users/{operator.id}/deactivate")
    assert answer.status_code == 302
    assert "деактивирован" in client.get(answer.location).text
    assert _fresh(operator).active is False
    assert theirs.get("/").location.startswith("/login")
    assert _me(app, token) == 401
    assert login(app.test_client(), "olga").status_code == 200  # sign-in refused

    _post(client, f"/admin/users/{operator.id}/reactivate")
    assert _fresh(operator).active is True
    assert _me(app, token) == 200  # as with the command line: tokens were not revoked
    assert login(app.test_client(), "olga").status_code == 302
    verbs = db.session.scalars(
        db.select(Event.verb).where(Event.actor_id == people["admin"].id)
    ).all()
    assert {"user.deactivated", "user.reactivated"} <= set(verbs)


def test_an_admin_cannot_deactivate_themselves(app, client, people):
    admin = people["admin"]
    login(client, "root")
    own_page = client.get(f"/admin/users/{admin.id}").text
    assert f"/admin/users/{admin.id}/deactivate" not in own_page
    answer = _post(client, f"/admin/users/{admin.id}/deactivate")
    assert "Нельзя деактивировать собственную учётную запись." in client.get(answer.location).text
    assert _fresh(admin).active is True
    assert client.get("/admin/users").status_code == 200  # still signed in


def test_buttons_without_the_csrf_token_change_nothing(app, client, people):
    operator = people["operator"]
    issue_token(operator)
    db.session.commit()
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == operator.id))
    login(client, "root")
    assert client.post(f"/admin/users/{operator.id}/deactivate").status_code == 400
    assert client.post(f"/admin/tokens/{row.id}/revoke").status_code == 400
    assert client.post(f"/admin/users/{operator.id}/tokens", data={"days": "5"}).status_code == 400
    assert _fresh(operator).active is True
    assert db.session.get(ApiToken, row.id).revoked_at is None
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 1


def test_admin_sets_a_password_checked_as_the_command_line_checks_it(app, client, people):
    operator = people["operator"]
    theirs = app.test_client()
    login(theirs, "olga")
    login(client, "root")
    path = f"/admin/users/{operator.id}/password"

    short = _post(client, path, password="short", confirm="short")
    assert short.status_code == 200 and "От 8 до 200 символов." in short.text
    differ = _post(client, path, password="new-password-1", confirm="new-password-2")
    assert "Пароли не совпадают." in differ.text
    assert theirs.get("/").status_code == 200  # nothing changed yet

    done = _post(client, path, password="new-password-1", confirm="new-password-1")
    assert done.status_code == 302
    assert "изменён" in client.get(done.location).text
    assert theirs.get("/").location.startswith("/login")
    assert login(app.test_client(), "olga").status_code == 200  # the old password fails
    assert login(app.test_client(), "olga", "new-password-1").status_code == 302


def test_issuing_shows_the_secret_once_and_revoking_refuses_it(app, client, people):
    operator = people["operator"]
    login(client, "root")
    issued = _post(client, f"/admin/users/{operator.id}/tokens", name="Выгрузка в 1С", days="30")
    assert issued.status_code == 200
    secret = re.search(r'<code class="secret">(hl_[^<]+)</code>', issued.text).group(1)
    assert "больше он показан не будет" in issued.text
    assert _me(app, secret) == 200
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == operator.id))
    assert row.label == "Выгрузка в 1С" and row.token_hash == ApiToken.hash(secret)
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)

    page = client.get(f"/admin/users/{operator.id}").text
    assert secret not in page and "Выгрузка в 1С" in page and "действует" in page
    revoked = _post(client, f"/admin/tokens/{row.id}/revoke")
    assert revoked.location.endswith(f"/admin/users/{operator.id}")
    assert f"Токен {row.id} отозван." in client.get(revoked.location).text
    assert _me(app, secret) == 401
    assert "отозван" in client.get(f"/admin/users/{operator.id}").text


def test_an_expired_token_fails_and_shows_as_expired(app, client, clock, people):
    operator = people["operator"]
    login(client, "root")
    issued = _post(client, f"/admin/users/{operator.id}/tokens", days="1")
    secret = re.search(r'<code class="secret">(hl_[^<]+)</code>', issued.text).group(1)
    assert _me(app, secret) == 200
    clock.advance(days=1, seconds=1)
    assert _me(app, secret) == 401
    login(client, "root")  # a day without a request ended the session
    assert "истёк" in client.get(f"/admin/users/{operator.id}").text


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("0", "От 1 до 3650 дней."),
        ("-5", "От 1 до 3650 дней."),
        ("99999999", "От 1 до 3650 дней."),
        ("abc", "Укажите число дней целым числом."),
        ("1.5", "Укажите число дней целым числом."),
        ("", "Укажите число дней."),
    ],
)
def test_a_wrong_validity_is_named_on_the_form(app, client, people, days, message):
    operator = people["operator"]
    login(client, "root")
    answer = _post(client, f"/admin/users/{operator.id}/tokens", days=days)
    assert answer.status_code == 200
    assert f'<p class="field-error">{message}</p>' in answer.text
    assert 'class="secret"' not in answer.text
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0


def test_unknown_users_and_tokens_are_404(app, client, people):
    login(client, "root")
    assert client.get("/admin/users/999").status_code == 404
    home = client.get("/").text
    answer = client.post("/admin/tokens/999/revoke", data={"csrf_token": csrf_token(home)})
    assert answer.status_code == 404


@pytest.mark.parametrize("width", [360, 1366])
@BROWSER_TEST[0]
@BROWSER_TEST[1]
def test_the_users_pages_fit_a_phone_and_a_desktop_in_russian(app, people, server, browser, width):
    create_token(people["operator"], 90, label="отчёты")
    people["admin"].locale = "ru"
    db.session.commit()
    page = browser.new_page(viewport={"width": width, "height": 900})
    browser_login(page, server, "root")
    for path, heading in (
        ("/admin/users", "Пользователи"),
        (f"/admin/users/{people['operator'].id}", "API-токены"),
    ):
        page.goto(server + path)
        page.screenshot(path=str(ARTIFACTS / f"admin{path.replace('/', '-')}-{width}.png"))
        assert heading in page.content()
        # the page never scrolls sideways: a wide table scrolls inside its own box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert "Действует до" in page.content() and "отчёты" in page.content()
