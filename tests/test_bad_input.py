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


def test_numbers_are_read_from_ascii_digits_within_the_column_range():
    from core.parsing import INT_MAX, parse_id, parse_int

    for text in ("²", "٣", "１", "+1", "-1", " 1", "1_0", "", None, str(INT_MAX + 1), "9" * 30):
        assert parse_int(text) is None, text
    assert parse_int("0") == 0 and parse_int(str(INT_MAX)) == INT_MAX
    assert parse_int("-5", minimum=-10) == -5 and parse_int("-", minimum=-10) is None
    assert parse_int("11", maximum=10) is None
    assert parse_id("0") is None and parse_id("7") == 7


def test_the_cabinet_refuses_a_category_filter_that_is_no_id(app, client):
    make_category("roads")
    make_user("mary", "manager")
    login(client, "mary")
    for value in ("9" * 20, "²", "-5", "roads"):
        answer = client.get("/cabinet/", query_string={"category": value})
        assert answer.status_code == 400, value
        assert "Фильтр по категории принимает номер категории" in answer.text
    assert client.get("/cabinet/", query_string={"category": ""}).status_code == 200


def test_api_answers_unknown_paths_wrong_methods_and_failures_in_its_error_format(
    app, client, monkeypatch
):
    from core.users import issue_token

    headers = {"Authorization": f"Bearer {issue_token(make_user('mary', 'manager'))}"}
    db.session.commit()
    for method, path, status, code in (
        ("get", "/api/v1/nothing-here", 404, "not_found"),
        ("get", "/api/v1/", 404, "not_found"),
        ("post", "/api/v1/me", 405, "method_not_allowed"),
        ("delete", "/api/v1/appeals", 405, "method_not_allowed"),
    ):
        answer = getattr(client, method)(path, headers=headers)
        assert answer.status_code == status and answer.is_json, path
        error = answer.json["error"]
        assert error["code"] == code and error["message"] and error["field"] is None
    # a 405 still says which methods the path takes (RFC 9110)
    assert "GET" in client.delete("/api/v1/appeals", headers=headers).headers["Allow"]
    assert client.get("/no-such-page").mimetype == "text/html"  # pages keep their error page

    def fail(*args):
        raise RuntimeError("the secret cause")

    monkeypatch.setattr("core.api.openapi.build_document", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 500 and answer.json["error"]["code"] == "internal_error"
    assert "secret" not in answer.text


def test_api_refuses_a_lone_surrogate_or_a_number_that_is_not_finite_naming_the_field(app, client):
    from core.users import issue_token

    make_municipality("alpha")
    headers = {
        "Authorization": f"Bearer {issue_token(make_user('olga', 'operator'))}",
        "Content-Type": "application/json",
    }
    db.session.commit()
    for body, field in (
        ('{"text": "яма \\ud800", "municipality": "alpha"}', "text"),
        ('{"text": "яма", "municipality": "alpha", "caller_name": "\\udfff"}', "caller_name"),
        ('{"text": "яма", "lat": NaN, "long": 37.6}', "lat"),
        ('{"text": "яма", "lat": 54.2, "long": 1e999}', "long"),
    ):
        answer = client.post("/api/v1/appeals", data=body, headers=headers)
        assert answer.status_code == 400 and answer.json["error"]["field"] == field
    from hotline.models import Appeal

    assert db.session.scalar(db.select(Appeal)) is None
