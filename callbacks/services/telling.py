"""Telling people about cards by SMS and e-mail, as each chose, holding non-urgent ones at night.

Every notice is stored once under a purpose naming the card, the kind, the card's generation and
the user, in the same transaction as the change it tells of: a job run twice, or a worker killed
after the commit, never sends it twice. A notice in the user's quiet hours waits in the outbox
until they end, unless the card is about an emergency.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from callbacks.models import OPEN_STATES, Card
from callbacks.services.common import appeal_topic, card_link, now, stamp
from core.contacts import channels_for, quiet_until
from core.events import record_event
from core.extensions import db
from core.mail.models import OutboundEmail
from core.mail.outbox import queue_email
from core.models import SMS_PENDING, OutboundMessage, User
from core.telephony import get_gateway
from hotline.prompts import prompt
from roster.models import Category, Municipality, Official

log = logging.getLogger(__name__)

#: Subjects of the e-mails, by kind of notice.
SUBJECTS = {
    "new_card": "Карточка №{card}: вам звонили — перезвоните гражданину",
    "reminder": "Напоминание: карточка №{card} ещё не принята",
    "escalation": "Эскалация: карточка №{card} не отработана к половине срока",
    "overdue": "Просрочена карточка №{card}: гражданину не перезвонили вовремя",
}


def is_urgent(card: Card) -> bool:
    """Return whether the card is about an emergency: its notices are never held at night."""
    if card.appeal.category_id is None:
        return False
    category = db.session.get(Category, card.appeal.category_id)
    return category is not None and category.urgency == "emergency"


def tell_user(
    user: User,
    kind: str,
    key: str,
    *,
    sms: str | None,
    subject: str,
    template: str,
    context: dict,
    urgent: bool = False,
    about: tuple[str, int] | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> list[str]:
    """Send one user a notice by each channel they chose for `kind`; return the channels used."""
    if not user.active:
        return []
    held = None if urgent else quiet_until(user, now())
    used = []
    purpose = f"{kind}:{key}:u{user.id}"
    for channel in channels_for(user, kind):
        if _already_told(channel, purpose):
            continue
        if channel == "sms" and sms:
            message = get_gateway().send_sms(user.phone, sms, purpose=f"sms:{purpose}"[:80])
            if held and message.status == SMS_PENDING and message.attempts == 0:
                message.next_attempt_at = held  # the SMS sweep sends it when quiet hours end
            used.append("sms")
        elif channel == "email":
            text, html = render_mail(template, {**context, "user": user})
            queue_email(
                user.email,
                subject,
                text,
                html,
                purpose=f"mail:{purpose}",
                about=about,
                attachment=attachment,
                at=held,
            )
            used.append("email")
    db.session.flush()
    return used


def _already_told(channel: str, purpose: str) -> bool:
    """Return whether this notice went out by this channel already (its purpose is stored)."""
    if channel == "sms":
        row = select(OutboundMessage.id).where(OutboundMessage.purpose == f"sms:{purpose}"[:80])
    else:
        row = select(OutboundEmail.id).where(OutboundEmail.purpose == f"mail:{purpose}")
    return db.session.scalar(row) is not None


def render_mail(template: str, context: dict) -> tuple[str, str]:
    """Return the plain-text and HTML bodies of an e-mail template (`callbacks/mail/<name>`)."""
    env = current_app.jinja_env
    text = env.get_template(f"callbacks/mail/{template}.txt").render(**context)
    html = env.get_template(f"callbacks/mail/{template}.html").render(**context)
    return text, html


def _card_context(card: Card) -> dict:
    place = db.session.get(Municipality, card.municipality_id)
    zone = ZoneInfo(place.timezone)
    appeal = card.appeal
    return {
        "card": card,
        "place": place,
        "topic": appeal_topic(appeal),
        "caller": appeal.caller_number or "номер скрыт",
        "due": card.callback_due_at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
        "link": card_link(card.id),
        "text": appeal.text or "",
    }


def duty_users(card: Card, roles=("primary", "backup", "supervisor")) -> list[User]:
    """Return the accounts of the card's duty officials in these roles, each once."""
    ids = [
        slot["official_id"]
        for role in roles
        if (slot := (card.duty or {}).get(role)) and slot.get("official_id")
    ]
    if not ids:
        return []
    user_ids = db.session.scalars(
        select(Official.user_id).where(Official.id.in_(ids), Official.user_id.is_not(None))
    ).all()
    users = db.session.scalars(select(User).where(User.id.in_(user_ids))).all()
    return [user for user in users if user.municipality_id == card.municipality_id]


