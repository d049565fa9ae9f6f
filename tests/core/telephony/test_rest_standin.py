"""The real Twilio client and gateway against the REST stand-in: answers, state and each fault."""

import contextlib
import time

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from core.extensions import db
from core.models import OutboundMessage
from core.telephony import CarrierError, RecordingGone, get_gateway
from core.telephony.sim.rest_standin import TwilioStandin
from core.telephony.twilio_gateway import BaseUrlHttpClient, TwilioGateway
from tests.conftest import TWILIO_ACCOUNT, TWILIO_STANDIN_TIMEOUT, TWILIO_STANDIN_TOKEN

OFFICIAL = "+79000000101"
CITIZEN = "+79161234567"


def client_for(standin, token=TWILIO_STANDIN_TOKEN) -> Client:
    """Twilio's own client, sent to the stand-in through the rewriting HTTP client."""
    http = BaseUrlHttpClient(standin.base_url, timeout=TWILIO_STANDIN_TIMEOUT)
    return Client(TWILIO_ACCOUNT, token, http_client=http)


def test_the_app_builds_a_twilio_gateway_aimed_at_the_standin(app, twilio_standin):
    gateway = get_gateway()
    assert isinstance(gateway, TwilioGateway)
    assert gateway.api_base_url == twilio_standin.base_url
    assert gateway.client.http_client.timeout == TWILIO_STANDIN_TIMEOUT


def test_place_call_creates_a_call_twilio_style(app, twilio_standin):
    gateway = get_gateway()
    sid = gateway.place_call(
        OFFICIAL, "https://hotline.example/voice/callback/7", status_callback="https://h/s"
    )

    assert sid.startswith("CA") and len(sid) == 34
    call = twilio_standin.calls[sid]
    assert (call["to"], call["from"], call["status"]) == (OFFICIAL, "+74872000000", "queued")
    assert call["url"] == "https://hotline.example/voice/callback/7"
    assert call["machine_detection"] == "Enable"
    [request] = twilio_standin.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Calls.json"
    assert request.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert request.status == 201

    fetched = client_for(twilio_standin).calls(sid).fetch()
    assert fetched.direction == "outbound-api" and fetched.date_created.tzinfo is not None


def test_redirect_hangup_and_status_follow_the_call(app, twilio_standin):
    gateway = get_gateway()
    sid = gateway.place_call(OFFICIAL, "https://hotline.example/voice/callback/1")
    twilio_standin.set_call_status(sid, "in-progress")

    gateway.redirect_call(sid, "https://hotline.example/voice/chain/3")
    assert twilio_standin.calls[sid]["url"] == "https://hotline.example/voice/chain/3"
    assert gateway.call_status(sid) == "in-progress"
    gateway.hangup(sid)
    assert gateway.call_status(sid) == "completed"

    with pytest.raises(CarrierError, match="21220"):
        gateway.redirect_call(sid, "https://hotline.example/voice/chain/4")
    with pytest.raises(CarrierError, match="HTTP 404 20404"):
        gateway.call_status("CA" + "f" * 32)


def sent(to: str, body: str, purpose: str) -> OutboundMessage:
    """Store an SMS, commit, and make its first attempt as the sending job does."""
    message = get_gateway().send_sms(to, body, purpose=purpose)
    db.session.commit()
    get_gateway().deliver_due_sms(message)
    return message


def test_send_sms_creates_a_message(app, twilio_standin):
    message = sent(CITIZEN, "Обращение 25-0001", purpose="appeal:1")

    assert message.status == "queued" and message.provider_sid.startswith("SM")
    stored = twilio_standin.messages[message.provider_sid]
    assert (stored["to"], stored["body"]) == (CITIZEN, "Обращение 25-0001")
    assert stored["status_callback"].endswith(f"/sms/status?sms={message.id}")


def test_recording_audio_is_relayed_whole_and_by_range(app, twilio_standin):
    recording = twilio_standin.add_recording(audio=bytes(range(256)) * 4)
    url = twilio_standin.recording_url(recording["sid"])
    gateway = get_gateway()

    with app.test_request_context(headers={"Range": "bytes=10-19"}):
        partial = gateway.recording_response(url)
        assert partial.status_code == 206
        assert partial.headers["Content-Range"] == "bytes 10-19/1024"
        assert b"".join(partial.response) == bytes(range(10, 20))
        partial.close()
    with app.test_request_context():
        whole = gateway.recording_response(url)
        assert whole.status_code == 200 and whole.headers["Content-Type"] == "audio/x-wav"
        assert len(b"".join(whole.response)) == 1024
        whole.close()
    media = twilio_standin.requests_to("Recordings")
    assert [(r.method, r.path.rsplit(".", 1)[1], r.range) for r in media] == [
        ("GET", "wav", "bytes=10-19"),
        ("GET", "wav", None),
    ]


