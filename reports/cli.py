"""The demo command: the region, its logins and its past weeks of calls."""

import click
from flask import Flask

from core.extensions import db
from reports.demo import seed_history
from roster.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


@click.command("seed-demo")
@click.option(
    "--history",
    "weeks",
    type=click.IntRange(0, 52),
    default=8,
    show_default=True,
    help="Past weeks of calls to play (the reports' history).",
)
@click.option("--seed", type=int, default=22, show_default=True, help="Seed of the history.")
def seed_demo_command(weeks, seed):
    """Load the demo Tula region and its past weeks of calls (idempotent); print the logins."""
    created = seed_demo()
    db.session.commit()
    if weeks:
        played = seed_history(weeks, seed)
        click.echo(
            f"Demo history: {played} calls played." if played else "Demo history: up to date."
        )
    click.echo(f"Demo region: {created} new rows." if created else "Demo region already loaded.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role, municipality, _ in DEMO_USERS:
        where = f" ({municipality})" if municipality else ""
        click.echo(f"  {username:<10} {role}{where}")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
