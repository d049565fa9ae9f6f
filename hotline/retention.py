"""Voice messages are deleted at the carrier and forgotten once past their retention."""

import logging
from datetime import datetime

from core.events import record_event
from core.extensions import db
from core.telephony import CarrierError, get_gateway
from hotline.models import Appeal

log = logging.getLogger(__name__)


def purge_recordings(cutoff: datetime) -> int:
    """Delete the voice messages of appeals registered before the cutoff; return how many."""
    appeals = db.session.scalars(
        db.select(Appeal).where(Appeal.recording_url.is_not(None), Appeal.created_at < cutoff)
    ).all()
    gateway = get_gateway()
    kept = 0
    for appeal in appeals:
        try:
            gateway.delete_recording(appeal.recording_url)
        except CarrierError as error:
            log.warning(
                "voice message of appeal %s kept for the next run: %s", appeal.number, error
            )
            kept += 1
            continue
        appeal.recording_url = None
        appeal.recording_duration = None
        record_event("appeal", appeal.id, "appeal.recording-deleted", actor_label="retention")
    if kept:
        log.warning("voice messages kept for the next run: %d of %d", kept, len(appeals))
    return len(appeals) - kept
