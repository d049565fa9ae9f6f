"""a call a known caller made about their open appeal (no new appeal registered)

Revision ID: 0023_call_about_appeal
Revises: 0018_personal_data
Create Date: 2026-12-07 22:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0023_call_about_appeal"
down_revision = "0018_personal_data"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_appeal_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_calls_about_appeal_id", ["about_appeal_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_calls_about_appeal_id", "appeals", ["about_appeal_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint("fk_calls_about_appeal_id", type_="foreignkey")
        batch_op.drop_index("ix_calls_about_appeal_id")
        batch_op.drop_column("about_appeal_id")
