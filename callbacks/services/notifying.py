"""Telling the duty about a card: the opening SMS, the reminder, the escalation, the deadline."""

from datetime import datetime

from sqlalchemy import select

from callbacks.models import Card
from callbacks.services.common import appeal_topic, card_link, duty_recipients, now, stamp
from callbacks.services.telling import duty_users, email_card_notice, tell_overdue
from callbacks.states import allows
from core.events import record_event
from core.extensions import db
from core.models import OutboundMessage, User
from core.telephony import get_gateway
from hotline.models import Appeal
from hotline.prompts import prompt
from roster.models import Municipality


def send_card_sms(card: Card, recipient: dict, kind: str, text: str) -> OutboundMessage:
    """Send one official one SMS about a card (once per card, kind, generation and phone)."""
    purpose = f"card:{card.id}:{kind}:{stamp(card.remind_at)}:{recipient['phone']}"
    return get_gateway().send_sms(recipient["phone"], text, purpose=purpose[:80])


def card_opened_text(card: Card) -> str:
    """Return the SMS that tells an official about a new card."""
    appeal = card.appeal
    return prompt(
        "sms_card_opened",
        card=card.id,
        topic=appeal_topic(appeal),
        caller=_caller_in_sms(appeal),
        due=_local(card, card.callback_due_at),
        link=card_link(card.id),
    )


def _caller_in_sms(appeal: Appeal) -> str:
    if appeal.caller_number:
        return appeal.caller_number
    return "номер скрыт, перезвонить невозможно" if appeal.caller_hidden else "не определён"


def _local(card: Card, moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    place = db.session.get(Municipality, card.municipality_id)
    return moment.astimezone(ZoneInfo(place.timezone)).strftime("%d.%m %H:%M")


def mark_notified(card: Card, messages: list[OutboundMessage]) -> None:
    """Note that the opening SMS of every official of the duty were handed to the gateway."""
    if card.notified_at is None:
        card.notified_at = now()
        record_event(
            "card",
            card.id,
            "card.notified",
            {
                "to": [r["phone"] for r in duty_recipients(card)],
                "sms": [message.id for message in messages],
                "email": email_card_notice(card, "new_card", duty_users(card)),
            },
            actor_label="worker",
        )
        db.session.flush()


def remind_card(card: Card) -> bool:
    """Remind the duty officials of a card still unacknowledged 15 minutes after opening."""
    if not allows("card", "remind", card.state) or card.reminded_at or card.remind_at > now():
        return False
    text = prompt("sms_card_reminder", card=card.id, link=card_link(card.id))
    messages = [
        send_card_sms(card, recipient, "reminder", text) for recipient in duty_recipients(card)
    ]
    card.reminded_at = now()
    record_event(
        "card",
        card.id,
        "card.reminder",
        {
            "sms": [message.id for message in messages],
            "email": email_card_notice(card, "reminder", duty_users(card)),
        },
        actor_label="worker",
    )
    db.session.flush()
    return True


def escalate_card(card: Card) -> bool:
    """Tell the supervisor about a card not called back at half its callback deadline."""
    if not allows("card", "escalate", card.state) or card.escalated_at or card.escalate_at > now():
        return False
    supervisor = (card.duty or {}).get("supervisor")
    messages = []
    if supervisor and supervisor.get("phone"):
        text = prompt(
            "sms_card_escalation",
            card=card.id,
            due=_local(card, card.callback_due_at),
            link=card_link(card.id),
        )
        messages.append(
            send_card_sms(card, {**supervisor, "role": "supervisor"}, "escalation", text)
        )
    card.escalated_at = now()
    record_event(
        "card",
        card.id,
        "card.escalated",
        {
            "to": "supervisor",
            "official_id": (supervisor or {}).get("official_id"),
            "sms": [message.id for message in messages],
            "email": email_card_notice(card, "escalation", duty_users(card, ("supervisor",))),
        },
        actor_label="worker",
    )
    db.session.flush()
    return True


def mark_card_overdue(card: Card) -> bool:
    """Flag a card whose callback deadline passed; tell its heads and the managers (SMS, e-mail)."""
    if (
        not allows("card", "mark-overdue", card.state)
        or card.overdue
        or card.callback_due_at > now()
    ):
        return False
    card.overdue_at = now()
    managers = db.session.scalars(
        select(User.username).where(User.role == "manager", User.active)
    ).all()
    record_event(
        "card",
        card.id,
        "card.overdue",
        {"managers": list(managers), "due": card.callback_due_at.isoformat()},
        actor_label="worker",
    )
    tell_overdue(card)
    db.session.flush()
    return True
