"""Open311 GeoReport v2: keys, the service list, requests taken in as appeals and found again."""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import select

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.parsing import parse_int
from hotline.intake import locate_municipality, submit_appeal
from hotline.models import Appeal, AppealStatus, Channel
from hotline.open311.documents import ATTRIBUTES
from hotline.open311.models import Open311Key, Open311Request
from roster.models import Category

log = logging.getLogger(__name__)

#: Longest period one GET requests may cover (the spec's 90 days).
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000


class Open311Error(Exception):
    """A request Open311 answers with an error: HTTP status and description."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


# --- keys -----------------------------------------------------------------------------------


def hash_key(key: str) -> str:
    """Return the stored form of an api_key."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(name: str) -> str:
    """Create an api_key for a named client and return it (only its hash is kept)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Open311Error(400, "the client name has 1 to 100 characters")
    if db.session.scalar(select(Open311Key.id).where(Open311Key.name == name)):
        raise Open311Error(409, f"a key named {name!r} exists; revoke it first")
    key = "o311_" + secrets.token_urlsafe(24)
    row = Open311Key(name=name, key_hash=hash_key(key))
    db.session.add(row)
    db.session.flush()
    record_event("open311-key", row.id, "open311.key-issued", {"name": name}, actor_label="cli")
    log.info("open311 key issued to %s", name)
    return key


def revoke_key(name: str) -> bool:
    """Revoke the named client's key (and free the name); return whether there was one."""
    row = db.session.scalar(select(Open311Key).where(Open311Key.name == name))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    row.name = f"{name} (revoked {row.id})"[:100]
    record_event("open311-key", row.id, "open311.key-revoked", {"name": name}, actor_label="cli")
    db.session.flush()
    return True


def key_for(key: str | None) -> Open311Key:
    """Return the live key row for an api_key, noting its use (Open311Error otherwise)."""
    if not key:
        raise Open311Error(400, "api_key is required")
    row = db.session.scalar(
        select(Open311Key).where(
            Open311Key.key_hash == hash_key(key), Open311Key.revoked_at.is_(None)
        )
    )
    if row is None:
        raise Open311Error(403, "api_key is not valid")
    row.last_used_at = utcnow()
    return row


# --- services -------------------------------------------------------------------------------


def list_categories() -> list[Category]:
    """Return the categories in menu order."""
    return db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()


def find_category(code: str) -> Category | None:
    """Return the category with this service code."""
    return db.session.scalar(select(Category).where(Category.code == code))


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestForm:
    """The fields of a POST requests, as sent."""

    service_code: str | None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict | None = None


_LIMITS = {
    "service_code": 32,
    "address_string": 300,
    "address_id": 100,
    "email": 200,
    "device_id": 100,
    "account_id": 100,
    "first_name": 100,
    "last_name": 100,
    "phone": 32,
    "description": 4000,
    "media_url": 500,
    "lat": 32,
    "long": 32,
}


#: What no text field takes: control characters other than tab, line feed and carriage return,
#: halves of UTF-16 pairs, and the two non-characters XML 1.0 cannot carry.
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _check_text(name: str, value: str, limit: int | None = None) -> None:
    if limit is not None and len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    if NOT_TEXT.search(value):
        raise Open311Error(
            400, f"{name} holds control characters: only text, tabs and line breaks are taken"
        )


def _check_fields(form: RequestForm) -> None:
    for name, limit in _LIMITS.items():
        value = getattr(form, name)
        if value is not None:
            _check_text(name, value, limit)
    for code, answer in (form.attributes or {}).items():
        for value in answer if isinstance(answer, list) else [answer]:
            _check_text(f"attribute[{code}]", value)


