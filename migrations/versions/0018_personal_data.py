"""per-account login throttling, TOTP second factor, the access journal of personal data

Revision ID: 0018_personal_data
Revises: 0014_token_label
Create Date: 2026-12-07 16:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = "0018_personal_data"
down_revision = "0016_contacts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "login_blocked_until", core.dbtypes.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.create_table(
        "access_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_journal")),
    )
    with op.batch_alter_table("access_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_journal_at"), ["at"], unique=False)
        batch_op.create_index("ix_access_journal_user_at", ["user_id", "at"], unique=False)
        batch_op.create_index("ix_access_journal_phone_at", ["phone", "at"], unique=False)


def downgrade():
    op.drop_table("access_journal")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("login_blocked_until")
        batch_op.drop_column("failed_logins")
