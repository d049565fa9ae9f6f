"""calls and dial attempts: partial indexes for the sweep that finds unfinished ones

Revision ID: 0010_call_reconciliation
Revises: 0009_sms_retries
Create Date: 2026-11-25 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_call_reconciliation'
down_revision = '0009_sms_retries'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(
            'ix_calls_not_ended',
            ['created_at'],
            unique=False,
            sqlite_where=sa.text('ended_at IS NULL'),
            postgresql_where=sa.text('ended_at IS NULL'),
        )
    with op.batch_alter_table('dial_attempts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_dial_attempts_unfinished',
            ['started_at'],
            unique=False,
            sqlite_where=sa.text('outcome IS NULL'),
            postgresql_where=sa.text('outcome IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('dial_attempts', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_dial_attempts_unfinished',
            sqlite_where=sa.text('outcome IS NULL'),
            postgresql_where=sa.text('outcome IS NULL'),
        )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_calls_not_ended',
            sqlite_where=sa.text('ended_at IS NULL'),
            postgresql_where=sa.text('ended_at IS NULL'),
        )
