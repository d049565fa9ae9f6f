"""Cards ("you were called"), click-to-call callbacks, the cabinets and the tracking jobs."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.metrics import add_metrics
from core.nav import add_nav_item
from core.retention import add_purger
from core.schedule import add_periodic

#: Roles that open the cabinet (officials and heads only for their own municipality).
CABINET_ROLES = ("official", "head", "operator", "manager", "admin")


def init_app(app: Flask) -> None:
    """Register the cabinet, the webhooks, the signal receivers, the sweeps and the labels."""
    from callbacks import api, jobs, views, voice  # noqa: F401  (api adds routes to the API)
    from callbacks.labels import cabinet_labels
    from callbacks.metrics import card_metrics
    from callbacks.retention import purge_photos
    from callbacks.signals import connect_receivers

    connect_receivers()
    app.context_processor(cabinet_labels)
    app.register_blueprint(views.bp)
    app.register_blueprint(voice.bp)
    add_periodic(app, jobs.sweep, interval=60)
    add_periodic(app, jobs.reconcile_callbacks, interval=60)
    add_periodic(app, jobs.send_morning_digests, cron="0 * * * *")
    add_metrics(app, card_metrics)
    add_purger(app, "card photos", purge_photos, "PHOTO_RETENTION_DAYS")
    add_nav_item(app, "callbacks.cabinet", _l("Cabinet"), set(CABINET_ROLES), order=20)
