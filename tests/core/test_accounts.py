"""Accounts that resist takeover: per-account throttling, password policy, idle sessions, TOTP."""

from datetime import timedelta

import pyotp
import pytest

import core.clock
from core.extensions import db
from core.models import User
from core.users import UserError, create_user
from tests.conftest import csrf_token, login
from tests.core.test_auth import _login_from
from tests.factories import make_user

LOCKED = "учётная запись заблокирована до"


def _move_clock(monkeypatch, by: timedelta) -> None:
    moment = core.clock.system_time() + by
    monkeypatch.setattr("core.clock.now_source", lambda: moment)


def test_a_storm_on_one_account_from_50_addresses_locks_it_and_others_keep_working(app):
    from core import create_app

    proxied = create_app({**app.config, "PROXY_HOPS": 1})  # the shipped nginx in front
    make_user("olga", "manager")
    make_user("ivan", "operator")
    with proxied.app_context():
        client = proxied.test_client()
        answers = [
            _login_from(client, f"203.0.113.{n}", "olga", f"guess-{n}", via_proxy=True)
            for n in range(1, 51)
        ]
        locked_at = next(n for n, page in enumerate(answers, 1) if LOCKED in page.text)
        right = _login_from(client, "198.51.100.1", "olga", "password-123", via_proxy=True)
        colleague = _login_from(client, "203.0.113.50", "ivan", "password-123", via_proxy=True)
    assert locked_at <= 20
    assert all(page.status_code != 302 for page in answers)
    assert right.status_code in (200, 429) and "/login" not in right.headers.get("Location", "")
    assert right.status_code != 302  # even the right password waits
    assert colleague.status_code == 302  # another account from a storm address gets in
    olga = db.session.scalar(db.select(User).where(User.username == "olga"))
    assert olga.failed_logins >= app.config["LOGIN_LOCK_AFTER"]
    assert olga.login_blocked_until - core.clock.utcnow() > timedelta(minutes=14)


def test_an_unknown_name_is_answered_like_an_account_under_the_same_storm(app):
    from core import create_app

    proxied = create_app({**app.config, "PROXY_HOPS": 1})
    make_user("olga", "manager")
    with proxied.app_context():
        client = proxied.test_client()
        pages = {
            name: [
                _login_from(client, f"203.0.113.{n}", name, f"guess-{n}", via_proxy=True)
                for n in range(1, 31)
            ]
            for name in ("olga", "nobody-here")
        }
    shown = {
        name: [(page.status_code, LOCKED in page.text) for page in answers]
        for name, answers in pages.items()
    }
    assert shown["olga"] == shown["nobody-here"]
    assert (200, True) in shown["nobody-here"]  # the unknown name is "locked" too


def test_failures_make_the_next_try_wait_longer_then_a_success_forgets_them(
    app, client, monkeypatch
):
    make_user("olga", "operator")
    for _ in range(3):
        assert "Неверное имя пользователя или пароль." in login(client, "olga", "wrong").text
    waiting = login(client, "olga")  # the right password, too soon
    assert waiting.status_code == 200 and "подождите" in waiting.text
    _move_clock(monkeypatch, timedelta(minutes=2))
    assert login(client, "olga").status_code == 302
    olga = db.session.scalar(db.select(User).where(User.username == "olga"))
    assert (olga.failed_logins, olga.login_blocked_until) == (0, None)


def test_a_lock_lasts_its_minutes_then_the_right_password_works(app, client, monkeypatch):
    app.config["LOGIN_LOCK_AFTER"] = 4
    make_user("olga", "operator")
    pages = [login(client, "olga", "wrong") for _ in range(4)]
    assert LOCKED in pages[-1].text
    _move_clock(monkeypatch, timedelta(minutes=10))
    assert LOCKED in login(client, "olga").text
    _move_clock(monkeypatch, timedelta(minutes=31))
    assert login(client, "olga").status_code == 302


@pytest.mark.parametrize(
    "password", ["qwerty123", "Password1", "1q2w3e4r5t", "aaaaaaaaaa", "OLGA-Petrova"]
)
def test_common_passwords_and_the_user_name_are_refused(app, password):
    with pytest.raises(UserError) as refused:
        create_user("olga-petrova", "operator", password)
    assert refused.value.code in ("password_common", "password_too_short")
    create_user("olga-petrova", "operator", "olgas-own-phrase-7")


