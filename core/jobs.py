"""Jobs every deployment runs."""

from core.events import record_event
from core.extensions import db


def record_worker_heartbeat(note: str = "") -> None:
    """Write a `worker.heartbeat` event, proving a worker runs jobs against the database."""
    record_event("system", "worker", "worker.heartbeat", {"note": note}, actor_label="worker")
    db.session.commit()
