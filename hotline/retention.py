"""Voice messages are deleted at the carrier and forgotten once past their retention."""

from datetime import datetime

from core.events import record_event
from core.extensions import db
from core.telephony import get_gateway
from hotline.models import Appeal


def purge_recordings(cutoff: datetime) -> int:
    """Delete the voice messages of appeals registered before the cutoff; return how many."""
    appeals = db.session.scalars(
        db.select(Appeal).where(Appeal.recording_url.is_not(None), Appeal.created_at < cutoff)
    ).all()
    gateway = get_gateway()
    for appeal in appeals:
        gateway.delete_recording(appeal.recording_url)
        appeal.recording_url = None
        appeal.recording_duration = None
        record_event("appeal", appeal.id, "appeal.recording-deleted", actor_label="retention")
    return len(appeals)
