"""Every interface string has its Russian translation."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from config import BASE_DIR

KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [
    ("**/tests/**", "ignore"),
    ("**/.venv/**", "ignore"),
    ("**/migrations/**", "ignore"),
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
]


def test_every_message_is_translated_to_russian():
    with open(BASE_DIR / "translations/ru/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {message.id for message in catalog if message.id and message.string}
    missing = set()
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(BASE_DIR), METHODS, keywords=KEYWORDS
    ):
        if filename.startswith((".venv", "tests", "migrations")):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid not in translated:
            missing.add(f"{filename}: {msgid}")
    assert not missing, "untranslated:\n" + "\n".join(sorted(missing))
