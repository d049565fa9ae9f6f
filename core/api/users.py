"""User and token endpoints of the JSON API: the token's own user, and the admin's routes."""

from flask import g, jsonify

from core.api.blueprint import api, token_required
from core.api.errors import ApiError
from core.api.operations import operation
from core.api.schemas import DATETIME, NULLABLE_DATETIME, obj, text
from core.contacts import CHANNELS, NOTICE_KINDS, parse_quiet_time, set_contacts
from core.extensions import db
from core.models import ApiToken, Role, User
from core.users import (
    TOKEN_LABEL_LENGTH,
    TOKEN_LIFETIME_DAYS,
    TOKEN_MAX_DAYS,
    UserError,
    create_token,
    deactivate_user,
    list_users,
    live_token_counts,
    reactivate_user,
    revoke_token,
    tokens_of,
)

#: Notice kind -> the channels it goes by; a kind left out goes by every channel with an address.
NOTICE_CHANNELS_SCHEMA = obj(
    {
        kind: {"type": "array", "items": {"type": "string", "enum": list(CHANNELS)}}
        for kind in NOTICE_KINDS
    },
    required=[],
)
QUIET_HOURS_SCHEMA = obj(
    {
        "from": {"type": "string", "pattern": r"^\d\d:\d\d$"},
        "until": {"type": "string", "pattern": r"^\d\d:\d\d$"},
    }
)
CONTACTS_SCHEMA = obj(
    {
        "phone": {"type": ["string", "null"], "maxLength": 40},
        "email": {"type": ["string", "null"], "maxLength": 254},
        "notice_channels": NOTICE_CHANNELS_SCHEMA,
        "quiet_hours": QUIET_HOURS_SCHEMA,
    },
    required=[],
)
USER_SCHEMA = obj(
    {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "full_name": {"type": "string"},
        "role": {"type": "string", "enum": [role.value for role in Role]},
        "municipality_id": {"type": ["integer", "null"]},
        "active": {"type": "boolean"},
        "last_login_at": NULLABLE_DATETIME,
        "live_tokens": {"type": "integer", "minimum": 0},
        "phone": {"type": ["string", "null"], "description": "E.164"},
        "email": {"type": ["string", "null"]},
        "notice_channels": NOTICE_CHANNELS_SCHEMA,
        "quiet_hours": QUIET_HOURS_SCHEMA,
    }
)
TOKEN_SCHEMA = obj(
    {
        "id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "name": {"type": "string"},
        "created_at": DATETIME,
        "expires_at": NULLABLE_DATETIME,
        "last_used_at": NULLABLE_DATETIME,
        "revoked_at": NULLABLE_DATETIME,
        "state": {"type": "string", "enum": ["live", "expired", "revoked"]},
    }
)
ISSUED_SCHEMA = obj(
    {**TOKEN_SCHEMA["properties"], "token": {"type": "string"}},
)
NEW_TOKEN_SCHEMA = obj(
    {
        "name": text(TOKEN_LABEL_LENGTH, description="what the token is for"),
        "days": {
            "type": "integer",
            "minimum": 1,
            "maximum": TOKEN_MAX_DAYS,
            "default": TOKEN_LIFETIME_DAYS,
        },
    },
    required=[],
)


#: The id routes take any digits: `operation` answers an id beyond INTEGER's range with the API's
#: JSON 404 (bounded, the router would answer instead, with a 405 where GET and POST share a path).
USER_TOKENS = "/users/<int(max=None):user_id>/tokens"


def _iso(value):
    return value.isoformat() if value else None


def _user_json(user: User, live_tokens: int) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "municipality_id": user.municipality_id,
        "active": user.active,
        "last_login_at": _iso(user.last_login_at),
        "live_tokens": live_tokens,
        "phone": user.phone,
        "email": user.email,
        "notice_channels": user.notice_channels or {},
        "quiet_hours": {
            "from": f"{user.quiet_from:%H:%M}",
            "until": f"{user.quiet_until:%H:%M}",
        },
    }


def _token_json(row: ApiToken) -> dict:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "name": row.label,
        "created_at": _iso(row.created_at),
        "expires_at": _iso(row.expires_at),
        "last_used_at": _iso(row.last_used_at),
        "revoked_at": _iso(row.revoked_at),
        "state": row.state,
    }


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", f"no user with user_id {user_id}", "user_id")
    return user


@api.get("/users")
@token_required("admin")
@operation(
    "List users",
    tag="accounts",
    responses={200: ("Users", obj({"users": {"type": "array", "items": USER_SCHEMA}}))},
)
def users():
    """List every user with their role, access and number of valid tokens."""
    counts = live_token_counts()
    return jsonify(users=[_user_json(user, counts.get(user.id, 0)) for user in list_users()])