def test_deleting_a_recording_removes_it_and_twice_is_fine(app, twilio_standin):
    recording = twilio_standin.add_recording()
    url = twilio_standin.recording_url(recording["sid"])
    gateway = get_gateway()

    gateway.delete_recording(url)
    assert recording["sid"] not in twilio_standin.recordings
    gateway.delete_recording(url)  # 404: already gone

    assert [r.status for r in twilio_standin.requests_to("Recordings", "DELETE")] == [204, 404]
    with app.test_request_context(), pytest.raises(RecordingGone):
        gateway.recording_response(url)


def test_incoming_numbers_are_listed_filtered_paged_and_updated(twilio_standin):
    for index in range(3):
        twilio_standin.add_number(f"+7487200010{index}")
    client = client_for(twilio_standin)

    assert len(client.incoming_phone_numbers.list(page_size=2)) == 4  # follows next_page_uri
    [line] = client.incoming_phone_numbers.list(phone_number="+74872000000")
    assert line.sid.startswith("PN") and line.voice_url == ""

    line.update(
        voice_url="https://hotline.example/voice/incoming",
        voice_fallback_url="https://hotline.example/voice/fallback",
        status_callback="https://hotline.example/voice/status",
        sms_url="https://hotline.example/sms/incoming",
        voice_method="POST",
    )
    stored = twilio_standin.number("+74872000000")
    assert stored["voice_url"] == "https://hotline.example/voice/incoming"
    assert stored["voice_fallback_url"] == "https://hotline.example/voice/fallback"
    assert stored["status_callback"] == "https://hotline.example/voice/status"
    assert stored["sms_url"] == "https://hotline.example/sms/incoming"
    pages = [r.query.get("Page") for r in twilio_standin.requests_to("IncomingPhoneNumbers")]
    assert pages[:2] == [None, "1"]


def test_wrong_credentials_get_twilio_401(twilio_standin):
    with pytest.raises(TwilioRestException) as caught:
        client_for(twilio_standin, token="wrong").calls("CA" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert twilio_standin.requests[-1].status == 401


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("500", 500, 20500), ("503", 503, 20503), ("429", 429, 20429)],
)
def test_server_faults_reach_the_client_and_the_gateway(app, twilio_standin, kind, status, code):
    twilio_standin.fail(kind, times=1)

    with pytest.raises(CarrierError, match=f"HTTP {status} {code}") as caught:
        get_gateway().place_call(OFFICIAL, "https://hotline.example/voice/callback/1")
    assert caught.value.__cause__.status == status
    assert twilio_standin.calls == {}
    get_gateway().place_call(OFFICIAL, "https://hotline.example/voice/callback/1")  # next: fine
    assert len(twilio_standin.calls) == 1


def test_429_names_when_to_come_back(twilio_standin):
    twilio_standin.fail("429")
    answer = requests.get(f"{twilio_standin.base_url}/2010-04-01/Accounts/{TWILIO_ACCOUNT}.json")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    assert answer.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }


@pytest.mark.parametrize("code", [21211, 21610, 13227])
def test_refusals_for_one_number_only(app, twilio_standin, code):
    twilio_standin.fail(str(code), times=None, match=CITIZEN)

    refused = sent(CITIZEN, "text", purpose="appeal:1")
    taken = sent("+79167654321", "text", purpose="appeal:2")
    again = sent(CITIZEN, "text", purpose="appeal:3")

    assert (refused.status, again.status, taken.status) == ("failed", "failed", "queued")
    assert str(code) in refused.last_error and refused.next_attempt_at is None
    with pytest.raises(CarrierError, match=f"HTTP 400 {code}"):
        get_gateway().place_call(CITIZEN, "https://hotline.example/voice/callback/1")


def test_an_invalid_number_is_refused_without_a_fault(app, twilio_standin):
    with pytest.raises(CarrierError, match="HTTP 400 21211"):
        get_gateway().place_call("8-900-000", "https://hotline.example/voice/callback/1")


def test_faults_matching_a_resource_leave_the_others_alone(app, twilio_standin, clock):
    twilio_standin.fail("503", times=None, match="Messages")
    sid = get_gateway().place_call(OFFICIAL, "https://hotline.example/voice/callback/1")
    message = sent(CITIZEN, "text", purpose="appeal:1")
    assert sid in twilio_standin.calls
    assert message.status == "retrying" and "503" in message.last_error
    twilio_standin.clear_faults()
    clock.advance(minutes=2)
    assert get_gateway().deliver_due_sms(message) is True


