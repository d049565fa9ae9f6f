"""The audit timeline is append-only."""

import pytest

from core.events import record_event, timeline
from core.extensions import db
from core.models import Event


def test_events_are_kept_in_order(app):
    record_event("appeal", 7, "appeal.registered", {"by": "test"})
    record_event("appeal", 7, "appeal.closed")
    record_event("appeal", 8, "appeal.registered")
    db.session.commit()
    assert [e.verb for e in timeline("appeal", 7)] == ["appeal.registered", "appeal.closed"]


def test_events_cannot_be_changed_or_deleted(app):
    entry = db.session.get(Event, record_event("appeal", 7, "appeal.registered"))
    db.session.commit()
    entry.verb = "appeal.closed"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(entry)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_a_bulk_update_or_delete_of_events_is_refused(app):
    record_event("appeal", 7, "appeal.registered")
    db.session.commit()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(db.update(Event).values(verb="appeal.closed"))
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(db.delete(Event).where(Event.subject_id == "7"))
    db.session.rollback()
    assert [e.verb for e in timeline("appeal", 7)] == ["appeal.registered"]
