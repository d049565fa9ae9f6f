"""A user's phone and e-mail, the channels they chose for each kind of notice, and quiet hours."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app

from core.events import record_event
from core.extensions import db
from core.models import User
from core.users import UserError

#: Kinds of notice a user may be sent, in the order the admin page lists them.
NOTICE_KINDS = ("new_card", "reminder", "escalation", "overdue", "digest", "weekly_report")
#: Channels a notice may go by.
CHANNELS = ("sms", "email")
#: Where a number written without a country code is taken to be.
PHONE_REGION = "RU"
#: An address of the form local@domain.tld with no spaces (the syntax, not the mailbox).
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def normalize_phone(raw: str | None) -> str | None:
    """Return a mobile number in E.164, None when empty; `UserError` when it is not a number."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, PHONE_REGION)
    except phonenumbers.NumberParseException as error:
        raise UserError(f"{raw!r} is not a phone number", "invalid_phone", "phone") from error
    if not phonenumbers.is_valid_number(number):
        raise UserError(f"{raw!r} is not a valid phone number", "invalid_phone", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    """Return an e-mail address with its domain in lower case, None when empty; else UserError."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if len(raw) > 254 or not EMAIL_PATTERN.match(raw):
        raise UserError(f"{raw!r} is not an e-mail address", "invalid_email", "email")
    local, _, domain = raw.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_channels(choice: dict | None) -> dict[str, list[str]]:
    """Return a clean notice kind -> channels choice; `UserError` naming an unknown kind or one."""
    clean = {}
    for kind, channels in (choice or {}).items():
        if kind not in NOTICE_KINDS:
            raise UserError(f"unknown notice kind {kind!r}", "invalid_channels", "notice_channels")
        if not isinstance(channels, list) or not set(channels) <= set(CHANNELS):
            raise UserError(
                f"channels of {kind} must be a list of {', '.join(CHANNELS)}",
                "invalid_channels",
                "notice_channels",
            )
        clean[kind] = [channel for channel in CHANNELS if channel in channels]
    return clean


def parse_quiet_time(raw: str, field: str) -> time:
    """Return an `HH:MM` local time; `UserError` naming the field when it is not one."""
    try:
        return time.fromisoformat(raw.strip())
    except (ValueError, AttributeError) as error:
        raise UserError(f"{raw!r} is not a time HH:MM", "invalid_time", field) from error


def set_contacts(
    user: User,
    *,
    phone: str | None = None,
    email: str | None = None,
    channels: dict | None = None,
    quiet_from: time | None = None,
    quiet_until: time | None = None,
    actor: User | None = None,
) -> None:
    """Validate and store a user's contacts and choices (arguments left None are kept); flush."""
    if phone is not None:
        user.phone = normalize_phone(phone)
    if email is not None:
        user.email = normalize_email(email)
    if channels is not None:
        user.notice_channels = parse_channels(channels)
    if quiet_from is not None:
        user.quiet_from = quiet_from
    if quiet_until is not None:
        user.quiet_until = quiet_until
    data = {"phone": bool(user.phone), "email": bool(user.email)}
    record_event(
        "user",
        user.id,
        "user.contacts",
        data,
        actor=actor,
        actor_label=None if actor else "cli",
    )
    db.session.flush()


def chosen_channels(user: User, kind: str) -> list[str]:
    """Return the channels the user chose for a kind of notice (every one unless they chose)."""
    return list((user.notice_channels or {}).get(kind, CHANNELS))


def channels_for(user: User, kind: str) -> list[str]:
    """Return the channels a notice of this kind reaches the user by: chosen and with an address."""
    chosen = (user.notice_channels or {}).get(kind, list(CHANNELS))
    address = {"sms": user.phone, "email": user.email}
    return [channel for channel in CHANNELS if channel in chosen and address[channel]]


def user_timezone(user: User) -> str:
    """Return the time zone of the user's municipality, or the region's."""
    region = current_app.config["HOTLINE_TZ"]
    if user.municipality_id is None:
        return region
    table = db.metadata.tables["municipalities"]
    zone = db.session.scalar(db.select(table.c.timezone).where(table.c.id == user.municipality_id))
    return zone or region


def quiet_until(user: User, at: datetime) -> datetime | None:
    """Return when the user's quiet hours around `at` end (UTC), None when `at` is not in them."""
    zone = ZoneInfo(user_timezone(user))
    local = at.astimezone(zone)
    start, end = user.quiet_from or time(22, 0), user.quiet_until or time(7, 0)
    now = local.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = start <= now < end if start < end else now >= start or now < end
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(at.tzinfo)
