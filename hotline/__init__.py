"""Voice webhooks, the duty chain, calls and appeals, and the operator console.

- `calls`: finding calls, the incoming call, refusals, the operators' queue
- `menu`: the voice menu; `chain`: the duty chain and a call's next step
- `appeals`: registering appeals and the registration SMS; `endings`: a call's end
- `services`: re-exports the five above for callers in other packages
- `voice`: the voice webhooks (TwiML from `twiml`, words from `prompts`); `jobs`: hotline jobs
- `intake`, `api`, `api_appeals`, `open311/`: appeals from other channels and the API
- `console/`: the operator console; `phone`: the simulated web phone
"""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.metrics import add_metrics
from core.nav import add_nav_item
from core.retention import add_purger
from core.sessions import add_idle_exemption


def operator_on_shift(user) -> bool:
    """Return whether the user is an operator on shift (their console stays signed in)."""
    from hotline.console.services import current_shift

    return user.role == "operator" and current_shift(user) is not None


def init_app(app: Flask) -> None:
    from core.schedule import add_periodic
    from hotline import api, api_appeals, open311, phone, voice  # noqa: F401  (api adds routes)
    from hotline.console.jobs import expire_lapsed_offers
    from hotline.jobs import reconcile_calls
    from hotline.labels import caller_label
    from hotline.metrics import call_metrics
    from hotline.retention import purge_recordings

    app.register_blueprint(voice.bp)
    app.add_template_filter(caller_label, "caller")
    add_metrics(app, call_metrics)
    add_purger(app, "voice messages", purge_recordings, "RECORDING_RETENTION_DAYS")
    add_periodic(app, reconcile_calls, interval=60)
    add_periodic(app, expire_lapsed_offers, interval=30)
    app.register_blueprint(phone.bp)
    from hotline import prompt_views

    app.register_blueprint(prompt_views.bp)
    add_nav_item(app, "prompts.index", _l("Prompts"), {"manager", "admin"}, order=80)
    open311.init_app(app)
    from hotline import incidents
    from hotline.incidents import models as incident_models  # noqa: F401  (join the metadata)

    incidents.init_app(app)
    from hotline.console import appeal_views  # noqa: F401  (adds the appeal pages to the console)
    from hotline.console import views as console_views
    from hotline.console import voice as console_voice

    app.register_blueprint(console_views.bp)
    app.register_blueprint(console_voice.bp)
    add_nav_item(app, "console.index", _l("Console"), {"operator", "admin"}, order=10)
    add_nav_item(app, "console.wallboard_page", _l("Wallboard"), {"manager", "admin"}, order=11)
    add_idle_exemption(app, operator_on_shift)
    if app.config["TELEPHONY"] == "sim":
        add_nav_item(
            app,
            "phone.web_phone",
            _l("Web phone"),
            phone.phone_roles(app.config),
            order=90,
        )
