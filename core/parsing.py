"""Reading dates and ids typed by people or other systems, within ranges the database holds."""

from datetime import date

from flask_babel import gettext
from werkzeug.routing import IntegerConverter
from wtforms.validators import ValidationError

#: Dates outside these years are refused: no appeal or shift is that old or that far ahead,
#: and arithmetic on them (a week later, the day before) must not overflow.
MIN_YEAR, MAX_YEAR = 2000, 2100
#: The largest id an INTEGER column holds.
INT_MAX = 2**31 - 1


def parse_day(text: str) -> date:
    """Return the ISO date, or raise ValueError when it is malformed or out of range."""
    day = date.fromisoformat(text.strip())
    check_year(day)
    return day


def check_year(moment: date) -> None:
    """Raise ValueError when the date or time falls outside MIN_YEAR–MAX_YEAR."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")


def parse_int(text: str | None, maximum: int = INT_MAX, minimum: int = 0) -> int | None:
    """Return a whole number written in ASCII digits (a minus sign only below zero), else None.

    `str.isdigit` alone lets through `²` and other digits `int()` refuses; the bound keeps the
    number inside the INTEGER column it goes to.
    """
    if not text or len(text) > 20:
        return None
    digits = text[1:] if text[0] == "-" and minimum < 0 else text
    if not (digits and digits.isascii() and digits.isdigit()):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(text: str | None) -> int | None:
    """Return a positive database id written in ASCII digits, else None."""
    return parse_int(text, minimum=1)


def year_in_range(form, field) -> None:
    """WTForms validator: a date between MIN_YEAR and MAX_YEAR."""
    if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
        raise ValidationError(
            gettext("Give a date from %(first)s to %(last)s.", first=MIN_YEAR, last=MAX_YEAR)
        )


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: an id beyond INTEGER's range matches no route (404), never a 500."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)
