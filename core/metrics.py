"""Prometheus metrics: `/metrics` with webhook latency and the figures each package contributes.

Counts of calls, attempts and cards are read from the database at scrape time (stored facts, the
same in every process); request latency is a histogram kept per process, shared between
gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set (see deploy/gunicorn.conf.py).
"""

import hmac
import os
import time
from collections.abc import Callable, Iterable

import click
from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from rq.registry import FailedJobRegistry

from core.queue import get_queue

bp = Blueprint("metrics", __name__)

#: Latency of every request, by endpoint (webhooks are `voice.*`, `callback_hooks.*`, ...).
REQUEST_SECONDS = Histogram(
    "hotline_request_duration_seconds",
    "Time to answer a request, by Flask endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

Collect = Callable[[], Iterable[Metric]]

#: Set in the WSGI environ of requests that came through the private metrics listener.
PRIVATE_LISTENER_KEY = "hotline.metrics_listener"


def add_metrics(app: Flask, collect: Collect) -> None:
    """Let a package add metric families, computed when /metrics is scraped."""
    app.extensions.setdefault("hotline.metrics", []).append(collect)


def queue_metrics() -> Iterable[Metric]:
    """Jobs waiting in the queue and jobs that failed."""
    queue = get_queue()
    depth = GaugeMetricFamily("hotline_queue_depth", "Jobs waiting in the queue", labels=["queue"])
    depth.add_metric([queue.name], queue.count)
    failed = GaugeMetricFamily(
        "hotline_jobs_failed", "Jobs in the failed registry", labels=["queue"]
    )
    failed.add_metric([queue.name], FailedJobRegistry(queue=queue).count)
    return [depth, failed]


class _AppCollector:
    """Adapts the registered collect functions to prometheus_client's collector protocol."""

    def __init__(self, collects: list[Collect]) -> None:
        self.collects = collects

    def collect(self) -> Iterable[Metric]:
        for collect in self.collects:
            yield from collect()


@bp.get("/metrics")
def metrics():
    """Expose the metrics in Prometheus' text format."""
    on_private_listener = request.environ.get(PRIVATE_LISTENER_KEY, False)
    if current_app.config.get("METRICS_PRIVATE_LISTENER") and not on_private_listener:
        abort(404)  # served on the private listener only
    token = current_app.config.get("METRICS_TOKEN")
    wanted = f"Bearer {token}"
    given = request.headers.get("Authorization", "")
    if token and not on_private_listener and not hmac.compare_digest(given, wanted):
        abort(401)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(_AppCollector(current_app.extensions.get("hotline.metrics", [])))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ProcessCollector:
    """This process's own histograms (one process: the development server, tests)."""

    def collect(self) -> Iterable[Metric]:
        yield from REQUEST_SECONDS.collect()


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response):
    started = g.get("request_started")
    if started is not None and request.endpoint:
        REQUEST_SECONDS.labels(request.endpoint).observe(time.perf_counter() - started)
    return response


def private_metrics_app(app: Flask):
    """Return a WSGI app that serves only /metrics of `app`, for the private listener."""

    def serve(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        environ[PRIVATE_LISTENER_KEY] = True
        return app.wsgi_app(environ, start_response)

    return serve


@click.command("metrics-listener")
def metrics_listener_command():
    """Serve /metrics without a token on METRICS_PRIVATE_LISTENER (a private address)."""
    from werkzeug.serving import run_simple

    from config import private_listener

    setting = current_app.config.get("METRICS_PRIVATE_LISTENER") or ""
    address = private_listener(setting)
    if address is None:
        raise click.UsageError("set METRICS_PRIVATE_LISTENER to ADDRESS:PORT on a private network")
    app = current_app._get_current_object()
    run_simple(address[0], address[1], private_metrics_app(app), threaded=True)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(metrics_listener_command)
    app.before_request(_start_timer)
    app.after_request(_observe)
    add_metrics(app, queue_metrics)
