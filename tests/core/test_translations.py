"""Every interface string has one Russian translation, in its package's catalog."""

from collections import defaultdict

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from config import BASE_DIR, translation_directories

SKIPPED = (".venv", "tests", "migrations", "bench")


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


def test_every_message_is_translated_to_russian():
    translated = {
        (m.context, m.id) for messages in _catalogs().values() for m in messages if m.string
    }
    missing = {
        f"{filename}: {context + ' | ' if context else ''}{msgid}"
        for filename, context, msgid in _extracted()
        if (context, msgid) not in translated
    }
    assert not missing, "untranslated:\n" + "\n".join(sorted(missing))


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
