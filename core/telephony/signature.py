"""`X-Twilio-Signature`: checking it on webhook blueprints, and computing it for the carrier."""

import hmac
import logging

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator

from core.extensions import csrf, limiter
from core.urls import public_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
#: Names of the blueprints the carrier posts to.
_CARRIER_BLUEPRINTS: set[str] = set()


def sign(url: str, params: dict, auth_token: str) -> str:
    """Return the signature Twilio sends for a request to `url` with the form `params`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def requested_url() -> str:
    """Return the URL Twilio requested: PUBLIC_BASE_URL + path (+ query), never the Host header."""
    url = public_url(request.path)
    if request.query_string:  # as sent, still percent-encoded: Twilio signs those bytes
        url += "?" + request.query_string.decode("utf-8", "replace")
    return url


def signed_urls() -> list[str]:
    """Return the URLs Twilio may have signed for this request.

    Twilio signs the URL it was given, fragment included, and never sends the fragment: a URL
    given with the connection overrides (`#rc=2&rt=timeout`...) was signed with them.
    """
    url = requested_url()
    overrides = current_app.config.get("TWILIO_CONNECTION_OVERRIDES")
    return [url, f"{url}#{overrides}"] if overrides else [url]


def signature_is_valid() -> bool:
    """Return whether the current request carries a valid Twilio signature."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    params = request.form if request.method == "POST" else {}
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    for url in signed_urls():
        # Twilio signs the URL as configured: one signature to compute; the validator also
        # tries the URL with its port added or removed, as Twilio may have signed it
        expected = validator.compute_signature(url, params)
        if hmac.compare_digest(expected.encode(), signature.encode()) or validator.validate(
            url, params, signature
        ):
            return True
    return False


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
