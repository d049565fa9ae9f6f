"""Before/after photos of a card: storing a re-encoded copy and finding its file."""

from flask import current_app

from callbacks.models import Card, CardPhoto
from callbacks.photos import PhotoRefused, reencode_photo
from callbacks.services.common import CardError, now
from callbacks.states import check_card
from core.events import record_event
from core.extensions import db
from core.models import User


def save_photo(card: Card, kind: str, data: bytes, actor: User) -> CardPhoto:
    """Store a re-encoded copy of a before/after photo under the instance folder.

    The upload must decode as a JPEG, PNG or WebP within the size and pixel limits; the copy
    keeps the pixels only, so EXIF (GPS), comments and anything appended to the file are gone.
    """
    import secrets
    from pathlib import Path

    check_card(card, "photo")
    if kind not in ("before", "after"):
        raise CardError("kind", "kind")
    if len(data) > current_app.config.get("MAX_PHOTO_BYTES", 5 * 1024 * 1024):
        raise CardError("size", "photo")
    try:
        clean = reencode_photo(data, current_app.config["MAX_PHOTO_PIXELS"])
    except PhotoRefused as refusal:
        raise CardError(str(refusal), "photo") from refusal
    name = f"{card.id}-{secrets.token_hex(12)}.{clean.extension}"
    folder = Path(current_app.config["INSTANCE_DIR"]) / "card-photos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(clean.data)
    photo = CardPhoto(
        card_id=card.id,
        kind=kind,
        stored_name=name,
        content_type=clean.content_type,
        size=len(clean.data),
        uploaded_by_id=actor.id,
        uploaded_at=now(),
    )
    db.session.add(photo)
    db.session.flush()
    record_event("card", card.id, "card.photo", {"kind": kind, "photo": photo.id}, actor=actor)
    return photo


def photo_path(photo: CardPhoto):
    """Return the file of a stored photo."""
    from pathlib import Path

    return Path(current_app.config["INSTANCE_DIR"]) / "card-photos" / photo.stored_name
