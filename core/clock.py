"""The current time, from one swappable source so that tests and simulations can move it."""

from collections.abc import Callable
from datetime import UTC, datetime


def system_time() -> datetime:
    """Return the machine's current time in UTC."""
    return datetime.now(UTC)


#: Where the current time comes from. Tests point it elsewhere
#: (`monkeypatch.setattr("core.clock.now_source", ...)`), which every `utcnow()` follows,
#: including the copies imported with `from core.clock import utcnow` and column defaults.
now_source: Callable[[], datetime] = system_time


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return now_source()
