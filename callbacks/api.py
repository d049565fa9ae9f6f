"""Cards in the JSON API, scoped like the cabinet, and the status of appeals with outcomes."""

from flask import g, jsonify, request
from sqlalchemy.orm import selectinload

from callbacks import services
from callbacks.models import Card, CardState
from callbacks.states import StateError
from core.api import (
    DATETIME,
    NULLABLE_DATETIME,
    ApiError,
    api,
    nullable,
    obj,
    operation,
    query,
    text,
    token_required,
)
from core.extensions import db
from core.journal import record_access
from hotline.api_appeals import APPEAL_SCHEMA, appeal_as_dict, visible_appeal
from hotline.models import Call
from roster.api import filtered_municipality

CARD_ROLES = ("official", "head", "operator", "manager", "admin")
#: Roles that may close an appeal without the citizen's confirmation.
CLOSING_ROLES = ("manager", "admin")
#: What a refused card or appeal action answers: (status, code, message) by CardError.
_REFUSALS = {
    "code": (400, "invalid", "unknown resolution code"),
    "text": (422, "text_required", "describe what was done"),
    "formal": (
        422,
        "formal_reply",
        "a formal reply without a resolution code is not accepted: give a code or describe "
        "concretely what was done",
    ),
    "reason": (422, "text_required", "say why the appeal is closed"),
}


def _refused(error: services.CardError | StateError) -> ApiError:
    if isinstance(error, StateError):
        return ApiError(409, error.code, str(error), None)
    status, code, message = _REFUSALS.get(str(error), (422, "refused", str(error)))
    return ApiError(status, code, message, error.field)


SLOT_SCHEMA = {"type": ["object", "null"]}
CARD_SCHEMA = obj(
    {
        "id": {"type": "integer"},
        "state": {"type": "string", "enum": list(CardState)},
        "overdue": {"type": "boolean"},
        "municipality": {"type": "string"},
        "opened_at": DATETIME,
        "callback_due_at": DATETIME,
        "acknowledged_at": NULLABLE_DATETIME,
        "called_back_at": NULLABLE_DATETIME,
        "closed_at": NULLABLE_DATETIME,
        "caller": obj(
            {
                "number": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                # the call came with a hidden caller ID: there is no number to call back
                "hidden": {"type": "boolean"},
            }
        ),
        "appeal": obj(
            {
                "number": {"type": ["string", "null"]},
                "status": {"type": "string"},
                "category": {"type": ["string", "null"]},
                "urgency": {"type": "string"},
                "text": {"type": ["string", "null"]},
                "recording_url": {"type": ["string", "null"]},
            }
        ),
        "duty": obj(
            {"primary": SLOT_SCHEMA, "backup": SLOT_SCHEMA, "supervisor": SLOT_SCHEMA}, [], False
        ),
        "attempts": {"type": "array", "items": {"type": "object"}},
        "callbacks": {"type": "array", "items": {"type": "object"}},
    }
)
CARD_WITH_TIMELINE = {
    **CARD_SCHEMA,
    "properties": {
        **CARD_SCHEMA["properties"],
        "timeline": {
            "type": "array",
            "items": obj(
                {
                    "at": DATETIME,
                    "verb": {"type": "string"},
                    "actor": {"type": "string"},
                    "data": {"type": "object"},
                }
            ),
        },
    },
    "required": [*CARD_SCHEMA["required"], "timeline"],
}
OUTCOME_SCHEMA = obj(
    {
        "code": nullable({"type": "string", "enum": list(services.RESOLUTION_CODES)}),
        "text": text(4000, 1, description="what was done, concretely"),
    },
    required=["text"],
)
STATUS_SCHEMA = obj(
    {
        "status": {"type": "string", "enum": ["in_work", "resolved", "closed"]},
        "code": nullable({"type": "string", "enum": list(services.RESOLUTION_CODES)}),
        "text": text(4000, description="resolved: what was done; closed: why; in_work: a note"),
    },
    required=["status"],
)


def _iso(value):
    return value.isoformat() if value else None


def card_as_dict(card: Card, with_timeline: bool = False) -> dict:
    """Return a card as the API shows it: caller, duty, attempts, deadlines, state."""
    appeal, call = card.appeal, card.call
    body = {
        "id": card.id,
        "state": card.state,
        "overdue": card.overdue,
        "municipality": card.municipality.code,
        "opened_at": _iso(card.opened_at),
        "callback_due_at": _iso(card.callback_due_at),
        "acknowledged_at": _iso(card.acknowledged_at),
        "called_back_at": _iso(card.called_back_at),
        "closed_at": _iso(card.closed_at),
        "caller": {
            "number": appeal.caller_number,
            "name": appeal.caller_name,
            "hidden": appeal.caller_hidden,
        },
        "appeal": {
            "number": appeal.number,
            "status": appeal.status,
            "category": appeal.category.code if appeal.category else None,
            "urgency": appeal.urgency,
            "text": appeal.text,
            "recording_url": appeal.recording_url,
        },
        "duty": card.duty,
        "attempts": [
            {
                "position": attempt.position,
                "role": attempt.role,
                "official_id": attempt.official_id,
                "phone": attempt.phone,
                "outcome": attempt.outcome,
                "started_at": _iso(attempt.started_at),
                "ended_at": _iso(attempt.ended_at),
            }
            for attempt in call.attempts
        ],
        "callbacks": [
            {
                "official_id": attempt.official_id,
                "started_at": _iso(attempt.started_at),
                "outcome": attempt.outcome,
            }
            for attempt in card.callbacks
        ],
    }
    if with_timeline:
        body["timeline"] = [
            {"at": _iso(e.at), "verb": e.verb, "actor": e.actor_label, "data": e.data}
            for e in services.card_timeline(card, g.api_user)
        ]
    return body


