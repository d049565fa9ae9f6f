"""Roster endpoints of the JSON API: municipalities, who is on duty, shifts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g, jsonify, request

from core import clock
from core.api import ApiError, api, token_required
from core.extensions import db
from core.models import MUNICIPAL_ROLES
from roster.models import Category, DutyShift, Municipality, Official, Roster
from roster.services import (
    RosterError,
    add_override,
    get_municipality,
    get_roster,
    list_municipalities,
    resolve_on_duty,
    upcoming_shifts,
)

#: Longest period one `GET /shifts` may ask for.
MAX_SHIFT_WINDOW = timedelta(days=62)


def _visible(place: Municipality | None, code: str) -> Municipality:
    user = g.api_user
    if place is None:
        raise ApiError(404, "not_found", f"no municipality with code {code!r}", "municipality")
    if user.role in MUNICIPAL_ROLES and user.municipality_id != place.id:
        raise ApiError(403, "forbidden", "your token is limited to your own municipality")
    return place


def _moment(name: str, place: Municipality, default: datetime | None = None) -> datetime:
    raw = (
        request.args.get(name) if request.method == "GET" else (request.get_json() or {}).get(name)
    )
    if raw in (None, ""):
        if default is None:
            raise ApiError(400, "invalid", f"{name} is required", name)
        return default
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as error:
        raise ApiError(400, "invalid", f"{name} must be an ISO 8601 time", name) from error
    if moment.tzinfo is None:  # a local wall-clock time of the municipality
        moment = moment.replace(tzinfo=ZoneInfo(place.timezone))
    return moment.astimezone(UTC)


def _municipality_json(place: Municipality) -> dict:
    return {
        "code": place.code,
        "name": place.name,
        "timezone": place.timezone,
        "duty_number": place.duty_number,
    }


def _shift_json(shift: DutyShift, place: Municipality) -> dict:
    official = shift.official
    return {
        "id": shift.id,
        "municipality": place.code,
        "roster": shift.roster.code,
        "role": shift.role,
        "kind": shift.kind,
        "official": {
            "id": official.id,
            "full_name": official.full_name,
            "position": official.position,
            "phone": official.phone,
        },
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "note": shift.note,
    }


@api.get("/municipalities")
@token_required()
def municipalities():
    """List the municipalities the token may see: code, name, time zone, duty number."""
    user = g.api_user
    places = [
        place
        for place in list_municipalities()
        if user.role not in MUNICIPAL_ROLES or place.id == user.municipality_id
    ]
    return jsonify(municipalities=[_municipality_json(place) for place in places])


@api.get("/municipalities/<code>/on-duty")
@token_required()
def on_duty(code: str):
    """Return who holds the primary, backup and supervisor slots at a moment (default now)."""
    place = _visible(get_municipality(code), code)
    at = _moment("at", place, clock.utcnow())
    category = None
    if request.args.get("category"):
        category = db.session.scalar(
            db.select(Category).where(Category.code == request.args["category"])
        )
        if category is None:
            raise ApiError(400, "invalid", "unknown category code", "category")
    decision = resolve_on_duty(place, category, at)
    return jsonify(
        municipality=place.code,
        at=decision.at.isoformat(),
        roster_id=decision.roster_id,
        **decision.as_dict(),
    )


@api.get("/shifts")
@token_required()
def list_shifts():
    """List a municipality's shift rows overlapping [from, to) (default: the next 7 days)."""
    user = g.api_user
    code = request.args.get("municipality")
    if not code and user.role in MUNICIPAL_ROLES:
        place = db.session.get(Municipality, user.municipality_id)
    elif not code:
        raise ApiError(400, "invalid", "municipality is required", "municipality")
    else:
        place = _visible(get_municipality(code), code)
    roster = get_roster(place, request.args.get("roster"))
    if roster is None:
        raise ApiError(400, "invalid", "unknown roster code", "roster")
    since = _moment("from", place, clock.utcnow())
    until = _moment("to", place, since + timedelta(days=7))
    if until <= since or until - since > MAX_SHIFT_WINDOW:
        raise ApiError(400, "invalid", "to must be after from, at most 62 days later", "to")
    shifts = upcoming_shifts(roster, since, until)
    return jsonify(shifts=[_shift_json(shift, place) for shift in shifts])


@api.post("/shifts")
@token_required("admin")
def create_shift():
    """Add an override: {municipality, roster?, role, official_id, starts_at, ends_at, note?}."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid", "send a JSON object")
    code = str(body.get("municipality") or "")
    place = _visible(get_municipality(code), code)
    roster: Roster | None = get_roster(place, body.get("roster"))
    if roster is None:
        raise ApiError(400, "invalid", "unknown roster code", "roster")
    official_id = body.get("official_id")
    official = db.session.get(Official, official_id) if isinstance(official_id, int) else None
    if official is None:
        raise ApiError(400, "invalid", "official_id must be the id of an official", "official_id")
    starts_at, ends_at = _moment("starts_at", place), _moment("ends_at", place)
    try:
        shift = add_override(
            roster,
            str(body.get("role") or ""),
            official,
            starts_at,
            ends_at,
            str(body.get("note") or ""),
            actor=g.api_user,
        )
    except RosterError as error:
        db.session.rollback()
        raise ApiError(422, "refused", error.message, error.field) from error
    db.session.commit()
    return jsonify(_shift_json(shift, place)), 201
