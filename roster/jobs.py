"""Roster jobs: extend rotations, check gaps, remind officials of tomorrow's duty."""

import logging
from collections import Counter

from flask_babel import force_locale
from flask_babel import gettext as _

from core import clock
from core.extensions import db
from core.i18n import local_time
from core.models import SMS_FAILED, SMS_RETRYING
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

    Return how many of the due reminders the carrier took; one waiting for a retry or failed
    is not counted.
    """
    from core.telephony import get_gateway

    gateway = get_gateway()
    states = Counter()
    due = due_reminders(clock.utcnow())
    officials = _by_id(Official, {duty.official_id for _place, duty in due})
    rosters = _by_id(Roster, {duty.roster_id for _place, duty in due})
    for place, duty in due:
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
        purpose = (
            f"shift-reminder:{official.id}:{roster.id}:{duty.role}:{duty.starts_at:%Y%m%dT%H%M}Z"
        )
        message = gateway.send_sms(official.phone, body, purpose=purpose)
        states["sent" if message.taken else message.status] += 1
    db.session.commit()
    log.info(
        "shift reminders: %d due, %d sent, %d waiting for a retry, %d failed",
        len(due),
        states["sent"],
        states[SMS_RETRYING],
        states[SMS_FAILED],
    )
    return states["sent"]


def _by_id(model, ids: set[int]) -> dict:
    """Return the rows of a model with these ids, by id, in one query."""
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(db.select(model).where(model.id.in_(ids)))}
