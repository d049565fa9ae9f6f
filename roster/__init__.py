"""Municipalities, officials, categories, duty rosters and who is on duty."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.nav import add_nav_item


def init_app(app: Flask) -> None:
    from core.schedule import add_periodic
    from roster import api, cli, jobs, views  # noqa: F401  (api adds routes to core's blueprint)

    app.register_blueprint(views.bp)
    cli.init_app(app)
    add_periodic(app, jobs.refresh_all_rosters, cron="20 2 * * *")
    add_periodic(app, jobs.send_shift_reminders, cron="5 * * * *")
    add_nav_item(
        app,
        "roster.region",
        _l("Duty rosters"),
        {"operator", "official", "head", "manager", "admin"},
        order=40,
    )
