"""The `georeport` client from PyPI against the app on 127.0.0.1: services, requests read back."""

import pytest
import requests
from georeport import GeoReport

from core.extensions import db
from hotline.open311.services import issue_key
from tests.api.test_open311 import conforms


@pytest.fixture
def root(world, server):
    """The app in a thread on 127.0.0.1; the Open311 root URL."""
    return f"{server}/open311/v2"


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_georeport_lists_services_and_reads_back_posted_requests(root, output_format):
    key = issue_key("georeport")
    db.session.commit()
    client = GeoReport(root, api_key=key, output_format=output_format)
    services = client.get_service_list()
    codes = [service["service_code"] for service in services]
    assert codes == ["water", "roads"]
    if output_format == "json":
        conforms("service_list", services)
    definition = client.get_service_definition("water")
    assert "attributes" in definition
    posted = []
    for fields in (
        {"service_code": "roads", "address_string": "г. Тула, ул. Ленина, 1", "description": "Яма"},
        {"service_code": "water", "lat": "54.0", "long": "37.52", "attribute[vulnerable]": "yes"},
    ):
        answer = requests.post(f"{root}/requests.json", data={"api_key": key, **fields}, timeout=10)
        assert answer.status_code == 201, answer.text
        posted.append(answer.json()[0]["service_request_id"])
    listed = client.get_service_requests()
    assert [item["service_request_id"] for item in listed] == posted[::-1]
    one = client.get_service_request(posted[0])
    assert one["service_request_id"] == posted[0] and one["status"] == "open"
    assert one["agency_responsible"] == "Город Тула"
    by_code = client.get_service_requests(service_code="water", status="open")
    if output_format == "json":
        conforms("request_list", listed)
        assert [item["service_request_id"] for item in by_code] == [posted[1]]
    else:  # xmltodict gives one element as a dict, several as a list
        assert by_code["service_request_id"] == posted[1]
        assert by_code["agency_responsible"] == "Щёкинский район"