def _media_url(raw: str | None) -> str | None:
    """Return the media URL when it is an http(s) URL with a host (Open311Error otherwise)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(char.isspace() for char in raw)
    ):
        raise Open311Error(400, "media_url must be an http or https URL with a host")
    return raw


def _coordinate(raw: str | None, name: str, bound: float) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError as error:
        raise Open311Error(400, f"{name} must be a decimal number (WGS 84)") from error
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} is out of range")
    return value


def _phone(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, "RU")
    except phonenumbers.NumberParseException as error:
        raise Open311Error(400, "phone is not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise Open311Error(400, "phone is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _answers(category: Category, given: dict) -> dict:
    """Check the attribute answers against the service definition; return them."""
    answers = {}
    for attribute in ATTRIBUTES.get(category.code, []):
        code, value = attribute["code"], given.get(attribute["code"])
        if value in (None, "", []):
            if attribute["required"]:
                raise Open311Error(400, f"attribute[{code}] is required")
            continue
        if isinstance(value, list) or len(value) > 100:
            raise Open311Error(400, f"attribute[{code}] takes one short value")
        listed = {item["key"] for item in attribute["values"]}
        if attribute["datatype"] == "singlevaluelist" and value not in listed:
            raise Open311Error(400, f"attribute[{code}] is not one of the listed values")
        if attribute["datatype"] == "number" and parse_int(value, maximum=999_999_999) is None:
            raise Open311Error(400, f"attribute[{code}] must be a whole number")
        answers[code] = value
    return answers


def _appeal_text(category: Category, form: RequestForm, answers: dict) -> str:
    lines = [form.description.strip()] if form.description and form.description.strip() else []
    if not lines:
        lines.append(category.name)
    for attribute in ATTRIBUTES.get(category.code, []):
        if attribute["code"] in answers:
            value = answers[attribute["code"]]
            names = {item["key"]: item["name"] for item in attribute["values"]}
            lines.append(f"{attribute['description']}: {names.get(value, value)}")
    return "\n".join(lines)


def create_request(key: Open311Key, form: RequestForm) -> Appeal:
    """Register an Open311 request as an appeal in the responsible municipality."""
    _check_fields(form)
    media_url = _media_url(form.media_url)
    if not form.service_code:
        raise Open311Error(400, "service_code is required")
    category = find_category(form.service_code)
    if category is None:
        raise Open311Error(400, f"service_code {form.service_code!r} is not a service here")
    lat, long = _coordinate(form.lat, "lat", 90), _coordinate(form.long, "long", 180)
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long come together")
    address = (form.address_string or "").strip() or None
    if lat is None and not address and not form.address_id:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    place = locate_municipality(address, lat, long)
    if place is None:
        raise Open311Error(
            400,
            "the location is not in any municipality of the region: name the town or district "
            "in address_string, or give lat/long inside the region",
        )
    answers = _answers(category, form.attributes or {})
    name = " ".join(part.strip() for part in (form.first_name, form.last_name) if part) or None
    appeal = submit_appeal(
        channel=Channel.OPEN311,
        municipality=place,
        category=category,
        text=_appeal_text(category, form, answers),
        address=address,
        caller_number=_phone(form.phone),
        caller_name=name,
        actor_label=f"open311:{key.name}"[:64],
        details={"open311_key": key.name},
    )
    db.session.add(
        Open311Request(
            appeal_id=appeal.id,
            key_id=key.id,
            lat=lat,
            long=long,
            address_id=form.address_id,
            email=form.email,
            device_id=form.device_id,
            account_id=form.account_id,
            media_url=media_url,
            attributes=answers,
        )
    )
    db.session.flush()
    return appeal


def parse_w3c(raw: str, name: str) -> datetime:
    """Parse a W3C date-time with its offset (Open311Error otherwise)."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as error:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-01-01T00:00:00Z"
        ) from error
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone offset")
    if not 1900 <= moment.year <= 2200:
        raise Open311Error(400, f"{name} must fall in the years 1900–2200")
    return moment


def _codes(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def find_requests(
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[Appeal]:
    """Return the Open311 requests matching the spec's filters, newest first."""
    query = (
        select(Appeal)
        .join(Open311Request, Open311Request.appeal_id == Appeal.id)
        .order_by(Appeal.id.desc())
    )
    ids = _codes(service_request_id)
    if ids:  # overrides every other filter
        return db.session.scalars(query.where(Appeal.number.in_(ids[:MAX_RESULTS]))).all()
    end = parse_w3c(end_date, "end_date") if end_date else None
    start = parse_w3c(start_date, "start_date") if start_date else None
    try:
        end = end or (start + MAX_SPAN if start else utcnow())
        start = start or end - MAX_SPAN
    except OverflowError as error:
        raise Open311Error(400, "start_date or end_date is out of range") from error
    if end < start or end - start > MAX_SPAN:
        raise Open311Error(400, "end_date must follow start_date by at most 90 days")
    query = query.where(Appeal.created_at >= start, Appeal.created_at <= end)
    codes = _codes(service_code)
    if codes:
        query = query.where(
            Appeal.category_id.in_(select(Category.id).where(Category.code.in_(codes)))
        )
    statuses = _codes(status)
    if statuses:
        if not set(statuses) <= {"open", "closed"}:
            raise Open311Error(400, "status is open, closed or both, comma-separated")
        if statuses == ["closed"]:
            query = query.where(Appeal.status == AppealStatus.CLOSED)
        elif statuses == ["open"]:
            query = query.where(Appeal.status != AppealStatus.CLOSED)
    return db.session.scalars(query.limit(MAX_RESULTS)).all()


def find_request(number: str) -> Appeal | None:
    """Return the Open311 request with this service_request_id."""
    return db.session.scalar(
        select(Appeal)
        .join(Open311Request, Open311Request.appeal_id == Appeal.id)
        .where(Appeal.number == number)
    )