@api.put("/users/<int(max=None):user_id>/contacts")
@token_required("admin")
@operation(
    "Set a user's contacts",
    tag="accounts",
    body=CONTACTS_SCHEMA,
    responses={200: ("The user", USER_SCHEMA)},
)
def set_user_contacts(user_id: int):
    """Set a user's phone, e-mail, channels per notice and quiet hours (what is sent changes)."""
    user = _user(user_id)
    body = g.api_body
    quiet = body.get("quiet_hours") or {}
    try:
        set_contacts(
            user,
            phone=_given(body, "phone"),
            email=_given(body, "email"),
            channels=body.get("notice_channels"),
            quiet_from=parse_quiet_time(quiet["from"], "quiet_hours") if "from" in quiet else None,
            quiet_until=parse_quiet_time(quiet["until"], "quiet_hours")
            if "until" in quiet
            else None,
            actor=g.api_user,
        )
    except UserError as error:
        db.session.rollback()
        raise ApiError(400, error.code, error.message, error.field) from error
    db.session.commit()
    return jsonify(_user_json(user, live_token_counts().get(user.id, 0)))


def _given(body: dict, name: str) -> str | None:
    """Return a contact the body sets: its text, "" to clear it (null), None when absent."""
    if name not in body:
        return None
    return body[name] or ""


@api.post("/users/<int(max=None):user_id>/deactivate")
@token_required("admin")
@operation(
    "Deactivate a user",
    tag="accounts",
    responses={200: ("The user", USER_SCHEMA)},
    errors=(422,),
)
def deactivate(user_id: int):
    """Stop a user signing in or using tokens; their sessions end (not the caller's own)."""
    user = _user(user_id)
    try:
        deactivate_user(user, actor=g.api_user)
    except UserError as error:
        db.session.rollback()
        raise ApiError(422, error.code, error.message, "user_id") from error
    db.session.commit()
    return jsonify(_user_json(user, live_token_counts().get(user.id, 0)))


@api.post("/users/<int(max=None):user_id>/reactivate")
@token_required("admin")
@operation("Reactivate a user", tag="accounts", responses={200: ("The user", USER_SCHEMA)})
def reactivate(user_id: int):
    """Let a deactivated user sign in and use their tokens again."""
    user = _user(user_id)
    reactivate_user(user, actor=g.api_user)
    db.session.commit()
    return jsonify(_user_json(user, live_token_counts().get(user.id, 0)))


@api.get(USER_TOKENS)
@token_required("admin")
@operation(
    "List a user's tokens",
    tag="accounts",
    responses={200: ("Tokens", obj({"tokens": {"type": "array", "items": TOKEN_SCHEMA}}))},
)
def user_tokens(user_id: int):
    """List a user's API tokens, newest first, without their secrets."""
    return jsonify(tokens=[_token_json(row) for row in tokens_of(_user(user_id))])


@api.post(USER_TOKENS)
@token_required("admin")
@operation(
    "Issue a token",
    tag="accounts",
    body=NEW_TOKEN_SCHEMA,
    responses={201: ("The token with its secret, shown only in this answer", ISSUED_SCHEMA)},
)
def issue_user_token(user_id: int):
    """Issue an API token: {name?, days? (1–3650, default 90)}; the secret is returned once."""
    user = _user(user_id)
    body = g.api_body
    try:
        row, secret = create_token(
            user, body.get("days", TOKEN_LIFETIME_DAYS), body.get("name", ""), actor=g.api_user
        )
    except UserError as error:
        db.session.rollback()
        raise ApiError(400, error.code, error.message, error.field) from error
    db.session.commit()
    return jsonify({**_token_json(row), "token": secret}), 201


@api.delete("/tokens/<int(max=None):token_id>")
@token_required("admin")
@operation(
    "Revoke a token",
    tag="accounts",
    responses={200: ("The revoked token", TOKEN_SCHEMA)},
    errors=(422,),
)
def revoke(token_id: int):
    """Refuse an API token from now on (not the one making the request; again: no change)."""
    row = db.session.get(ApiToken, token_id)  # the id is in range: `operation` checked it
    if row is not None and row.token_hash == g.api_token_hash:
        raise ApiError(
            422,
            "own_token",
            "a token cannot revoke itself; use another one or the page",
            "token_id",
        )
    try:
        row = revoke_token(token_id, actor=g.api_user)
    except UserError as error:
        raise ApiError(
            404, "not_found", f"no token with token_id {token_id}", "token_id"
        ) from error
    db.session.commit()
    return jsonify(_token_json(row))


ME_SCHEMA = obj(
    {
        "username": {"type": "string"},
        "role": {"type": "string", "enum": ["operator", "official", "head", "manager", "admin"]},
        "municipality_id": {"type": ["integer", "null"]},
    }
)


@api.get("/me")
@token_required()
@operation("The token's user", tag="accounts", responses={200: ("The user", ME_SCHEMA)})
def me():
    """Return the user the token belongs to."""
    user = g.api_user
    return jsonify(username=user.username, role=user.role, municipality_id=user.municipality_id)
