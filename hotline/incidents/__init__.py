"""Incidents: declared for a municipality, announced to its callers, joined with one key.

- `models`: the incident and who joined it; `services`: declaring, joining, closing, clusters
- `views`: the operators' and managers' page to declare and close them
"""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.nav import add_nav_item

#: Who declares and closes incidents.
INCIDENT_ROLES = ("operator", "manager", "admin")


def init_app(app: Flask) -> None:
    from hotline.incidents import views

    app.register_blueprint(views.bp)
    app.add_template_global(views.incident_board)
    app.add_template_global(views.console_suggestions)
    add_nav_item(app, "incidents.index", _l("Incidents"), set(INCIDENT_ROLES), order=15)
