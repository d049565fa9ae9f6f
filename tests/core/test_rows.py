"""New rows written with one INSERT come back as loaded objects with nothing left to flush."""

import pytest
from sqlalchemy import event, text

from core.extensions import db
from core.rows import insert_loaded
from hotline.models import Call


def _count_statements() -> list[str]:
    statements: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    return statements


def test_the_row_is_stored_with_its_defaults_and_loaded_as_stored(app):
    statements = _count_statements()

    call = insert_loaded(
        Call,
        call_sid="CA-rows",
        from_number="+79160000001",
        to_number="+74872000000",
        entry="governor",
    )

    assert len(statements) == 1 and statements[0].startswith("INSERT INTO calls")
    assert call.id is not None
    assert (call.status, call.status_sequence, call.menu_retries) == ("in-progress", -1, 0)
    assert call.created_at is not None and call.routing is None
    assert call not in db.session.new and not db.session.is_modified(call)
    db.session.commit()
    assert len(statements) == 1  # the commit had nothing to flush
    stored = db.session.execute(
        text("SELECT status, routing IS NULL FROM calls WHERE id = :id"), {"id": call.id}
    ).one()
    assert tuple(stored) == ("in-progress", True)  # SQL NULL, not JSON's null


def test_a_change_after_the_insert_is_written_by_the_commit(app):
    call = insert_loaded(
        Call,
        call_sid="CA-rows-2",
        from_number="+79160000002",
        to_number="+74872000000",
        entry="governor",
    )
    call.menu_retries = 2
    db.session.commit()
    db.session.expire_all()

    assert db.session.get(Call, call.id).menu_retries == 2


def test_a_name_that_is_not_a_column_is_refused_before_anything_is_written(app):
    statements = _count_statements()

    with pytest.raises(TypeError, match="caller_nmae"):
        insert_loaded(Call, call_sid="CA-rows-3", caller_nmae="+79160000003")

    assert statements == []


def test_unless_exists_writes_nothing_for_a_value_already_stored(app):
    values = {"call_sid": "CA-rows-4", "from_number": "+79160000004", "to_number": "+74872000000"}
    first = insert_loaded(Call, unless_exists="call_sid", entry="governor", **values).id
    db.session.commit()
    statements = _count_statements()
    again = insert_loaded(Call, unless_exists="call_sid", entry="duty-number", **values)
    db.session.commit()

    assert first is not None and again is None and len(statements) == 1
    stored = db.session.scalars(db.select(Call.entry).where(Call.call_sid == "CA-rows-4")).all()
    assert stored == ["governor"]
