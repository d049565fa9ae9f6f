"""`flask twilio check` and `flask twilio configure`: the account's numbers against this app.

Every number the app answers (the governor's line TWILIO_NUMBER, and the numbers features add
with `add_app_numbers`, e.g. the municipalities' duty numbers) must send its calls, call status
and SMS to this app's PUBLIC_BASE_URL. `check` reads the account's IncomingPhoneNumbers and says
what is wrong (exit code 1 when anything is); `configure` sets the URLs through the REST API.
Numbers of the account the app does not answer are listed and left alone.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import click
import requests
from flask import Flask, current_app, url_for
from flask.cli import AppGroup
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from core.telephony.receipts import SMS_STATUS_PATH
from core.telephony.twilio_gateway import BaseUrlHttpClient, describe_error
from core.urls import public_url

#: The development defaults of config.py: with them nothing real can work.
DEFAULT_AUTH_TOKEN = "sim-auth-token"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
NUMBERS_KEY = "telephony.app_numbers"

twilio_cli = AppGroup("twilio", help="Check and set the Twilio account's numbers for this app.")


@dataclass(frozen=True)
class Webhook:
    """One URL setting of an incoming number and the app endpoint it must name."""

    field: str  # the IncomingPhoneNumber attribute (voice_url, ...)
    method_field: str  # the attribute of its HTTP method
    label: str
    endpoint: str


#: What each number the app answers must point at (the endpoints are the webhook routes).
WEBHOOKS = (
    Webhook("voice_url", "voice_method", "voice URL", "voice.incoming"),
    Webhook("voice_fallback_url", "voice_fallback_method", "voice fallback URL", "voice.fallback"),
    Webhook("status_callback", "status_callback_method", "status callback", "voice.status"),
    Webhook("sms_url", "sms_method", "SMS URL", "callback_hooks.sms_incoming"),
)


class TwilioUnavailable(click.ClickException):
    """Twilio refused the request or could not be reached: one line, exit code 2."""

    exit_code = 2


def add_app_numbers(app: Flask, source: Callable[[], Iterable[tuple[str, str]]]) -> None:
    """Register a source of numbers the app answers: it returns (E.164 number, label) pairs."""
    app.extensions.setdefault(NUMBERS_KEY, []).append(source)


def app_numbers() -> dict[str, str]:
    """Return the numbers this app answers, each with what it is."""
    numbers = {current_app.config["TWILIO_NUMBER"]: "governor's line"}
    for source in current_app.extensions.get(NUMBERS_KEY, []):
        for number, label in source():
            numbers.setdefault(number, label)
    return numbers


def expected_urls() -> dict[Webhook, str]:
    """Return each webhook's URL on this app's PUBLIC_BASE_URL (those whose route exists)."""
    endpoints = current_app.view_functions
    with current_app.test_request_context():
        return {w: public_url(url_for(w.endpoint)) for w in WEBHOOKS if w.endpoint in endpoints}


def twilio_client() -> Client:
    """Twilio's REST client for the configured account, host and timeout."""
    config = current_app.config
    http = BaseUrlHttpClient(config.get("TWILIO_API_BASE_URL"), config.get("TWILIO_HTTP_TIMEOUT"))
    return Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http)


def _as_rest_error(error: Exception) -> Exception:
    """Turn the client's "Unable to fetch page" (it carries the raw answer) into its REST error."""
    answer = error.args[1] if isinstance(error, TwilioException) and len(error.args) == 2 else None
    if answer is None or not hasattr(answer, "status_code"):
        return error
    try:
        payload = json.loads(answer.text)
    except ValueError:
        payload = {}
    message = payload.get("message", answer.text) if isinstance(payload, dict) else answer.text
    code = payload.get("code") if isinstance(payload, dict) else None
    return TwilioRestException(answer.status_code, "", message, code)


