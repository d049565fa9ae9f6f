"""Telephony: the gateway for outbound actions, the webhook signature check, the simulated carrier.

`get_gateway()` returns the gateway chosen by `TELEPHONY` (`sim` by default, or `twilio`);
a carrier that refuses or cannot be reached raises `CarrierError`; an SMS it does not take
for a passing reason is tried again by `core.telephony.jobs` (a periodic sweep re-finds due ones);
`protect_webhooks(bp)` makes a blueprint refuse requests without a valid `X-Twilio-Signature`;
every SMS names `POST /sms/status` (`core.telephony.receipts`) for its delivery receipts.
The simulated carrier lives in `core.telephony.sim`.
"""

from flask import Flask, current_app

from core.telephony.gateway import (
    CallUnknown,
    CarrierError,
    Gateway,
    RecordingGone,
    sms_max_attempts,
)
from core.telephony.signature import protect_webhooks, sign

__all__ = [
    "CallUnknown",
    "CarrierError",
    "Gateway",
    "RecordingGone",
    "get_gateway",
    "init_app",
    "protect_webhooks",
    "sign",
]

EXTENSION_KEY = "telephony.gateway"


def get_gateway(app: Flask | None = None) -> Gateway:
    """Return the app's telephony gateway for its `TELEPHONY` setting, built once."""
    app = app or current_app._get_current_object()
    gateway = app.extensions.get(EXTENSION_KEY)
    if gateway is None:
        gateway = _build_gateway(app)
        app.extensions[EXTENSION_KEY] = gateway
    return gateway


def _build_gateway(app: Flask) -> Gateway:
    kind = app.config.get("TELEPHONY", "sim")
    if kind == "twilio":
        from core.telephony.twilio_gateway import TwilioGateway

        return TwilioGateway(
            app.config["TWILIO_ACCOUNT_SID"],
            app.config["TWILIO_AUTH_TOKEN"],
            app.config["TWILIO_NUMBER"],
            api_base_url=app.config.get("TWILIO_API_BASE_URL"),
            timeout=app.config.get("TWILIO_HTTP_TIMEOUT"),
        )
    if kind == "sim":
        from core.telephony.sim_gateway import SimGateway

        return SimGateway(app)
    raise RuntimeError(f"TELEPHONY must be `sim` or `twilio`, not {kind!r}")


def init_app(app: Flask) -> None:
    import logging

    from core.schedule import add_periodic
    from core.telephony import cli
    from core.telephony.jobs import sweep_due_sms
    from core.telephony.receipts import bp as receipts
    from core.telephony.receipts import sms_error_reason

    app.register_blueprint(receipts)
    cli.init_app(app)
    # Twilio's client logs every request's headers at INFO; the gateway logs what matters.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    app.jinja_env.globals["sms_error_reason"] = sms_error_reason
    add_periodic(app, sweep_due_sms, interval=60)
    app.jinja_env.globals["sms_max_attempts"] = sms_max_attempts
