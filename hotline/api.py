"""Hotline endpoints of the JSON API."""

from flask import jsonify

from core.api import DATETIME, NULLABLE_DATETIME, ApiError, api, obj, operation, token_required
from hotline.calls import find_call
from hotline.models import Call


def _iso(value):
    return value.isoformat() if value else None


def call_as_dict(call: Call) -> dict:
    """Return a call with its routing decision and every attempt, as the API shows it."""
    routing = call.routing or {}
    return {
        "call_sid": call.call_sid,
        "from": call.from_number,
        "to": call.to_number,
        "entry": call.entry,
        "status": call.status,
        "outcome": call.outcome,
        "created_at": _iso(call.created_at),
        "chain_started_at": _iso(call.chain_started_at),
        "ended_at": _iso(call.ended_at),
        "routing": {role: routing.get(role) for role in ("primary", "backup", "supervisor")}
        | {"folded": routing.get("folded", {})},
        "attempts": [
            {
                "position": attempt.position,
                "role": attempt.role,
                "official_id": attempt.official_id,
                "phone": attempt.phone,
                "started_at": _iso(attempt.started_at),
                "accepted_at": _iso(attempt.accepted_at),
                "ended_at": _iso(attempt.ended_at),
                "dial_call_status": attempt.dial_call_status,
                "dial_call_duration": attempt.dial_call_duration,
                "key_pressed": attempt.key_pressed,
                "outcome": attempt.outcome,
            }
            for attempt in call.attempts
        ],
        "appeal_number": call.appeal.number if call.appeal else None,
    }


ATTEMPT_SCHEMA = obj(
    {
        "position": {"type": "integer"},
        "role": {"type": "string"},
        "official_id": {"type": ["integer", "null"]},
        "phone": {"type": "string"},
        "started_at": DATETIME,
        "accepted_at": NULLABLE_DATETIME,
        "ended_at": NULLABLE_DATETIME,
        "dial_call_status": {"type": ["string", "null"]},
        "dial_call_duration": {"type": ["integer", "null"]},
        "key_pressed": {"type": "boolean"},
        "outcome": {"type": ["string", "null"]},
    }
)
CALL_SCHEMA = obj(
    {
        "call_sid": {"type": "string"},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "entry": {"type": "string"},
        "status": {"type": "string"},
        "outcome": {"type": ["string", "null"]},
        "created_at": DATETIME,
        "chain_started_at": NULLABLE_DATETIME,
        "ended_at": NULLABLE_DATETIME,
        "routing": {"type": "object", "description": "who was due in each slot; folded roles"},
        "attempts": {"type": "array", "items": ATTEMPT_SCHEMA},
        "appeal_number": {"type": ["string", "null"]},
    }
)


@api.get("/calls/<call_sid>")
@token_required("manager", "operator", "admin")
@operation("Read a call", tag="calls", responses={200: ("The call and its attempts", CALL_SCHEMA)})
def get_call(call_sid: str):
    """Return a call with its routing decision, attempts, outcome and appeal number."""
    call = find_call(call_sid)
    if call is None:
        raise ApiError(404, "not_found", f"no call {call_sid}")
    return jsonify(call_as_dict(call))
