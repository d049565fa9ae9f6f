"""Phones held by a person in a tab: the carrier waits for their hands, in real time."""

import logging
import time

import pytest

from core.telephony.sim import ControlServer, SimCarrier, answers_and_presses
from core.telephony.sim.client import RemoteCarrier
from tests.core.telephony.voice_app import OFFICIAL, build_blueprint

PUBLIC = "https://hotline.test"
LINE = "+74872000000"
CITIZEN = "+79161234567"
#: Seconds a test waits for the carrier's threads to reach a state.
DEADLINE = 10


@pytest.fixture
def carrier(app):
    """The in-process carrier on its own threads; a citizen's call rings OFFICIAL."""
    app.config.update(PUBLIC_BASE_URL=PUBLIC, TWILIO_AUTH_TOKEN="carrier-test-token")
    app.register_blueprint(build_blueprint([]))
    carrier = SimCarrier.in_process(
        app,
        voice_path=f"/voice/test-dial?numbers=%2B{OFFICIAL[1:]}",
        status_path="/voice/test-status",
        threaded_actions=True,
    )
    yield carrier
    for number in (CITIZEN, OFFICIAL):
        carrier.live.act(number, "hangup")
    carrier.wait_idle()


def shows(carrier, number: str, check, what: str) -> dict:
    """Poll the phone held at `number` (as its tab does) until `check(state)` holds."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        state = carrier.live.state(number)
        if check(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"{number} never showed {what}: {state}")


def said(state: dict) -> list[str]:
    return [
        event["text"] for event in (state["call"] or {}).get("events", []) if event["kind"] == "say"
    ]


def test_a_held_phone_rings_is_answered_presses_1_and_talks_until_the_caller_hangs_up(carrier):
    carrier.live.hold(OFFICIAL)
    carrier.live.dial(CITIZEN, LINE)

    ringing = shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
    assert ringing["peer"] == "+74872000000"  # the Dial's callerId
    caller = carrier.live.state(CITIZEN)
    assert said(caller) == ["Соединяем с дежурным."]
    assert carrier.live.act(OFFICIAL, "answer")

    whisper = shows(carrier, OFFICIAL, lambda s: said(s), "the whisper")
    assert said(whisper) == ["Горячая линия губернатора, район Альфа. Нажмите 1, чтобы принять."]
    carrier.live.act(OFFICIAL, "keys", keys="1")
    shows(carrier, OFFICIAL, lambda s: s["call"]["bridged"], "the bridge")
    shows(carrier, CITIZEN, lambda s: s["call"]["bridged"], "the bridge")
    time.sleep(1.1)  # they talk

    carrier.live.act(CITIZEN, "hangup")
    ended = shows(carrier, CITIZEN, lambda s: s["state"] == "ended", "the end of the call")
    carrier.wait_idle()
    leg = carrier.calls_to(OFFICIAL)[0]
    assert (leg.status, leg.pressed) == ("completed", ["1"])
    assert leg.duration >= 1
    assert ended["call"]["status"] == "completed"
    citizen = carrier.calls[0]
    assert citizen.transcript.dialled[0].bridged and "Итог: completed." not in said(ended)


def test_a_held_phone_that_rejects_is_busy_and_the_callers_dial_goes_on(carrier):
    carrier.live.hold(OFFICIAL)
    carrier.live.dial(CITIZEN, LINE)
    shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
    carrier.live.act(OFFICIAL, "reject")

    ended = shows(carrier, CITIZEN, lambda s: s["state"] == "ended", "the end of the call")
    assert said(ended)[-1] == "Итог: busy."
    assert carrier.calls_to(OFFICIAL)[0].status == "busy"
    assert carrier.live.state(OFFICIAL)["state"] == "idle"


def test_a_held_phone_nobody_answers_rings_out_after_the_calls_timeout(carrier, app):
    carrier.live.hold(OFFICIAL)
    started = time.monotonic()
    carrier.place_call(OFFICIAL, "/voice/test-whisper", timeout=2)
    shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
    carrier.wait_idle()

    assert 2 <= time.monotonic() - started < 5
    assert carrier.calls_to(OFFICIAL)[0].status == "no-answer"


def test_voicemail_answers_at_once_and_presses_nothing(carrier):
    carrier.live.hold(OFFICIAL)
    carrier.place_call(OFFICIAL, "/voice/test-whisper", timeout=20)
    shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
    carrier.live.act(OFFICIAL, "voicemail")
    carrier.wait_idle()

    call = carrier.calls_to(OFFICIAL)[0]
    assert (call.status, call.pressed) == ("completed", [])
    assert call.transcript.said[0].startswith("Горячая линия губернатора")


def test_a_number_whose_tab_stopped_polling_keeps_its_scripted_behaviour(carrier):
    carrier.live.hold_seconds = 0.2
    carrier.live.hold(OFFICIAL)
    carrier.phone(OFFICIAL, answers_and_presses("1", after=2, talk_seconds=5))
    time.sleep(0.3)
    assert not carrier.live.held(OFFICIAL)

    carrier.place_call(OFFICIAL, "/voice/test-whisper", timeout=20)
    carrier.wait_idle()
    call = carrier.calls_to(OFFICIAL)[0]
    assert (call.status, call.pressed) == ("completed", ["1"])
    assert carrier.live.state(OFFICIAL)["state"] == "idle"


def test_a_button_with_nothing_ringing_does_nothing(carrier):
    assert not carrier.live.act(OFFICIAL, "answer")
    assert not carrier.live.act(OFFICIAL, "keys", keys="")
    assert carrier.live.state(OFFICIAL) == {
        "number": OFFICIAL,
        "state": "idle",
        "peer": None,
        "call": None,
    }


def test_the_control_api_serves_held_phones_and_leaves_their_polling_out_of_the_log(
    carrier, caplog
):
    server = ControlServer(carrier).start()
    try:
        remote = RemoteCarrier(server.url)
        with caplog.at_level(logging.INFO):
            assert remote.phone_state(OFFICIAL)["state"] == "idle"
            assert remote.phone_act(OFFICIAL, "answer")["done"] is False
            remote.phone_dial(CITIZEN, LINE)
            shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
            assert remote.phone_state(OFFICIAL)["peer"] == LINE
    finally:
        server.stop()
    assert not [r for r in caplog.records if "/live/" in r.getMessage()], caplog.text


def bridge_held_official(carrier) -> dict:
    """The citizen calls, the official's held phone answers and presses 1; return the bridge."""
    carrier.live.hold(OFFICIAL)
    carrier.live.dial(CITIZEN, LINE)
    shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
    carrier.live.act(OFFICIAL, "answer")
    shows(carrier, OFFICIAL, lambda s: said(s), "the whisper")
    carrier.live.act(OFFICIAL, "keys", keys="1")
    return shows(carrier, CITIZEN, lambda s: s["call"]["bridged"], "the bridge")


