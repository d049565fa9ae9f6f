"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.extensions import db


def test_models_match_migrations(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_database_is_at_head(app):
    from alembic.script import ScriptDirectory
    from flask import current_app

    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    assert current == script.get_current_head()
