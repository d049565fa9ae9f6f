"""Appeals from other systems (the JSON API, the public portal, Open311): where they go, intake.

There is no geocoder here: the municipality is read from the address text (municipality and
town names in it) or found as the nearest municipality centre to the given coordinates
(`centres.json`, approximate coordinates).
"""

import json
import logging
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Select, select

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import MUNICIPAL_ROLES, User
from hotline.appeals import queue_registration_sms, register_appeal
from hotline.menu import spoken_name_key
from hotline.models import Appeal, AppealStatus
from roster.models import Category, Municipality
from roster.services import resolve_on_duty

log = logging.getLogger(__name__)

CENTRES_FILE = Path(__file__).with_name("centres.json")
#: A point farther than this from every centre is outside the region.
MAX_DISTANCE_KM = 60.0
#: Words that mark a settlement or a municipality next to its name in an address.
_BEFORE = r"(?:г|город|гор|пос|п|рп|пгт|поселок|с|село|д|деревня|мо)"
_AFTER = r"(?:район|р н|рн|городской округ|го|муниципальный район)"


@dataclass(frozen=True)
class Centre:
    """A municipality's administrative centre and the name stems an address may use."""

    code: str
    name: str
    lat: float
    long: float
    stems: tuple[str, ...]


@cache
def centres() -> dict[str, Centre]:
    """Return the known centres by municipality code."""
    data = json.loads(CENTRES_FILE.read_text(encoding="utf-8"))["municipalities"]
    return {
        code: Centre(code, row["centre"], row["lat"], row["long"], tuple(row["stems"]))
        for code, row in data.items()
    }


def normalise_address(text: str) -> str:
    """Return the address lower-cased, ё as е, punctuation as single spaces."""
    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[^0-9a-zа-я]+", " ", text).split())


def _stems(place: Municipality) -> tuple[str, ...]:
    centre = centres().get(place.code)
    if centre is not None:
        return centre.stems
    key = spoken_name_key(place.name)
    return (key[:-1] if len(key) > 4 and key[-1] in "аяоеиыйь" else key,)


def municipality_from_address(address: str) -> Municipality | None:
    """Return the municipality an address names: a marked name («г. Тула») wins, then the first."""
    text = normalise_address(address)
    if not text:
        return None
    marked, anywhere = [], []
    for place in db.session.scalars(select(Municipality).order_by(Municipality.id)):
        for stem in _stems(place):
            word = rf"{re.escape(stem)}[а-я]{{0,3}}"
            found = re.search(rf"(?<![0-9a-zа-я]){word}(?![0-9a-zа-я])", text)
            if found is None:
                continue
            anywhere.append((found.start(), place.id, place))
            near = rf"(?:\b{_BEFORE} {word}\b|\b{word} {_AFTER}\b)"
            signed = re.search(near, text)
            if signed is not None:
                marked.append((signed.start(), place.id, place))
    for candidates in (marked, anywhere):
        if candidates:
            return min(candidates, key=lambda item: item[:2])[2]
    return None


def distance_km(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Return the great-circle distance between two points in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def municipality_near(lat: float, long: float) -> Municipality | None:
    """Return the municipality whose centre is nearest the point, if within the region."""
    known = centres()
    best = None
    for place in db.session.scalars(select(Municipality).where(Municipality.code.in_(known))):
        centre = known[place.code]
        distance = distance_km(lat, long, centre.lat, centre.long)
        if distance <= MAX_DISTANCE_KM and (best is None or distance < best[0]):
            best = (distance, place.code, place)
    return best[2] if best else None


def locate_municipality(
    address: str | None, lat: float | None = None, long: float | None = None
) -> Municipality | None:
    """Return the responsible municipality: named in the address, else nearest the point."""
    if address:
        place = municipality_from_address(address)
        if place is not None:
            return place
    if lat is not None and long is not None:
        return municipality_near(lat, long)
    return None


def submit_appeal(
    *,
    channel: str,
    municipality: Municipality,
    category: Category | None,
    text: str,
    address: str | None = None,
    caller_number: str | None = None,
    caller_name: str | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
    details: dict | None = None,
) -> Appeal:
    """Register an appeal from another system: in work with the official on duty, tracked."""
    on_duty = resolve_on_duty(municipality, category, utcnow())
    chain = on_duty.chain()
    appeal = register_appeal(
        channel=channel,
        municipality=municipality,
        category=category,
        caller_number=caller_number,
        status=AppealStatus.IN_WORK,
        caller_name=caller_name,
        address=address,
        text=text,
        assignee_id=chain[0].official_id if chain else None,
        created_by_id=actor.id if actor else None,
    )
    record_event(
        "appeal",
        appeal.id,
        "appeal.submitted",
        {
            "channel": channel,
            "municipality": municipality.code,
            "assignee": chain[0].as_dict() if chain else None,
            **(details or {}),
        },
        actor=actor,
        actor_label=actor_label,
    )
    if caller_number:
        queue_registration_sms(appeal)
    db.session.flush()
    log.info("appeal %s submitted by %s", appeal.number, channel)
    return appeal


def find_appeal(number: str) -> Appeal | None:
    """Return the appeal with this public number."""
    return db.session.scalar(select(Appeal).where(Appeal.number == number))


def appeals_query(
    user: User | None,
    *,
    municipality_id: int | None = None,
    status: str | None = None,
    category_id: int | None = None,
    channel: str | None = None,
    since=None,
    until=None,
    before_id: int | None = None,
) -> Select:
    """Return the select of appeals a user may see, newest first, after a cursor position."""
    query = select(Appeal)
    if user is not None and user.role in MUNICIPAL_ROLES:
        query = query.where(Appeal.municipality_id == user.municipality_id)
    if municipality_id is not None:
        query = query.where(Appeal.municipality_id == municipality_id)
    if status:
        query = query.where(Appeal.status == status)
    if category_id is not None:
        query = query.where(Appeal.category_id == category_id)
    if channel:
        query = query.where(Appeal.channel == channel)
    if since is not None:
        query = query.where(Appeal.created_at >= since)
    if until is not None:
        query = query.where(Appeal.created_at < until)
    if before_id is not None:
        query = query.where(Appeal.id < before_id)
    return query.order_by(Appeal.id.desc())
