"""The application factory."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, check_settings, load_config
from core.extensions import csrf, db, limiter, login_manager, migrate
from core.parsing import IdConverter


def create_app(config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints and CLI commands."""
    settings = {**load_config(), **(config or {})}
    check_settings(settings)
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=settings["INSTANCE_DIR"],
    )
    app.config.update(settings)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    if app.config["PROXY_HOPS"]:  # the client's address and scheme as the proxy saw them
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limiter_storage(app.config["REDIS_URL"]))
    limiter.init_app(app)

    from core import (
        admin,
        auth,
        cli,
        database,
        health,
        i18n,
        journal,
        logs,
        mail,
        metrics,
        retention,
        security,
        sessions,
        telephony,
        views,
    )

    database.init_app(app)
    logs.init_app(app)
    security.init_app(app)
    sessions.init_app(app)
    metrics.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    admin.init_app(app)
    views.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    retention.init_app(app)
    journal.init_app(app)
    telephony.init_app(app)
    mail.init_app(app)

    from core.api import api, purge_idempotency_keys

    _register_features(app)
    app.register_blueprint(api)
    retention.add_purger(
        app, "idempotency keys", purge_idempotency_keys, "IDEMPOTENCY_KEY_RETENTION_DAYS"
    )
    return app


def _limiter_storage(redis_url: str | None) -> str:
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def _register_features(app: Flask) -> None:
    import callbacks
    import hotline
    import reports
    import roster

    roster.init_app(app)
    hotline.init_app(app)
    callbacks.init_app(app)
    reports.init_app(app)
