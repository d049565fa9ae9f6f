"""Reading dates and ids typed by people or other systems, within ranges the database holds."""

from datetime import date

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


def parse_id(text: str | None) -> int | None:
    """Return a positive database id written in ASCII digits, else None."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= INT_MAX else None


def year_in_range(form, field) -> None:
    """WTForms validator: a date between MIN_YEAR and MAX_YEAR."""
    if field.data is not None:
        try:
            check_year(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: an id beyond INTEGER's range matches no route (404), never a 500."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)
