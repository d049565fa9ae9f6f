"""cards: `overdue` is derived from `overdue_at`, no longer stored

Revision ID: 0008_card_overdue_derived
Revises: 0007_reports
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_card_overdue_derived'
down_revision = '0007_reports'
branch_labels = None
depends_on = None


def upgrade():
    # Both were always set together; keep any card flagged without a time overdue.
    op.execute(
        "UPDATE cards SET overdue_at = callback_due_at WHERE overdue AND overdue_at IS NULL"
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_column('overdue')


def downgrade():
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('overdue', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE cards SET overdue = (overdue_at IS NOT NULL)")
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.alter_column('overdue', server_default=None)
