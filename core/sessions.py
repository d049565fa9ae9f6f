"""The signed session cookie, and who is signed in, without work for cookieless requests."""

from flask import Flask, Request, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from core.models import User


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions; a request without the cookie gets an empty one at once.

    The carrier's webhooks never carry cookies: they skip building the cookie's signer.
    """

    def open_session(self, app: Flask, request: Request):
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def signed_in_user() -> User | None:
    """Return the user signed in for the current request, if any."""
    # a signed-in browser always sends a cookie (the session's or the remember-me one)
    if not has_request_context() or not request.cookies:
        return None
    return current_user._get_current_object() if current_user.is_authenticated else None


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
