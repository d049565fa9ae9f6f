"""Open311 GeoReport v2 intake: other systems file appeals and read their progress.

- `services`: api keys, the service list, taking a request in as an appeal, finding requests
- `documents`: the service and request documents Open311 clients read
- `views`: the GeoReport endpoints in JSON and XML; `models`: keys and a request's extras
"""

import click
from flask import Flask
from flask.cli import AppGroup

from core.extensions import db

open311_cli = AppGroup("open311", help="Manage the api_keys of Open311 clients.")


@open311_cli.command("key")
@click.argument("name")
def key_command(name):
    """Print a new api_key for the named Open311 client (only the key, on stdout)."""
    from hotline.open311.services import Open311Error, issue_key

    try:
        key = issue_key(name)
    except Open311Error as error:
        db.session.rollback()
        raise click.ClickException(error.description) from error
    db.session.commit()
    click.echo(key)


@open311_cli.command("revoke")
@click.argument("name")
def revoke_command(name):
    """Revoke the named client's api_key."""
    from hotline.open311.services import revoke_key

    if not revoke_key(name):
        raise click.ClickException(f"no live key named {name!r}")
    db.session.commit()
    click.echo(f"revoked {name}", err=True)


def init_app(app: Flask) -> None:
    from hotline.open311 import models, views  # noqa: F401  (models join the metadata)

    app.register_blueprint(views.bp)
    app.cli.add_command(open311_cli)
