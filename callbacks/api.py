"""Cards in the JSON API, scoped like the cabinet."""

from flask import g, jsonify, request

from callbacks import services
from callbacks.models import Card, CardState
from core.api import ApiError, api, token_required
from core.extensions import db
from roster.services import get_municipality

CARD_ROLES = ("official", "head", "operator", "manager", "admin")


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
        "caller": {"number": appeal.caller_number, "name": appeal.caller_name},
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
            for e in services.card_timeline(card)
        ]
    return body


@api.get("/cards")
@token_required(*CARD_ROLES)
def list_cards():
    """List the cards the token's user may see, by deadline; filters municipality and state."""
    user = g.api_user
    municipality_id = None
    if request.args.get("municipality"):
        place = get_municipality(request.args["municipality"])
        if place is None:
            raise ApiError(404, "not_found", "no such municipality", "municipality")
        if not user.can_see_municipality(place.id):
            raise ApiError(403, "forbidden", "the municipality is not yours", "municipality")
        municipality_id = place.id
    state = request.args.get("state")
    if state and state not in set(CardState):
        raise ApiError(400, "invalid", f"state is one of {', '.join(CardState)}", "state")
    cards = db.session.scalars(
        services.cards_query(user, municipality_id=municipality_id, state=state).limit(500)
    ).all()
    return jsonify(cards=[card_as_dict(card) for card in cards])


@api.get("/cards/<int:card_id>")
@token_required(*CARD_ROLES)
def get_card(card_id: int):
    """Return one card with its timeline (404 for another municipality's card)."""
    card = services.get_visible_card(g.api_user, card_id)
    if card is None:
        raise ApiError(404, "not_found", f"no card {card_id}")
    return jsonify(card_as_dict(card, with_timeline=True))
