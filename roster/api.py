"""Roster endpoints of the JSON API: municipalities, who is on duty, shifts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g, jsonify, request

from core import clock
from core.api import (
    INT_MAX,
    ApiError,
    api,
    nullable,
    obj,
    operation,
    path_param,
    query,
    text,
    token_required,
)
from core.extensions import db
from core.models import MUNICIPAL_ROLES
from core.parsing import MAX_YEAR, MIN_YEAR
from roster.models import Category, DutyShift, Municipality, Official, Roster
from roster.services import (
    RosterError,
    add_override,
    get_municipality,
    get_roster,
    resolve_on_duty,
    upcoming_shifts,
    visible_municipalities,
)

#: Longest period one `GET /shifts` may ask for.
MAX_SHIFT_WINDOW = timedelta(days=62)
#: Years a time in the roster API may fall in.

#: A time: RFC 3339 with offset, or a local wall-clock time of the municipality without one.
MOMENT = {"type": "string", "maxLength": 40, "description": "ISO 8601; without an offset: local"}
MUNICIPALITY_SCHEMA = obj(
    {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "timezone": {"type": "string"},
        "duty_number": {"type": ["string", "null"]},
    }
)
CATEGORY_SCHEMA = obj(
    {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "urgency": {"type": "string", "enum": ["emergency", "ordinary", "formal"]},
        "callback_minutes": {"type": ["integer", "null"]},
        "resolution_days": {"type": "integer"},
        "checkin_minutes": {"type": "integer"},
    }
)
SLOT_SCHEMA = nullable(
    obj(
        {
            "role": {"type": "string"},
            "official_id": {"type": "integer"},
            "full_name": {"type": "string"},
            "position": {"type": "string"},
            "phone": {"type": "string"},
            "shift_id": {"type": "integer"},
        }
    )
)
ON_DUTY_SCHEMA = obj(
    {
        "municipality": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "roster_id": {"type": ["integer", "null"]},
        "primary": SLOT_SCHEMA,
        "backup": SLOT_SCHEMA,
        "supervisor": SLOT_SCHEMA,
        "folded": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)
SHIFT_SCHEMA = obj(
    {
        "id": {"type": "integer"},
        "municipality": {"type": "string"},
        "roster": {"type": "string"},
        "role": {"type": "string", "enum": ["primary", "backup", "supervisor"]},
        "kind": {"type": "string"},
        "official": obj(
            {
                "id": {"type": "integer"},
                "full_name": {"type": "string"},
                "position": {"type": "string"},
                "phone": {"type": "string"},
            }
        ),
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "note": {"type": "string"},
    }
)
NEW_SHIFT_SCHEMA = obj(
    {
        "municipality": text(32),
        "roster": nullable(text(32)),
        "role": text(16),
        "official_id": {"type": "integer", "minimum": 1, "maximum": INT_MAX},
        "starts_at": MOMENT,
        "ends_at": MOMENT,
        "note": nullable(text(200)),
    },
    required=[],
    closed=False,
)


def _visible(place: Municipality | None, code: str) -> Municipality:
    if place is None:
        raise ApiError(404, "not_found", f"no municipality with code {code!r}", "municipality")
    if not g.api_user.can_see_municipality(place.id):
        raise ApiError(403, "forbidden", "your token is limited to your own municipality")
    return place


def filtered_municipality(code: str) -> Municipality:
    """Return the municipality a `municipality` filter names: 404 if none, 403 if not the user's."""
    place = get_municipality(code)
    if place is None:
        raise ApiError(404, "not_found", "no such municipality", "municipality")
    if not g.api_user.can_see_municipality(place.id):
        raise ApiError(403, "forbidden", "the municipality is not yours", "municipality")
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
        if moment.tzinfo is None:  # a local wall-clock time of the municipality
            moment = moment.replace(tzinfo=ZoneInfo(place.timezone))
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ApiError(400, "invalid", f"{name} must be an ISO 8601 time", name) from error
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ApiError(400, "invalid", f"{name} must fall in {MIN_YEAR}–{MAX_YEAR}", name)
    return moment


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
@operation(
    "List municipalities",
    tag="roster",
    responses={
        200: (
            "Municipalities",
            obj({"municipalities": {"type": "array", "items": MUNICIPALITY_SCHEMA}}),
        )
    },
)
def municipalities():
    """List the municipalities the token may see: code, name, time zone, duty number."""
    places = visible_municipalities(g.api_user)
    return jsonify(municipalities=[_municipality_json(place) for place in places])


@api.get("/municipalities/<code>/on-duty")
@token_required()
@operation(
    "Who is on duty",
    tag="roster",
    params=[
        path_param("code", text(32, 1), "municipality code"),
        query("at", MOMENT, "the moment (default now)"),
        query("category", text(32), "category code: its regulation's roster"),
    ],
    responses={200: ("The three slots", ON_DUTY_SCHEMA)},
    errors=(403,),
)
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
@operation(
    "List shifts",
    tag="roster",
    params=[
        query("municipality", text(32), "municipality code (default: the token's own)"),
        query("roster", text(32), "roster code (default: the general roster)"),
        query("from", MOMENT, "start (default now)"),
        query("to", MOMENT, "end (default from + 7 days; at most 62 days)"),
    ],
    responses={200: ("Shift rows", obj({"shifts": {"type": "array", "items": SHIFT_SCHEMA}}))},
    errors=(403, 404),
)
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
@operation(
    "Add an override shift",
    tag="roster",
    body=NEW_SHIFT_SCHEMA,
    responses={201: ("The shift", SHIFT_SCHEMA)},
    errors=(404, 422),
    idempotent=True,
)
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


@api.get("/categories")
@token_required()
@operation(
    "List categories",
    tag="roster",
    responses={
        200: ("Categories", obj({"categories": {"type": "array", "items": CATEGORY_SCHEMA}}))
    },
)
def categories():
    """List the categories of appeals with their urgency and deadlines, in menu order."""
    rows = db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all()
    return jsonify(
        categories=[
            {
                "code": row.code,
                "name": row.name,
                "urgency": row.urgency,
                "callback_minutes": row.callback_minutes,
                "resolution_days": row.resolution_days,
                "checkin_minutes": row.checkin_minutes,
            }
            for row in rows
        ]
    )
