"""Voice webhooks, the duty chain, calls and appeals, and the operator console."""

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline import api, voice  # noqa: F401  (api adds its routes to the core API blueprint)

    app.register_blueprint(voice.bp)
