"""Every interface string has one Russian translation, in its package's catalog."""

import io
import re
from collections import defaultdict

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from config import BASE_DIR, translation_directories

SKIPPED = (".venv", "tests", "migrations", "bench")
#: `%(name)s`, `%s`, `%d`... as Python's `%` operator reads them.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _catalogs() -> dict[str, list]:
    """Return each package's Russian messages, by package."""
    catalogs = {}
    for folder in translation_directories():
        with open(f"{folder}/ru/LC_MESSAGES/messages.po", "rb") as handle:
            catalogs[folder] = [m for m in read_po(handle) if m.id]
    return catalogs


def _extracted() -> list[tuple[str, str | None, str]]:
    """Extract the interface strings as `pybabel extract -F babel.cfg` does: file, context, id."""
    with open(BASE_DIR / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = []
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(BASE_DIR), method_map, options_map
    ):
        if not filename.startswith(SKIPPED):
            found.append((filename, context, message[0] if isinstance(message, tuple) else message))
    return found


def _package_of(filename: str, packages: set[str]) -> str:
    """Return the package owning a file: `templates/<package>/`, else its top folder; core else."""
    first, _, rest = filename.partition("/")
    if first == "templates":
        first = rest.partition("/")[0]
    return first if first in packages else "core"


def _catalog_problems(extracted, catalogs: dict[str, list]) -> list[str]:
    """Return each string a package uses that its own catalog lacks or cannot show.

    A missing, empty or fuzzy entry (compiling leaves fuzzy ones out) is a problem, and so is a
    translation whose placeholders differ from the message's (the page would fail or lose them).
    """
    by_package = {
        package: {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in messages}
        for package, messages in catalogs.items()
    }
    problems = set()
    for filename, context, msgid in extracted:
        package = _package_of(filename, set(catalogs))
        message = by_package[package].get((context, msgid))
        strings = () if message is None else message.string
        strings = (strings,) if isinstance(strings, str) else strings
        if message is None:
            why = "missing"
        elif message.fuzzy:
            why = "fuzzy"
        elif not strings or not all(strings):
            why = "not translated"
        elif any(
            sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(msgid)) for s in strings
        ):
            why = "placeholders differ"
        else:
            continue
        problems.add(f"{package} catalog, {why}: {context + ' | ' if context else ''}{msgid}")
    return sorted(problems)


def _po(text: str) -> list:
    return [m for m in read_po(io.BytesIO(text.encode())) if m.id]


def test_every_package_catalog_translates_the_strings_of_its_package():
    """Each package's own catalog has its strings: the catalogs are merged at run time, so a
    string missing from it shows in Russian only while another package's catalog has it too."""
    catalogs = {
        folder.removeprefix(f"{BASE_DIR}/").removesuffix("/translations"): messages
        for folder, messages in _catalogs().items()
    }
    problems = _catalog_problems(_extracted(), catalogs)
    assert not problems, "untranslated:\n" + "\n".join(problems)


def test_catalog_check_finds_missing_fuzzy_empty_and_broken_entries():
    hotline = _po(
        'msgid "Card"\nmsgstr "Карточка"\n\n'
        '#, fuzzy\nmsgid "Phone"\nmsgstr "Телефон"\n\n'
        'msgid "Timeline"\nmsgstr ""\n\n'
        '#, python-format\nmsgid "Appeal %(number)s"\nmsgstr "Обращение %(nomer)s"\n'
    )
    callbacks = _po('msgid "Caller"\nmsgstr "Звонивший"\n')
    extracted = [
        ("hotline/console/views.py", None, "Card"),
        ("templates/hotline/console/appeal.html", None, "Caller"),
        ("templates/hotline/console/appeal.html", None, "Phone"),
        ("templates/hotline/console/appeal.html", None, "Timeline"),
        ("hotline/console/views.py", None, "Appeal %(number)s"),
        ("templates/callbacks/card.html", None, "Caller"),
        ("templates/base.html", None, "Card"),
    ]
    problems = _catalog_problems(
        extracted, {"hotline": hotline, "callbacks": callbacks, "core": []}
    )
    assert problems == [
        "core catalog, missing: Card",
        "hotline catalog, fuzzy: Phone",
        "hotline catalog, missing: Caller",
        "hotline catalog, not translated: Timeline",
        "hotline catalog, placeholders differ: Appeal %(number)s",
    ]


def test_extraction_keeps_the_context_of_a_message():
    extracted = {(context, msgid) for _filename, context, msgid in _extracted()}
    assert ("card", "Note") in extracted  # lazy_pgettext in a form
    assert ("verb", "Call") in extracted  # pgettext in a template
    assert ("call outcome", "missed") in extracted  # pgettext in a view


def test_no_two_catalogs_translate_a_message_differently():
    """The catalogs are merged into one at run time, so one of two translations would be lost."""
    translations = defaultdict(dict)
    for folder, messages in _catalogs().items():
        package = folder.removeprefix(f"{BASE_DIR}/").removesuffix("/translations")
        for m in messages:
            text = m.string if isinstance(m.string, str) else " / ".join(m.string)
            translations[(m.context, m.id if isinstance(m.id, str) else m.id[0])][package] = text
    clashes = [
        f"{context + ' | ' if context else ''}{msgid}: {by_package}"
        for (context, msgid), by_package in translations.items()
        if len(set(by_package.values())) > 1
    ]
    assert not clashes, (
        "the same message is translated differently (give it a context, or make them agree):\n"
        + "\n".join(sorted(clashes))
    )