def test_the_admin_page_refuses_a_common_password_in_russian(app, client):
    make_user("root", "admin")
    olga = make_user("olga", "operator")
    login(client, "root")
    page = client.get(f"/admin/users/{olga.id}")
    answer = client.post(
        f"/admin/users/{olga.id}/password",
        data={
            "password": "password123",
            "confirm": "password123",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert "слишком распространён" in answer.text


def test_a_session_ends_after_idle_hours_but_not_while_in_use(app, client, monkeypatch):
    make_user("olga", "manager")
    login(client, "olga")
    _move_clock(monkeypatch, timedelta(hours=7))
    assert client.get("/").status_code == 200  # used within the idle time
    _move_clock(monkeypatch, timedelta(hours=14))
    assert client.get("/").status_code == 200  # 7 hours after the last request
    _move_clock(monkeypatch, timedelta(hours=22, minutes=1))
    ended = client.get("/")
    assert ended.status_code == 302 and ended.location.startswith("/login")


def test_an_operator_on_shift_stays_signed_in_past_the_idle_time(app, client, monkeypatch):
    from hotline.console.services import start_shift

    olga = make_user("olga", "operator")
    login(client, "olga")
    start_shift(olga, "+79160000001")
    db.session.commit()
    _move_clock(monkeypatch, timedelta(hours=9))
    assert client.get("/").status_code == 200


def test_a_password_change_ends_the_session(app, client, runner):
    make_user("olga", "manager")
    login(client, "olga")
    runner.invoke(args=["users", "set-password", "olga", "--password", "another-phrase-9"])
    assert client.get("/").status_code == 302


def _code_page(client, username):
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": "password-123",
            "csrf_token": csrf_token(page.text),
        },
    )


def test_a_manager_sets_up_totp_with_a_qr_shown_once_then_needs_a_code(app, client, runner):
    app.config["REQUIRE_2FA_FOR"] = frozenset({"manager", "admin"})
    make_user("olga", "manager")
    assert _code_page(client, "olga").location == "/login/code"
    setup = client.get("/login/code")
    assert "<svg" in setup.text
    secret = setup.text.split('id="totp-secret">')[1].split("<")[0]
    token = csrf_token(setup.text)
    wrong = client.post("/login/code", data={"code": "000000", "csrf_token": token})
    assert "Код неверен" in wrong.text and client.get("/").status_code == 302
    right = client.post("/login/code", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert right.status_code == 302 and client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})

    assert _code_page(client, "olga").location == "/login/code"
    again = client.get("/login/code")
    assert "<svg" not in again.text and secret not in again.text  # the QR is shown only once
    assert client.get("/").status_code == 302  # the password alone does not sign in
    done = client.post(
        "/login/code",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(again.text)},
    )
    assert done.status_code == 302 and client.get("/").status_code == 200

    assert runner.invoke(args=["users", "reset-2fa", "olga"]).exit_code == 0
    assert client.get("/").status_code == 302  # the reset ends the sessions
    assert _code_page(client, "olga").location == "/login/code"
    assert "<svg" in client.get("/login/code").text  # a new phone is set up


def test_roles_outside_require_2fa_for_sign_in_with_the_password(app, client):
    app.config["REQUIRE_2FA_FOR"] = frozenset({"manager", "admin"})
    make_user("ivan", "operator")
    assert login(client, "ivan").location == "/"


def test_require_2fa_for_defaults_to_managers_and_admins_in_production_only():
    from config import load_config
    from tests.core.test_startup import PRODUCTION

    assert load_config(PRODUCTION)["REQUIRE_2FA_FOR"] == {"manager", "admin"}
    assert load_config({})["REQUIRE_2FA_FOR"] == set()


def test_an_admin_resets_a_users_second_factor_on_the_page(app, client):
    make_user("root", "admin")
    olga = make_user("olga", "manager")
    olga.totp_secret = pyotp.random_base32()
    db.session.commit()
    login(client, "root")
    page = client.get(f"/admin/users/{olga.id}")
    assert "Второй фактор" in page.text
    done = client.post(
        f"/admin/users/{olga.id}/totp-reset", data={"csrf_token": csrf_token(page.text)}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, olga.id).totp_secret is None
