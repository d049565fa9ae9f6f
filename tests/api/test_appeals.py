"""Appeals through the JSON API: create, idempotency, scoping, cursor pages, timeline, status."""

from datetime import timedelta

from callbacks.models import AppealTracking
from core.clock import utcnow
from core.extensions import db
from core.retention import purge_expired
from hotline.models import Appeal
from tests.api.conftest import make_card, make_missed_cards
from tests.conftest import counted_statements

ROAD = {"text": "Яма у дома", "category": "roads", "municipality": "tula"}


def _create(client, world, body=None, who="operator", key=None):
    headers = dict(world.tokens[who])
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/appeals", json=body or ROAD, headers=headers)


def test_create_registers_an_appeal_in_work_with_deadlines_and_the_duty(client, world):
    answer = _create(
        client, world, {**ROAD, "caller_number": "+79161234567", "address": "ул. Ленина, 1"}
    )
    assert answer.status_code == 201
    body = answer.json
    assert answer.headers["Location"] == f"/api/v1/appeals/{body['number']}"
    assert body["channel"] == "api" and body["status"] == "in_work"
    assert body["municipality"] == "tula" and body["category"] == "roads"
    assert body["assignee"]["full_name"] == "Первов Пётр"
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == body["number"]))
    assert appeal.resolution_due_at - appeal.created_at == timedelta(days=30)
    assert appeal.callback_due_at - appeal.created_at == timedelta(minutes=480)
    assert appeal.created_by_id == world.users["operator"].id


def test_web_channel_and_municipality_from_the_address_or_the_point(client, world):
    by_address = _create(
        client,
        world,
        {
            "text": "Нет воды",
            "category": "water",
            "address": "Тульская обл., г. Щёкино, ул. Ленина",
            "channel": "web",
        },
    )
    assert by_address.status_code == 201
    assert by_address.json["municipality"] == "shchekinsky"
    assert by_address.json["channel"] == "web" and by_address.json["urgency"] == "emergency"
    by_point = _create(client, world, {"text": "Нет воды", "lat": 54.2, "long": 37.6})
    assert by_point.json["municipality"] == "tula"
    nowhere = _create(client, world, {"text": "Нет воды", "lat": 55.75, "long": 37.62})
    assert nowhere.status_code == 422
    assert nowhere.json["error"]["field"] == "municipality"


def test_create_refuses_bad_input_with_the_field(client, world):
    cases = [
        ({"category": "roads"}, 400, "text"),
        ({**ROAD, "text": "   "}, 400, "text"),
        ({**ROAD, "colour": "red"}, 400, "colour"),
        ({**ROAD, "caller_number": "8-916"}, 400, "caller_number"),
        ({**ROAD, "channel": "phone"}, 400, "channel"),
        ({**ROAD, "lat": 91}, 400, "lat"),
        ({**ROAD, "category": "nope"}, 422, "category"),
        ({**ROAD, "municipality": "nope"}, 422, "municipality"),
    ]
    for body, status, field in cases:
        answer = _create(client, world, body)
        assert answer.status_code == status, (body, answer.json)
        assert answer.json["error"]["field"] == field
    not_json = client.post("/api/v1/appeals", data="text=1", headers=world.tokens["operator"])
    assert not_json.status_code == 400
    assert client.post("/api/v1/appeals", json=ROAD).status_code == 401


def test_a_head_files_only_in_his_municipality(client, world):
    assert _create(client, world, who="head").status_code == 201
    other = _create(client, world, {**ROAD, "municipality": "shchekinsky"}, who="head")
    assert other.status_code == 403


