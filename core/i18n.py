"""Interface language and time-zone formatting."""

import os
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from config import StartupError
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


def compile_catalogs(directories: list[str]) -> list[Path]:
    """Compile each catalog whose .mo is missing or older than its .po, as `bin/setup` does.

    Returns the .mo files written. Without them every page would be English under
    `<html lang="ru">`, so a catalog that cannot be written stops the start-up, naming the fix.
    """
    written = []
    for directory in directories:
        for po in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            try:
                _write_catalog(po, mo)
            except OSError as error:
                raise StartupError(
                    f"the message catalog {mo} is missing or older than its .po and cannot be "
                    f"written ({error.strerror}): run bin/setup (pybabel compile -d {directory})"
                ) from error
            written.append(mo)
    return written


def _write_catalog(po: Path, mo: Path) -> None:
    """Write the compiled catalog next to its .po, whole or not at all (processes start at once)."""
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name)
    handle, partial = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def init_app(app: Flask) -> None:
    written = compile_catalogs(app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";"))
    if written and "domain_instance" in vars(babel):
        # Flask-Babel keeps the translations it read, by locale, for every app of the process
        babel.domain_instance.cache.clear()
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["event_actor"] = event_actor
