"""Input no one should send still gets an answer a person can act on, never a 500."""

from core.extensions import db
from tests.conftest import login
from tests.factories import make_category, make_municipality, make_user
from tests.hotline.conftest import twilio_post


def test_pages_refuse_out_of_range_dates_and_ids_without_a_500(app, client):
    alpha = make_municipality("alpha", "Альфинский район")
    make_category("roads")
    db.session.commit()
    make_user("mary", "manager")
    make_user("olga", "operator")
    make_user("hugo", "head", alpha)
    login(client, "mary")
    for query in ({"from": "0001-01-01"}, {"to": "9999-12-31"}):
        assert client.get("/reports/", query_string=query).status_code == 400
    assert client.get("/reports/ranking", query_string={"to": "9999-12-31"}).status_code == 400
    assert client.get("/reports/calls", query_string={"official": "9" * 20}).status_code == 200
    assert client.get("/reports/appeals", query_string={"category": "²"}).status_code == 404
    head = app.test_client()
    login(head, "hugo")
    assert head.get("/roster/alpha", query_string={"week": "9999-12-31"}).status_code == 200
    client = app.test_client()
    login(client, "olga")
    assert client.get("/console/responsible", query_string={"category": "²"}).status_code == 200
    search = client.get("/console/search", query_string={"until": "9999-12-31"})
    assert search.status_code == 200 and "2100" in search.text


def test_api_refuses_a_body_nested_deeper_than_the_parser_goes(app, client):
    from core.users import issue_token

    token = issue_token(make_user("mary", "manager"))
    db.session.commit()
    response = client.post(
        "/api/v1/appeals",
        data="[" * 100_000,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid"


def test_an_sms_reply_with_an_enormous_number_is_taken_without_a_500(client):
    make_municipality("alpha")
    db.session.commit()
    response = twilio_post(
        client, "/sms/incoming", From="+79000000101", Body="99999999999999999999 выполнено"
    )
    assert response.status_code == 200


def test_a_request_body_over_the_limit_is_refused(app, client):
    assert (
        client.post(
            "/login",
            data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 413
    )


def test_a_nul_character_in_a_form_is_a_400_not_a_database_error(client):
    from tests.conftest import csrf_token

    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "ol\x00ga", "password": "x" * 10, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 400
    assert client.get("/login", query_string={"next": "/\x00"}).status_code == 400


def test_an_id_beyond_the_database_range_in_a_path_is_not_found(app, client):
    make_user("olga", "operator")
    make_user("mary", "manager")
    login(client, "olga")
    manager = app.test_client()
    login(manager, "mary")
    huge = "9" * 20

    assert client.get(f"/console/calls/{huge}").status_code == 404
    assert client.get(f"/console/calls/{huge}/progress").status_code == 404
    assert manager.get(f"/cabinet/cards/{huge}").status_code == 404
    assert manager.get(f"/api/v1/cards/{huge}").status_code == 404
    assert client.get("/console/calls/2147483647").status_code == 404  # the largest id: looked up
