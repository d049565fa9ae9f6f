"""outbound messages: attempts, next attempt time and last error, for retries

Revision ID: 0009_sms_retries
Revises: 0008_card_overdue_derived
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = '0009_sms_retries'
down_revision = '0008_card_overdue_derived'
branch_labels = None
depends_on = None


def upgrade():
    # Every message recorded so far was handed to the carrier once.
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('attempts', sa.Integer(), nullable=False, server_default='1')
        )
        batch_op.add_column(
            sa.Column('next_attempt_at', core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('last_error', sa.String(length=300), nullable=True))
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.alter_column('attempts', server_default=None)
        batch_op.create_index(
            'ix_outbound_messages_next_attempt_at',
            ['next_attempt_at'],
            unique=False,
            sqlite_where=sa.text('next_attempt_at IS NOT NULL'),
            postgresql_where=sa.text('next_attempt_at IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_outbound_messages_next_attempt_at',
            sqlite_where=sa.text('next_attempt_at IS NOT NULL'),
            postgresql_where=sa.text('next_attempt_at IS NOT NULL'),
        )
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
