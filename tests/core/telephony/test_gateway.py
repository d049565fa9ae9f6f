"""The gateways: Twilio's REST requests (recorded, never sent) and the simulated one."""

import pytest
import requests
from sqlalchemy import func, select
from twilio.base.exceptions import TwilioException

from core.events import record_event
from core.extensions import db
from core.models import OutboundMessage
from core.telephony import CallUnknown, CarrierError, get_gateway
from core.telephony.sim import SimCarrier
from core.telephony.sim_gateway import SimGateway
from core.telephony.twilio_gateway import TwilioGateway
from tests.conftest import TWILIO_ACCOUNT as ACCOUNT
from tests.conftest import TWILIO_CALL_SID as CALL_SID
from tests.conftest import RecordingHttpClient, carrier_down, failing_twilio

API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}"


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
    assert data["MachineDetection"] == "Enable"  # a voicemail is told apart from the official


def test_place_call_without_status_callback_and_with_caller_id(twilio_gateway, recorder):
    twilio_gateway.place_call("+79000000101", "https://h.example/x", from_="+74872111111")

    data = recorder.requests[0]["data"]
    assert data["From"] == "+74872111111"
    assert "StatusCallback" not in data
    assert "StatusCallbackEvent" not in data


def test_place_call_can_do_without_machine_detection(twilio_gateway, recorder):
    twilio_gateway.place_call("+79000000101", "https://h.example/x", machine_detection=False)

    assert "MachineDetection" not in recorder.requests[0]["data"]


def test_redirect_and_hangup_update_the_call(twilio_gateway, recorder):
    twilio_gateway.redirect_call(CALL_SID, "https://hotline.example/voice/chain/3")
    twilio_gateway.hangup(CALL_SID)

    redirect, hangup = recorder.requests
    assert (redirect["method"], redirect["url"]) == ("POST", f"{API}/Calls/{CALL_SID}.json")
    assert redirect["data"] == {"Url": "https://hotline.example/voice/chain/3", "Method": "POST"}
    assert (hangup["method"], hangup["url"]) == ("POST", f"{API}/Calls/{CALL_SID}.json")
    assert hangup["data"] == {"Status": "completed"}


def test_call_status_fetches_the_call():
    recorder = RecordingHttpClient(200, {"sid": CALL_SID, "status": "no-answer"})
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=recorder)
    assert gateway.call_status(CALL_SID) == "no-answer"
    assert [(r["method"], r["url"]) for r in recorder.requests] == [
        ("GET", f"{API}/Calls/{CALL_SID}.json")
    ]


def test_sim_call_status_follows_the_simulated_call(app):
    carrier = SimCarrier.in_process(app)
    gateway = get_gateway()
    sim_call = carrier.incoming_call("+79161234567", "+74872000000")
    assert sim_call.ended and gateway.call_status(sim_call.sid) == sim_call.status
    with pytest.raises(CallUnknown, match="no call CA-unknown"):
        gateway.call_status("CA-unknown")


def test_a_call_twilio_does_not_know_is_unknown_and_a_server_error_is_not():
    missing = RecordingHttpClient(
        404, {"code": 20404, "message": "The requested resource was not found"}
    )
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=missing)
    with pytest.raises(CallUnknown):
        gateway.call_status(CALL_SID)
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=failing_twilio())
    with pytest.raises(CarrierError) as raised:
        gateway.call_status(CALL_SID)
    assert not isinstance(raised.value, CallUnknown)


def test_with_no_carrier_attached_calls_fail_instead_of_going_nowhere(app):
    app.config["SIM_CARRIER_URL"] = None
    gateway = get_gateway()
    for action in (
        lambda: gateway.place_call("+79000000101", "/voice/x"),
        lambda: gateway.redirect_call(CALL_SID, "/voice/x"),
        lambda: gateway.hangup(CALL_SID),
    ):
        with pytest.raises(CarrierError, match="no simulated carrier is attached"):
            action()


