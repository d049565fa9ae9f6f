"""The current time, in one place so that tests and jobs can agree on it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
