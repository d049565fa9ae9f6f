"""The signed session cookie, who is signed in, and sign-ins that end after idle time."""

from collections.abc import Callable

from flask import Flask, Request, current_app, flash, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from core.clock import utcnow
from core.models import User

#: The session key holding when the signed-in user last made a request (seconds since 1970).
LAST_SEEN = "seen"
#: The last request is noted again only after this many seconds, not on every request.
SEEN_PRECISION = 60


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


def add_idle_exemption(app: Flask, exempt: Callable[[User], bool]) -> None:
    """Let a package keep a sign-in open however long it idles (an operator on shift)."""
    app.extensions.setdefault("hotline.idle_exemptions", []).append(exempt)


def _idle_exempt(user: User) -> bool:
    return any(exempt(user) for exempt in current_app.extensions.get("hotline.idle_exemptions", []))


def end_idle_session() -> None:
    """Sign out a user whose last request is older than SESSION_IDLE_HOURS; note this one."""
    if not request.cookies or request.endpoint in (None, "static"):
        return
    user = signed_in_user()
    if user is None:
        return
    now = int(utcnow().timestamp())
    seen = session.get(LAST_SEEN)
    idle = current_app.config["SESSION_IDLE_HOURS"] * 3600
    if isinstance(seen, int) and now - seen > idle and not _idle_exempt(user):
        logout_user()
        session.pop(LAST_SEEN, None)
        flash(_("You were signed out after a long pause. Please sign in again."), "info")
        return
    if not isinstance(seen, int) or now - seen >= SEEN_PRECISION:
        session[LAST_SEEN] = now


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    app.before_request(end_idle_session)