def _messages() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboundMessage))


def sent(gateway, to: str, body: str, purpose: str | None = None) -> OutboundMessage:
    """Store an SMS, commit, and make its first attempt as the sending job does."""
    message = gateway.send_sms(to, body, purpose=purpose)
    db.session.commit()
    gateway.deliver_due_sms(message)
    return message


def test_an_sms_goes_to_the_carrier_only_after_its_transaction_commits(
    app, twilio_gateway, recorder
):
    # as in every job, the work the SMS belongs to is written first (on SQLite a savepoint
    # opening the transaction would commit on release)
    record_event("appeal", 1, "appeal.registered", actor_label="test")
    db.session.flush()
    message = twilio_gateway.send_sms("+79161234567", "Обращение 25-0001", purpose="appeal:1")
    assert (message.status, message.attempts, recorder.requests) == ("pending", 0, [])
    db.session.rollback()  # the work that stored it failed: the SMS goes with it
    assert _messages() == 0

    message = twilio_gateway.send_sms("+79161234567", "Обращение 25-0001", purpose="appeal:1")
    db.session.commit()
    assert recorder.requests == []
    assert twilio_gateway.deliver_due_sms(message) is True
    assert twilio_gateway.deliver_due_sms(message) is False  # taken: not sent twice
    assert len(recorder.requests) == 1
    assert (message.status, message.attempts) == ("queued", 1)


def test_send_sms_posts_once_per_purpose_and_records_it(app, twilio_gateway, recorder):
    first = sent(twilio_gateway, "+79161234567", "Обращение 25-0001", purpose="appeal:1")
    again = sent(twilio_gateway, "+79161234567", "Обращение 25-0001", purpose="appeal:1")

    [request] = recorder.requests
    assert (request["method"], request["url"]) == ("POST", f"{API}/Messages.json")
    assert request["data"] == {
        "To": "+79161234567",
        "From": "+74872000000",
        "Body": "Обращение 25-0001",
        "StatusCallback": f"http://127.0.0.1:5000/sms/status?sms={first.id}",
    }
    assert again is first
    assert (first.carrier, first.status) == ("twilio", "queued")
    assert first.provider_sid == f"SM{1:032x}"
    assert _messages() == 1


def test_send_sms_refused_by_twilio_is_recorded_as_failed(app):
    refusing = RecordingHttpClient(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=refusing)

    message = sent(gateway, "+7000", "text", purpose="appeal:2")

    assert (message.status, message.provider_sid) == ("failed", None)
    assert message.next_attempt_at is None and "21211" in message.last_error


@pytest.mark.parametrize(
    "make_client",
    [
        failing_twilio,
        lambda: RecordingHttpClient(error=requests.ConnectionError("connection refused")),
        lambda: RecordingHttpClient(error=TwilioException("the HTTP client gave up")),
    ],
    ids=["server-error", "unreachable", "client-error"],
)
def test_send_sms_twilio_did_not_take_waits_for_a_retry(app, make_client, caplog):
    http_client = make_client()
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=http_client)

    message = sent(gateway, "+79161234567", "text", purpose="appeal:3")

    assert (message.status, message.provider_sid) == ("retrying", None)
    assert _messages() == 1 and len(http_client.requests) == 1
    [warning] = [r for r in caplog.records if r.name.startswith("core.telephony")]
    assert "+79161234567" in warning.getMessage() and "\033" not in warning.getMessage()


def test_a_committed_purpose_is_not_sent_again(app, twilio_gateway, recorder):
    sent(twilio_gateway, "+79161234567", "one", purpose="card:9")
    db.session.expunge_all()

    again = sent(twilio_gateway, "+79161234567", "one", purpose="card:9")

    assert len(recorder.requests) == 1
    assert again.body == "one"


