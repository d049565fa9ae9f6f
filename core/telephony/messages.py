"""The SMS behind timeline events: what became of the messages an event says were sent."""

from collections.abc import Iterable

from sqlalchemy import select

from core.extensions import db
from core.models import Event, OutboundMessage


def messages_of(events: Iterable[Event]) -> dict[int, list[OutboundMessage]]:
    """Return the SMS each event sent (the ids in its `sms` data), by event id, in one query."""
    wanted = {event.id: event.data.get("sms") or [] for event in events if event.data}
    ids = {message_id for message_ids in wanted.values() for message_id in message_ids}
    if not ids:
        return {}
    found = {
        message.id: message
        for message in db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.id.in_(sorted(ids)))
        )
    }
    return {
        event_id: [found[i] for i in message_ids if i in found]
        for event_id, message_ids in wanted.items()
        if message_ids
    }
