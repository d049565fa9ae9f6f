"""Rows written with one statement, not a flush, and handed to the session as if loaded.

The hot webhooks write this way: a flush of one object cost several times the CPU of its
statement. The loaded object is given the stored values, so the commit has nothing to write.
"""

from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core.extensions import db

_INSERTS: dict = {}


def _column_value(column, values: dict):
    if column.key in values:
        return values[column.key]
    if column.default is None:
        return None
    if column.default.is_callable:
        return column.default.arg(None)  # SQLAlchemy wraps a plain callable to take a context
    return column.default.arg


def _insert_once(table, unique: str):
    """Return an INSERT that does nothing (and returns no id) when a row has this `unique` value."""
    dialect = db.session.get_bind().dialect.name
    key = (table, unique, dialect)
    statement = _INSERTS.get(key)
    if statement is None:
        module = postgresql if dialect == "postgresql" else sqlite
        statement = _INSERTS[key] = (
            module.insert(table)
            .on_conflict_do_nothing(index_elements=[unique])
            .returning(table.c.id)
        )
    return statement


def insert_loaded(model, *, unless_exists: str | None = None, **values):
    """INSERT a row of `model` now and return it as a loaded object; columns not given default.

    `unless_exists` names a unique column: when a row with the same value is stored (or being
    stored by a concurrent request, which is waited for), nothing is written and None returned.
    """
    table = model.__table__
    unknown = set(values) - set(table.columns.keys())
    if unknown:
        raise TypeError(f"{model.__name__} has no columns {sorted(unknown)}")
    if unless_exists is not None:
        statement = _insert_once(table, unless_exists)
    elif (statement := _INSERTS.get(table)) is None:
        statement = _INSERTS[table] = insert(table).returning(table.c.id)
    row = {
        column.key: _column_value(column, values)
        for column in table.columns
        if not column.primary_key
    }
    # a NULL is left to the database: given explicitly, a JSON column would store JSON's null
    stored = {
        key: value
        for key, value in row.items()
        if value is not None or table.c[key].default is not None
    }
    row_id = db.session.connection().execute(statement, stored).scalar()
    if row_id is None:
        return None
    instance = model(id=row_id, **row)
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance


def row_update(table, columns: tuple[str, ...], *conditions):
    """Prebuild an UPDATE of the row `row_id` (where `conditions` hold) to `new_<column>` values."""
    statement = update(table).where(table.c.id == bindparam("row_id"), *conditions)
    return statement.values({column: bindparam(f"new_{column}") for column in columns})


def write_row(row, statement, **values) -> bool:
    """Run a prebuilt update of a stored row; when it applied, give the loaded row the values."""
    params = {"row_id": row.id, **{f"new_{key}": value for key, value in values.items()}}
    if not db.session.execute(statement, params).rowcount:
        return False
    for key, value in values.items():
        set_committed_value(row, key, value)
    return True
