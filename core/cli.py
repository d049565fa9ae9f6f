"""Command-line interface: users, tokens, the worker, and `start` for a whole embedded system."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from rq import Queue

from config import local_base_url
from core.contacts import NOTICE_KINDS, parse_quiet_time, set_contacts
from core.extensions import db
from core.models import User
from core.queue import redis_connection, redis_url_of, run_worker, start_embedded_redis
from core.schedule import build_scheduler
from core.telephony.sim.service import sim_carrier_command
from core.users import (
    TOKEN_LIFETIME_DAYS,
    UserError,
    change_password,
    create_token,
    create_user,
    deactivate_user,
    find_user,
    reactivate_user,
    revoke_token,
    tokens_of,
)

users_cli = AppGroup("users", help="Manage user accounts and API tokens.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, help="operator, official, head, manager or admin")
@click.option("--municipality", "municipality_code", help="municipality code (official, head)")
@click.option("--password", help="the password; asked for when absent")
@click.option("--full-name", default="", help="name shown in the interface")
@click.option("--phone", help="mobile number for SMS notices, e.g. +79161234567")
@click.option("--email", help="address for e-mail notices")
def create_user_command(name, role, municipality_code, password, full_name, phone, email):
    """Create a user account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(name, role, password, municipality_code, full_name)
        if phone or email:
            set_contacts(user, phone=phone, email=email)
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {role} {name}", err=True)


@users_cli.command("contacts")
@click.argument("name")
@click.option("--phone", help="mobile number for SMS notices; '' removes it")
@click.option("--email", help="address for e-mail notices; '' removes it")
@click.option(
    "--notice",
    "notices",
    multiple=True,
    metavar="KIND=CHANNELS",
    help=f"channels of a notice kind, e.g. digest=email or overdue=sms,email or reminder= "
    f"(kinds: {', '.join(NOTICE_KINDS)})",
)
@click.option("--quiet", metavar="HH:MM-HH:MM", help="quiet hours in local time, e.g. 22:00-07:00")
def contacts_command(name, phone, email, notices, quiet):
    """Set a user's phone, e-mail, channels per kind of notice and quiet hours."""
    user = _user_or_fail(name)
    channels = dict(user.notice_channels or {})
    for notice in notices:
        kind, _, chosen = notice.partition("=")
        channels[kind.strip()] = [c.strip() for c in chosen.split(",") if c.strip()]
    quiet_from = quiet_until = None
    try:
        if quiet:
            start, _, end = quiet.partition("-")
            quiet_from = parse_quiet_time(start, "quiet")
            quiet_until = parse_quiet_time(end, "quiet")
        set_contacts(
            user,
            phone=phone,
            email=email,
            channels=channels if notices else None,
            quiet_from=quiet_from,
            quiet_until=quiet_until,
        )
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        f"{user.username}: phone {user.phone or '—'}, e-mail {user.email or '—'}, "
        f"quiet {user.quiet_from:%H:%M}-{user.quiet_until:%H:%M}, "
        f"channels {user.notice_channels or 'all'}"
    )


@users_cli.command("token")
@click.argument("name")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=TOKEN_LIFETIME_DAYS,
    show_default=True,
    help="days the token is valid for; 0: no expiry",
)
@click.option("--name", "label", default="", help="what the token is for, shown in listings")
def token_command(name, days, label):
    """Print a new bearer token for the JSON API (only the token, on stdout)."""
    user = _user_or_fail(name)
    try:
        _row, token = create_token(user, days or None, label)
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(token)


@users_cli.command("tokens")
@click.argument("name")
def tokens_command(name):
    """List a user's API tokens: id, issued, last used, expires, revoked, name."""
    for row in tokens_of(_user_or_fail(name)):
        click.echo(
            "\t".join(
                [
                    str(row.id),
                    _moment(row.created_at),
                    "used " + _moment(row.last_used_at),
                    "expires " + _moment(row.expires_at),
                    "revoked " + _moment(row.revoked_at),
                    row.label,
                ]
            )
        )


@users_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id):
    """Refuse an API token from now on (its id from `users tokens`)."""
    try:
        row = revoke_token(token_id)
    except UserError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"token {row.id} of {row.user.username} revoked", err=True)


@users_cli.command("deactivate")
@click.argument("name")
def deactivate_command(name):
    """Stop a user signing in or using the API; their open sessions end at once."""
    user = _user_or_fail(name)
    deactivate_user(user)
    db.session.commit()
    click.echo(f"{name} deactivated", err=True)


