"""Security headers on every response; HSTS in production."""

from flask import Flask, abort, request
from flask_babel import gettext as _

#: No third-party origins: every script, style, image and recording is served by the app itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)


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

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
