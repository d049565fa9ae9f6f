"""What a caller says, matched to municipalities and topics (pure functions, no Flask)."""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CENTRES_FILE = Path(__file__).with_name("centres.json")
#: Forms of a name the stems of `centres.json` do not reach («тульский»: «тул» + five letters).
SPOKEN_STEMS = {"tula": ("тульск",), "teplo-ogarevsky": ("огаревск",)}

#: Words of a municipality's name that the caller need not say.
_KIND_WORDS = {"город", "район", "рабочий", "поселок", "округ", "городской", "муниципальный"}
#: Letters of a case ending that may follow a stem: «Узлов|ая», «Узловск|ого», «Тул|е».
ENDING_LETTERS = 4
#: Most options one prompt reads out (keys 1–9; 0 stays for the operator).
MOST_OPTIONS = 9


@dataclass(frozen=True)
class Place:
    """A municipality as the voice menu knows it: id, name and the stems a caller may say."""

    id: int
    name: str
    stems: tuple[str, ...]


def normalise(text: str) -> str:
    """Return the text lower-cased, ё as е, everything but letters and digits as single spaces."""
    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[^0-9a-zа-я]+", " ", text).split())


def name_word(name: str) -> str:
    """Return the word a caller would say for a municipality: «тула», «узловский»."""
    words = [word for word in normalise(name).split() if word not in _KIND_WORDS]
    return " ".join(words) or normalise(name)


def name_stems(name: str, known: Sequence[str] = ()) -> tuple[str, ...]:
    """Return the stems of a municipality's name: the given ones, the adjective's and the noun's."""
    word = name_word(name)
    stems = list(known)
    stem = re.sub(r"(ий|ый|ой|ая|ое|а|я|о|ь)$", "", word)  # «узловск», «тул», «алексин»
    if len(stem) >= 3 and stem not in stems:
        stems.append(stem)
    return tuple(stems)


@cache
def known_stems(code: str) -> tuple[str, ...]:
    """Return the stems a caller may say for the municipality with this code."""
    data = json.loads(CENTRES_FILE.read_text(encoding="utf-8"))["municipalities"]
    return tuple(data.get(code, {}).get("stems", ())) + SPOKEN_STEMS.get(code, ())


def _found(stem: str, text: str) -> int | None:
    """Return where the stem starts a word of the text (with a short ending), else None."""
    match = re.search(
        rf"(?<![0-9a-zа-я]){re.escape(stem)}[а-я]{{0,{ENDING_LETTERS}}}(?![0-9a-zа-я])", text
    )
    return match.start() if match else None


def match_place(said: str, places: Sequence[Place]) -> Place | None:
    """Return the municipality the caller named; the longest stem wins, then the earliest."""
    text = normalise(said)
    if not text:
        return None
    best = None
    for place in places:
        for stem in place.stems:
            at = _found(stem, text)
            if at is not None and (best is None or (-len(stem), at) < best[0]):
                best = ((-len(stem), at), place)
    return best[1] if best else None


def hints(places: Sequence[Place]) -> list[str]:
    """Return the recogniser's hints: each name as said and its usual forms."""
    phrases: list[str] = []
    for place in places:
        word = name_word(place.name)
        forms = [word.capitalize()]
        if word.endswith("ский") or word.endswith("цкий"):
            forms.append(f"{word.capitalize()} район")
        for phrase in forms:
            if phrase not in phrases:
                phrases.append(phrase)
    return phrases


def dative(name: str) -> str:
    """Return the name after «по»: «Узловскому району», «городу Туле»."""
    words = [word.lower() if normalise(word) in _KIND_WORDS else word for word in name.split()]
    return " ".join(_dative_word(word) for word in words)


def _dative_word(word: str) -> str:
    lower = word.lower()
    if lower == "рабочий":
        return word[:-2] + "ему"
    for ending, replacement in (("ий", "ому"), ("ый", "ому"), ("ой", "ому")):
        if lower.endswith(ending) and len(lower) > 4:
            return word[: -len(ending)] + replacement
    if lower.endswith("ок"):
        return word[:-2] + "ку"  # посёлок → посёлку
    if lower.endswith("а"):
        return word[:-1] + "е"  # Тула → Туле
    if lower.endswith("о") or lower.endswith("е"):
        return word
    if lower[-1:] in "бвгджзклмнпрстфхцчшщ":
        return word + "у"  # город → городу, район → району, Алексин → Алексину
    return word


def groups(count: int, size: int = MOST_OPTIONS - 1) -> list[range]:
    """Split `count` options into at most nine groups of at most `size`, as even as they go."""
    if count <= MOST_OPTIONS:
        return [range(count)]
    parts = -(-count // size)
    base, extra = divmod(count, parts)
    result, start = [], 0
    for index in range(parts):
        length = base + (1 if index < extra else 0)
        result.append(range(start, start + length))
        start += length
    return result


def spoken_topic(name: str) -> str:
    """Return the short name of a topic the voice reads: «ЖКХ: отопление» → «отопление»."""
    text = re.sub(r"\(.*?\)", "", name).split(":")[-1].split(",")[0]
    return " ".join(text.split()).lower()


def match_topic(said: str, topics: Sequence[tuple[int, str]]) -> int | None:
    """Return the id of the topic the caller named (a word's first five letters suffice)."""
    text = normalise(said)
    for topic_id, name in topics:
        for word in normalise(spoken_topic(name)).split():
            if len(word) >= 4 and re.search(rf"(?<![0-9a-zа-я]){word[:5]}", text):
                return topic_id
    return None
