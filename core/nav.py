"""The role-aware navigation: each feature registers the pages its users reach from the menu."""

from dataclasses import dataclass

from flask import Flask, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy translated string
    roles: frozenset[str]
    order: int


def add_nav_item(app: Flask, endpoint: str, label, roles, order: int = 50) -> None:
    """Show a menu link to the given roles."""
    items = app.extensions.setdefault("hotline.nav", [])
    items.append(NavItem(endpoint, label, frozenset(roles), order))
    items.sort(key=lambda item: item.order)


def visible_nav(app: Flask) -> list[tuple[str, object]]:
    """Return (url, label) of the menu links the current user may follow."""
    if not current_user.is_authenticated:
        return []
    return [
        (url_for(item.endpoint), item.label)
        for item in app.extensions.get("hotline.nav", [])
        if current_user.role in item.roles
    ]
