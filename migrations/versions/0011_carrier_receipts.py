"""sms delivery receipts: the carrier's error code; the voice call after an undelivered notice

Revision ID: 0011_carrier_receipts
Revises: 0010_call_reconciliation
Create Date: 2026-12-06 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = '0011_carrier_receipts'
down_revision = '0010_call_reconciliation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.String(length=8), nullable=True))
    op.create_table(
        'notice_calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('official_id', sa.Integer(), nullable=True),
        sa.Column('official_phone', sa.String(length=32), nullable=False),
        sa.Column('due_at', core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('checked_at', core.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('call_sid', sa.String(length=64), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('delivered', 'not-needed', 'calling', 'placed', 'failed', 'acknowledged', 'unanswered')",
            name=op.f('ck_notice_calls_outcome_known'),
        ),
        sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_notice_calls_card_id_cards')),
        sa.ForeignKeyConstraint(
            ['message_id'],
            ['outbound_messages.id'],
            name=op.f('fk_notice_calls_message_id_outbound_messages'),
        ),
        sa.ForeignKeyConstraint(
            ['official_id'], ['officials.id'], name=op.f('fk_notice_calls_official_id_officials')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_calls')),
        sa.UniqueConstraint('call_sid', name=op.f('uq_notice_calls_call_sid')),
        sa.UniqueConstraint('message_id', name=op.f('uq_notice_calls_message_id')),
    )
    with op.batch_alter_table('notice_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_calls_card_id'), ['card_id'], unique=False)
        batch_op.create_index(
            'ix_notice_calls_due',
            ['due_at'],
            unique=False,
            sqlite_where=sa.text('checked_at IS NULL'),
            postgresql_where=sa.text('checked_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('notice_calls', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_notice_calls_due',
            sqlite_where=sa.text('checked_at IS NULL'),
            postgresql_where=sa.text('checked_at IS NULL'),
        )
        batch_op.drop_index(batch_op.f('ix_notice_calls_card_id'))
    op.drop_table('notice_calls')
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('error_code')
