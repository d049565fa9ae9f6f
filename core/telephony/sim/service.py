"""The simulated carrier as a service of its own: `flask --app wsgi sim-carrier`.

It reaches the web app over HTTP at `--app-url` with webhooks signed over PUBLIC_BASE_URL, and
takes the gateway's requests on its control port (the URL the app gets as SIM_CARRIER_URL). It
carries each request out on a thread as soon as it comes, lets ringing last on its own clock,
and numbers given no behaviour answer and press 1, so every story of the demo plays.
"""

import logging
import signal
import threading

import click
from flask import current_app

from core.telephony.sim.audio import sim_recordings_dir
from core.telephony.sim.carrier import SimCarrier
from core.telephony.sim.control import ControlServer
from core.telephony.sim.phones import obliging

log = logging.getLogger(__name__)

#: Real seconds one simulated second of ringing lasts in the demo: a 20-second timeout takes 4.
DEMO_RING_PACE = 0.2


def build_carrier_service(
    app, app_url: str, *, port: int = 0, ring_pace: float = DEMO_RING_PACE
) -> ControlServer:
    """Return the control server of a carrier that calls the app at `app_url` (not started)."""
    carrier = SimCarrier.over_http(
        app_url,
        app.config["TWILIO_AUTH_TOKEN"],
        app.config["PUBLIC_BASE_URL"],
        account_sid=app.config["TWILIO_ACCOUNT_SID"],
        default_number=app.config["TWILIO_NUMBER"],
        strict=False,
        recordings_dir=sim_recordings_dir(app.instance_path),
        unknown_numbers=obliging(),
        ring_pace=ring_pace,
    )
    return ControlServer(carrier, port=port)


@click.command("sim-carrier")
@click.option("--port", type=int, required=True, help="the control port (SIM_CARRIER_URL)")
@click.option(
    "--app-url", required=True, help="where the web app listens, e.g. http://127.0.0.1:5000"
)
@click.option(
    "--ring-pace",
    type=float,
    default=DEMO_RING_PACE,
    show_default=True,
    help="real seconds per simulated second of ringing (0: ringing takes no time)",
)
def sim_carrier_command(port, app_url, ring_pace):
    """Run the simulated carrier beside the web app until stopped."""
    server = build_carrier_service(
        current_app._get_current_object(), app_url, port=port, ring_pace=ring_pace
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    server.start()
    log.info("simulated carrier: control at %s, calling %s", server.url, app_url)
    stopped.wait()
    server.stop()
