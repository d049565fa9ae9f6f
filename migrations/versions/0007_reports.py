"""reports: calls by chain start, the accepting attempt of each call

Revision ID: 0007_reports
Revises: 0006_api
Create Date: 2026-11-22 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = '0007_reports'
down_revision = '0006_api'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_chain_started_at', ['chain_started_at'], unique=False)

    with op.batch_alter_table('dial_attempts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_dial_attempts_accepted',
            ['call_id', 'role', 'accepted_at'],
            unique=False,
            sqlite_where=sa.text('accepted_at IS NOT NULL'),
            postgresql_where=sa.text('accepted_at IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('dial_attempts', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_dial_attempts_accepted',
            sqlite_where=sa.text('accepted_at IS NOT NULL'),
            postgresql_where=sa.text('accepted_at IS NOT NULL'),
        )

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_chain_started_at')