def email_card_notice(card: Card, kind: str, users: list[User]) -> list[str]:
    """E-mail a card's notice (new card, reminder, escalation) to those of `users` who chose it."""
    told = []
    context = _card_context(card)
    for user in users:
        if "email" in channels_for(user, kind):
            tell_user(
                user,
                kind,
                f"{card.id}:{stamp(card.remind_at)}",
                sms=None,
                subject=SUBJECTS[kind].format(card=card.id),
                template="card",
                context={**context, "kind": kind},
                urgent=is_urgent(card) or kind == "new_card",
                about=("card", card.id),
            )
            told.append(user.username)
    return told


def overdue_recipients(card: Card) -> list[User]:
    """Return the card's municipality's heads and the regional managers, active ones."""
    return db.session.scalars(
        select(User)
        .where(
            User.active,
            ((User.role == "head") & (User.municipality_id == card.municipality_id))
            | (User.role == "manager"),
        )
        .order_by(User.id)
    ).all()


def tell_overdue(card: Card) -> dict[str, list[str]]:
    """Tell the heads and managers by SMS and e-mail that a card went overdue; once each."""
    context = {**_card_context(card), "kind": "overdue"}
    sms = prompt("sms_card_overdue", card=card.id, due=context["due"], link=context["link"])
    told: dict[str, list[str]] = {}
    for user in overdue_recipients(card):
        channels = tell_user(
            user,
            "overdue",
            f"{card.id}:{stamp(card.callback_due_at)}",
            sms=sms,
            subject=SUBJECTS["overdue"].format(card=card.id),
            template="card",
            context=context,
            urgent=is_urgent(card),
            about=("card", card.id),
        )
        if channels:
            told[user.username] = channels
    if told:
        record_event("card", card.id, "card.overdue-told", {"told": told}, actor_label="worker")
    return told


def digest_of(place: Municipality, moment: datetime) -> dict:
    """Return a head's morning digest: open cards, overdue ones, yesterday's missed calls."""
    zone = ZoneInfo(place.timezone)
    today = moment.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    open_cards = db.session.scalars(
        select(Card)
        .where(Card.municipality_id == place.id, Card.state.in_(OPEN_STATES))
        .order_by(Card.callback_due_at)
    ).all()
    yesterday = db.session.scalars(
        select(Card).where(
            Card.municipality_id == place.id,
            Card.opened_at >= start.astimezone(ZoneInfo("UTC")),
            Card.opened_at < end.astimezone(ZoneInfo("UTC")),
        )
    ).all()
    by_official: dict[str, int] = {}
    for card in yesterday:
        slot = (card.duty or {}).get("primary") or {}
        name = slot.get("full_name") or "никто не дежурил"
        by_official[name] = by_official.get(name, 0) + 1
    return {
        "place": place,
        "day": today.strftime("%d.%m.%Y"),
        "yesterday": (today - timedelta(days=1)).strftime("%d.%m.%Y"),
        "open_cards": open_cards,
        "overdue_cards": [card for card in open_cards if card.overdue],
        "missed_by_official": sorted(by_official.items(), key=lambda item: -item[1]),
        "missed_total": len(yesterday),
        "zone": zone,
        "link": card_link,
    }


#: The local hour the heads' digest and the managers' weekly report go out at.
MORNING_HOUR = 8


def send_head_digests(moment: datetime | None = None) -> int:
    """E-mail each head whose municipality's clock shows 08:00 hours their digest; once a day."""
    moment = moment or now()
    sent = 0
    for place in db.session.scalars(select(Municipality).order_by(Municipality.id)):
        local = moment.astimezone(ZoneInfo(place.timezone))
        if local.hour != MORNING_HOUR:
            continue
        heads = db.session.scalars(
            select(User).where(User.role == "head", User.active, User.municipality_id == place.id)
        ).all()
        if not heads:
            continue
        digest = digest_of(place, moment)
        for head in heads:
            channels = tell_user(
                head,
                "digest",
                f"{place.id}:{local.date().isoformat()}",
                sms=prompt(
                    "sms_head_digest",
                    open=len(digest["open_cards"]),
                    overdue=len(digest["overdue_cards"]),
                    missed=digest["missed_total"],
                ),
                subject=f"Сводка на {digest['day']}: {place.name}",
                template="digest",
                context=digest,
                about=("user", head.id),
            )
            sent += bool(channels)
    log.info("morning digests: %d heads told", sent)
    return sent


def open_card_count() -> int:
    """Return how many cards are open in the region (for the managers' weekly e-mail)."""
    return db.session.scalar(select(func.count(Card.id)).where(Card.state.in_(OPEN_STATES)))
