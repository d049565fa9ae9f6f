"""The voice menu: the municipality by spoken name (digit groups as the fallback), then topics."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from core.clock import utcnow
from core.extensions import db
from core.models import Event
from hotline.caller_id import is_hidden
from hotline.models import Appeal, AppealStatus, Call
from hotline.speech import (
    Place,
    groups,
    known_stems,
    match_place,
    match_topic,
    name_stems,
    name_word,
)
from roster.models import Category, Municipality

log = logging.getLogger(__name__)

#: Topics read out by digit before «0 — другое».
TOP_TOPICS = 5


def menu_municipalities() -> list[tuple[str, Municipality]]:
    """Return the municipalities with their two-digit codes in alphabetical order."""
    places = db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()
    return [(f"{index:02d}", place) for index, place in enumerate(places, start=1)]


def menu_categories() -> list[tuple[str, Category]]:
    """Return the voice menu of categories: digits 1–9, emergencies first."""
    categories = db.session.scalars(
        db.select(Category).order_by(Category.position, Category.id).limit(9)
    ).all()
    return [(str(index), category) for index, category in enumerate(categories, start=1)]


def spoken_name_key(name: str) -> str:
    """Return the word a caller would say for a municipality: «тула», «алексин», «белевский»."""
    return name_word(name).split()[0]


def voice_places() -> list[Place]:
    """Return the municipalities in alphabetical order with the stems a caller may say."""
    places = [
        Place(place.id, place.name, name_stems(place.name, known_stems(place.code)))
        for _, place in menu_municipalities()
    ]
    return sorted(places, key=lambda place: (name_word(place.name), place.id))


def place_groups(places: list[Place]) -> list[list[Place]]:
    """Return the digit menu's groups of municipalities (at most nine options a prompt)."""
    return [[places[index] for index in part] for part in groups(len(places))]


def choose_municipality(
    digits: str | None,
    speech: str | None,
    *,
    offered_id: int | None = None,
    group: int | None = None,
) -> Municipality | None:
    """Match the caller's answer to a municipality: the offered one (1), a name, a digit."""
    places = voice_places()
    chosen = None
    if digits and group is not None:
        options = place_groups(places)[group] if group < len(place_groups(places)) else []
        index = int(digits) - 1 if digits.isdigit() else -1
        chosen = options[index] if 0 <= index < len(options) else None
    elif digits == "1" and offered_id is not None:
        return db.session.get(Municipality, offered_id)
    elif digits and len(digits) == 2:  # the old two-digit codes still work, unread
        return next((place for key, place in menu_municipalities() if key == digits), None)
    elif speech:
        chosen = match_place(speech, places)
    return db.session.get(Municipality, chosen.id) if chosen else None


def earlier_municipality(call: Call) -> Municipality | None:
    """Return the municipality of the caller's latest appeal (matched by number, never read)."""
    if not call.from_number or is_hidden(call.from_number):
        return None
    return db.session.scalar(
        db.select(Municipality)
        .join(Appeal, Appeal.municipality_id == Municipality.id)
        .where(Appeal.caller_number == call.from_number)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        .limit(1)
    )


#: Appeals a caller may ask about by phone.
OPEN_STATES = (
    AppealStatus.ROUTING,
    AppealStatus.IN_WORK,
    AppealStatus.MISSED,
    AppealStatus.REOPENED,
)
_MONTHS = [
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
]
_CARDS = sa.table("cards", sa.column("id"), sa.column("appeal_id"))


def open_appeal(call: Call) -> Appeal | None:
    """Return the caller's latest open appeal, matched by their number (never read out)."""
    if not call.from_number or is_hidden(call.from_number):
        return None
    return db.session.scalar(
        db.select(Appeal)
        .where(Appeal.caller_number == call.from_number, Appeal.status.in_(OPEN_STATES))
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        .limit(1)
    )


def spoken_date(moment: datetime, timezone: str) -> str:
    """Return a date as said: «12 декабря»."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {_MONTHS[local.month - 1]}"


def spoken_time(moment: datetime, timezone: str) -> str:
    """Return a moment as said: «12 декабря, 18:00»."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{spoken_date(moment, timezone)}, {local:%H:%M}"


def latest_note(appeal: Appeal) -> str | None:
    """Return the text of the appeal's latest note a citizen may hear (restricted ones never)."""
    card_ids = db.select(sa.cast(_CARDS.c.id, sa.String)).where(_CARDS.c.appeal_id == appeal.id)
    notes = db.session.scalars(
        db.select(Event)
        .where(
            Event.subject_type == "card",
            Event.subject_id.in_(card_ids),
            Event.verb == "card.note",
        )
        .order_by(Event.at.desc(), Event.id.desc())
    )
    return next((n.data["text"] for n in notes if not n.data.get("restricted")), None)


def month_start(now: datetime) -> datetime:
    """Return the first moment of this month (UTC)."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def top_categories(place: Municipality, now: datetime | None = None) -> list[Category]:
    """Return the five topics most frequent in this municipality this month, then by position."""
    since = month_start(now or utcnow())
    appeals = db.func.count(Appeal.id)
    counted = (
        db.select(Category, appeals)
        .outerjoin(
            Appeal,
            (Appeal.category_id == Category.id)
            & (Appeal.municipality_id == place.id)
            & (Appeal.created_at >= since),
        )
        .group_by(Category.id)
        .order_by(appeals.desc(), Category.position, Category.id)
        .limit(TOP_TOPICS)
    )
    return [category for category, _ in db.session.execute(counted)]


def choose_category(
    digits: str | None, topic_ids: list[int] | None = None, speech: str | None = None
) -> tuple[bool, Category | None]:
    """Return (understood, category) for a digit or a spoken topic; `0` means «другое»."""
    if digits == "0":
        return True, None
    if topic_ids is None:
        topic_ids = [category.id for _, category in menu_categories()]
    if digits and digits.isdigit() and 1 <= int(digits) <= len(topic_ids):
        return True, db.session.get(Category, topic_ids[int(digits) - 1])
    if speech:
        topics = db.session.execute(db.select(Category.id, Category.name)).all()
        found = match_topic(speech, [(row.id, row.name) for row in topics])
        if found is not None:
            return True, db.session.get(Category, found)
    return False, None


def note_menu_retry(call: Call) -> int:
    """Count one more failed menu choice and return the count."""
    call.menu_retries += 1
    return call.menu_retries
