"""call actions the carrier did not take for a passing reason are tried again

Revision ID: 0012_call_retries
Revises: 0011_carrier_receipts
Create Date: 2026-12-07 07:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = "0012_call_retries"
down_revision = "0011_carrier_receipts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tries", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("tried_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("retry_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_callback_attempts_retry_at"), ["retry_at"], unique=False
        )
    with op.batch_alter_table("notice_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tries", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("retry_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("connect_tries", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("connect_retry_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("connect_retry_at")
        batch_op.drop_column("connect_tries")
    with op.batch_alter_table("notice_calls", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("tries")
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_attempts_retry_at"))
        batch_op.drop_column("last_error")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("tried_at")
        batch_op.drop_column("tries")
