"""Municipalities, officials, categories, duty rosters and who is on duty."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.nav import add_nav_item


def init_app(app: Flask) -> None:
    from roster import cli, views

    app.register_blueprint(views.bp)
    cli.init_app(app)
    add_nav_item(
        app,
        "roster.region",
        _l("Duty rosters"),
        {"operator", "official", "head", "manager", "admin"},
        order=40,
    )
