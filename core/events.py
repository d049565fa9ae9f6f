"""Writing the audit timeline."""

from core.extensions import db
from core.models import Event, User
from core.sessions import signed_in_user


def record_event(
    subject_type: str,
    subject_id: int | str,
    verb: str,
    data: dict | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
) -> Event:
    """Append an event to a subject's timeline; the actor defaults to the logged-in user."""
    if actor is None and actor_label is None:
        actor = signed_in_user()
    entry = Event(
        subject_type=subject_type,
        subject_id=str(subject_id),
        verb=verb,
        data=data or {},
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.username if actor else "system"),
    )
    db.session.add(entry)
    return entry


def has_event(subject_type: str, subject_id: int | str, verb: str) -> bool:
    """Return whether a subject's timeline already has an event of this kind."""
    return (
        db.session.scalar(
            db.select(Event.id)
            .where(
                Event.subject_type == subject_type,
                Event.subject_id == str(subject_id),
                Event.verb == verb,
            )
            .limit(1)
        )
        is not None
    )


def timeline(subject_type: str, subject_id: int | str) -> list[Event]:
    """Return a subject's events, oldest first."""
    return db.session.scalars(
        db.select(Event)
        .where(Event.subject_type == subject_type, Event.subject_id == str(subject_id))
        .order_by(Event.at, Event.id)
    ).all()
