"""Municipalities, officials, categories, duty rosters and who is on duty."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.nav import add_nav_item


def duty_numbers() -> list[tuple[str, str]]:
    """Return each municipality's duty number with its name (for `flask twilio check`)."""
    from sqlalchemy import select

    from core.extensions import db
    from roster.models import Municipality

    rows = db.session.execute(
        select(Municipality.duty_number, Municipality.name)
        .where(Municipality.duty_number.is_not(None))
        .order_by(Municipality.name)
    )
    return [(number, f"duty number of {name}") for number, name in rows]


def init_app(app: Flask) -> None:
    from core.schedule import add_periodic
    from core.telephony.cli import add_app_numbers
    from roster import api, jobs, views  # noqa: F401  (api adds routes to core's blueprint)

    app.register_blueprint(views.bp)
    add_app_numbers(app, duty_numbers)
    add_periodic(app, jobs.refresh_all_rosters, cron="20 2 * * *")
    add_periodic(app, jobs.send_shift_reminders, cron="5 * * * *")
    add_nav_item(
        app,
        "roster.region",
        _l("Duty rosters"),
        {"operator", "official", "head", "manager", "admin"},
        order=40,
    )
