"""Appeal tracking: the tracking row, the check-in schedule and the check-in SMS."""

from datetime import datetime, timedelta

from sqlalchemy import select

from callbacks.models import AppealTracking, Card
from callbacks.services.common import duty_recipients, now, stamp
from core.events import record_event
from core.extensions import db
from core.telephony import get_gateway
from hotline.models import Appeal, AppealStatus
from hotline.prompts import prompt
from roster.models import Category, Official

#: Check-in interval when the appeal has no category: emergency 2 hours, otherwise daily.
CHECKIN_BY_URGENCY = {"emergency": timedelta(hours=2)}
DEFAULT_CHECKIN = timedelta(days=1)
#: Appeal statuses in which check-ins run.
TRACKED_STATUSES = (AppealStatus.IN_WORK, AppealStatus.MISSED, AppealStatus.REOPENED)


def checkin_interval(appeal: Appeal) -> timedelta:
    """Return the time between check-ins for an appeal (from its category's setting)."""
    category = db.session.get(Category, appeal.category_id) if appeal.category_id else None
    return _interval(appeal, category)


def _interval(appeal: Appeal, category: Category | None) -> timedelta:
    if category is not None and category.checkin_minutes:
        return timedelta(minutes=category.checkin_minutes)
    return CHECKIN_BY_URGENCY.get(appeal.urgency, DEFAULT_CHECKIN)


def _new_tracking(appeal: Appeal, start: datetime, interval: timedelta) -> AppealTracking:
    return AppealTracking(
        appeal_id=appeal.id, next_checkin_at=start + interval, checkins=0, reopen_count=0
    )


def ensure_tracking(appeal: Appeal, start: datetime | None = None) -> AppealTracking:
    """Return the appeal's tracking row, creating it with the first check-in scheduled."""
    tracking = db.session.get(AppealTracking, appeal.id)
    if tracking is None:
        tracking = _new_tracking(appeal, start or now(), checkin_interval(appeal))
        db.session.add(tracking)
        db.session.flush()
    return tracking


def track_new_appeals(limit: int) -> int:
    """Give appeals in work a tracking row if they have none (an accepted appeal has none).

    Their first check-in counts from their creation; one query, one flush for them all.
    """
    appeals = db.session.scalars(
        select(Appeal)
        .outerjoin(AppealTracking, AppealTracking.appeal_id == Appeal.id)
        .where(Appeal.status.in_(TRACKED_STATUSES), AppealTracking.appeal_id.is_(None))
        .limit(limit)
    ).all()
    wanted = {appeal.category_id for appeal in appeals if appeal.category_id}
    categories = {
        category.id: category
        for category in db.session.scalars(select(Category).where(Category.id.in_(wanted)))
    }
    db.session.add_all(
        _new_tracking(
            appeal, appeal.created_at, _interval(appeal, categories.get(appeal.category_id))
        )
        for appeal in appeals
    )
    db.session.flush()
    return len(appeals)


def next_checkins(appeal_ids: list[int]) -> dict[int, datetime | None]:
    """Return when each of these appeals is checked next (only appeals with tracking)."""
    if not appeal_ids:
        return {}
    rows = db.session.execute(
        select(AppealTracking.appeal_id, AppealTracking.next_checkin_at).where(
            AppealTracking.appeal_id.in_(appeal_ids)
        )
    )
    return {appeal_id: moment for appeal_id, moment in rows}


def responsible_phone(appeal: Appeal) -> str | None:
    """Return the phone of the official answering for an appeal (assignee, else the duty)."""
    if appeal.assignee_id:
        official = db.session.get(Official, appeal.assignee_id)
        if official is not None:
            return official.phone
    card = db.session.scalar(select(Card).where(Card.appeal_id == appeal.id))
    if card is not None:
        recipients = duty_recipients(card)
        if recipients:
            return recipients[0]["phone"]
    return None


def run_checkin(tracking: AppealTracking) -> bool:
    """Ask the responsible official for a status update on an appeal in work, and reschedule."""
    moment = now()
    if tracking.next_checkin_at is None or tracking.next_checkin_at > moment:
        return False
    appeal = tracking.appeal
    if appeal.status not in TRACKED_STATUSES:
        tracking.next_checkin_at = None
        return False
    number = tracking.checkins + 1
    phone = responsible_phone(appeal)
    messages = []
    if phone:
        messages.append(
            get_gateway().send_sms(
                phone,
                prompt("sms_checkin", number=appeal.number),
                purpose=f"checkin:{appeal.id}:{number}",
            )
        )
    record_event(
        "appeal",
        appeal.id,
        "appeal.checkin",
        {"n": number, "to": phone, "sms": [message.id for message in messages]},
        actor_label="worker",
    )
    tracking.checkins = number
    tracking.last_checkin_at = moment
    tracking.next_checkin_at = moment + checkin_interval(appeal)
    db.session.flush()
    return True


def checkin_job_id(tracking: AppealTracking) -> str:
    """Return the deterministic job id of an appeal's next check-in."""
    return f"checkin-{tracking.appeal_id}-{stamp(tracking.next_checkin_at)}"
