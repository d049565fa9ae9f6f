"""Appeals in the JSON API: create (idempotent), list with a cursor, read with the timeline."""

from flask import g, jsonify, request, url_for
from sqlalchemy.orm import joinedload

from core.api import (
    DATETIME,
    INT_MAX,
    NULLABLE_DATETIME,
    ApiError,
    api,
    decode_cursor,
    encode_cursor,
    nullable,
    obj,
    operation,
    path_param,
    query,
    text,
    token_required,
)
from core.events import timeline
from core.extensions import db
from core.journal import record_access
from hotline.intake import appeals_query, find_appeal, locate_municipality, submit_appeal
from hotline.models import Appeal, AppealStatus, Channel
from roster.models import Category
from roster.services import get_municipality

APPEAL_ROLES = ("operator", "official", "head", "manager", "admin")
#: Channels a client of the JSON API may name (the others belong to the phone and Open311).
API_CHANNELS = (Channel.API, Channel.WEB)
DEFAULT_PAGE, MAX_PAGE = 50, 200
E164 = "^\\+[1-9][0-9]{6,14}$"


def _iso(value):
    return value.isoformat() if value else None


EVENT_SCHEMA = obj(
    {
        "at": DATETIME,
        "verb": {"type": "string"},
        "actor": {"type": "string"},
        "data": {"type": "object"},
    }
)
APPEAL_SCHEMA = obj(
    {
        "number": {"type": "string"},
        "channel": {"type": "string", "enum": list(Channel)},
        "status": {"type": "string", "enum": list(AppealStatus)},
        "municipality": {"type": "string"},
        "category": {"type": ["string", "null"]},
        "urgency": {"type": "string"},
        "caller": obj(
            {
                "number": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                # the call came with a hidden caller ID: there is no number to call back
                "hidden": {"type": "boolean"},
            }
        ),
        "address": {"type": ["string", "null"]},
        "text": {"type": ["string", "null"]},
        "assignee": nullable(obj({"id": {"type": "integer"}, "full_name": {"type": "string"}})),
        "call_sid": {"type": ["string", "null"]},
        "created_at": DATETIME,
        "callback_due_at": NULLABLE_DATETIME,
        "resolution_due_at": DATETIME,
        "closed_at": NULLABLE_DATETIME,
    }
)
APPEAL_WITH_TIMELINE = {
    **APPEAL_SCHEMA,
    "properties": {
        **APPEAL_SCHEMA["properties"],
        "timeline": {"type": "array", "items": EVENT_SCHEMA},
    },
    "required": [*APPEAL_SCHEMA["required"], "timeline"],
}
NEW_APPEAL_SCHEMA = obj(
    {
        "text": text(4000, 1, description="what the citizen asks about"),
        "municipality": nullable(text(32, description="municipality code; else from address")),
        "category": nullable(text(32, description="category code")),
        "address": nullable(text(300)),
        "lat": nullable({"type": "number", "minimum": -90, "maximum": 90}),
        "long": nullable({"type": "number", "minimum": -180, "maximum": 180}),
        "caller_number": nullable({"type": "string", "pattern": E164, "maxLength": 16}),
        "caller_name": nullable(text(200)),
        "channel": {"type": "string", "enum": list(API_CHANNELS), "default": "api"},
    },
    required=["text"],
)


#: What `appeal_as_dict` reads of an appeal, loaded with a page of appeals in one query.
APPEAL_LOADS = (
    joinedload(Appeal.municipality),
    joinedload(Appeal.category),
    joinedload(Appeal.assignee),
    joinedload(Appeal.call),
)


def appeal_as_dict(appeal: Appeal, with_timeline: bool = False) -> dict:
    """Return an appeal as the API shows it (with its timeline when asked)."""
    body = {
        "number": appeal.number,
        "channel": appeal.channel,
        "status": appeal.status,
        "municipality": appeal.municipality.code,
        "category": appeal.category.code if appeal.category else None,
        "urgency": appeal.urgency,
        "caller": {
            "number": appeal.caller_number,
            "name": appeal.caller_name,
            "hidden": appeal.caller_hidden,
        },
        "address": appeal.address,
        "text": appeal.text,
        "assignee": (
            {"id": appeal.assignee.id, "full_name": appeal.assignee.full_name}
            if appeal.assignee
            else None
        ),
        "call_sid": appeal.call.call_sid if appeal.call else None,
        "created_at": _iso(appeal.created_at),
        "callback_due_at": _iso(appeal.callback_due_at),
        "resolution_due_at": _iso(appeal.resolution_due_at),
        "closed_at": _iso(appeal.closed_at),
    }
    if with_timeline:
        events = timeline("appeal", appeal.id)
        if appeal.call_id:
            events = sorted(
                [*events, *timeline("call", appeal.call_id)], key=lambda e: (e.at, e.id)
            )
        body["timeline"] = [
            {"at": _iso(e.at), "verb": e.verb, "actor": e.actor_label, "data": e.data or {}}
            for e in events
        ]
    return body


