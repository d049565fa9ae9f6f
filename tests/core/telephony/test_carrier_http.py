"""The simulated carrier over real HTTP: a server on 127.0.0.1 and the out-of-process gateway."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from core.extensions import db
from core.models import OutboundMessage
from core.telephony import CarrierError, get_gateway
from core.telephony.sim import (
    CallerScript,
    ControlServer,
    SimCarrier,
    answers_and_presses,
    voicemail,
)
from tests.conftest import work
from tests.core.telephony.voice_app import OFFICIAL, build_blueprint

PUBLIC = "https://hotline.test"
LINE = "+74872000000"
CITIZEN = "+79161234567"
TOKEN = "http-test-token"


@pytest.fixture
def log():
    return []


@pytest.fixture
def server(app, log):
    """The app served over HTTP on a free port of 127.0.0.1, stopped afterwards."""
    app.config.update(PUBLIC_BASE_URL=PUBLIC, TWILIO_AUTH_TOKEN=TOKEN)
    app.register_blueprint(build_blueprint(log))
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def carrier(app, server):
    """A carrier in the test process reaching the app over HTTP, with its control endpoint."""
    carrier = SimCarrier.over_http(
        server, TOKEN, PUBLIC, default_number=LINE, status_path="/voice/test-status"
    )
    control = ControlServer(carrier).start()
    app.config["SIM_CARRIER_URL"] = control.url
    yield carrier
    carrier.wait_idle()
    control.stop()


def posted(log, path: str) -> list[dict]:
    return [form for seen, form in log if seen == path]


def test_menu_over_http_with_signed_webhooks(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-menu")

    call = carrier.incoming_call(CITIZEN, script=CallerScript(digits=["1"]))

    assert call.transcript.said[-1] == "Вы выбрали 1."
    assert call.errors == []
    assert [hook.status for hook in call.webhooks] == [200, 200, 204]


def test_voicemail_over_http(carrier, log):
    carrier.phone(OFFICIAL, voicemail)
    carrier.app_number(LINE, voice_url="/voice/test-dial?" + urlencode({"numbers": OFFICIAL}))

    call = carrier.incoming_call(CITIZEN)

    [done] = posted(log, "/voice/test-dial/done")
    assert (done["DialCallStatus"], done["DialBridged"]) == ("completed", "false")
    assert call.transcript.said[-1] == "Итог: completed."


def test_gateway_in_the_app_reaches_the_carrier_through_its_control_endpoint(app, carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("1"))
    carrier.app_number(LINE, voice_url="/voice/test-callback")

    call = carrier.incoming_call(CITIZEN)
    carrier.wait_idle()

    assert call.transcript.said == ["Мы вам перезвоним."]
    [outbound] = carrier.calls_to(OFFICIAL)
    assert (outbound.direction, outbound.status, outbound.pressed) == (
        "outbound-api",
        "completed",
        ["1"],
    )
    work(app)  # the SMS stored by the webhook is sent by its job
    assert carrier.sms_to(CITIZEN) == ["Вам перезвонят."]
    gateway = get_gateway()
    assert gateway.call_status(outbound.sid) == "completed"
    with pytest.raises(CarrierError, match="404"):
        gateway.call_status("CA-unknown")
    message = db.session.scalar(select(OutboundMessage))
    assert (message.carrier, message.status) == ("sim", "sent")
    assert carrier.messages[0].sid == message.provider_sid


def test_many_calls_from_several_threads(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-menu")

    def one(index: int):
        return carrier.incoming_call(f"+7916000{index:04d}", script=CallerScript(digits=["1"]))

    with ThreadPoolExecutor(max_workers=6) as pool:
        calls = list(pool.map(one, range(24)))

    assert {call.status for call in calls} == {"completed"}
    assert all(call.transcript.said[-1] == "Вы выбрали 1." for call in calls)
    assert len({call.sid for call in calls}) == 24
    assert carrier.errors == []
