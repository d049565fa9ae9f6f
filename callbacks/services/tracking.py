"""Appeal tracking: the tracking row, the check-in schedule and the check-in SMS."""

from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update

from callbacks.models import AppealTracking, Card
from callbacks.services.common import duty_recipients, now, recipients_of_duty, stamp
from core.batches import claim_rows
from core.events import record_event
from core.extensions import db
from core.models import Event
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
    return _interval_of(appeal.urgency, category.checkin_minutes if category else None)


def _interval_of(urgency: str | None, checkin_minutes: int | None) -> timedelta:
    if checkin_minutes:
        return timedelta(minutes=checkin_minutes)
    return CHECKIN_BY_URGENCY.get(urgency, DEFAULT_CHECKIN)


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
    return checkin_job_id_of(tracking.appeal_id, tracking.next_checkin_at)


def checkin_job_id_of(appeal_id: int, due: datetime) -> str:
    """Return the job id of the check-in of an appeal due at `due` (one at a time)."""
    return f"checkin-{appeal_id}-{stamp(due)}"


def due_checkins(limit: int, appeal_ids: list[int] | None = None) -> list[tuple[int, datetime]]:
    """Return (appeal id, due moment) of the check-ins due now, earliest first."""
    query = select(AppealTracking.appeal_id, AppealTracking.next_checkin_at).where(
        AppealTracking.next_checkin_at <= now()
    )
    if appeal_ids is not None:
        query = query.where(AppealTracking.appeal_id.in_(appeal_ids))
    return [
        tuple(row) for row in db.session.execute(query.order_by("next_checkin_at").limit(limit))
    ]


_UPDATE_TRACKING = (
    update(AppealTracking.__table__)
    .where(AppealTracking.__table__.c.appeal_id == bindparam("b_appeal_id"))
    .values(
        checkins=bindparam("b_checkins"),
        last_checkin_at=bindparam("b_last"),
        next_checkin_at=bindparam("b_next"),
    )
)


def run_checkins(appeal_ids: list[int]) -> list[int]:
    """Do the due check-ins of these appeals as `run_checkin` does, in bulk; return those done.

    The tracking rows are claimed (`FOR UPDATE SKIP LOCKED`): one another worker holds is
    left to it, one no longer due is skipped. Their SMS, events and new schedule are three
    bulk statements; the SMS leave after the commit, one message at a time.
    """
    moment = now()
    claimed = claim_rows(
        select(
            AppealTracking.appeal_id,
            AppealTracking.checkins,
            Appeal.number,
            Appeal.status,
            Appeal.urgency,
            Appeal.assignee_id,
            Appeal.category_id,
        )
        .join(Appeal, Appeal.id == AppealTracking.appeal_id)
        .where(AppealTracking.appeal_id.in_(appeal_ids), AppealTracking.next_checkin_at <= moment)
        .order_by(AppealTracking.appeal_id),
        of=AppealTracking,
    )
    if not claimed:
        return []
    phones = _responsible_phones(claimed)
    minutes = dict(
        db.session.execute(
            select(Category.id, Category.checkin_minutes).where(
                Category.id.in_({row.category_id for row in claimed if row.category_id})
            )
        ).all()
    )
    tracked = [row for row in claimed if row.status in TRACKED_STATUSES]
    sms = [
        (
            phones[row.appeal_id],
            prompt("sms_checkin", number=row.number),
            f"checkin:{row.appeal_id}:{row.checkins + 1}",
        )
        for row in tracked
        if phones.get(row.appeal_id)
    ]
    message_ids = get_gateway().send_sms_many(sms)
    events, schedule = [], []
    for row in claimed:
        if row.status not in TRACKED_STATUSES:
            schedule.append(
                {
                    "b_appeal_id": row.appeal_id,
                    "b_checkins": row.checkins,
                    "b_last": None,
                    "b_next": None,
                }
            )
            continue
        number, phone = row.checkins + 1, phones.get(row.appeal_id)
        sent = message_ids.get(f"checkin:{row.appeal_id}:{number}")
        events.append(
            {
                "at": moment,
                "subject_type": "appeal",
                "subject_id": str(row.appeal_id),
                "verb": "appeal.checkin",
                "data": {"n": number, "to": phone, "sms": [sent] if sent else []},
                "actor_id": None,
                "actor_label": "worker",
            }
        )
        schedule.append(
            {
                "b_appeal_id": row.appeal_id,
                "b_checkins": number,
                "b_last": moment,
                "b_next": moment + _interval_of(row.urgency, minutes.get(row.category_id)),
            }
        )
    if events:
        db.session.execute(insert(Event.__table__), events)
    db.session.execute(_UPDATE_TRACKING, schedule)
    return [row.appeal_id for row in tracked]


def _responsible_phones(rows) -> dict[int, str]:
    """Return the responsible phone of each claimed appeal, as `responsible_phone` chooses it."""
    assignees = {row.assignee_id for row in rows if row.assignee_id}
    official_phones = dict(
        db.session.execute(
            select(Official.id, Official.phone).where(Official.id.in_(assignees))
        ).all()
    )
    phones = {
        row.appeal_id: official_phones[row.assignee_id]
        for row in rows
        if row.assignee_id in official_phones
    }
    rest = [row.appeal_id for row in rows if row.appeal_id not in phones]
    if rest:
        cards = db.session.execute(
            select(Card.appeal_id, Card.duty).where(Card.appeal_id.in_(rest)).order_by(Card.id)
        )
        seen = set()
        for appeal_id, duty in cards:  # the first card of an appeal answers, as one at a time
            recipients = [] if appeal_id in seen else recipients_of_duty(duty)
            seen.add(appeal_id)
            if recipients:
                phones[appeal_id] = recipients[0]["phone"]
    return phones
