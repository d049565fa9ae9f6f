"""Every interface string has its Russian translation in its package's catalog."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from config import BASE_DIR, translation_directories

KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
SKIPPED = (".venv", "tests", "migrations", "bench")


def _translated() -> set[str]:
    messages = set()
    for folder in translation_directories():
        with open(f"{folder}/ru/LC_MESSAGES/messages.po", "rb") as handle:
            messages |= {m.id for m in read_po(handle) if m.id and m.string}
    return messages


def test_every_message_is_translated_to_russian():
    translated = _translated()
    missing = set()
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(BASE_DIR), METHODS, keywords=KEYWORDS
    ):
        if filename.startswith(SKIPPED):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid not in translated:
            missing.add(f"{filename}: {msgid}")
    assert not missing, "untranslated:\n" + "\n".join(sorted(missing))
