"""Open311 GeoReport v2: discovery, services, requests in JSON and XML, keys, errors."""

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import jsonschema_rs
import pytest

from core.clock import utcnow
from core.extensions import db
from hotline.models import Appeal
from hotline.open311.services import issue_key
from tests.api.conftest import make_card

SCHEMAS = json.loads((Path(__file__).with_name("open311_schemas.json")).read_text())
BASE = "/open311/v2"


def conforms(name: str, data) -> None:
    """Fail unless the data validates against the Open311 schema of that name."""
    jsonschema_rs.validator_for(SCHEMAS[name], validate_formats=True).validate(data)


@pytest.fixture
def api_key(world):
    key = issue_key("portal")
    db.session.commit()
    return key


def _post(client, api_key, fmt="json", **fields):
    data = {"api_key": api_key, "service_code": "roads", **fields}
    return client.post(
        f"{BASE}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None}
    )


def test_discovery_in_both_formats(client, world):
    answer = client.get(f"{BASE}/discovery.json")
    assert answer.status_code == 200
    conforms("discovery", answer.json)
    assert answer.json["endpoints"][0]["url"].endswith("/open311/v2")
    xml = ElementTree.fromstring(client.get(f"{BASE}/discovery.xml").data)
    assert xml.tag == "discovery" and xml.find("endpoints/endpoint/formats/format").text


def test_services_are_the_categories(client, world):
    services = client.get(f"{BASE}/services.json").json
    conforms("service_list", services)
    assert [s["service_code"] for s in services] == ["water", "roads"]
    assert services[0]["metadata"] is True
    xml = ElementTree.fromstring(client.get(f"{BASE}/services.xml").data)
    assert [node.findtext("service_code") for node in xml.findall("service")] == ["water", "roads"]
    assert xml.find("service/metadata").text == "true"


def test_service_definition_lists_the_extra_attributes(client, world):
    definition = client.get(f"{BASE}/services/water.json").json
    conforms("service_definition", definition)
    codes = {a["code"]: a for a in definition["attributes"]}
    assert codes["vulnerable"]["required"] is True
    assert {v["key"] for v in codes["vulnerable"]["values"]} == {"yes", "no"}
    xml = ElementTree.fromstring(client.get(f"{BASE}/services/water.xml").data)
    assert xml.tag == "service_definition"
    assert xml.find("attributes/attribute/values/value/key") is not None
    missing = client.get(f"{BASE}/services/nope.json")
    assert missing.status_code == 404
    conforms("error_list", missing.json)


def test_post_creates_an_appeal_where_the_address_points(client, world, api_key):
    answer = _post(
        client,
        api_key,
        address_string="Тульская область, г. Щёкино, ул. Лукашина, 5",
        description="Яма во дворе",
        first_name="Анна",
        last_name="Петрова",
        phone="8 916 123-45-67",
        email="anna@example.org",
        **{"attribute[size]": "large"},
    )
    assert answer.status_code == 201
    conforms("post_response", answer.json)
    number = answer.json[0]["service_request_id"]
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == number))
    assert appeal.channel == "open311" and appeal.status == "in_work"
    assert appeal.municipality.code == "shchekinsky"
    assert appeal.caller_number == "+79161234567" and appeal.caller_name == "Анна Петрова"
    assert appeal.text == "Яма во дворе\nРазмер повреждения: больше 1 м"
    assert appeal.resolution_due_at - appeal.created_at == timedelta(days=30)


def test_post_by_point_and_in_xml(client, world, api_key):
    answer = _post(
        client,
        api_key,
        "xml",
        lat="54.19",
        long="37.62",
        service_code="water",
        **{"attribute[vulnerable]": "no"},
    )
    assert answer.status_code == 201
    xml = ElementTree.fromstring(answer.data)
    number = xml.findtext("request/service_request_id")
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == number))
    assert appeal.municipality.code == "tula" and appeal.urgency == "emergency"


def test_post_errors_follow_the_spec(client, world, api_key):
    cases = [
        ({"api_key": None}, 400, "api_key"),
        ({"api_key": "o311_wrong"}, 403, "api_key"),
        ({"service_code": None, "lat": "54.2", "long": "37.6"}, 400, "service_code"),
        ({"service_code": "nope", "lat": "54.2", "long": "37.6"}, 400, "service_code"),
        ({}, 400, "location"),
        ({"lat": "54.2"}, 400, "lat and long"),
        ({"lat": "north", "long": "37.6"}, 400, "lat"),
        ({"address_string": "Москва, Тверская, 1"}, 400, "not in any municipality"),
        ({"lat": "55.75", "long": "37.62"}, 400, "not in any municipality"),
        ({"service_code": "water", "lat": "54.2", "long": "37.6"}, 400, "attribute[vulnerable]"),
        ({"lat": "54.2", "long": "37.6", "attribute[size]": "huge"}, 400, "attribute[size]"),
        ({"lat": "54.2", "long": "37.6", "phone": "12"}, 400, "phone"),
        ({"lat": "54.2", "long": "37.6", "description": "x" * 4001}, 400, "description"),
    ]
    for fields, status, words in cases:
        data = {"api_key": api_key, "service_code": "roads", **fields}
        answer = client.post(
            f"{BASE}/requests.json", data={k: v for k, v in data.items() if v is not None}
        )
        assert answer.status_code == status, (fields, answer.json)
        conforms("error_list", answer.json)
        assert answer.json[0]["code"] == status and words in answer.json[0]["description"]
    xml = client.post(f"{BASE}/requests.xml", data={"service_code": "roads"})
    assert xml.status_code == 400
    assert ElementTree.fromstring(xml.data).findtext("error/code") == "400"
    assert db.session.scalar(db.select(db.func.count(Appeal.id))) == 0


