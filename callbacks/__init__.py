"""Cards ("you were called"), click-to-call callbacks, the cabinets and the tracking jobs."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.metrics import add_metrics
from core.nav import add_nav_item
from core.retention import add_purger
from core.schedule import add_periodic

#: Roles that open the cabinet (officials and heads only for their own municipality).
CABINET_ROLES = ("official", "head", "operator", "manager", "admin")


def on_chain_exhausted(call, appeal=None, **extra) -> None:
    """Open the call's card when nobody in its duty chain accepted (the webhook commits)."""
    from callbacks.services import open_card

    if appeal is not None:
        open_card(call, appeal)


def on_appeal_registered(appeal, call=None, **extra) -> None:
    """Open the card of an appeal an operator sent to its municipality without a duty chain."""
    from callbacks.services import open_registered_card

    if call is not None:
        open_registered_card(call, appeal)


def on_next_checkins_wanted(appeal_ids, **extra) -> dict:
    """Tell the operator console when each tracked appeal is checked next."""
    from callbacks.services import next_checkins

    return next_checkins(appeal_ids)


def init_app(app: Flask) -> None:
    from callbacks import api, hooks, jobs, views  # noqa: F401  (api adds routes to the API)
    from callbacks.metrics import card_metrics
    from callbacks.retention import purge_photos
    from hotline.signals import appeal_registered, chain_exhausted, next_checkins_wanted

    chain_exhausted.connect(on_chain_exhausted, weak=False)  # connecting again is a no-op
    appeal_registered.connect(on_appeal_registered, weak=False)
    next_checkins_wanted.connect(on_next_checkins_wanted, weak=False)
    app.register_blueprint(views.bp)
    app.register_blueprint(hooks.bp)
    add_periodic(app, jobs.sweep, interval=60)
    add_periodic(app, jobs.reconcile_callbacks, interval=60)
    add_metrics(app, card_metrics)
    add_purger(app, "card photos", purge_photos, "PHOTO_RETENTION_DAYS")
    add_nav_item(app, "callbacks.cabinet", _l("Cabinet"), set(CABINET_ROLES), order=20)