def _unavailable(error: Exception) -> TwilioUnavailable:
    config = current_app.config
    error = _as_rest_error(error)
    host = config.get("TWILIO_API_BASE_URL") or "https://api.twilio.com"
    if isinstance(error, TwilioRestException) and error.status == 401:
        return TwilioUnavailable(
            f"Twilio refused the credentials ({describe_error(error)}): "
            f"check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    cause = getattr(error, "__cause__", None) or error
    if isinstance(cause, requests.Timeout):
        return TwilioUnavailable(
            f"Twilio at {host} did not answer within {config.get('TWILIO_HTTP_TIMEOUT')} s"
        )
    if isinstance(cause, requests.ConnectionError):
        return TwilioUnavailable(f"cannot reach Twilio at {host}: the connection failed")
    text = " ".join(describe_error(error).split())
    return TwilioUnavailable(f"Twilio answered with an error: {text}")


def account_numbers(client: Client) -> list:
    """Return the account's incoming numbers (every page); `TwilioUnavailable` on failure."""
    try:
        return list(client.incoming_phone_numbers.stream(page_size=100))
    except (TwilioException, requests.RequestException) as error:
        raise _unavailable(error) from error


def _line(status: str, text: str) -> None:
    click.echo(f"{status:<8} {text}")


def _problems_of(number, expected: dict[Webhook, str]) -> dict[Webhook, str]:
    """Return what is wrong with each of the number's webhook settings."""
    problems = {}
    for webhook, url in expected.items():
        actual = getattr(number, webhook.field) or ""
        method = (getattr(number, webhook.method_field) or "POST").upper()
        if actual != url:
            problems[webhook] = f"is {actual or 'not set'!s}, expected {url}"
        elif method != "POST":
            problems[webhook] = f"is {url} with {method}, expected POST"
    return problems


#: The TwiML application settings of a number: one attached overrides the number's URLs.
APPLICATIONS = (
    ("voice_application_sid", "voice application"),
    ("sms_application_sid", "SMS application"),
)


def _applications(number) -> dict[str, str]:
    """Return the attached TwiML applications by setting, each named with its sid."""
    return {
        field: f"{label} {getattr(number, field)}"
        for field, label in APPLICATIONS
        if getattr(number, field)
    }


@twilio_cli.command("check")
def check_command():
    """Report what the account's numbers point at and what is wrong; exit 1 if anything is."""
    config = current_app.config
    base = config["PUBLIC_BASE_URL"]
    click.echo(f"Twilio account {config['TWILIO_ACCOUNT_SID']}; this app at {base}")
    problems = 0

    def problem(text: str) -> None:
        nonlocal problems
        problems += 1
        _line("PROBLEM", text)

    if config.get("TELEPHONY") != "twilio":
        problem(f"TELEPHONY is {config.get('TELEPHONY')!r}: the app calls nobody through Twilio")
    if config["TWILIO_ACCOUNT_SID"] == DEFAULT_ACCOUNT_SID:
        problem("TWILIO_ACCOUNT_SID is not set")
    if config["TWILIO_AUTH_TOKEN"] == DEFAULT_AUTH_TOKEN:
        problem("TWILIO_AUTH_TOKEN is the development default: signatures cannot be checked")
    else:
        _line("ok", "auth token set: webhook signatures are checked against it")
    if not base.startswith("https://"):
        problem(f"PUBLIC_BASE_URL {base} is not https://: calls and SMS would travel unencrypted")

    expected = expected_urls()
    wanted = app_numbers()
    numbers = account_numbers(twilio_client())
    on_account = {n.phone_number for n in numbers}
    for number, label in wanted.items():
        if number not in on_account:
            problem(f"{number} ({label}) is not a number of this Twilio account")
    for number in numbers:
        label = wanted.get(number.phone_number)
        if label is None:
            _line("other", f"{number.phone_number} ({number.sid}): not answered by this app")
            continue
        name = f"{number.phone_number} ({label})"
        wrong = _problems_of(number, expected)
        for webhook in expected:
            if webhook in wrong:
                problem(f"{name}: {webhook.label} {wrong[webhook]}")
            else:
                _line("ok", f"{name}: {webhook.label} {expected[webhook]}")
        for application in _applications(number).values():
            problem(f"{name}: {application} is attached and overrides the URLs")

    _line("note", f"SMS receipts: every SMS names {base}{SMS_STATUS_PATH} itself")
    _line(
        "note",
        "recordings: turn on HTTP Basic authentication for media in the Twilio Console "
        "(Voice > Settings > General); the app fetches recordings with the account's credentials",
    )
    if problems:
        click.echo(f"{problems} problem(s); `flask --app wsgi twilio configure` sets the numbers")
        raise SystemExit(1)
    click.echo("everything in order")


@twilio_cli.command("configure")
@click.option("--allow-http", is_flag=True, help="accept a PUBLIC_BASE_URL that is not https://")
def configure_command(allow_http):
    """Point the app's numbers at PUBLIC_BASE_URL through the REST API, printing each change."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if not base.startswith("https://") and not allow_http:
        raise click.ClickException(
            f"PUBLIC_BASE_URL {base} is not https://; set it, or pass --allow-http for a test"
        )
    expected = expected_urls()
    wanted = app_numbers()
    numbers = [n for n in account_numbers(twilio_client()) if n.phone_number in wanted]
    missing = sorted(set(wanted) - {n.phone_number for n in numbers})
    for number in numbers:
        name = f"{number.phone_number} ({wanted[number.phone_number]})"
        changes = {}
        for webhook in _problems_of(number, expected):
            url = expected[webhook]
            changes[webhook.field] = url
            changes[webhook.method_field] = "POST"
            _line("set", f"{name}: {webhook.label} {getattr(number, webhook.field) or '-'} → {url}")
        for field, application in _applications(number).items():
            changes[field] = ""
            _line("set", f"{name}: {application} detached")
        if not changes:
            _line("ok", f"{name}: already points at {base}")
            continue
        try:
            number.update(**changes)
        except (TwilioException, requests.RequestException) as error:
            raise _unavailable(error) from error
    for number in missing:
        _line("PROBLEM", f"{number} ({wanted[number]}) is not a number of this Twilio account")
    if missing:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(twilio_cli)