def test_get_requests_with_the_standard_filters(client, world, api_key):
    road = _post(client, api_key, address_string="г. Тула, ул. Ленина, 1").json[0][
        "service_request_id"
    ]
    water = _post(
        client,
        api_key,
        service_code="water",
        lat="54.0",
        long="37.52",
        **{"attribute[vulnerable]": "yes"},
    ).json[0]["service_request_id"]
    make_card(world)  # a phone appeal is not an Open311 request
    every = client.get(f"{BASE}/requests.json")
    conforms("request_list", every.json)
    assert [r["service_request_id"] for r in every.json] == [water, road]
    first = every.json[1]
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == road))
    assert first["status"] == "open" and first["agency_responsible"] == "Город Тула"
    local = appeal.resolution_due_at.astimezone(ZoneInfo("Europe/Moscow")).replace(microsecond=0)
    assert first["expected_datetime"] == local.isoformat()
    assert "caller" not in json.dumps(first) and first["service_code"] == "roads"
    by_code = client.get(f"{BASE}/requests.json?service_code=water").json
    assert [r["service_request_id"] for r in by_code] == [water]
    by_ids = client.get(
        f"{BASE}/requests.json?service_request_id={road},{water}&status=closed"
    ).json
    assert len(by_ids) == 2
    appeal.status = "closed"
    db.session.commit()
    closed = client.get(f"{BASE}/requests.json?status=closed").json
    assert [r["service_request_id"] for r in closed] == [road]
    open_ = client.get(f"{BASE}/requests.json?status=open").json
    assert [r["service_request_id"] for r in open_] == [water]
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(f"{BASE}/requests.json?start_date={tomorrow}").json == []
    xml = ElementTree.fromstring(client.get(f"{BASE}/requests.xml").data)
    assert xml.tag == "service_requests" and len(xml.findall("request")) == 2
    for bad in (
        "start_date=yesterday",
        "status=pending",
        "start_date=2020-01-01T00:00:00Z&end_date=2021-01-01T00:00:00Z",
    ):
        answer = client.get(f"{BASE}/requests.json?{bad}")
        assert answer.status_code == 400, bad
        conforms("error_list", answer.json)


def test_get_one_request(client, world, api_key):
    number = _post(client, api_key, address_string="г. Тула").json[0]["service_request_id"]
    one = client.get(f"{BASE}/requests/{number}.json")
    assert one.status_code == 200 and len(one.json) == 1
    conforms("request_list", one.json)
    xml = ElementTree.fromstring(client.get(f"{BASE}/requests/{number}.xml").data)
    assert xml.findtext("request/service_request_id") == number
    phone = make_card(world).appeal.number
    assert client.get(f"{BASE}/requests/{phone}.json").status_code == 404
    assert client.get(f"{BASE}/requests/{number}.csv").status_code == 404


def test_keys_come_from_the_command_line_and_are_stored_hashed(runner, world):
    result = runner.invoke(args=["open311", "key", "social-monitoring"])
    assert result.exit_code == 0
    key = result.output.strip()
    assert key.startswith("o311_")
    from hotline.open311.models import Open311Key

    row = db.session.scalar(db.select(Open311Key).where(Open311Key.name == "social-monitoring"))
    assert row.key_hash != key and len(row.key_hash) == 64
    assert runner.invoke(args=["open311", "key", "social-monitoring"]).exit_code != 0
    assert runner.invoke(args=["open311", "revoke", "social-monitoring"]).exit_code == 0
    assert runner.invoke(args=["open311", "key", "social-monitoring"]).exit_code == 0


#: Text clients send: (text, whether Open311 must refuse it whatever the field's length).
NASTY_TEXTS = [
    ("tabs\tand\nline feeds\r\nare text", False),
    ("\x01\x02\x0b", True),
    ("a bell \x07 and an escape \x1b[31m", True),
    ("NUL \x00 inside", True),
    ("DEL \x7f and C1 \x85\x9f", True),
    ("non-characters \ufffe\uffff", True),
    (
        "a lone \ud800 surrogate",
        None,
    ),  # the form's encoding cannot carry it: read as the server can
    ("closes a CDATA ]]> early", False),
    ("<script>alert('x')</script>", False),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>&e; &amp; &#1; &lt;', False),
    ("Ёлка 🎄, ‮right-to-left‬, zero\u200bwidth, combining é, ﷽", False),
    ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " * 37, False),  # astral characters, 296 of them
    ("я" * 4000, False),
    ("я" * 4001, True),
    ("x" * 100_000, True),
]
_LIMITS = {"description": 4000, "address_string": 300}


