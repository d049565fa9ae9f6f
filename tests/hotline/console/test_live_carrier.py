"""The simulated carrier as a service of its own: it follows the app's requests by itself."""

import os
import subprocess
import sys
import time

import pytest
import requests

from callbacks.models import Card
from config import BASE_DIR
from core.extensions import db
from core.telephony.sim.client import RemoteCarrier
from hotline.jobs import UNKNOWN_CALL_AGE, reconcile_calls
from hotline.models import Call
from tests.conftest import unreachable_url
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE
from tests.hotline.console.conftest import OPERATOR_PHONE, PATIENT, post, submit_appeal

#: Seconds the app's state may take to show what the carrier did on its own.
DEADLINE = 15


class CarrierService:
    """`flask sim-carrier` in a process of its own, calling the app served by the test."""

    def __init__(self, app, app_url: str, ring_pace: float = 0) -> None:
        self.app = app
        self.app_url = app_url
        self.ring_pace = ring_pace
        self.url = unreachable_url()
        self.process = None

    def start(self) -> "CarrierService":
        """Start the process and wait until its control port answers."""
        port = self.url.rsplit(":", 1)[1]
        env = {
            **os.environ,
            "PUBLIC_BASE_URL": self.app.config["PUBLIC_BASE_URL"],
            "TWILIO_AUTH_TOKEN": self.app.config["TWILIO_AUTH_TOKEN"],
            "TWILIO_NUMBER": self.app.config["TWILIO_NUMBER"],
            "HOTLINE_INSTANCE_DIR": self.app.config["INSTANCE_DIR"],
            "DATABASE_URL": self.app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": self.app.config["SECRET_KEY"],
        }
        command = ["flask", "--app", "wsgi", "sim-carrier", f"--port={port}"]
        options = [f"--app-url={self.app_url}", f"--ring-pace={self.ring_pace}"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", *command, *options],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/calls/CA-probe", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the carrier service did not start")

    def stop(self) -> None:
        """Stop the process (SIGTERM), as `bin/run` does."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def kill(self) -> None:
        """Kill the process at once: every call it carried is forgotten."""
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def served(app, server):
    """The app served over HTTP, reached by the carrier service at its PUBLIC_BASE_URL."""
    app.config["PUBLIC_BASE_URL"] = server
    app.extensions.pop("sim_carrier", None)
    return server


@pytest.fixture
def service(app, served):
    """A running carrier service the app's gateway talks to through SIM_CARRIER_URL."""
    carrier = CarrierService(app, served).start()
    app.config["SIM_CARRIER_URL"] = carrier.url
    yield carrier
    carrier.stop()


def wait_for(check, what: str):
    """Poll the database until `check(session)` gives a true value; return it."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


def stored(sid: str) -> Call:
    return db.session.scalar(db.select(Call).where(Call.call_sid == sid))


def test_the_service_follows_the_operators_take_and_connect_with_no_further_request(
    app, console, service, region
):
    citizen = RemoteCarrier(service.url).incoming_call(CITIZEN, GOVERNOR_LINE, PATIENT)
    assert citizen.status == "in-progress"  # parked in the operators' queue
    call = wait_for(lambda: stored(citizen.sid), "the call is stored")
    assert call.queued_at is not None and call.operator_id is None

    post(console, f"/console/calls/{call.id}/take")
    call = wait_for(
        lambda: (found := stored(citizen.sid)).operator_answered_at and found,
        "the operator's phone rang and was answered",
    )
    summary = requests.get(f"{service.url}/calls/{citizen.sid}", timeout=5).json()
    assert [leg["number"] for leg in summary["dialled"]] == [OPERATOR_PHONE]

    assert submit_appeal(console, call, region, "connect").status_code == 302
    call = wait_for(
        lambda: (found := stored(citizen.sid)).outcome and found,
        "the duty chain was rung after «connect now»",
    )
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert [(a.role, a.outcome) for a in call.attempts] == [("primary", "accepted")]
    progress = console.get(f"/console/calls/{call.id}/progress").text
    assert region.primary.full_name in progress


def test_a_call_the_restarted_carrier_forgot_ends_on_the_console_and_its_card_within_a_minute(
    app, console, service, region, clock
):
    service.stop()
    service.ring_pace = 1  # the primary's phone rings for RING_SECONDS of real time
    service.start()
    remote = RemoteCarrier(service.url)
    remote.phone(region.primary.phone, "no_answer")
    citizen = remote.incoming_call(CITIZEN, GOVERNOR_LINE, PATIENT)
    call = wait_for(lambda: stored(citizen.sid), "the call is stored")
    post(console, f"/console/calls/{call.id}/take")
    call = wait_for(
        lambda: (found := stored(citizen.sid)).operator_answered_at and found, "operator answered"
    )
    submit_appeal(console, call, region, "connect")
    wait_for(lambda: stored(citizen.sid).attempts, "the primary's phone rings")

    service.kill()  # mid-call: the primary's phone is ringing
    service.start()  # the same control URL, knowing no call
    call = stored(citizen.sid)
    assert (call.ended_at, call.outcome, call.attempts[0].outcome) == (None, None, None)
    assert 'class="attempt ringing"' in console.get(f"/console/calls/{call.id}/progress").text

    clock.advance(seconds=UNKNOWN_CALL_AGE.total_seconds() + 1)
    assert reconcile_calls() == 1
    db.session.expire_all()
    call = stored(citizen.sid)
    assert call.ended_at is not None and call.outcome == "missed"
    assert [(a.role, a.outcome) for a in call.attempts] == [("primary", "caller-hung-up")]
    progress = console.get(f"/console/calls/{call.id}/progress").text
    assert "пропущен" in progress and "звонивший положил трубку" in progress
    assert 'class="attempt ringing"' not in progress
    card = db.session.scalar(db.select(Card).where(Card.appeal_id == call.appeal.id))
    page = console.get(f"/cabinet/cards/{card.id}").text
    assert card.state == "new" and call.appeal.number in page and "звонивший положил трубку" in page
    assert reconcile_calls() == 0  # nothing left hanging, nothing finished twice


def test_a_caller_queued_before_the_carrier_restarted_leaves_the_queue(
    app, console, service, clock
):
    citizen = RemoteCarrier(service.url).incoming_call(CITIZEN, GOVERNOR_LINE, PATIENT)
    call = wait_for(lambda: stored(citizen.sid), "the call is stored")
    assert f'data-call="{call.id}"' in console.get("/console/queue").text
    service.kill()
    service.start()

    clock.advance(seconds=UNKNOWN_CALL_AGE.total_seconds() + 1)
    assert reconcile_calls() == 1
    call = stored(citizen.sid)
    assert (call.outcome, call.status) == ("abandoned", "completed")
    assert f'data-call="{call.id}"' not in console.get("/console/queue").text
