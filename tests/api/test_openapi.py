"""The OpenAPI document is built from the code and lists every /api/v1 route."""

import re

from core.api import api, build_document
from core.api.openapi import _readable
from tests.conftest import csrf_token


def _document_paths(client) -> set[tuple[str, str]]:
    document = client.get("/api/v1/openapi.json").json
    return {(path, method) for path, ops in document["paths"].items() for method in ops}


def test_every_api_rule_is_in_the_document_and_declared(app, client):
    listed = _document_paths(client)
    document = client.get("/api/v1/openapi.json").json
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    assert len(rules) >= 15
    for rule in rules:
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in listed, rule.rule
            operation = document["paths"][path][method.lower()]
            assert "x-undeclared" not in operation, f"{rule.endpoint} lacks @operation"
            assert operation["summary"] and operation["responses"]


def test_document_is_openapi_3_1_with_errors_and_security(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    create = document["paths"]["/api/v1/appeals"]["post"]
    assert set(create["responses"]) >= {"201", "400", "401", "403", "409", "422"}
    assert create["requestBody"]["content"]["application/json"]["schema"]["required"] == ["text"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    listing = document["paths"]["/api/v1/appeals"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"cursor", "limit", "channel", "status"}
    card = document["paths"]["/api/v1/cards/{card_id}"]["get"]
    assert card["parameters"][0]["schema"]["type"] == "integer"
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_docs_page_lists_every_operation(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    for path, _method in _document_paths(client):
        assert path in page.text
    assert "Зарегистрировать обращение" in page.text


def test_the_docs_page_reads_in_russian_and_in_english_after_the_switch(app, client):
    page = client.get("/api/v1/docs").text
    assert "<h1>API горячей линии" in page and "Ответы" in page and "Тело запроса (JSON)" in page
    assert "Роли: operator, official, head, manager, admin." in page
    assert "Register an appeal" not in page and "Responses" not in page
    token = csrf_token(client.get("/login").text)
    client.post("/language/en", data={"csrf_token": token, "next": "/api/v1/docs"})
    english = client.get("/api/v1/docs").text
    assert "<h1>Hotline API" in english and "Register an appeal" in english
    assert "Roles: operator, official, head, manager, admin." in english
    assert client.get("/api/v1/openapi.json").json["info"]["title"] == "Hotline API"


def test_every_text_of_the_docs_page_has_a_russian_translation(app):
    document = build_document(app)
    with app.test_request_context("/api/v1/docs"):
        readable = _readable(document)
    untranslated = [] if readable["info"]["title"] != document["info"]["title"] else ["title"]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            shown = readable["paths"][path][method]
            english = [op["summary"], *op["description"].split("\n\n")]
            english += [p["description"] for p in op["parameters"]]
            english += [answer["description"] for answer in op["responses"].values()]
            russian = [shown["summary"], *shown["description"]]
            russian += [p["description"] for p in shown["parameters"]]
            russian += [answer["description"] for answer in shown["responses"].values()]
            untranslated += [
                f"{method} {path}: {text}"
                for text, said in zip(english, russian, strict=True)
                if text and text == said
            ]
    assert untranslated == []


def test_errors_have_one_format(client, world):
    missing = client.get("/api/v1/appeals")
    assert missing.status_code == 401
    assert missing.json == {
        "error": {
            "code": "unauthorized",
            "message": "a valid bearer token is required",
            "field": None,
        }
    }
    nowhere = client.get("/api/v1/no-such-thing", headers=world.tokens["admin"])
    assert nowhere.status_code == 404 and set(nowhere.json["error"]) == {"code", "message", "field"}


def test_blueprint_prefix_is_the_documented_one():
    assert api.url_prefix == "/api/v1"
