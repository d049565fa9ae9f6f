"""What a call's `From` says about the caller: a number to call back, or a hidden caller ID."""

import re

#: What a call's number is stored as when its `From` is no phone number one could call back.
HIDDEN = "anonymous"
#: Numbers carriers put in `From` for a withheld caller ID: the words spelled on a keypad.
WITHHELD_NUMBERS = {
    "+266696687": "ANONYMOUS",
    "+86282452253": "UNAVAILABLE",
    "+7378742833": "RESTRICTED",
    "+2562533": "BLOCKED",
}
_E164 = re.compile(r"\+[1-9]\d{7,14}")
#: A Russian number has ten digits after +7.
_RUSSIAN = re.compile(r"\+7\d{10}")


def callback_number(raw: str | None) -> str | None:
    """Return the E.164 number a `From` gives to call the caller back, None when it gives none.

    None for `anonymous`, `Restricted`, `Unavailable`, an empty `From`, Twilio's keypad
    numbers (+266696687…), a browser `client:…` or a `sip:…` address.
    """
    value = (raw or "").strip()
    if not _E164.fullmatch(value) or value in WITHHELD_NUMBERS:
        return None
    if value.startswith("+7") and not _RUSSIAN.fullmatch(value):
        return None
    return value


def stored_number(raw: str | None) -> str:
    """Return what a call keeps as its number: the caller's E.164 number or `anonymous`."""
    return callback_number(raw) or HIDDEN


def is_hidden(number: str | None) -> bool:
    """Return whether a call's stored number is a hidden caller ID."""
    return number == HIDDEN
