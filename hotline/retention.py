"""Voice messages are deleted at the carrier and forgotten once past their retention."""

import logging
from datetime import datetime

from core.events import record_event
from core.extensions import db
from core.telephony import CarrierError, get_gateway
from hotline.models import Appeal

log = logging.getLogger(__name__)


def purge_recordings(cutoff: datetime) -> int:
    """Delete the voice messages of appeals registered before the cutoff; return how many.

    Each one is deleted at the carrier outside any transaction, then forgotten in a commit of
    its own, so a failure later in the run never brings back one already deleted.
    """
    due = db.session.execute(
        db.select(Appeal.id, Appeal.number, Appeal.recording_url).where(
            Appeal.recording_url.is_not(None), Appeal.created_at < cutoff
        )
    ).all()
    db.session.commit()
    gateway = get_gateway()
    deleted = 0
    for appeal_id, number, url in due:
        try:
            gateway.delete_recording(url)
        except (CarrierError, ValueError) as error:
            log.warning("voice message of appeal %s kept for the next run: %s", number, error)
            continue
        appeal = db.session.get(Appeal, appeal_id, with_for_update=True)
        if appeal is not None and appeal.recording_url == url:
            appeal.recording_url = None
            appeal.recording_duration = None
            record_event("appeal", appeal.id, "appeal.recording-deleted", actor_label="retention")
            deleted += 1
        db.session.commit()
    if deleted < len(due):
        log.warning("voice messages kept for the next run: %d of %d", len(due) - deleted, len(due))
    return deleted
