"""Operators' states on the floor (now and their history) for automatic call distribution

Revision ID: 0015_floor
Revises: 0014_token_label
Create Date: 2026-12-07 16:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = "0015_floor"
down_revision = "0014_token_label"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "callback_requested_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "operator_presence",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("since", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id"), nullable=True),
        sa.Column("until", core.dbtypes.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_operator_presence_state", "operator_presence", ["state", "since"])
    op.create_table(
        "operator_state_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id"), nullable=True),
        sa.Column("started_at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_operator_state_changes_user", "operator_state_changes", ["user_id", "started_at"]
    )


def downgrade():
    op.drop_index("ix_operator_state_changes_user", table_name="operator_state_changes")
    op.drop_table("operator_state_changes")
    op.drop_index("ix_operator_presence_state", table_name="operator_presence")
    op.drop_table("operator_presence")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("callback_requested_at")
