"""Cards through the JSON API: list, read, acknowledge and outcome, scoped like the cabinet."""

from tests.api.conftest import make_card, make_missed_cards
from tests.conftest import counted_statements


def test_list_and_read_cards_of_ones_own_municipality(client, world):
    card = make_card(world)
    other = make_card(world, world.shchekino, caller="+79160000000", sid="CA0002")
    own = client.get("/api/v1/cards", headers=world.tokens["head"]).json["cards"]
    assert [c["id"] for c in own] == [card.id]
    every = client.get("/api/v1/cards", headers=world.tokens["manager"]).json["cards"]
    assert {c["id"] for c in every} == {card.id, other.id}
    read = client.get(f"/api/v1/cards/{card.id}", headers=world.tokens["official"])
    assert read.status_code == 200 and "card.opened" in [e["verb"] for e in read.json["timeline"]]
    assert client.get(f"/api/v1/cards/{other.id}", headers=world.tokens["head"]).status_code == 404
    assert client.get("/api/v1/cards/99999999999", headers=world.tokens["admin"]).status_code == 404
    assert client.get("/api/v1/cards?state=lost", headers=world.tokens["admin"]).status_code == 400


def test_acknowledge_takes_the_card_once(client, world):
    card = make_card(world)
    url = f"/api/v1/cards/{card.id}/acknowledge"
    first = client.post(url, headers=world.tokens["head"])
    assert first.status_code == 200 and first.json["state"] == "acknowledged"
    stamp = first.json["acknowledged_at"]
    again = client.post(url, headers=world.tokens["official"])
    assert again.status_code == 200 and again.json["acknowledged_at"] == stamp
    assert client.post(url, headers=world.tokens["headb"]).status_code == 404
    assert client.post(url).status_code == 401


def test_outcome_resolves_the_appeal_and_closed_cards_refuse(client, world):
    card = make_card(world)
    url = f"/api/v1/cards/{card.id}/outcome"
    bad_code = client.post(
        url, json={"code": "magic", "text": "Сделано"}, headers=world.tokens["head"]
    )
    assert bad_code.status_code == 400 and bad_code.json["error"]["field"] == "code"
    formal = client.post(url, json={"text": "Принято к сведению"}, headers=world.tokens["head"])
    assert formal.status_code == 422 and formal.json["error"]["code"] == "formal_reply"
    done = client.post(
        url,
        json={"code": "fixed", "text": "Бригада засыпала яму"},
        headers={**world.tokens["head"], "Idempotency-Key": "outcome-1"},
    )
    assert done.status_code == 200 and done.json["appeal"]["status"] == "resolved"
    replay = client.post(
        url,
        json={"code": "fixed", "text": "Бригада засыпала яму"},
        headers={**world.tokens["head"], "Idempotency-Key": "outcome-1"},
    )
    assert replay.json == done.json and replay.headers["Idempotent-Replayed"] == "true"
    card.state = "closed"
    from core.extensions import db

    db.session.commit()
    closed = client.post(f"/api/v1/cards/{card.id}/acknowledge", headers=world.tokens["head"])
    assert closed.status_code == 409


def test_listing_cards_takes_as_many_queries_for_fifty_cards_as_for_five(client, world):
    def statements_for(count: int) -> int:
        make_missed_cards(world, count)
        client.get("/api/v1/cards", headers=world.tokens["manager"])  # the token's use is noted
        with counted_statements() as statements:
            cards = client.get("/api/v1/cards", headers=world.tokens["manager"]).json["cards"]
        assert len(cards) == count
        assert all(len(card["attempts"]) == 3 and card["callbacks"] for card in cards)
        return len(statements)

    assert statements_for(5) == statements_for(50)
