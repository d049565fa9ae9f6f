"""Retention: data that is kept only for a while, deleted by `purge` and a daily job."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import Flask, current_app

from core.clock import utcnow
from core.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purger:
    label: str
    #: Deletes what is older than the cutoff; returns how many items it deleted.
    purge: Callable[[datetime], int]
    #: The setting holding the retention in days.
    days_setting: str


def add_purger(app: Flask, label: str, purge: Callable[[datetime], int], days_setting: str):
    """Register what a package deletes once it is older than the setting's number of days."""
    app.extensions.setdefault("hotline.purgers", []).append(Purger(label, purge, days_setting))


def purge_expired(now: datetime | None = None) -> dict[str, int]:
    """Delete everything past its retention; return the count per kind. The caller commits."""
    now = now or utcnow()
    counts = {}
    for purger in current_app.extensions.get("hotline.purgers", []):
        cutoff = now - timedelta(days=current_app.config[purger.days_setting])
        counts[purger.label] = purger.purge(cutoff)
        log.info("purged %d %s older than %s", counts[purger.label], purger.label, cutoff)
    return counts


def purge_job() -> None:
    """Daily: delete recordings, photos and idempotency keys past their retention."""
    purge_expired()
    db.session.commit()


@click.command("purge")
def purge_command():
    """Delete voice recordings, photos and idempotency keys past their retention now."""
    counts = purge_expired()
    db.session.commit()
    for label, count in counts.items():
        click.echo(f"{label}: {count} deleted")


def init_app(app: Flask) -> None:
    from core.schedule import add_periodic

    app.cli.add_command(purge_command)
    add_periodic(app, purge_job, cron="30 3 * * *")
