"""sessions end with logout, password change and deactivation; API tokens expire

Revision ID: 0013_access
Revises: 0012_call_retries
Create Date: 2026-12-07 08:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = "0013_access"
down_revision = "0012_call_retries"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
