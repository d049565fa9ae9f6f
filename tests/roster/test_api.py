"""The roster's JSON API: municipalities, who is on duty, shifts; scoped by role."""

from datetime import UTC, date, datetime, time

import pytest

from core.extensions import db
from core.users import issue_token
from roster.models import DutyShift
from roster.services import general_roster, save_rotation
from tests.factories import make_category, make_municipality, make_trio, make_user

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr("core.clock.now_source", lambda: NOW)
    alpha = make_municipality("alpha", duty_number="+74872700101")
    beta = make_municipality("beta")
    trio = make_trio(alpha)
    roster = general_roster(alpha)
    save_rotation(roster, "primary", [trio[0].id], time(9), 1, date(2026, 3, 1), now=NOW)
    save_rotation(roster, "supervisor", [trio[2].id], time(9), 7, date(2026, 3, 2), now=NOW)
    make_category("roads")
    db.session.commit()
    tokens = {}
    for name, role, place in (
        ("admin", "admin", None),
        ("head", "head", alpha),
        ("headb", "head", beta),
        ("op", "operator", None),
    ):
        tokens[name] = {"Authorization": f"Bearer {issue_token(make_user(name, role, place))}"}
    db.session.commit()
    return alpha, beta, trio, tokens


def test_municipalities_are_scoped_by_role(client, world):
    *_, tokens = world
    everything = client.get("/api/v1/municipalities", headers=tokens["op"]).json
    assert [m["code"] for m in everything["municipalities"]] == ["alpha", "beta"]
    assert everything["municipalities"][0] == {
        "code": "alpha",
        "name": "Район alpha",
        "timezone": "Europe/Moscow",
        "duty_number": "+74872700101",
    }
    own = client.get("/api/v1/municipalities", headers=tokens["head"]).json
    assert [m["code"] for m in own["municipalities"]] == ["alpha"]
    assert client.get("/api/v1/municipalities").status_code == 401


def test_on_duty_answers_the_three_slots(client, world):
    _, _, trio, tokens = world
    answer = client.get(
        "/api/v1/municipalities/alpha/on-duty?at=2026-03-18T12:00:00Z&category=roads",
        headers=tokens["op"],
    )
    assert answer.status_code == 200
    body = answer.json
    assert body["primary"]["full_name"] == trio[0].full_name
    assert body["primary"]["phone"] == trio[0].phone
    assert body["backup"] is None
    assert body["supervisor"]["official_id"] == trio[2].id
    assert body["at"] == "2026-03-18T12:00:00+00:00"
    # the handoff at 09:00 Moscow, given as a local time without offset
    before = client.get(
        "/api/v1/municipalities/alpha/on-duty?at=2026-03-01T08:59", headers=tokens["op"]
    ).json
    assert before["primary"] is None


def test_on_duty_errors_are_clear(client, world):
    *_, tokens = world
    bad_time = client.get("/api/v1/municipalities/alpha/on-duty?at=yesterday", headers=tokens["op"])
    assert bad_time.status_code == 400 and bad_time.json["error"]["field"] == "at"
    bad_category = client.get(
        "/api/v1/municipalities/alpha/on-duty?category=nope", headers=tokens["op"]
    )
    assert bad_category.status_code == 400 and bad_category.json["error"]["field"] == "category"
    assert client.get("/api/v1/municipalities/zzz/on-duty", headers=tokens["op"]).status_code == 404
    other = client.get("/api/v1/municipalities/alpha/on-duty", headers=tokens["headb"])
    assert other.status_code == 403


def test_shifts_list_and_create(client, world):
    alpha, _, trio, tokens = world
    listed = client.get("/api/v1/shifts", headers=tokens["head"]).json["shifts"]
    assert listed and {s["municipality"] for s in listed} == {"alpha"}
    assert (
        client.get("/api/v1/shifts?municipality=alpha", headers=tokens["headb"]).status_code == 403
    )
    assert client.get("/api/v1/shifts", headers=tokens["op"]).status_code == 400
    payload = {
        "municipality": "alpha",
        "role": "backup",
        "official_id": trio[1].id,
        "starts_at": "2026-03-19T09:00:00+03:00",
        "ends_at": "2026-03-19T18:00:00+03:00",
        "note": "учения",
    }
    assert client.post("/api/v1/shifts", json=payload, headers=tokens["head"]).status_code == 403
    created = client.post("/api/v1/shifts", json=payload, headers=tokens["admin"])
    assert created.status_code == 201
    assert (
        created.json["kind"] == "override"
        and created.json["starts_at"] == "2026-03-19T06:00:00+00:00"
    )
    refused = client.post(
        "/api/v1/shifts",
        json={**payload, "ends_at": "2026-03-19T08:00:00+03:00"},
        headers=tokens["admin"],
    )
    assert refused.status_code == 422 and refused.json["error"]["field"] == "ends_at"
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(DutyShift).where(DutyShift.kind == "override")
        )
        == 1
    )
    answer = client.get(
        "/api/v1/municipalities/alpha/on-duty?at=2026-03-19T07:00:00Z", headers=tokens["head"]
    ).json
    assert answer["backup"]["official_id"] == trio[1].id
