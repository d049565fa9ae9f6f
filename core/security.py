"""Security headers on every response; HSTS in production."""

import secrets

from flask import Flask, abort, g, request
from flask_babel import gettext as _

#: No third-party origins: every script, style, image and recording is served by the app itself;
#: the only scripts that run are files from static/ and the tags carrying the request's nonce.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def csp_nonce() -> str:
    """Return this request's script nonce, for the `nonce` attribute of a page's script tags."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy() -> str:
    """Return this response's policy: scripts from the app, and the nonce if the page used it."""
    nonce = g.get("csp_nonce")
    return CONTENT_SECURITY_POLICY.format(scripts=f"'self' 'nonce-{nonce}'" if nonce else "'self'")


def refuse_nul_characters() -> None:
    """Answer 400 to a page request carrying a NUL character, which no database can store.

    The JSON API and Open311 check their own input and name the field in their error format.
    """
    if request.path.startswith(("/api/", "/open311/")):
        return
    values = [*request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += request.form.values()
    if any("\x00" in value for value in values):
        abort(400, _("The request contains a NUL character."))


def init_app(app: Flask) -> None:
    production = app.config["HOTLINE_ENV"] == "production"
    app.before_request(refuse_nul_characters)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
