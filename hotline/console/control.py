"""The console's control of open appeals, their timelines, and the search."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import joinedload, selectinload

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import SMS_FAILED, SMS_UNDELIVERED, SMS_UNKNOWN, Event, OutboundMessage, User
from hotline.appeals import registration_sms_purpose
from hotline.console.queue import OPEN_STATUSES, ConsoleError
from hotline.models import (
    Appeal,
    AppealStatus,
    Call,
    Channel,
)
from hotline.signals import next_checkins_wanted

log = logging.getLogger(__name__)

#: What the control list and the search show of each appeal besides its row: batched.
_WITH_PLACE_AND_TOPIC = (selectinload(Appeal.municipality), selectinload(Appeal.category))


@dataclass
class ControlEntry:
    appeal: Appeal
    next_checkin_at: datetime | None
    overdue: bool
    #: The SMS with the registration number when it failed or did not reach the citizen.
    lost_registration_sms: OutboundMessage | None = None


def next_checkins(appeal_ids: list[int]) -> dict[int, datetime | None]:
    """Ask the tracking (callbacks) when each appeal is checked next."""
    found: dict[int, datetime | None] = {}
    for _receiver, answer in next_checkins_wanted.send(list(appeal_ids)):
        found.update(answer or {})
    return found


def control_list(user: User, mine: bool, now: datetime | None = None) -> list[ControlEntry]:
    """Return the open appeals (the operator's or the centre's), overdue first."""
    now = now or utcnow()
    query = select(Appeal).where(Appeal.status.in_(OPEN_STATUSES))
    if mine:
        query = query.where(Appeal.created_by_id == user.id)
    else:
        query = query.where(Appeal.channel == Channel.OPERATOR)
    appeals = db.session.scalars(
        query.options(*_WITH_PLACE_AND_TOPIC).order_by(Appeal.resolution_due_at).limit(300)
    ).all()
    checkins = next_checkins([appeal.id for appeal in appeals])
    lost = lost_registration_sms([appeal.id for appeal in appeals])
    entries = []
    for appeal in appeals:
        checkin = checkins.get(appeal.id)
        overdue = appeal.resolution_due_at < now or (checkin is not None and checkin < now)
        callback_late = (
            appeal.status in (AppealStatus.ROUTING, AppealStatus.MISSED)
            and appeal.callback_due_at is not None
            and appeal.callback_due_at < now
        )
        entries.append(ControlEntry(appeal, checkin, overdue or callback_late, lost.get(appeal.id)))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    entries.sort(
        key=lambda e: (
            not (e.overdue or e.lost_registration_sms),
            e.next_checkin_at or far,
            e.appeal.id,
        )
    )
    return entries


def lost_registration_sms(appeal_ids: list[int]) -> dict[int, OutboundMessage]:
    """Return, by appeal id, the registration SMS that failed or never reached the citizen."""
    if not appeal_ids:
        return {}
    purposes = {registration_sms_purpose(appeal_id): appeal_id for appeal_id in appeal_ids}
    messages = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.purpose.in_(sorted(purposes)),
            OutboundMessage.status.in_((SMS_FAILED, SMS_UNDELIVERED, SMS_UNKNOWN)),
        )
    )
    return {purposes[message.purpose]: message for message in messages}


def log_control_call(appeal: Appeal, result: str, user: User) -> int:
    """Add the result of the operator's control call to the appeal's timeline; return its id."""
    result = result.strip()
    if not result:
        raise ConsoleError("empty")
    return record_event(
        "appeal", appeal.id, "appeal.control-call", {"text": result[:2000]}, actor=user
    )


def appeal_timeline(appeal: Appeal) -> list[Event]:
    """Return the events of the appeal and its calls (later ones about it too), oldest first."""
    subjects = [("appeal", str(appeal.id))]
    if appeal.call_id:
        subjects.append(("call", str(appeal.call_id)))
    later = select(Call.id).where(Call.about_appeal_id == appeal.id)
    subjects += [("call", str(call_id)) for call_id in db.session.scalars(later)]
    return db.session.scalars(
        select(Event)
        .where(or_(*[(Event.subject_type == t) & (Event.subject_id == i) for t, i in subjects]))
        .options(joinedload(Event.actor))
        .order_by(Event.at, Event.id)
    ).all()


def search_appeals(
    *,
    number: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    municipality_id: int | None = None,
    category_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Appeal]:
    """Find appeals by number, phone, address text, municipality, category and period."""
    query = select(Appeal)
    if number:
        query = query.where(Appeal.number.contains(number.strip(), autoescape=True))
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        query = query.where(Appeal.caller_number.contains(digits[-10:] or phone, autoescape=True))
    if address:
        query = query.where(Appeal.address.icontains(address.strip(), autoescape=True))
    if municipality_id:
        query = query.where(Appeal.municipality_id == municipality_id)
    if category_id:
        query = query.where(Appeal.category_id == category_id)
    if since:
        query = query.where(Appeal.created_at >= since)
    if until:
        query = query.where(Appeal.created_at < until)
    open_first = case((Appeal.status.in_(OPEN_STATUSES), 0), else_=1)
    return db.session.scalars(
        query.options(*_WITH_PLACE_AND_TOPIC)
        .order_by(open_first, Appeal.created_at.desc())
        .limit(limit)
    ).all()