def test_the_app_moving_a_caller_ends_her_bridge_with_a_held_phone(carrier):
    bridged = bridge_held_official(carrier)

    carrier.redirect_call(bridged["call"]["sid"], "/voice/test-menu")  # as the console does
    moved = shows(
        carrier, CITIZEN, lambda s: "Нажмите 1 или 9." in said(s), "the menu after the move"
    )
    assert "Итог: completed." not in said(moved)  # the Dial's action answer is not played
    shows(carrier, OFFICIAL, lambda s: s["state"] == "ended", "the official's leg ended")
    carrier.live.act(CITIZEN, "keys", keys="1")
    ended = shows(carrier, CITIZEN, lambda s: s["state"] == "ended", "the end of the call")
    assert said(ended)[-1] == "Вы выбрали 1."


def test_closing_the_tab_mid_call_hangs_up(carrier):
    carrier.live.hold_seconds = 3
    bridge_held_official(carrier)

    time.sleep(3.5)  # neither tab polls any more
    carrier.wait_idle()
    deadline = time.monotonic() + DEADLINE
    while not carrier.calls[0].ended:
        assert time.monotonic() < deadline, "the call never ended"
        time.sleep(0.1)
    assert carrier.calls_to(OFFICIAL)[0].status == "completed"


def test_a_held_phone_stops_ringing_when_the_caller_hangs_up(carrier):
    carrier.live.hold(OFFICIAL)
    carrier.live.dial(CITIZEN, LINE)
    shows(carrier, OFFICIAL, lambda s: s["state"] == "ringing", "the ringing call")
    started = time.monotonic()
    carrier.live.act(CITIZEN, "hangup")

    shows(carrier, OFFICIAL, lambda s: s["state"] == "idle", "the end of the ringing")
    assert time.monotonic() - started < 3  # not the Dial's 20 s
    shows(carrier, CITIZEN, lambda s: s["state"] == "ended", "the end of the call")
    carrier.wait_idle()
    assert carrier.calls_to(OFFICIAL)[0].status == "no-answer"
