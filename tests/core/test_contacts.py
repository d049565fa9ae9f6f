"""Phones, e-mails, channels per notice and quiet hours: the command line, the page, the API."""

from datetime import UTC, datetime, time

from core.contacts import channels_for, quiet_until
from core.extensions import db
from core.models import User
from core.users import create_token
from tests.conftest import csrf_token, login
from tests.factories import make_municipality, make_user


def _user(name: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.username == name))


def test_users_create_takes_a_phone_and_an_email_and_checks_them(app, runner):
    make_municipality("tula", "Город Тула")
    db.session.commit()
    ok = runner.invoke(
        args=["users", "create", "hanna", "--role", "head", "--municipality", "tula",
              "--password", "password-123", "--phone", "8 (916) 123-45-67",
              "--email", "Hanna@Tula.Example"]
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    hanna = _user("hanna")
    assert (hanna.phone, hanna.email) == ("+79161234567", "Hanna@tula.example")

    bad_phone = runner.invoke(
        args=["users", "create", "olga", "--role", "manager", "--password", "password-123",
              "--phone", "12345"]
    )  # fmt: skip
    assert bad_phone.exit_code != 0 and "phone" in bad_phone.output
    assert _user("olga") is None
    bad_email = runner.invoke(
        args=["users", "create", "olga", "--role", "manager", "--password", "password-123",
              "--email", "olga at tula"]
    )  # fmt: skip
    assert bad_email.exit_code != 0 and "e-mail" in bad_email.output


def test_users_contacts_sets_channels_and_quiet_hours(app, runner):
    make_user("mark", "manager")
    db.session.commit()
    result = runner.invoke(
        args=["users", "contacts", "mark", "--email", "mark@region.example", "--phone",
              "+79160000001", "--notice", "digest=email", "--notice", "reminder=",
              "--quiet", "23:30-06:00"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    mark = _user("mark")
    assert channels_for(mark, "digest") == ["email"]
    assert channels_for(mark, "reminder") == []
    assert channels_for(mark, "overdue") == ["sms", "email"]  # not chosen: every channel
    assert (mark.quiet_from, mark.quiet_until) == (time(23, 30), time(6, 0))
    wrong = runner.invoke(args=["users", "contacts", "mark", "--notice", "gossip=sms"])
    assert wrong.exit_code != 0 and "gossip" in wrong.output


def test_quiet_hours_follow_the_municipality_clock(app):
    far_east = make_municipality("east", "Восточный", tz="Asia/Vladivostok")
    user = make_user("vera", "official", far_east)
    db.session.commit()
    # 12:30 UTC is 22:30 in Vladivostok (UTC+10): quiet until 07:00 local, 21:00 UTC
    assert quiet_until(user, datetime(2026, 12, 7, 12, 30, tzinfo=UTC)) == datetime(
        2026, 12, 7, 21, 0, tzinfo=UTC
    )
    assert quiet_until(user, datetime(2026, 12, 7, 22, 0, tzinfo=UTC)) is None  # 08:00 local
    moscow_manager = make_user("mark", "manager")
    db.session.commit()
    assert quiet_until(moscow_manager, datetime(2026, 12, 7, 12, 30, tzinfo=UTC)) is None


def test_the_admin_page_saves_contacts_and_names_a_wrong_one(app, client):
    make_user("root", "admin")
    oleg = make_user("oleg", "manager")
    db.session.commit()
    login(client, "root")
    page = client.get(f"/admin/users/{oleg.id}")
    form = {
        "csrf_token": csrf_token(page.text),
        "phone": "+7 916 000-00-02",
        "email": "oleg@region.example",
        "quiet_from": "22:00",
        "quiet_until": "08:00",
        "notice-overdue": ["sms", "email"],
        "notice-digest": ["email"],
    }
    saved = client.post(f"/admin/users/{oleg.id}/contacts", data=form)
    assert saved.status_code == 302
    oleg = _user("oleg")
    assert (oleg.phone, oleg.email, oleg.quiet_until) == (
        "+79160000002",
        "oleg@region.example",
        time(8, 0),
    )
    assert channels_for(oleg, "new_card") == [] and channels_for(oleg, "digest") == ["email"]

    refused = client.post(f"/admin/users/{oleg.id}/contacts", data={**form, "email": "oleg@"})
    assert refused.status_code == 400
    assert "Not an e-mail address." in refused.text or "адрес" in refused.text
    assert _user("oleg").email == "oleg@region.example"


def test_the_api_sets_and_shows_contacts(app):
    admin = make_user("root", "admin")
    mark = make_user("mark", "manager")
    db.session.commit()
    _row, secret = create_token(admin, 1)
    db.session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    answer = api.put(
        f"/api/v1/users/{mark.id}/contacts",
        json={
            "phone": "+79160000003",
            "email": "mark@region.example",
            "notice_channels": {"weekly_report": ["email"]},
            "quiet_hours": {"from": "21:00", "until": "07:30"},
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["phone"] == "+79160000003"
    assert answer.json["quiet_hours"] == {"from": "21:00", "until": "07:30"}
    listed = {u["username"]: u for u in api.get("/api/v1/users", headers=headers).json["users"]}
    assert listed["mark"]["notice_channels"] == {"weekly_report": ["email"]}

    wrong = api.put(f"/api/v1/users/{mark.id}/contacts", json={"phone": "0"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json["error"]["field"] == "phone"
    cleared = api.put(f"/api/v1/users/{mark.id}/contacts", json={"email": None}, headers=headers)
    assert cleared.json["email"] is None and cleared.json["phone"] == "+79160000003"
