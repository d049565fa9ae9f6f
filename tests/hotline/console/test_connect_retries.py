"""Connecting a holding caller into the duty chain when the carrier fails for a passing reason."""

import pytest

from core.events import timeline
from core.telephony.sim import answers_and_presses
from hotline.console.jobs import retry_connection
from tests.conftest import RecordingHttpClient, failing_twilio, use_twilio
from tests.hotline.console.conftest import post, stored, submit_appeal, taken_call


def redirects(twilio: RecordingHttpClient, call) -> int:
    return sum(
        r["data"].get("Url", "").endswith(f"/voice/calls/{call.id}/connect")
        for r in twilio.requests
    )


def connect_errors(call) -> list:
    return [e.data for e in timeline("call", call.id) if e.verb == "call.carrier-error"]


def test_a_failed_connection_is_retried_seconds_later_and_connects_once(
    app, console, carrier, region, clock
):
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    sim_call, call = taken_call(console, carrier)
    page = f"/console/calls/{call.id}"
    twilio = failing_twilio()
    use_twilio(app, twilio)
    response = submit_appeal(console, call, region, "connect")
    assert response.status_code == 302 and response.location == page
    shown = console.get(page).text
    assert "сеть пробуем снова через несколько секунд" in shown
    assert "(попытка 2 из 3)" in shown
    call = stored(sim_call)
    assert call.connect_tries == 1 and call.connect_retry_at is not None
    assert (call.connect_retry_at - clock.now).total_seconds() == pytest.approx(3)
    assert redirects(twilio, call) == 1

    retry_connection(call.id)  # not due yet
    assert redirects(twilio, call) == 1
    clock.advance(seconds=4)
    retry_connection(call.id)  # fails again: the third try waits 10 s
    call = stored(sim_call)
    assert redirects(twilio, call) == 2 and call.connect_tries == 2
    assert (call.connect_retry_at - clock.now).total_seconds() == pytest.approx(10)
    assert "(попытка 3 из 3)" in console.get(page).text

    app.extensions.pop("telephony.gateway", None)  # the simulated carrier is back
    clock.advance(seconds=11)
    retry_connection(call.id)
    retry_connection(call.id)  # the same job run twice redirects once
    carrier.run_pending()
    call = stored(sim_call)
    assert call.connect_tries == 3 and call.connect_retry_at is None
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert [leg.number for leg in sim_call.transcript.dialled].count(region.primary.phone) == 1
    assert [e["try"] for e in connect_errors(call)] == [1, 2]
    shown = console.get(page).text
    assert 'id="connect-retrying"' not in shown and 'id="connect-again"' not in shown


def test_after_the_last_try_the_operator_is_told_to_try_again(app, console, carrier, region, clock):
    sim_call, call = taken_call(console, carrier)
    page = f"/console/calls/{call.id}"
    twilio = use_twilio(app, failing_twilio()).client.http_client
    submit_appeal(console, call, region, "connect")
    for wait in (4, 11, 60):
        clock.advance(seconds=wait)
        retry_connection(call.id)
    call = stored(sim_call)
    assert redirects(twilio, call) == 3
    assert call.connect_tries == 3 and call.connect_retry_at is None
    assert "retry_at" not in connect_errors(call)[-1]
    shown = console.get(page).text
    assert 'id="connect-retrying"' not in shown and 'id="connect-again"' in shown
    assert console.get(page).status_code == 200


def test_a_refused_connection_is_not_retried(app, console, carrier, region, clock):
    sim_call, call = taken_call(console, carrier)
    page = f"/console/calls/{call.id}"
    refusal = RecordingHttpClient(400, {"code": 21220, "message": "Call is not in-progress"})
    use_twilio(app, refusal)
    submit_appeal(console, call, region, "connect")
    shown = console.get(page).text
    assert "Попробуйте ещё раз" in shown or "Try again" in shown
    assert 'id="connect-retrying"' not in shown and 'id="connect-again"' in shown
    call = stored(sim_call)
    assert call.connect_retry_at is None
    clock.advance(seconds=60)
    retry_connection(call.id)
    assert redirects(refusal, call) == 1
    assert post(console, f"{page}/connect", page=page).status_code == 302
