"""Periodic jobs: features register them, one `flask --app wsgi scheduler` process enqueues them."""

from dataclasses import dataclass

from flask import Flask
from rq.cron import CronScheduler

from core.queue import PERIODIC, redis_connection


@dataclass(frozen=True)
class PeriodicJob:
    func: object
    #: Seconds between runs, or a cron expression (server-local time), never both.
    interval: int | None
    cron: str | None
    name: str


def add_periodic(app: Flask, func, *, interval: int | None = None, cron: str | None = None):
    """Run `func()` on the default queue every `interval` seconds or on a cron schedule."""
    if (interval is None) == (cron is None):
        raise ValueError("give exactly one of interval or cron")
    name = f"{func.__module__}.{func.__name__}"
    registry = app.extensions.setdefault("hotline.periodic", {})
    registry[name] = PeriodicJob(func, interval, cron, name)


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    """Return the registered periodic jobs, by name."""
    return sorted(app.extensions.get("hotline.periodic", {}).values(), key=lambda job: job.name)


def build_scheduler(app: Flask) -> CronScheduler:
    """Return an RQ cron scheduler with every registered periodic job."""
    scheduler = CronScheduler(connection=redis_connection(app), name="hotline-scheduler")
    for job in periodic_jobs(app):
        scheduler.register(
            job.func,
            "default",
            interval=job.interval,
            cron=job.cron,
            name=job.name,
            meta={PERIODIC: True},  # the worker logs a run that found nothing at DEBUG
        )
    return scheduler
