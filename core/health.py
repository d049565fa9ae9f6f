"""Liveness and readiness probes: they say what is up or down, never versions or settings."""

import logging

from flask import Blueprint, Flask, jsonify
from sqlalchemy import text

from core.extensions import db
from core.logs import polled
from core.queue import redis_connection

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@polled
def healthz():
    """Answer 200 while the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
@polled
def readyz():
    """Answer 200 when the database and Redis answer, 503 naming what is down (the log says why)."""
    problems = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means not ready
        db.session.rollback()
        log.warning("readiness: the database is down: %s", exc.__class__.__name__)
        problems["database"] = "down"
    try:
        redis_connection().ping()
    except Exception as exc:
        log.warning("readiness: Redis is down: %s", exc.__class__.__name__)
        problems["redis"] = "down"
    if problems:
        return jsonify(status="unavailable", problems=problems), 503
    return jsonify(status="ok")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
