"""Incoming SMS: a citizen's confirmation or an official's short status reply."""

import re

from sqlalchemy import or_, select

from callbacks.models import AppealTracking, Card, CardState
from callbacks.services.cards import add_card_note
from callbacks.services.confirmation import answer_confirmation
from core.events import record_event
from core.extensions import db
from core.parsing import parse_id
from hotline.models import Appeal
from roster.models import Official

_ANSWER_YES = {"1", "да", "решено", "yes"}
_ANSWER_NO = {"2", "нет", "не решено", "no"}


def take_incoming_sms(from_number: str, body: str) -> str:
    """Apply an SMS: a citizen's confirmation or an official's short status reply."""
    text = body.strip()
    word = text.lower().rstrip(".!")
    if word in _ANSWER_YES | _ANSWER_NO:
        appeal = db.session.scalar(
            select(Appeal)
            .join(AppealTracking, AppealTracking.appeal_id == Appeal.id)
            .where(Appeal.caller_number == from_number, AppealTracking.confirmation == "asked")
            .order_by(AppealTracking.confirmation_asked_at.desc())
            .limit(1)
        )
        if appeal is not None and answer_confirmation(appeal, word in _ANSWER_YES, "sms"):
            return "confirmation"
    officials = db.session.scalars(select(Official).where(Official.phone == from_number)).all()
    if officials and text:
        card = _card_for_reply(officials, text)
        if card is not None:
            note = re.sub(r"^\s*(№|#)?\s*[\d-]+\s*", "", text) or text
            add_card_note(card, note, None, source=f"sms {from_number}")
            return "status-reply"
    record_event("sms", from_number, "sms.unmatched", {"body": text[:300]}, actor_label="carrier")
    return "unmatched"


def _card_for_reply(officials: list[Official], text: str) -> Card | None:
    places = {official.municipality_id for official in officials}
    match = re.match(r"^\s*(?:№|#)?\s*([\d-]+)", text)
    query = select(Card).join(Appeal, Appeal.id == Card.appeal_id)
    query = query.where(Card.municipality_id.in_(places), Card.state != CardState.CLOSED)
    if match:
        token = match.group(1)
        card_id = parse_id(token)
        named = or_(Appeal.number == token, Card.id == card_id if card_id else False)
        card = db.session.scalar(query.where(named))
        if card is not None:
            return card
    return db.session.scalar(query.order_by(Card.opened_at.desc()).limit(1))
