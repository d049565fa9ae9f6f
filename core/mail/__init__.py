"""E-mail as a channel: an outbox in the database, sent over SMTP by jobs, retried on failure."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the outbox's sweep and the page that shows kept and sent messages."""
    from core.mail import jobs, views
    from core.schedule import add_periodic

    app.register_blueprint(views.bp)
    add_periodic(app, jobs.sweep_due_email, interval=60)
