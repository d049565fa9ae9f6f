"""Citizens' phone numbers: shown whole only to the roles that call citizens."""

from flask_login import current_user

#: Roles that speak to citizens and need their numbers; the others see them masked.
ROLES_SEEING_NUMBERS = frozenset({"operator", "official", "head"})


def mask_phone(number: str | None) -> str | None:
    """Keep the country and operator code and the last two digits: +7916*****67."""
    if not number or len(number) < 8:
        return number
    return number[:5] + "*" * (len(number) - 7) + number[-2:]


def phone_for_viewer(number: str | None) -> str | None:
    """Return the number whole for roles that call citizens, masked for the others."""
    if (
        current_user
        and current_user.is_authenticated
        and current_user.role in (ROLES_SEEING_NUMBERS)
    ):
        return number
    return mask_phone(number)
