"""Interface language and time-zone formatting."""

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import babel
from core.models import Event

LANGUAGES = {"ru": "Русский", "en": "English"}


def select_locale() -> str:
    """Pick the user's language, then the session's, then Russian (outside requests: Russian)."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("locale") or request.args.get("lang")
    return chosen if chosen in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["HOTLINE_TZ"]


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "short") -> str:
    """Format an aware datetime in a zone (default: the region's) and the user's language."""
    if value is None:
        return ""
    zone = ZoneInfo(tz or current_app.config["HOTLINE_TZ"])
    return babel_format_datetime(value, format=fmt, tzinfo=zone, locale=str(get_locale()))


def event_actor(event: Event) -> str:
    """Return who acted in a timeline event: the user's name, or the system's part in words."""
    if event.actor is not None:
        return event.actor.full_name or event.actor.username
    label = event.actor_label or ""
    if label.startswith("sms "):
        return _("SMS from %(number)s", number=label.removeprefix("sms "))
    if label.startswith("open311:"):
        return _("Open311: %(name)s", name=label.removeprefix("open311:"))
    names = {
        "system": _("system"),
        "worker": _("system"),
        "tracking": _("system"),
        "retention": _("system"),
        "roster": _("system"),
        "carrier": _("telephone network"),
        "citizen": _("citizen"),
        "cli": _("administrator"),
        "anonymous": _("not signed in"),
    }
    return names.get(label, label)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["event_actor"] = event_actor
