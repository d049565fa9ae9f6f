"""The voice menu: municipalities by two-digit code or spoken name, topics by digit."""

import logging
import re

from core.extensions import db
from hotline.models import (
    Call,
)
from roster.models import Category, Municipality

log = logging.getLogger(__name__)


def menu_municipalities() -> list[tuple[str, Municipality]]:
    """Return the voice menu of municipalities: two-digit codes in alphabetical order."""
    places = db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()
    return [(f"{index:02d}", place) for index, place in enumerate(places, start=1)]


def menu_categories() -> list[tuple[str, Category]]:
    """Return the voice menu of categories: digits 1–9, emergencies first."""
    categories = db.session.scalars(
        db.select(Category).order_by(Category.position, Category.id).limit(9)
    ).all()
    return [(str(index), category) for index, category in enumerate(categories, start=1)]


def _normalise(text: str) -> str:
    return re.sub(r"[^0-9a-zа-я ]", " ", text.lower().replace("ё", "е")).strip()


def spoken_name_key(name: str) -> str:
    """Return the word a caller would say for a municipality: «Тула», «Алексин», «Белёвский»."""
    words = [
        word
        for word in _normalise(name).split()
        if word not in {"город", "район", "рабочий", "поселок", "посёлок", "округ", "городской"}
    ]
    return words[0] if words else _normalise(name)


def choose_municipality(digits: str | None, speech: str | None) -> Municipality | None:
    """Match the caller's keypad code or spoken name to a municipality."""
    entries = menu_municipalities()
    if digits:
        code = digits.zfill(2)
        return next((place for key, place in entries if key == code), None)
    if speech:
        said = _normalise(speech)
        for _, place in entries:
            stem = spoken_name_key(place.name)[:5]
            if stem and any(word.startswith(stem) for word in said.split()):
                return place
    return None


def choose_category(digits: str | None) -> tuple[bool, Category | None]:
    """Return (understood, category) for a keypad choice; `0` means no category."""
    if digits == "0":
        return True, None
    for key, category in menu_categories():
        if digits == key:
            return True, category
    return False, None


def note_menu_retry(call: Call) -> int:
    """Count one more failed menu choice and return the count."""
    call.menu_retries += 1
    return call.menu_retries
