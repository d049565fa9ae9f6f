"""Absolute URLs of the app as the carrier reaches it (signatures use PUBLIC_BASE_URL)."""

from flask import current_app, url_for


def absolute_url(endpoint: str, **values) -> str:
    """Return the absolute URL of an endpoint, built on PUBLIC_BASE_URL (never the Host header)."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)
