"""`flask twilio check` and `flask twilio configure` against the Twilio REST stand-in."""

import pytest

from core.extensions import db
from tests.factories import make_municipality

BASE = "https://hotline.example"
LINE = "+74872000000"
DUTY = "+74872000101"
OTHER = "+74872999999"
EXPECTED = {
    "voice_url": f"{BASE}/voice/incoming",
    "voice_fallback_url": f"{BASE}/voice/fallback",
    "status_callback": f"{BASE}/voice/status",
    "sms_url": f"{BASE}/sms/incoming",
}


@pytest.fixture
def account(app, twilio_standin):
    """The app on https://hotline.example; a duty number and another's on the account."""
    app.config["PUBLIC_BASE_URL"] = BASE
    make_municipality("aleksin", "Алексин", duty_number=DUTY)
    db.session.commit()
    twilio_standin.add_number(DUTY, voice_url="http://old.example/voice", voice_method="GET")
    twilio_standin.add_number(OTHER, voice_url="https://elsewhere.example/x")
    line = twilio_standin.number(LINE)
    line["voice_application_sid"] = "AP" + "1" * 32
    return twilio_standin


def twilio(runner, *args):
    return runner.invoke(args=["twilio", *args])


def test_check_reports_misconfigured_numbers_then_configure_fixes_them(account, runner):
    checked = twilio(runner, "check")

    assert checked.exit_code == 1, checked.output
    lines = checked.output.splitlines()
    assert (
        f"PROBLEM  {LINE} (governor's line): voice URL is not set, expected {BASE}/voice/incoming"
        in lines
    )
    assert (
        f"PROBLEM  {DUTY} (duty number of Алексин): voice URL is http://old.example/voice, "
        f"expected {BASE}/voice/incoming"
    ) in lines
    assert any("voice application AP" in line and "overrides" in line for line in lines)
    assert any(line.startswith("other") and OTHER in line for line in lines)
    assert not any(line.startswith("PROBLEM") and OTHER in line for line in lines)
    assert any(line.startswith("ok") and "auth token" in line for line in lines)
    assert any(
        line.startswith("note") and "HTTP Basic authentication for media" in line for line in lines
    )
    assert any(f"{BASE}/sms/status" in line for line in lines)

    configured = twilio(runner, "configure")

    assert configured.exit_code == 0, configured.output
    assert f"set      {LINE} (governor's line): voice URL - → {BASE}/voice/incoming" in (
        configured.output.splitlines()
    )
    assert "voice application AP" in configured.output
    for number in (LINE, DUTY):
        stored = account.number(number)
        assert {field: stored[field] for field in EXPECTED} == EXPECTED
        assert stored["voice_method"] == "POST" and stored["voice_application_sid"] == ""
    assert account.number(OTHER)["voice_url"] == "https://elsewhere.example/x"
    assert [r.form for r in account.requests_to("IncomingPhoneNumbers", "POST")][0]["VoiceUrl"] == (
        f"{BASE}/voice/incoming"
    )

    again = twilio(runner, "check")
    assert again.exit_code == 0, again.output
    assert "PROBLEM" not in again.output and again.output.endswith("everything in order\n")
    unchanged = twilio(runner, "configure")
    assert "already points at" in unchanged.output
    assert len(account.requests_to("IncomingPhoneNumbers", "POST")) == 2


def test_check_names_a_line_missing_from_the_account_and_unsafe_settings(app, account, runner):
    app.config.update(TWILIO_NUMBER="+74872000555", PUBLIC_BASE_URL="http://hotline.example")

    checked = twilio(runner, "check")

    assert checked.exit_code == 1
    assert "PROBLEM  +74872000555 (governor's line) is not a number of this Twilio account" in (
        checked.output
    )
    assert "PUBLIC_BASE_URL http://hotline.example is not https://" in checked.output


def test_check_says_when_signatures_are_off(app, twilio_standin, runner):
    app.config["TWILIO_AUTH_TOKEN"] = "sim-auth-token"
    twilio_standin.auth_token = "sim-auth-token"

    checked = twilio(runner, "check")

    assert checked.exit_code == 1
    assert "TWILIO_AUTH_TOKEN is the development default" in checked.output


def test_configure_refuses_plain_http_unless_allowed(app, account, runner):
    app.config["PUBLIC_BASE_URL"] = "http://10.0.0.5:5000"

    refused = twilio(runner, "configure")
    assert refused.exit_code != 0 and "is not https://" in refused.output
    assert account.requests == []

    allowed = twilio(runner, "configure", "--allow-http")
    assert allowed.exit_code == 0, allowed.output
    assert account.number(LINE)["voice_url"] == "http://10.0.0.5:5000/voice/incoming"


@pytest.mark.parametrize("command", ["check", "configure"])
def test_wrong_credentials_are_one_line(app, account, runner, command):
    app.config["TWILIO_AUTH_TOKEN"] = "wrong-token"

    result = twilio(runner, command)

    assert result.exit_code == 2
    error = result.output.splitlines()[-1]
    assert error.startswith("Error: Twilio refused the credentials (HTTP 401 20003")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["check", "configure"])
def test_unreachable_twilio_is_one_line(account, runner, command):
    account.down()

    result = twilio(runner, command)

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: cannot reach Twilio at {account.base_url}: the connection failed"
    )


def test_a_silent_twilio_is_a_timeout(account, runner):
    account.fail("hang", times=None)

    result = twilio(runner, "check")

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: Twilio at {account.base_url} did not answer within 1.0 s"
    )


def test_a_server_error_stops_configure_with_one_line(account, runner):
    account.fail("500", times=None, match="IncomingPhoneNumbers")
    result = twilio(runner, "configure")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(
        "Error: Twilio answered with an error: HTTP 500"
    )
