"""Absolute URLs of the app, all built on PUBLIC_BASE_URL (never the Host header).

`public_url` is for people (SMS links, API documents, links on pages as the Jinja global
`public_url`); `webhook_url` and `absolute_url` are
for the carrier and carry the Twilio connection overrides (TWILIO_CONNECTION_OVERRIDES) as
the URL's fragment, which Twilio reads, signs, and never sends.
"""

from flask import current_app, has_request_context, url_for


def public_url(path: str) -> str:
    """Return the absolute URL of a path of the app, as people and the carrier reach it."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/" + path.lstrip("/")


def webhook_url(path: str) -> str:
    """Return the absolute URL the carrier is given for a path, with the connection overrides."""
    overrides = current_app.config.get("TWILIO_CONNECTION_OVERRIDES")
    return public_url(path) + (f"#{overrides}" if overrides else "")


def absolute_url(endpoint: str, **values) -> str:
    """Return the carrier's absolute URL of an endpoint (TwiML actions, status callbacks).

    Works in a job as in a request: the path comes from the URL map, the host from
    PUBLIC_BASE_URL.
    """
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        path = current_app.url_map.bind("").build(endpoint, values)
    return webhook_url(path)
