"""Card photos are deleted from disk and forgotten once past their retention."""

from datetime import datetime

from callbacks.models import CardPhoto
from callbacks.services import photo_path
from core.events import record_event
from core.extensions import db


def purge_photos(cutoff: datetime) -> int:
    """Delete the photos uploaded before the cutoff; return how many."""
    photos = db.session.scalars(db.select(CardPhoto).where(CardPhoto.uploaded_at < cutoff)).all()
    for photo in photos:
        photo_path(photo).unlink(missing_ok=True)
        record_event(
            "card",
            photo.card_id,
            "card.photo-deleted",
            {"photo": photo.id},
            actor_label="retention",
        )
        db.session.delete(photo)
    return len(photos)
