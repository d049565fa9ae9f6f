"""The access journal in the JSON API: who saw citizens' personal data, for the administrator."""

from flask import g, jsonify

from core.api.blueprint import api, token_required
from core.api.cursors import decode_cursor, encode_cursor
from core.api.errors import ApiError
from core.api.operations import operation, query
from core.api.schemas import DATETIME, obj, text
from core.extensions import db
from core.journal import KINDS, entry_as_dict, journal_query, parse_person
from core.parsing import INT_MAX
from core.users import UserError

DEFAULT_PAGE, MAX_PAGE = 50, 200
ENTRY_SCHEMA = obj(
    {
        "id": {"type": "integer"},
        "at": DATETIME,
        "user_id": {"type": ["integer", "null"]},
        "username": {"type": "string"},
        "role": {"type": "string"},
        "municipality_id": {"type": ["integer", "null"]},
        "address": {"type": "string"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "subject_id": {"type": "string"},
        "phone": {"type": ["string", "null"], "description": "E.164"},
        "detail": {"type": "object"},
    }
)


@api.get("/audit")
@token_required("admin")
@operation(
    "Read the access journal",
    tag="audit",
    params=[
        query("user", text(64), "user name of who looked"),
        query("phone", text(40), "the citizen's phone number"),
        query("since", DATETIME, "at or after (RFC 3339)"),
        query("until", DATETIME, "before (RFC 3339)"),
        query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "page size"),
        query("cursor", text(200), "next_cursor of the previous page"),
    ],
    responses={
        200: (
            "A page of journal entries, newest first",
            obj(
                {
                    "entries": {"type": "array", "items": ENTRY_SCHEMA},
                    "next_cursor": {"type": ["string", "null"]},
                }
            ),
        )
    },
)
def audit():
    """List who saw or downloaded personal data, newest first, by user, phone and period."""
    args = g.api_args
    try:
        phone = parse_person(args["phone"])
    except UserError as error:
        raise ApiError(400, "invalid", "phone is not a phone number", "phone") from error
    before = None
    if args["cursor"]:
        before = decode_cursor(args["cursor"], ("before",))["before"]
        if not isinstance(before, int) or not 0 < before <= INT_MAX:
            raise ApiError(400, "invalid", "cursor is not one this API returned", "cursor")
    limit = args["limit"] or DEFAULT_PAGE
    query_ = journal_query(args["user"] or "", phone, args["since"], args["until"], before)
    rows = db.session.scalars(query_.limit(limit + 1)).all()
    page = rows[:limit]
    cursor = encode_cursor({"before": page[-1].id}) if len(rows) > limit else None
    return jsonify(entries=[entry_as_dict(entry) for entry in page], next_cursor=cursor)