@users_cli.command("reset-2fa")
@click.argument("name")
def reset_second_factor_command(name):
    """Forget a user's second factor (a lost phone); they set up a new one at the next sign-in."""
    from core.second_factor import reset_second_factor

    reset_second_factor(_user_or_fail(name))
    db.session.commit()
    click.echo(f"second factor of {name} reset", err=True)


@users_cli.command("unlock")
@click.argument("name")
def unlock_command(name):
    """Let an account locked by failed sign-ins sign in again now."""
    from core.logins import unlock_account

    unlock_account(_user_or_fail(name))
    db.session.commit()
    click.echo(f"{name} unlocked", err=True)


@users_cli.command("reactivate")
@click.argument("name")
def reactivate_command(name):
    """Let a deactivated user sign in again."""
    reactivate_user(_user_or_fail(name))
    db.session.commit()
    click.echo(f"{name} reactivated", err=True)


@users_cli.command("set-password")
@click.argument("name")
@click.option("--password", help="the new password; asked for when absent")
def set_password_command(name, password):
    """Change a user's password; every session they have ends."""
    user = _user_or_fail(name)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        change_password(user, password)
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"password of {name} changed", err=True)


def _user_or_fail(name: str) -> User:
    try:
        return find_user(name)
    except UserError as error:
        raise click.ClickException(str(error)) from error


def _moment(value) -> str:
    return value.isoformat(timespec="minutes") if value else "-"


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
@click.option("--queue", "queues", multiple=True, default=("default",), show_default=True)
def worker_command(burst, queues):
    """Run an RQ worker with its scheduler inside the app context."""
    run_worker(current_app._get_current_object(), burst=burst, queues=tuple(queues))


@click.command("scheduler")
def scheduler_command():
    """Enqueue the periodic jobs on their schedules (run exactly one of these)."""
    build_scheduler(current_app._get_current_object()).start()


@click.command("start")
@click.option("--port", default=lambda: int(os.environ.get("PORT", 5000)), show_default="5000")
@click.option("--host", default="127.0.0.1", show_default=True)
def start_command(port, host):
    """Migrate, load the demo region; run the web app, a worker, the scheduler and the carrier."""
    owned_redis = None
    redis_url = current_app.config["REDIS_URL"]
    if not redis_url:
        owned_redis = start_embedded_redis(current_app.config["EMBEDDED_REDIS_DB"])
        redis_url = redis_url_of(owned_redis)
    env = children_environment(os.environ, host, port, redis_url)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True)
    seeded = subprocess.run(
        [*flask, "seed-demo"], env=env, check=True, capture_output=True, text=True
    ).stdout
    carrier = []
    if current_app.config["TELEPHONY"] == "sim" and not env.get("SIM_CARRIER_URL"):
        carrier_port = _free_port(host)
        env["SIM_CARRIER_URL"] = f"http://{host}:{carrier_port}"
        carrier = [f"--port={carrier_port}", f"--app-url=http://{host}:{port}"]
    children = [
        *([subprocess.Popen([*flask, "sim-carrier", *carrier], env=env)] if carrier else []),
        subprocess.Popen([*flask, "worker"], env=env),
        subprocess.Popen([*flask, "scheduler"], env=env),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--no-control-socket",
                "--access-logfile",
                "-",
                "--logger-class",
                "core.access_log.QuietPollingLogger",
                "wsgi:app",
            ],
            env=env,
        ),
    ]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    _wait_until_settled(f"http://{host}:{port}/healthz", owned_redis or redis_connection())
    click.echo(f"\n{seeded}\nHotline is running: http://{host}:{port}/  (Ctrl-C stops it)\n")
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=20)
        if owned_redis is not None:
            owned_redis.shutdown(save=True)


def children_environment(environ, host: str, port: int, redis_url: str) -> dict:
    """Return the environment of the processes `start` runs: one Redis, one public address.

    Without an explicit PUBLIC_BASE_URL, every child (web, worker, scheduler) builds its URLs
    (SMS links, TwiML actions, status callbacks) on the address actually served.
    """
    env = {**environ, "REDIS_URL": redis_url}
    if not environ.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = local_base_url(host, port)
    return env


def _wait_until_settled(health_url: str, conn, timeout: float = 60) -> None:
    """Wait until the web app answers and the worker has run the jobs queued at start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health_url, timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    queue = Queue("default", connection=conn)
    while time.monotonic() < deadline and (queue.count or queue.started_job_registry.count):
        time.sleep(0.3)


def _free_port(host: str) -> int:
    """Return a port nothing listens on at `host` (for the simulated carrier's control)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _stop(signum, frame):
    raise KeyboardInterrupt


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(start_command)
    app.cli.add_command(sim_carrier_command)
