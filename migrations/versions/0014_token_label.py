"""API tokens carry a label saying what they are for

Revision ID: 0014_token_label
Revises: 0013_access
Create Date: 2026-12-07 11:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_token_label"
down_revision = "0013_access"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("label", sa.String(length=100), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("label")
