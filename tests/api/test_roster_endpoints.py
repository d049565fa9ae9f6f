"""Categories, and the roster endpoints refusing times they cannot hold."""


def test_categories_in_menu_order(client, world):
    answer = client.get("/api/v1/categories", headers=world.tokens["head"])
    assert answer.status_code == 200
    assert [c["code"] for c in answer.json["categories"]] == ["water", "roads"]
    assert answer.json["categories"][0]["callback_minutes"] == 60


def test_times_out_of_range_are_refused_not_crashed(client, world):
    for at in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59", "1999-01-01T00:00:00Z"):
        answer = client.get(
            "/api/v1/municipalities/tula/on-duty",
            query_string={"at": at},
            headers=world.tokens["admin"],
        )
        assert answer.status_code == 400, at
    shifts = client.get(
        "/api/v1/shifts",
        query_string={"municipality": "tula", "from": "9999-12-31T00:00:00Z"},
        headers=world.tokens["admin"],
    )
    assert shifts.status_code == 400
    huge = client.post(
        "/api/v1/shifts",
        json={"municipality": "tula", "official_id": 2**40},
        headers=world.tokens["admin"],
    )
    assert huge.status_code == 400 and huge.json["error"]["field"] == "official_id"
