"""Roster commands."""

import click
from flask import Flask

from core.extensions import db
from roster.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


@click.command("seed-demo")
def seed_demo_command():
    """Load the demo Tula region (idempotent) and print the demo logins."""
    created = seed_demo()
    db.session.commit()
    click.echo(f"Demo region: {created} new rows." if created else "Demo region already loaded.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role, municipality, _ in DEMO_USERS:
        where = f" ({municipality})" if municipality else ""
        click.echo(f"  {username:<10} {role}{where}")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
