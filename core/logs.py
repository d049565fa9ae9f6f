"""Logging: one line per event, JSON in production, with the request id, CallSid and appeal."""

import functools
import logging
import re
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(call_sid)s %(appeal)s] %(message)s"
)
JSON_FIELDS = (
    "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(call_sid)s %(appeal)s"
)
#: Key in the WSGI environ marking a request that a page repeats on a timer (see `polled`).
POLLED = "hotline.polled"
#: Key in the WSGI environ holding the path the logs show instead of a secret one (`secret_url`).
LOGGED_PATH = "hotline.logged_path"


def bind_log_context(**values: str) -> None:
    """Add values (call_sid, appeal) to every log line of the current request."""
    if has_request_context():
        g.setdefault("log_context", {}).update(values)


class ContextFilter(logging.Filter):
    """Puts the request id, the CallSid and the appeal number on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = g.get("log_context", {}) if has_request_context() else {}
        record.request_id = context.get("request_id", "-")
        record.call_sid = context.get("call_sid", "-")
        record.appeal = context.get("appeal", "-")
        logged_path = request.environ.get(LOGGED_PATH) if has_request_context() else None
        if logged_path and request.path in (message := record.getMessage()):
            record.msg, record.args = message.replace(request.path, logged_path), ()
        return True


def polled(view):
    """Mark a view that pages poll on a timer, so the access log leaves its requests out."""

    @functools.wraps(view)
    def marked(*args, **kwargs):
        request.environ[POLLED] = True
        return view(*args, **kwargs)

    return marked


def secret_url(view):
    """Mark a view whose URL is a secret, so the logs show its rule with `<redacted>` instead."""

    @functools.wraps(view)
    def marked(*args, **kwargs):
        request.environ[LOGGED_PATH] = re.sub(r"<[^>]*>", "<redacted>", request.url_rule.rule)
        return view(*args, **kwargs)

    return marked


def _bind_request() -> None:
    request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    bind_log_context(request_id=request_id[:64])
    call_sid = request.form.get("CallSid") if request.mimetype.endswith("form-urlencoded") else None
    if call_sid:
        bind_log_context(call_sid=call_sid[:64])


def _return_request_id(response):
    response.headers["X-Request-ID"] = g.get("log_context", {}).get("request_id", "")
    return response


def configure_logging(json_lines: bool) -> None:
    """Send INFO and above to stderr, as JSON lines or readable text (once per process)."""
    root = logging.getLogger()
    if any(getattr(handler, "hotline", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.hotline = True
    formatter = JsonFormatter(JSON_FIELDS) if json_lines else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # RQ says four things about every job at INFO; the worker logs one line per job itself.
    for name in ("rq", "rq.worker"):  # rq.worker sets INFO for itself on import unless set
        logging.getLogger(name).setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_FORMAT"] == "json")
    app.before_request(_bind_request)
    app.after_request(_return_request_id)