def _post_raw(client, fmt: str, fields: dict):
    """POST the fields form-encoded as a client would, lone surrogates as their UTF-8 bytes."""
    body = urlencode(fields, encoding="utf-8", errors="surrogatepass")
    return client.post(
        f"{BASE}/requests.{fmt}", data=body, content_type="application/x-www-form-urlencoded"
    )


@pytest.mark.parametrize("field", ["description", "address_string"])
@pytest.mark.parametrize("text,refused", NASTY_TEXTS)
def test_nasty_text_is_refused_or_comes_back_unchanged_in_xml_that_parses(
    client, world, api_key, field, text, refused
):
    fields = {"api_key": api_key, "service_code": "roads", "lat": "54.19", "long": "37.62"}
    answer = _post_raw(client, "json", {**fields, field: text})
    if refused is not False or len(text) > _LIMITS[field]:
        assert refused is None or answer.status_code == 400, answer.json
    if answer.status_code == 400:
        conforms("error_list", answer.json)
        assert field in answer.json[0]["description"]
        assert db.session.scalar(db.select(Appeal)) is None
        return
    assert answer.status_code == 201, answer.json
    number = answer.json[0]["service_request_id"]
    stored = db.session.scalar(db.select(Appeal).where(Appeal.number == number))
    accepted = stored.text if field == "description" else stored.address
    if refused is False:
        assert accepted == text.strip()
    listing = ElementTree.fromstring(client.get(f"{BASE}/requests.xml").data)  # strict: expat
    one = ElementTree.fromstring(client.get(f"{BASE}/requests/{number}.xml").data)
    element = "description" if field == "description" else "address"
    assert listing.findtext(f"request/{element}") == accepted
    assert one.findtext(f"request/{element}") == accepted
    assert client.get(f"{BASE}/requests.json").json[0][element] == accepted
    conforms("request_list", client.get(f"{BASE}/requests.json").json)


def test_refused_control_characters_are_named_in_every_text_field(client, world, api_key):
    fields = {"lat": "54.19", "long": "37.62"}
    for name in ("first_name", "last_name", "email", "device_id", "account_id", "address_id"):
        answer = _post(client, api_key, **{**fields, name: "ok\x01"})
        assert answer.status_code == 400 and name in answer.json[0]["description"], name
    size = _post(client, api_key, **{**fields, "attribute[size]": "small\x0b"})
    assert size.status_code == 400 and "attribute[size]" in size.json[0]["description"]
    assert db.session.scalar(db.select(Appeal)) is None


def test_xml_writer_replaces_what_xml_cannot_carry_in_text_stored_earlier(client, world, api_key):
    number = _post(client, api_key, lat="54.19", long="37.62").json[0]["service_request_id"]
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == number))
    # (PostgreSQL cannot store NUL at all; the other control characters it stores as given)
    appeal.text, appeal.address = "яма\x01\x02\x0bглубокая\ufffe", "ул. Ленина,\x1f 1"
    db.session.commit()
    xml = ElementTree.fromstring(client.get(f"{BASE}/requests.xml").data)
    assert xml.findtext("request/description") == "яма\ufffd\ufffd\ufffdглубокая\ufffd"
    assert xml.findtext("request/address") == "ул. Ленина,\ufffd 1"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.org/photo.jpg",
        "//example.org/photo.jpg",
        "/photos/1.jpg",
        "http://",
        "https:///photo.jpg",
        "http://[::1/photo.jpg",
        "http://exa mple.org/photo.jpg",
        "https://example.org/\nphoto.jpg",
    ],
)
def test_media_url_other_than_http_with_a_host_is_refused(client, world, api_key, url):
    answer = _post(client, api_key, lat="54.19", long="37.62", media_url=url)
    assert answer.status_code == 400, url
    assert "media_url" in answer.json[0]["description"]
    assert db.session.scalar(db.select(Appeal)) is None


def test_http_media_urls_are_kept(client, world, api_key):
    for url in ("https://example.org/photo.jpg", "HTTP://Example.org:8080/a.jpg?size=large&x=1"):
        answer = _post(client, api_key, lat="54.19", long="37.62", media_url=url)
        assert answer.status_code == 201, answer.json
    xml = ElementTree.fromstring(client.get(f"{BASE}/requests.xml").data)
    assert [node.findtext("media_url") for node in xml.findall("request")] == [
        "HTTP://Example.org:8080/a.jpg?size=large&x=1",
        "https://example.org/photo.jpg",
    ]
