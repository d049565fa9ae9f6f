"""The voice call that follows a "you were called" SMS the official's phone did not receive.

Two minutes after the opening SMS went to an official, its delivery is checked once: when the
carrier has not reported it delivered and the card is still new, the system rings the official,
reads the card and takes 1 as the official's acknowledgement.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from callbacks.models import Card, CardState, NoticeCall
from callbacks.services import acknowledge_card, appeal_topic, duty_recipients, now
from callbacks.states import allows
from core.events import record_event
from core.extensions import db
from core.models import OutboundMessage, User
from core.queue import enqueue_after_commit
from core.telephony import CarrierError
from core.telephony.reasons import reason_of
from core.telephony.retries import CALL_MAX_TRIES, next_try_at
from core.urls import webhook_url
from hotline.prompts import prompt
from roster.models import Municipality, Official

log = logging.getLogger(__name__)

#: How long an opening SMS has to be delivered before the official is rung instead.
DELIVERY_WAIT = timedelta(minutes=2)

MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def notice_job_id(notice_id: int) -> str:
    """Return the job id of a notice's delivery check (one check per opening SMS)."""
    return f"notice-call-{notice_id}"


def notice_retry_job_id(notice_id: int, try_number: int) -> str:
    """Return the job id of a notice call's try number `try_number` after a passing failure."""
    return f"notice-call-{notice_id}-try-{try_number}"


#: The job that follows a notice call up (`callbacks.jobs.follow_up_notice`).
FOLLOW_UP_JOB = "callbacks.jobs.follow_up_notice"


def notice_path(notice_id: int, step: str = "") -> str:
    """Return the path of a notice call's webhook (`step`: "" reads the card, "key", "status")."""
    return f"/voice/notices/{notice_id}" + (f"/{step}" if step else "")


def watch_deliveries(card: Card, messages: list[OutboundMessage]) -> list[NoticeCall]:
    """Schedule the delivery check of each opening SMS of a card, two minutes after it was sent."""
    officials = {slot["phone"]: slot.get("official_id") for slot in duty_recipients(card)}
    watched = set(
        db.session.scalars(
            select(NoticeCall.message_id).where(NoticeCall.message_id.in_([m.id for m in messages]))
        )
    )
    notices = []
    for message in messages:
        if message.to_number not in officials or message.id in watched:
            continue
        notice = NoticeCall(
            card_id=card.id,
            message_id=message.id,
            official_id=officials[message.to_number],
            official_phone=message.to_number,
            due_at=message.created_at + DELIVERY_WAIT,
        )
        db.session.add(notice)
        notices.append(notice)
    db.session.flush()
    for notice in notices:
        enqueue_after_commit(
            FOLLOW_UP_JOB, notice.id, job_id=notice_job_id(notice.id), at=notice.due_at
        )
    return notices


def check_notice(notice: NoticeCall) -> bool:
    """Check once whether the official needs a call; True when this check took the notice.

    Sets the outcome to `delivered` or `not-needed` (card no longer new), or `calling`.
    """
    if notice.checked_at is not None or notice.due_at > now():
        return False
    claimed = db.session.execute(
        update(NoticeCall)
        .where(NoticeCall.id == notice.id, NoticeCall.checked_at.is_(None))
        .values(checked_at=now())
    )
    if claimed.rowcount != 1:
        return False
    db.session.refresh(notice)
    if notice.message.delivered:
        notice.outcome = "delivered"
    elif notice.card.state != CardState.NEW:
        notice.outcome = "not-needed"
    else:
        notice.outcome = "calling"
    log.info("notice %s to %s: %s", notice.id, notice.official_phone, notice.outcome)
    db.session.flush()
    return True


def claim_notice_try(notice: NoticeCall) -> bool:
    """Take the due try of a notice call (the first, or one after a passing failure), once."""
    if notice.outcome != "calling":
        return False
    first = notice.tries == 0
    if not first and (notice.retry_at is None or notice.retry_at > now()):
        return False
    waiting = NoticeCall.retry_at.is_(None) if first else NoticeCall.retry_at.is_not(None)
    claimed = db.session.execute(
        update(NoticeCall)
        .where(
            NoticeCall.id == notice.id,
            NoticeCall.outcome == "calling",
            NoticeCall.tries == notice.tries,
            waiting,
        )
        .values(tries=notice.tries + 1, retry_at=None)
    )
    if claimed.rowcount != 1:
        return False
    db.session.refresh(notice)
    return True