def test_a_hang_ends_as_a_timeout_in_bounded_time(app, twilio_standin):
    twilio_standin.fail("hang")
    started = time.monotonic()
    with pytest.raises(CarrierError, match="ReadTimeout"):
        get_gateway().place_call(OFFICIAL, "https://hotline.example/voice/callback/1")
    assert time.monotonic() - started < TWILIO_STANDIN_TIMEOUT + 1.5


def test_a_short_hang_is_only_slow(app, twilio_standin):
    twilio_standin.fail("hang", seconds=0.2)
    sid = get_gateway().place_call(OFFICIAL, "https://hotline.example/voice/callback/1")
    assert sid in twilio_standin.calls and twilio_standin.requests[0].fault == "hang"


def test_a_dropped_connection_and_a_refused_one_are_carrier_errors(app, twilio_standin, clock):
    gateway = get_gateway()
    twilio_standin.fail("drop")
    with pytest.raises(CarrierError, match="ConnectionError"):
        gateway.hangup("CA" + "0" * 32)

    twilio_standin.down()
    started = time.monotonic()
    with pytest.raises(CarrierError, match="ConnectionError"):
        gateway.place_call(OFFICIAL, "https://hotline.example/voice/callback/1")
    message = sent(CITIZEN, "text", purpose="appeal:1")
    assert message.status == "retrying"
    assert time.monotonic() - started < 2

    twilio_standin.up()
    clock.advance(minutes=2)
    assert gateway.deliver_due_sms(message) is True
    assert message.provider_sid in twilio_standin.messages


def test_a_seeded_fraction_fails_about_that_share_the_same_way_each_time():
    outcomes = []
    for _ in range(2):
        with TwilioStandin(TWILIO_ACCOUNT, TWILIO_STANDIN_TOKEN, hang_seconds=0.01) as standin:
            standin.add_number("+74872000000")
            standin.fail_fraction(1 / 3, kinds=("500", "429", "hang"), seed=7)
            client = client_for(standin)
            for _ in range(60):
                with contextlib.suppress(TwilioException):
                    client.incoming_phone_numbers.list(limit=1)
            outcomes.append([(r.fault, r.status) for r in standin.requests])
    assert outcomes[0] == outcomes[1]
    faults = [fault for fault, _ in outcomes[0] if fault]
    assert 10 <= len(faults) <= 30
    assert {"500", "429", "hang"} == set(faults)
    # A hang shorter than the client's patience is answered normally.
    assert all(status == 200 for fault, status in outcomes[0] if fault in (None, "hang"))


def test_the_http_client_leaves_other_hosts_and_twilios_own_base_alone():
    standin = BaseUrlHttpClient("http://127.0.0.1:9/prefix")
    assert (
        standin.target("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?a=1")
        == "http://127.0.0.1:9/prefix/2010-04-01/Accounts/AC1/Calls.json?a=1"
    )
    assert standin.target("https://messaging.twilio.com/v1/Services") == (
        "http://127.0.0.1:9/prefix/v1/Services"
    )
    assert standin.target("https://example.com/x") == "https://example.com/x"
    own = BaseUrlHttpClient()
    assert own.target("https://messaging.twilio.com/v1/Services") == (
        "https://messaging.twilio.com/v1/Services"
    )
    assert own.timeout == 10.0


def test_a_standin_with_a_carrier_plays_calls_and_sms_there_after_its_faults(app, twilio_standin):
    from core.telephony.sim.carrier import SimCarrier

    carrier = SimCarrier.in_process(app, attach=False)
    twilio_standin.carrier = carrier
    client = client_for(twilio_standin)
    twilio_standin.fail("500", match="Calls")
    with pytest.raises(TwilioRestException):
        client.calls.create(to=OFFICIAL, from_=app.config["TWILIO_NUMBER"], url="https://h/v")
    assert carrier.calls == []

    call = client.calls.create(to=OFFICIAL, from_=app.config["TWILIO_NUMBER"], url="https://h/v")
    carrier.run_pending()
    assert [c.sid for c in carrier.calls] == [call.sid]
    assert client.calls(call.sid).fetch().status == carrier.call_status(call.sid)

    client.messages.create(to=CITIZEN, from_=app.config["TWILIO_NUMBER"], body="Ваш ответ готов")
    assert carrier.sms_to(CITIZEN) == ["Ваш ответ готов"]
