"""`flask users create` and `flask users token`, which scripts rely on."""

from core.extensions import db
from core.models import ApiToken, User
from tests.factories import make_municipality, make_user


def test_create_user_with_password(runner):
    result = runner.invoke(
        args=["users", "create", "olga", "--role", "operator", "--password", "secret-pass"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "olga"))
    assert user.role == "operator" and user.check_password("secret-pass")
    assert user.password_hash != "secret-pass"


def test_create_user_prompts_for_password(runner):
    make_municipality("alpha")
    db.session.commit()
    result = runner.invoke(
        args=["users", "create", "ivan", "--role", "head", "--municipality", "alpha"],
        input="secret-pass\nsecret-pass\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "ivan"))
    assert user.check_password("secret-pass") and user.municipality_id is not None


def test_create_user_errors_are_clear(runner):
    make_municipality("alpha")
    db.session.commit()
    cases = [
        (["--role", "head"], "needs --municipality"),
        (["--role", "head", "--municipality", "nowhere"], "no municipality with code"),
        (["--role", "manager", "--municipality", "alpha"], "takes no municipality"),
        (["--role", "wizard"], "unknown role"),
    ]
    for options, message in cases:
        result = runner.invoke(args=["users", "create", "x", *options, "--password", "secret-pass"])
        assert result.exit_code == 1 and message in result.output, result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_token_prints_only_a_working_token(app, runner):
    make_user("mary", "manager")
    result = runner.invoke(args=["users", "token", "mary"])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("hl_")
    assert db.session.scalar(db.select(ApiToken.token_hash)) != token
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == "mary"
    wrong = client.get("/api/v1/me", headers={"Authorization": "Bearer hl_wrong"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "unauthorized"


def test_token_for_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "ghost"])
    assert result.exit_code == 1 and "no user 'ghost'" in result.output


def test_token_use_is_written_at_most_once_a_minute(app, runner, monkeypatch):
    from datetime import UTC, datetime, timedelta

    make_user("mary", "manager")
    token = runner.invoke(args=["users", "token", "mary"]).stdout.strip()
    moment = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("core.clock.now_source", lambda: moment)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/v1/me", headers=headers)
    monkeypatch.setattr("core.clock.now_source", lambda: moment + timedelta(seconds=30))
    client.get("/api/v1/me", headers=headers)
    db.session.expire_all()
    assert db.session.scalar(db.select(ApiToken.last_used_at)) == moment
    monkeypatch.setattr("core.clock.now_source", lambda: moment + timedelta(minutes=2))
    client.get("/api/v1/me", headers=headers)
    db.session.expire_all()
    assert db.session.scalar(db.select(ApiToken.last_used_at)) == moment + timedelta(minutes=2)


def test_tokens_are_listed_revoked_and_expire(app, runner, clock):
    make_user("mary", "manager")
    client = app.test_client()
    lasting = runner.invoke(args=["users", "token", "mary", "--days", "0"]).stdout.strip()
    weekly = runner.invoke(args=["users", "token", "mary", "--days", "7"]).stdout.strip()

    def status(token: str) -> int:
        return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code

    assert (status(lasting), status(weekly)) == (200, 200)
    listed = runner.invoke(args=["users", "tokens", "mary"]).stdout.splitlines()
    assert len(listed) == 2 and "expires -" in listed[1] and "revoked -" in listed[0]
    clock.advance(days=7, seconds=1)
    assert (status(lasting), status(weekly)) == (200, 401)  # the weekly one expired

    first_id = listed[1].split("\t")[0]
    revoked = runner.invoke(args=["users", "revoke", first_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert status(lasting) == 401
    assert "revoked 20" in runner.invoke(args=["users", "tokens", "mary"]).stdout.splitlines()[1]
    assert runner.invoke(args=["users", "revoke", "999"]).exit_code == 1


def test_a_deactivated_users_tokens_stop_working(app, runner):
    make_user("mary", "manager")
    token = runner.invoke(args=["users", "token", "mary"]).stdout.strip()
    runner.invoke(args=["users", "deactivate", "mary"])
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_a_token_validity_beyond_ten_years_is_refused_clearly(app, runner):
    make_user("mary", "manager")
    result = runner.invoke(args=["users", "token", "mary", "--days", "99999999"])
    assert result.exit_code == 1 and "days must be from 1 to 3650" in result.output
    assert not isinstance(result.exception, OverflowError)


def test_a_token_can_be_named_and_the_listing_shows_the_name(app, runner):
    make_user("mary", "manager")
    issued = runner.invoke(args=["users", "token", "mary", "--name", "табло в зале"])
    assert issued.exit_code == 0 and issued.stdout.strip().startswith("hl_")
    listed = runner.invoke(args=["users", "tokens", "mary"]).stdout.splitlines()
    assert listed[0].split("\t")[-1] == "табло в зале"