def visible_appeal(number: str) -> Appeal:
    """Return the appeal if the token's user may see it (another municipality's is a 404)."""
    appeal = find_appeal(number)
    if appeal is None or not g.api_user.can_see_municipality(appeal.municipality_id):
        raise ApiError(404, "not_found", f"no appeal {number}")
    return appeal


def _category(code: str | None, status: int = 422) -> Category | None:
    if not code:
        return None
    category = db.session.scalar(db.select(Category).where(Category.code == code))
    if category is None:
        raise ApiError(status, "unknown_category", f"no category {code!r}", "category")
    return category


@api.post("/appeals")
@token_required(*APPEAL_ROLES)
@operation(
    "Register an appeal",
    tag="appeals",
    body=NEW_APPEAL_SCHEMA,
    responses={201: ("The registered appeal", APPEAL_SCHEMA)},
    errors=(422,),
    idempotent=True,
)
def create_appeal():
    """Register an appeal from another system; the municipality is given, or found by address."""
    body, user = g.api_body, g.api_user
    category = _category(body.get("category"))
    if body.get("municipality"):
        place = get_municipality(body["municipality"])
        if place is None:
            raise ApiError(422, "unknown_municipality", "no such municipality", "municipality")
    else:
        place = locate_municipality(body.get("address"), body.get("lat"), body.get("long"))
        if place is None:
            raise ApiError(
                422,
                "municipality_unknown",
                "name the municipality, or give an address or lat/long inside the region",
                "municipality",
            )
    if not user.can_see_municipality(place.id):
        raise ApiError(403, "forbidden", "your token is limited to your own municipality")
    if not body["text"].strip():
        raise ApiError(400, "invalid", "text is empty", "text")
    appeal = submit_appeal(
        channel=body.get("channel") or Channel.API,
        municipality=place,
        category=category,
        text=body["text"].strip(),
        address=body.get("address"),
        caller_number=body.get("caller_number"),
        caller_name=body.get("caller_name"),
        actor=user,
    )
    db.session.commit()
    response = jsonify(appeal_as_dict(appeal))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_appeal", number=appeal.number)
    return response


@api.get("/appeals")
@token_required(*APPEAL_ROLES)
@operation(
    "List appeals",
    tag="appeals",
    params=[
        query("municipality", text(32), "municipality code"),
        query("status", {"type": "string", "enum": list(AppealStatus)}),
        query("category", text(32), "category code"),
        query("channel", {"type": "string", "enum": list(Channel)}),
        query("created_after", DATETIME, "created at or after (RFC 3339)"),
        query("created_before", DATETIME, "created before (RFC 3339)"),
        query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "page size"),
        query("cursor", text(200), "next_cursor of the previous page"),
    ],
    responses={
        200: (
            "A page of appeals, newest first",
            obj(
                {
                    "appeals": {"type": "array", "items": APPEAL_SCHEMA},
                    "next_cursor": {"type": ["string", "null"]},
                }
            ),
        )
    },
    errors=(403,),
)
def list_appeals():
    """List the appeals the token may see, newest first, a page at a time (stable cursor)."""
    args, user = g.api_args, g.api_user
    municipality_id = None
    if args["municipality"]:
        place = get_municipality(args["municipality"])
        if place is None:
            raise ApiError(400, "invalid", "unknown municipality code", "municipality")
        if not user.can_see_municipality(place.id):
            raise ApiError(403, "forbidden", "the municipality is not yours", "municipality")
        municipality_id = place.id
    category = _category(args["category"], status=400)
    before = None
    if args["cursor"]:
        before = decode_cursor(args["cursor"], ("before",))["before"]
        if not isinstance(before, int) or not 0 < before <= INT_MAX:
            raise ApiError(400, "invalid", "cursor is not one this API returned", "cursor")
    limit = args["limit"] or DEFAULT_PAGE
    rows = db.session.scalars(
        appeals_query(
            user,
            municipality_id=municipality_id,
            status=args["status"],
            category_id=category.id if category else None,
            channel=args["channel"],
            since=args["created_after"],
            until=args["created_before"],
            before_id=before,
        )
        .options(*APPEAL_LOADS)
        .limit(limit + 1)
    ).all()
    page = rows[:limit]
    cursor = encode_cursor({"before": page[-1].id}) if len(rows) > limit else None
    record_access("appeal", None, None, {"filter": request.args.to_dict(), "count": len(page)})
    return jsonify(appeals=[appeal_as_dict(appeal) for appeal in page], next_cursor=cursor)


@api.get("/appeals/<number>")
@token_required(*APPEAL_ROLES)
@operation(
    "Read an appeal with its timeline",
    tag="appeals",
    params=[path_param("number", text(16, 1), "the public number, e.g. 26-000123")],
    responses={200: ("The appeal and its timeline", APPEAL_WITH_TIMELINE)},
)
def get_appeal(number: str):
    """Return an appeal with its timeline (404 for another municipality's appeal)."""
    appeal = visible_appeal(number)
    record_access("appeal", appeal.number, appeal.caller_number)
    return jsonify(appeal_as_dict(appeal, with_timeline=True))