@api.get("/cards")
@token_required(*CARD_ROLES)
@operation(
    "List cards",
    tag="cards",
    params=[
        query("municipality", text(32), "municipality code"),
        query("state", {"type": "string", "enum": list(CardState)}),
    ],
    responses={
        200: (
            "Cards, open ones first by deadline",
            obj({"cards": {"type": "array", "items": CARD_SCHEMA}}),
        )
    },
    errors=(404,),
)
def list_cards():
    """List the cards the token's user may see, by deadline; filters municipality and state."""
    user = g.api_user
    municipality_id = None
    if request.args.get("municipality"):
        municipality_id = filtered_municipality(request.args["municipality"]).id
    state = request.args.get("state")
    if state and state not in set(CardState):
        raise ApiError(400, "invalid", f"state is one of {', '.join(CardState)}", "state")
    cards = db.session.scalars(
        services.cards_query(user, municipality_id=municipality_id, state=state)
        .options(selectinload(Card.call).selectinload(Call.attempts), selectinload(Card.callbacks))
        .limit(500)
    ).all()
    record_access("card", None, None, {"filter": request.args.to_dict(), "count": len(cards)})
    return jsonify(cards=[card_as_dict(card) for card in cards])


@api.get("/cards/<int:card_id>")
@token_required(*CARD_ROLES)
@operation(
    "Read a card", tag="cards", responses={200: ("The card with its timeline", CARD_WITH_TIMELINE)}
)
def get_card(card_id: int):
    """Return one card with its timeline (404 for another municipality's card)."""
    card = services.get_visible_card(g.api_user, card_id)
    if card is None:
        raise ApiError(404, "not_found", f"no card {card_id}")
    record_access("card", card.id, card.appeal.caller_number)
    return jsonify(card_as_dict(card, with_timeline=True))


def _visible_card(card_id: int) -> Card:
    card = services.get_visible_card(g.api_user, card_id)
    if card is None:
        raise ApiError(404, "not_found", f"no card {card_id}")
    return card


@api.post("/cards/<int:card_id>/acknowledge")
@token_required(*CARD_ROLES)
@operation(
    "Acknowledge a card",
    tag="cards",
    responses={200: ("The card", CARD_SCHEMA)},
    errors=(409,),
    idempotent=True,
)
def acknowledge_card(card_id: int):
    """Take a new card into work (again on an acknowledged card: no change; otherwise 409)."""
    return _act_on_card(card_id, lambda card: services.acknowledge_card(card, g.api_user))


@api.post("/cards/<int:card_id>/outcome")
@token_required(*CARD_ROLES)
@operation(
    "Record a card's outcome",
    tag="cards",
    body=OUTCOME_SCHEMA,
    responses={200: ("The card; the appeal is resolved", CARD_SCHEMA)},
    errors=(409, 422),
    idempotent=True,
)
def record_card_outcome(card_id: int):
    """Record what was done; the appeal is resolved and the citizen asked to confirm."""
    body = g.api_body
    return _act_on_card(
        card_id,
        lambda card: services.record_outcome(card, body.get("code"), body["text"], g.api_user),
    )


def _act_on_card(card_id: int, action):
    """Apply an action to a visible card: a refusal is an API error, else commit and answer it."""
    card = _visible_card(card_id)
    try:
        action(card)
    except (services.CardError, StateError) as error:
        db.session.rollback()
        raise _refused(error) from error
    db.session.commit()
    return jsonify(card_as_dict(card))


@api.post("/appeals/<number>/status")
@token_required(*CARD_ROLES)
@operation(
    "Change an appeal's status",
    tag="appeals",
    body=STATUS_SCHEMA,
    responses={200: ("The appeal", APPEAL_SCHEMA)},
    errors=(403, 409, 422),
    idempotent=True,
)
def update_appeal_status(number: str):
    """Move an appeal: in_work; resolved with its outcome (code, text); closed (managers)."""
    appeal, user, body = visible_appeal(number), g.api_user, g.api_body
    status, note = body["status"], body.get("text") or ""
    try:
        if status == "resolved":
            services.resolve_appeal(appeal, body.get("code"), note, user)
        elif status == "closed":
            if user.role not in CLOSING_ROLES:
                raise ApiError(403, "forbidden", "only managers and admins close appeals")
            services.close_appeal(appeal, note, user)
        else:
            services.take_appeal_into_work(appeal, note, user)
    except (services.CardError, StateError) as error:
        db.session.rollback()
        raise _refused(error) from error
    db.session.commit()
    return jsonify(appeal_as_dict(appeal))
