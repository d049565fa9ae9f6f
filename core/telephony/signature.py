"""`X-Twilio-Signature`: checking it on webhook blueprints, and computing it for the carrier."""

import hmac
import logging

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator

from core.extensions import csrf, limiter

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
#: Names of the blueprints the carrier posts to.
_CARRIER_BLUEPRINTS: set[str] = set()


def sign(url: str, params: dict, auth_token: str) -> str:
    """Return the signature Twilio sends for a request to `url` with the form `params`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def public_url() -> str:
    """Return the URL Twilio requested: PUBLIC_BASE_URL + path (+ query), never the Host header."""
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("utf-8", "replace")
    return url


def signature_is_valid() -> bool:
    """Return whether the current request carries a valid Twilio signature."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    params = request.form if request.method == "POST" else {}
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    url = public_url()
    # Twilio signs the URL as configured: one signature to compute; the validator also tries
    # the URL with its port added or removed, as Twilio may have signed it
    expected = validator.compute_signature(url, params)
    return hmac.compare_digest(expected.encode(), signature.encode()) or validator.validate(
        url, params, signature
    )


def _require_signature() -> Response | None:
    if signature_is_valid():
        return None
    log.warning("refused %s %s: missing or invalid Twilio signature", request.method, request.path)
    return Response("Invalid or missing X-Twilio-Signature\n", 403, mimetype="text/plain")


@limiter.request_filter
def _from_the_carrier() -> bool:
    """Twilio posts every call from a few addresses: a limit by address must never refuse it."""
    return request.blueprint in _CARRIER_BLUEPRINTS


def protect_webhooks(blueprint: Blueprint) -> Blueprint:
    """Refuse unsigned requests to `blueprint` (403); exempt it from CSRF and limits by address."""
    csrf.exempt(blueprint)
    _CARRIER_BLUEPRINTS.add(blueprint.name)
    blueprint.before_request(_require_signature)
    return blueprint
