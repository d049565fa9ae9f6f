"""Secret tokens of the iCal feeds."""

import secrets

from core.events import record_event
from core.extensions import db
from roster.models import (
    Municipality,
    Official,
)


def feed_token_for(subject: Municipality | Official) -> str:
    """Return the secret token of a municipality's or official's iCal feed, making one once."""
    if not subject.feed_token:
        subject.feed_token = secrets.token_urlsafe(24)
        record_event(
            "municipality" if isinstance(subject, Municipality) else "official",
            subject.id,
            "feed.token_issued",
        )
        db.session.flush()
    return subject.feed_token


def reset_feed_token(subject: Municipality | Official) -> str:
    """Replace a feed token (the old link stops working)."""
    subject.feed_token = None
    db.session.flush()
    return feed_token_for(subject)


def subject_for_feed_token(kind: str, token: str) -> Municipality | Official | None:
    """Return the municipality or official whose feed this token opens."""
    model = Municipality if kind == "municipality" else Official
    if not token:
        return None
    return db.session.scalar(db.select(model).where(model.feed_token == token))


# --- reminders --------------------------------------------------------------------------