def test_same_key_and_body_replays_the_first_answer(client, world):
    first = _create(client, world, key="k-1")
    again = _create(client, world, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(db.select(db.func.count(Appeal.id))) == 1
    other_body = _create(client, world, {**ROAD, "text": "Другое"}, key="k-1")
    assert other_body.status_code == 409
    assert other_body.json["error"]["code"] == "idempotency_key_reused"
    other_user = _create(client, world, who="manager", key="k-1")
    assert other_user.status_code == 201 and other_user.json["number"] != first.json["number"]
    assert db.session.scalar(db.select(db.func.count(Appeal.id))) == 2


def test_a_refused_request_does_not_use_up_its_key(client, world):
    refused = _create(client, world, {**ROAD, "category": "nope"}, key="k-2")
    assert refused.status_code == 422
    fixed = _create(client, world, {**ROAD, "category": "nope"}, key="k-2")
    assert fixed.status_code == 422
    assert _create(client, world, key="k-3").status_code == 201
    too_long = _create(client, world, key="x" * 201)
    assert too_long.status_code == 400


def test_a_key_is_forgotten_by_the_purge_after_24_hours(client, world):
    first = _create(client, world, key="k-day")
    assert first.status_code == 201
    sent = utcnow()
    assert purge_expired(sent + timedelta(hours=23))["idempotency keys"] == 0
    db.session.commit()
    assert _create(client, world, key="k-day").headers["Idempotent-Replayed"] == "true"
    assert purge_expired(sent + timedelta(hours=25))["idempotency keys"] == 1
    db.session.commit()
    again = _create(client, world, key="k-day")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json["number"] != first.json["number"]


def test_listing_is_scoped_and_filtered(client, world):
    _create(client, world)
    _create(client, world, {"text": "Нет воды", "category": "water", "municipality": "shchekinsky"})
    make_card(world)  # a missed phone call in Tula
    every = client.get("/api/v1/appeals", headers=world.tokens["manager"]).json["appeals"]
    assert len(every) == 3
    own = client.get("/api/v1/appeals", headers=world.tokens["head"]).json["appeals"]
    assert {a["municipality"] for a in own} == {"tula"} and len(own) == 2
    theirs = client.get("/api/v1/appeals?municipality=tula", headers=world.tokens["headb"])
    assert theirs.status_code == 403
    phone = client.get("/api/v1/appeals?channel=phone", headers=world.tokens["manager"]).json
    assert [a["channel"] for a in phone["appeals"]] == ["phone"]
    missed = client.get("/api/v1/appeals?status=missed", headers=world.tokens["manager"]).json
    assert len(missed["appeals"]) == 1
    water = client.get("/api/v1/appeals?category=water", headers=world.tokens["manager"]).json
    assert [a["municipality"] for a in water["appeals"]] == ["shchekinsky"]
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    none = client.get(
        "/api/v1/appeals", query_string={"created_after": later}, headers=world.tokens["manager"]
    )
    assert none.json["appeals"] == []
    for bad in (
        "status=lost",
        "status=",
        "limit=",
        "created_after=",
        "limit=0",
        "limit=x",
        "created_after=yesterday",
        "cursor=%%%",
        "category=nope",
    ):
        assert (
            client.get(f"/api/v1/appeals?{bad}", headers=world.tokens["manager"]).status_code == 400
        )


def test_cursor_pages_stay_stable_while_appeals_arrive(client, world):
    for index in range(7):
        _create(client, world, {**ROAD, "text": f"Яма {index}"})
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            "/api/v1/appeals", query_string=query, headers=world.tokens["operator"]
        ).json
        seen += [a["number"] for a in page["appeals"]]
        pages += 1
        if pages == 1:  # new appeals arrive while the client pages
            for index in range(4):
                _create(client, world, {**ROAD, "text": f"Новая {index}"})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_reading_an_appeal_shows_its_timeline_and_hides_other_municipalities(client, world):
    number = _create(client, world).json["number"]
    answer = client.get(f"/api/v1/appeals/{number}", headers=world.tokens["head"])
    assert answer.status_code == 200
    verbs = [event["verb"] for event in answer.json["timeline"]]
    assert verbs[:2] == ["appeal.registered", "appeal.submitted"]
    assert client.get(f"/api/v1/appeals/{number}", headers=world.tokens["headb"]).status_code == 404
    assert client.get("/api/v1/appeals/26-999999", headers=world.tokens["admin"]).status_code == 404
    card = make_card(world)
    phone = client.get(f"/api/v1/appeals/{card.appeal.number}", headers=world.tokens["head"]).json
    assert phone["call_sid"] == "CA0001"
    assert "card.opened" not in [e["verb"] for e in phone["timeline"]]


def test_status_update_resolves_with_an_outcome_and_asks_the_citizen(client, world):
    number = _create(client, world, {**ROAD, "caller_number": "+79161234567"}).json["number"]
    url = f"/api/v1/appeals/{number}/status"
    formal = client.post(
        url,
        json={"status": "resolved", "text": "Рассмотрено в установленном порядке"},
        headers=world.tokens["head"],
    )
    assert formal.status_code == 422 and formal.json["error"]["code"] == "formal_reply"
    empty = client.post(
        url, json={"status": "resolved", "code": "fixed"}, headers=world.tokens["head"]
    )
    assert empty.status_code == 422 and empty.json["error"]["field"] == "text"
    done = client.post(
        url,
        json={"status": "resolved", "code": "fixed", "text": "Яму заделали"},
        headers=world.tokens["head"],
    )
    assert done.status_code == 200 and done.json["status"] == "resolved"
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == number))
    tracking = db.session.get(AppealTracking, appeal.id)
    assert tracking.confirmation == "asked" and tracking.resolution_code == "fixed"
    back = client.post(
        url,
        json={"status": "in_work", "text": "Житель пишет, что не сделано"},
        headers=world.tokens["head"],
    )
    assert back.status_code == 200 and back.json["status"] == "in_work"
    again = client.post(url, json={"status": "in_work"}, headers=world.tokens["head"])
    assert again.status_code == 409


def test_only_managers_close_and_a_closed_appeal_stays_closed(client, world):
    number = _create(client, world).json["number"]
    url = f"/api/v1/appeals/{number}/status"
    by_head = client.post(
        url, json={"status": "closed", "text": "Дубликат"}, headers=world.tokens["head"]
    )
    assert by_head.status_code == 403
    no_reason = client.post(url, json={"status": "closed"}, headers=world.tokens["manager"])
    assert no_reason.status_code == 422
    closed = client.post(
        url,
        json={"status": "closed", "text": "Дубликат 26-000001"},
        headers=world.tokens["manager"],
    )
    assert closed.status_code == 200 and closed.json["closed_at"]
    for body in ({"status": "in_work"}, {"status": "resolved", "code": "fixed", "text": "Сделано"}):
        assert client.post(url, json=body, headers=world.tokens["manager"]).status_code == 409
    assert (
        client.post(url, json={"status": "lost"}, headers=world.tokens["manager"]).status_code
        == 400
    )
    other = client.post(url, json={"status": "in_work"}, headers=world.tokens["headb"])
    assert other.status_code == 404


def test_listing_appeals_takes_as_many_queries_for_fifty_as_for_five(client, world):
    def statements_for(count: int) -> int:
        make_missed_cards(world, count)
        client.get("/api/v1/appeals", headers=world.tokens["manager"])  # the token's use is noted
        with counted_statements() as statements:
            appeals = client.get("/api/v1/appeals", headers=world.tokens["manager"]).json["appeals"]
        assert len(appeals) == count
        assert all(a["call_sid"] and a["assignee"] and a["category"] for a in appeals)
        return len(statements)

    assert statements_for(5) == statements_for(50)
