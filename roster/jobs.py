"""Roster jobs: extend rotations, check gaps, remind officials of tomorrow's duty."""

import logging

from flask_babel import force_locale
from flask_babel import gettext as _

from core import clock
from core.extensions import db
from core.i18n import local_time
from core.models import OutboundMessage
from roster.models import Municipality, Official, Roster
from roster.services import check_gaps, due_reminders, extend_rotations, role_label

log = logging.getLogger(__name__)


def refresh_roster(municipality_id: int) -> None:
    """Extend the municipality's rotations to their horizon and replace its gap list."""
    place = db.session.get(Municipality, municipality_id)
    if place is None:
        return
    now = clock.utcnow()
    extend_rotations(place.id, now)
    check_gaps(place, now)
    db.session.commit()


def refresh_all_rosters() -> None:
    """Run the roster refresh of every municipality (daily)."""
    for municipality_id in db.session.scalars(db.select(Municipality.id)).all():
        refresh_roster(municipality_id)


def send_shift_reminders() -> int:
    """Text every official whose duty starts tomorrow, once, in the evening before.

    Each reminder is stored with this run's commit and sent by a job of its own; return how
    many were stored now (one stored by an earlier run is not counted again).
    """
    from core.telephony import get_gateway

    gateway = get_gateway()
    stored = 0
    due = due_reminders(clock.utcnow())
    officials = _by_id(Official, {duty.official_id for _place, duty in due})
    rosters = _by_id(Roster, {duty.roster_id for _place, duty in due})
    known = _stored_purposes([_reminder_purpose(duty) for _place, duty in due])
    for place, duty in due:
        purpose = _reminder_purpose(duty)
        if purpose in known:
            continue
        official, roster = officials[duty.official_id], rosters[duty.roster_id]
        with force_locale("ru"):
            body = _(
                "Governor's hotline: you are on duty (%(role)s, %(place)s) "
                "from %(start)s to %(end)s.",
                role=role_label(duty.role).lower(),
                place=place.name if roster.is_general else f"{place.name}, {roster.name}",
                start=local_time(duty.starts_at, place.timezone),
                end=local_time(duty.ends_at, place.timezone),
            )
        gateway.send_sms(official.phone, body, purpose=purpose)
        stored += 1
    db.session.commit()
    log.info("shift reminders: %d due, %d stored to send", len(due), stored)
    return stored


def _reminder_purpose(duty) -> str:
    """Return the purpose that keeps a duty's evening reminder to one SMS."""
    return (
        f"shift-reminder:{duty.official_id}:{duty.roster_id}:{duty.role}"
        f":{duty.starts_at:%Y%m%dT%H%M}Z"
    )


def _stored_purposes(purposes: list[str]) -> set[str]:
    """Return which of these SMS purposes are stored already, in one query."""
    if not purposes:
        return set()
    return set(
        db.session.scalars(
            db.select(OutboundMessage.purpose).where(OutboundMessage.purpose.in_(purposes))
        )
    )


def _by_id(model, ids: set[int]) -> dict:
    """Return the rows of a model with these ids, by id, in one query."""
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(db.select(model).where(model.id.in_(ids)))}
