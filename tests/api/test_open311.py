"""Open311 GeoReport v2: discovery, services, requests in JSON and XML, keys, errors."""

import json
from datetime import timedelta
from pathlib import Path
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
