"""Managers' reports: missed calls, officials, ranking, heat map, trends, operators, exports."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.nav import add_nav_item

#: Roles that open the reports (heads only for their own municipality).
REPORT_ROLES = ("manager", "admin", "head")


def init_app(app: Flask) -> None:
    from core.schedule import add_periodic
    from reports import api, cli, incident_views, views, weekly  # noqa: F401  (add routes)

    app.register_blueprint(views.bp)
    cli.init_app(app)
    add_periodic(app, weekly.send_weekly_reports, cron="0 * * * *")
    add_nav_item(app, "reports.index", _l("Reports"), set(REPORT_ROLES), order=30)