def notice_not_placed(notice: NoticeCall, error: CarrierError) -> None:
    """Note why the carrier did not place the notice call; schedule the next try or fail."""
    retry_at = next_try_at(error, notice.tries)
    if retry_at is None:
        record_notice_call(notice, None, str(error))
        return
    notice.retry_at = retry_at
    notice.error = str(error)[:300]
    data = {
        "to": notice.official_phone,
        "official": _official_name(notice),
        "reason": reason_of(error),
        "try": notice.tries,
        "tries": CALL_MAX_TRIES,
        "retry_at": retry_at.isoformat(),
    }
    record_event("card", notice.card_id, "card.notice-call-retrying", data, actor_label="worker")
    db.session.flush()
    enqueue_after_commit(
        FOLLOW_UP_JOB,
        notice.id,
        job_id=notice_retry_job_id(notice.id, notice.tries + 1),
        at=retry_at,
    )
    log.info("notice %s: try %d failed, next at %s", notice.id, notice.tries, retry_at)


def due_notice_retries(limit: int) -> list[tuple[int, int]]:
    """Return (id, tries) of the notice calls whose next try is due, oldest first."""
    query = (
        select(NoticeCall.id, NoticeCall.tries)
        .where(NoticeCall.outcome == "calling", NoticeCall.retry_at <= now())
        .order_by(NoticeCall.retry_at)
        .limit(limit)
    )
    return [(row_id, tries) for row_id, tries in db.session.execute(query)]


def record_notice_call(notice: NoticeCall, call_sid: str | None, error: str | None) -> None:
    """Note on the card's timeline that the official is rung, or that the carrier refused it."""
    notice.call_sid = call_sid
    notice.outcome = "placed" if call_sid else "failed"
    notice.retry_at = None
    notice.error = error[:300] if error else None
    data = {
        "to": notice.official_phone,
        "official": _official_name(notice),
        "sms": [notice.message_id],
    }
    if error:
        data["reason"] = notice.error
    verb = "card.notice-call" if call_sid else "card.notice-call-failed"
    record_event("card", notice.card_id, verb, data, actor_label="worker")
    log.info("notice %s: call %s to %s %s", notice.id, call_sid, notice.official_phone, error or "")
    db.session.flush()


def acknowledge_by_phone(notice: NoticeCall) -> bool:
    """Acknowledge the card as the official who pressed 1; True once it is in work (by anyone)."""
    if notice.outcome not in ("placed", "acknowledged"):
        return False
    if not allows("card", "acknowledge", notice.card.state):
        return True  # called back or closed meanwhile: nothing is left to acknowledge
    official = db.session.get(Official, notice.official_id) if notice.official_id else None
    user = db.session.get(User, official.user_id) if official and official.user_id else None
    name = _official_name(notice)
    data = {"note": "by phone", "official": name, "to": notice.official_phone}
    if acknowledge_card(notice.card, user, data=data, actor_label=name[:64]):
        notice.outcome = "acknowledged"
        db.session.flush()
    return notice.card.state != CardState.NEW


def end_notice_call(notice: NoticeCall, call_status: str) -> bool:
    """Note on the card's timeline that the notice call ended without the official's 1."""
    if notice.outcome != "placed":
        return False
    notice.outcome = "unanswered"
    record_event(
        "card",
        notice.card_id,
        "card.notice-call-unanswered",
        {"to": notice.official_phone, "official": _official_name(notice), "outcome": call_status},
        actor_label="carrier",
    )
    db.session.flush()
    return True


def notice_text(card: Card) -> str:
    """Return what the notice call reads: municipality, topic and callback deadline, in Russian."""
    place = db.session.get(Municipality, card.municipality_id)
    return prompt(
        "notice_call",
        card=card.id,
        municipality=place.name,
        topic=appeal_topic(card.appeal),
        due=spoken_time(card.callback_due_at, place.timezone),
    )


def spoken_time(moment: datetime, timezone: str) -> str:
    """Return a moment as it is said in Russian in the municipality's time: `6 декабря, 21:40`."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {MONTHS[local.month - 1]}, {local:%H:%M}"


def notice_url(notice_id: int, step: str = "") -> str:
    """Return the absolute URL of a notice call's TwiML (built without a request)."""
    return webhook_url(notice_path(notice_id, step))


def due_notices(limit: int) -> list[int]:
    """Return the ids of the delivery checks that are due and not yet made, oldest first."""
    return db.session.scalars(
        select(NoticeCall.id)
        .where(NoticeCall.checked_at.is_(None), NoticeCall.due_at <= now())
        .order_by(NoticeCall.due_at)
        .limit(limit)
    ).all()


def _official_name(notice: NoticeCall) -> str:
    for slot in duty_recipients(notice.card):
        if slot["phone"] == notice.official_phone:
            return slot.get("full_name") or notice.official_phone
    return notice.official_phone
