"""The administrators' user and token endpoints."""

from datetime import timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from core.models import ApiToken, User
from tests.conftest import login


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _ids(world) -> dict[str, int]:
    return {name: user.id for name, user in world.users.items()}


def test_only_admin_tokens_reach_the_user_endpoints(client, world):
    ids = _ids(world)
    calls = [
        ("get", "/api/v1/users", None),
        ("post", f"/api/v1/users/{ids['operator']}/deactivate", None),
        ("post", f"/api/v1/users/{ids['operator']}/reactivate", None),
        ("get", f"/api/v1/users/{ids['operator']}/tokens", None),
        ("post", f"/api/v1/users/{ids['operator']}/tokens", {"days": 5}),
        ("delete", "/api/v1/tokens/1", None),
    ]
    for method, path, body in calls:
        for role in ("operator", "manager", "head", "official"):
            answer = getattr(client, method)(path, json=body, headers=world.tokens[role])
            assert answer.status_code == 403, (method, path, role)
            assert answer.json["error"]["code"] == "forbidden"
        assert getattr(client, method)(path, json=body).status_code == 401
    db.session.expire_all()
    assert db.session.get(User, ids["operator"]).active is True
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == len(world.users)
    assert db.session.get(ApiToken, 1).revoked_at is None


def test_admin_lists_users_with_their_valid_tokens(client, world):
    answer = client.get("/api/v1/users", headers=world.tokens["admin"])
    assert answer.status_code == 200
    users = {row["username"]: row for row in answer.json["users"]}
    assert set(users) == set(world.users)
    assert users["head"] == {
        "id": world.users["head"].id,
        "username": "head",
        "full_name": "",
        "role": "head",
        "municipality_id": world.tula.id,
        "active": True,
        "last_login_at": None,
        "live_tokens": 1,
        "phone": None,
        "email": None,
        "notice_channels": {},
        "quiet_hours": {"from": "22:00", "until": "07:00"},
    }


def test_deactivation_refuses_the_users_token_and_session_until_reactivated(app, client, world):
    operator_id = world.users["operator"].id
    browser = app.test_client()
    login(browser, "operator")
    assert browser.get("/").status_code == 200
    answer = client.post(f"/api/v1/users/{operator_id}/deactivate", headers=world.tokens["admin"])
    assert answer.status_code == 200 and answer.json["active"] is False
    assert client.get("/api/v1/me", headers=world.tokens["operator"]).status_code == 401
    assert browser.get("/").location.startswith("/login")

    back = client.post(f"/api/v1/users/{operator_id}/reactivate", headers=world.tokens["admin"])
    assert back.status_code == 200 and back.json["active"] is True
    assert client.get("/api/v1/me", headers=world.tokens["operator"]).status_code == 200
    assert browser.get("/").location.startswith("/login")  # the old session stays ended


def test_an_admin_token_cannot_deactivate_its_own_user(client, world):
    admin_id = world.users["admin"].id
    answer = client.post(f"/api/v1/users/{admin_id}/deactivate", headers=world.tokens["admin"])
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "own_account"
    assert answer.json["error"]["field"] == "user_id"
    assert client.get("/api/v1/me", headers=world.tokens["admin"]).status_code == 200


def test_issued_token_works_is_listed_without_secret_and_revoking_refuses_it(client, world):
    manager_id = world.users["manager"].id
    admin = world.tokens["admin"]
    issued = client.post(
        f"/api/v1/users/{manager_id}/tokens", json={"name": "Табло", "days": 7}, headers=admin
    )
    assert issued.status_code == 201
    body = issued.json
    assert body["name"] == "Табло" and body["state"] == "live" and body["user_id"] == manager_id
    assert body["token"].startswith("hl_")
    me = client.get("/api/v1/me", headers=_bearer(body["token"]))
    assert me.status_code == 200 and me.json["username"] == "manager"

    listed = client.get(f"/api/v1/users/{manager_id}/tokens", headers=admin).json["tokens"]
    assert [row["id"] for row in listed][0] == body["id"] and len(listed) == 2
    assert all("token" not in row for row in listed)
    assert body["token"] not in str(listed)

    revoked = client.delete(f"/api/v1/tokens/{body['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert revoked.json["revoked_at"] is not None
    assert client.get("/api/v1/me", headers=_bearer(body["token"])).status_code == 401
    again = client.delete(f"/api/v1/tokens/{body['id']}", headers=admin)
    assert again.status_code == 200 and again.json["revoked_at"] == revoked.json["revoked_at"]


def test_a_token_without_days_lasts_the_default_and_expires(client, clock, world):
    issued = client.post(
        f"/api/v1/users/{world.users['manager'].id}/tokens", json={}, headers=world.tokens["admin"]
    )
    assert issued.status_code == 201 and issued.json["name"] == ""
    row = db.session.get(ApiToken, issued.json["id"])
    assert abs(row.expires_at - (utcnow() + timedelta(days=90))) < timedelta(minutes=1)
    db.session.rollback()
    clock.advance(days=90, seconds=1)
    assert client.get("/api/v1/me", headers=_bearer(issued.json["token"])).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"days": 0},
        {"days": -1},
        {"days": "abc"},
        {"days": 1.5},
        {"days": 10**12},
        {"days": True},
        {"name": "x" * 101},
        {"name": 5},
        {"secret": "mine"},
    ],
)
def test_bad_token_requests_name_the_field(client, world, body):
    answer = client.post(
        f"/api/v1/users/{world.users['manager'].id}/tokens",
        json=body,
        headers=world.tokens["admin"],
    )
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid"
    assert answer.json["error"]["field"] == next(iter(body))
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == len(world.users)


def test_unknown_users_and_tokens_are_404(client, world):
    admin = world.tokens["admin"]
    for method, path in [
        ("post", "/api/v1/users/999/deactivate"),
        ("post", "/api/v1/users/999/reactivate"),
        ("get", "/api/v1/users/999/tokens"),
        ("delete", "/api/v1/tokens/999"),
    ]:
        answer = getattr(client, method)(path, headers=admin)
        assert answer.status_code == 404, path
        assert answer.json["error"]["code"] == "not_found"
    missing = client.post("/api/v1/users/999/tokens", json={"days": 5}, headers=admin)
    assert missing.status_code == 404


def test_a_token_cannot_revoke_itself(client, world):
    own = db.session.scalar(
        db.select(ApiToken.id).where(ApiToken.user_id == world.users["admin"].id)
    )
    db.session.rollback()
    answer = client.delete(f"/api/v1/tokens/{own}", headers=world.tokens["admin"])
    assert answer.status_code == 422 and answer.json["error"]["code"] == "own_token"
    assert client.get("/api/v1/me", headers=world.tokens["admin"]).status_code == 200


def test_ids_beyond_the_database_range_are_json_404s_for_either_method(client, world):
    admin = world.tokens["admin"]
    huge = 2**31
    listing = client.get(f"/api/v1/users/{huge}/tokens", headers=admin)
    issuing = client.post(f"/api/v1/users/{huge}/tokens", json={"days": 5}, headers=admin)
    revoking = client.delete(f"/api/v1/tokens/{huge}", headers=admin)
    for answer in (listing, issuing, revoking):
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