def test_sms_without_purpose_is_always_sent(app, twilio_gateway, recorder):
    sent(twilio_gateway, "+79161234567", "a")
    sent(twilio_gateway, "+79161234567", "a")

    assert len(recorder.requests) == 2
    assert _messages() == 2


def test_get_gateway_follows_the_setting_and_is_cached(app):
    assert isinstance(get_gateway(), SimGateway)
    assert get_gateway() is get_gateway()

    app.extensions.pop("telephony.gateway")
    app.config["TELEPHONY"] = "twilio"
    assert isinstance(get_gateway(), TwilioGateway)


def test_sim_sms_is_recorded_as_sent(app):
    message = sent(get_gateway(), "+79161234567", "Ваше обращение 1", purpose="appeal:5")

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
    with pytest.raises(ValueError, match="not a recording URL"):
        gateway.delete_recording("https://elsewhere.example/audio.mp3")


def test_a_recording_twilio_no_longer_has_counts_as_deleted():
    recorder = RecordingHttpClient(404, {"code": 20404, "message": "The resource was not found"})
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=recorder)
    gateway.delete_recording(f"{API}/Recordings/RE{'d' * 32}")
    assert [r["method"] for r in recorder.requests] == ["DELETE"]


@pytest.mark.parametrize(
    "http_client",
    [
        failing_twilio(),
        RecordingHttpClient(404, {"code": 20404, "message": "The resource was not found"}),
        RecordingHttpClient(error=requests.ConnectionError("connection refused")),
    ],
    ids=["server-error", "not-found", "unreachable"],
)
def test_every_twilio_call_action_fails_with_a_carrier_error(http_client):
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=http_client)
    actions = [
        lambda: gateway.place_call("+79000000101", "https://hotline.example/voice/x"),
        lambda: gateway.redirect_call(CALL_SID, "https://hotline.example/voice/y"),
        lambda: gateway.hangup(CALL_SID),
        lambda: gateway.call_status(CALL_SID),
    ]
    if http_client.status != 404:  # a recording Twilio does not have is already deleted
        actions.append(lambda: gateway.delete_recording(f"{API}/Recordings/RE{'c' * 32}"))
    for action in actions:
        with pytest.raises(CarrierError) as caught:
            action()
        assert "\033" not in str(caught.value)  # a plain line, not the terminal's colours
    assert len(http_client.requests) == len(actions)


def test_twilio_carrier_error_says_what_twilio_answered():
    gateway = TwilioGateway(ACCOUNT, "secret", "+74872000000", http_client=failing_twilio())
    with pytest.raises(CarrierError, match="HTTP 500 20500: .*Internal Server Error"):
        gateway.redirect_call(CALL_SID, "https://hotline.example/voice/y")


def test_an_unreachable_simulated_carrier_is_a_carrier_error(app):
    with carrier_down(app, "sim"):
        gateway = get_gateway()
        with pytest.raises(CarrierError):
            gateway.place_call("+79000000101", "https://hotline.example/voice/x")
        with pytest.raises(CarrierError):
            gateway.redirect_call(CALL_SID, "https://hotline.example/voice/y")
        with pytest.raises(CarrierError):
            gateway.hangup(CALL_SID)
        with pytest.raises(CarrierError):
            gateway.call_status(CALL_SID)
        message = sent(gateway, "+79161234567", "text", purpose="appeal:9")
        assert (message.status, message.provider_sid) == ("retrying", None)
    assert get_gateway() is not gateway


def test_both_gateways_place_calls_through_one_signature_and_its_defaults(app):
    from core.telephony.gateway import Gateway

    assert SimGateway.place_call is Gateway.place_call
    assert TwilioGateway.place_call is Gateway.place_call
    carrier = SimCarrier.in_process(app)
    sid = get_gateway().place_call("+79000000101", "https://hotline.example/voice/x")
    carrier.run_pending()
    placed = carrier.call(sid)
    assert (placed.from_, placed.to) == (app.config["TWILIO_NUMBER"], "+79000000101")
