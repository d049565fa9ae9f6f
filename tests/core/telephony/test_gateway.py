"""The gateways: Twilio's REST requests (recorded, never sent) and the simulated one."""

import json
import logging

import pytest
from sqlalchemy import func, select
from twilio.http import HttpClient
from twilio.http.response import Response

from core.extensions import db
from core.models import OutboundMessage
from core.telephony import get_gateway
from core.telephony.sim_gateway import SimGateway
from core.telephony.twilio_gateway import TwilioGateway

ACCOUNT = "AC" + "1" * 32
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}"
CALL_SID = "CA" + "a" * 32


class RecordingHttpClient(HttpClient):
    """Records every request Twilio's client makes and answers with canned JSON."""

    def __init__(self, status: int = 201, body: dict | None = None) -> None:
        super().__init__(logging.getLogger("recording"), is_async=False)
        self.requests: list[dict] = []
        self.status = status
        self.body = body

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append({"method": method, "url": uri, "data": dict(data or {})})
        body = self.body
        if body is None:
            body = {"sid": CALL_SID, "status": "queued"}
            if uri.endswith("/Messages.json"):
                body = {"sid": f"SM{len(self.requests):032x}", "status": "queued"}
        return Response(self.status, json.dumps(body))


@pytest.fixture
def recorder():
    return RecordingHttpClient()


@pytest.fixture
def twilio_gateway(recorder):
    return TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=recorder)


def test_place_call_posts_to_the_calls_resource(twilio_gateway, recorder):
    sid = twilio_gateway.place_call(
        "+79000000101",
        "https://hotline.example/voice/callback/7",
        status_callback="https://hotline.example/voice/status",
        timeout=25,
    )

    assert sid == CALL_SID
    [request] = recorder.requests
    assert (request["method"], request["url"]) == ("POST", f"{API}/Calls.json")
    data = request["data"]
    assert data["To"] == "+79000000101"
    assert data["From"] == "+74872000000"
    assert data["Url"] == "https://hotline.example/voice/callback/7"
    assert data["Method"] == "POST"
    assert data["Timeout"] == 25
    assert data["StatusCallback"] == "https://hotline.example/voice/status"
    assert data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]


def test_place_call_without_status_callback_and_with_caller_id(twilio_gateway, recorder):
    twilio_gateway.place_call("+79000000101", "https://h.example/x", from_="+74872111111")

    data = recorder.requests[0]["data"]
    assert data["From"] == "+74872111111"
    assert "StatusCallback" not in data
    assert "StatusCallbackEvent" not in data


def test_redirect_and_hangup_update_the_call(twilio_gateway, recorder):
    twilio_gateway.redirect_call(CALL_SID, "https://hotline.example/voice/chain/3")
    twilio_gateway.hangup(CALL_SID)

    redirect, hangup = recorder.requests
    assert (redirect["method"], redirect["url"]) == ("POST", f"{API}/Calls/{CALL_SID}.json")
    assert redirect["data"] == {"Url": "https://hotline.example/voice/chain/3", "Method": "POST"}
    assert (hangup["method"], hangup["url"]) == ("POST", f"{API}/Calls/{CALL_SID}.json")
    assert hangup["data"] == {"Status": "completed"}


def _messages() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboundMessage))


def test_send_sms_posts_once_per_purpose_and_records_it(app, twilio_gateway, recorder):
    first = twilio_gateway.send_sms("+79161234567", "Обращение 25-0001", purpose="appeal:1")
    again = twilio_gateway.send_sms("+79161234567", "Обращение 25-0001", purpose="appeal:1")

    [request] = recorder.requests
    assert (request["method"], request["url"]) == ("POST", f"{API}/Messages.json")
    assert request["data"] == {
        "To": "+79161234567",
        "From": "+74872000000",
        "Body": "Обращение 25-0001",
    }
    assert again is first
    assert (first.carrier, first.status) == ("twilio", "queued")
    assert first.provider_sid == f"SM{1:032x}"
    assert _messages() == 1


def test_send_sms_refused_by_twilio_is_recorded_as_failed(app):
    refusing = RecordingHttpClient(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=refusing)

    message = gateway.send_sms("+7000", "text", purpose="appeal:2")

    assert (message.status, message.provider_sid) == ("failed", None)


def test_a_committed_purpose_is_not_sent_again(app, twilio_gateway, recorder):
    twilio_gateway.send_sms("+79161234567", "one", purpose="card:9")
    db.session.commit()
    db.session.expunge_all()

    again = twilio_gateway.send_sms("+79161234567", "one", purpose="card:9")

    assert len(recorder.requests) == 1
    assert again.body == "one"


def test_sms_without_purpose_is_always_sent(app, twilio_gateway, recorder):
    twilio_gateway.send_sms("+79161234567", "a")
    twilio_gateway.send_sms("+79161234567", "a")

    assert len(recorder.requests) == 2
    assert _messages() == 2


def test_get_gateway_follows_the_setting_and_is_cached(app):
    assert isinstance(get_gateway(), SimGateway)
    assert get_gateway() is get_gateway()

    app.extensions.pop("telephony.gateway")
    app.config["TELEPHONY"] = "twilio"
    assert isinstance(get_gateway(), TwilioGateway)


def test_sim_sms_is_recorded_as_sent(app):
    message = get_gateway().send_sms("+79161234567", "Ваше обращение 1", purpose="appeal:5")

    assert message.carrier == "sim"
    assert message.status == "sent"
    assert message.provider_sid.startswith("SM") and len(message.provider_sid) == 34


def test_delete_recording_deletes_the_recording_resource():
    recorder = RecordingHttpClient(status=204, body={})
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=recorder)
    sid = "RE" + "b" * 32
    gateway.delete_recording(f"{API}/Recordings/{sid}")
    assert [(r["method"], r["url"]) for r in recorder.requests] == [
        ("DELETE", f"{API}/Recordings/{sid}.json")
    ]
    with pytest.raises(ValueError, match="not a Twilio recording URL"):
        gateway.delete_recording("https://elsewhere.example/audio.mp3")
