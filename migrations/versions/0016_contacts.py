"""Users get a phone, an e-mail, channels per notice and quiet hours; the e-mail outbox

Revision ID: 0016_contacts
Revises: 0014_token_label
Create Date: 2026-12-07 16:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = "0016_contacts"
down_revision = "0019_incidents"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("notice_channels", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("quiet_from", sa.Time(), server_default="22:00:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("quiet_until", sa.Time(), server_default="07:00:00", nullable=False)
        )
    op.execute("UPDATE users SET notice_channels = '{}'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("notice_channels", existing_type=sa.JSON(), nullable=False)

    op.create_table(
        "outbound_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=120), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("attachment_type", sa.String(length=100), nullable=True),
        sa.Column("attachment_data", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_emails")),
        sa.UniqueConstraint("purpose", name=op.f("uq_outbound_emails_purpose")),
    )
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_emails_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_emails_subject_id"), ["subject_id"], unique=False
        )
        batch_op.create_index(
            "ix_outbound_emails_next_attempt_at",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        )


def downgrade():
    op.drop_table("outbound_emails")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("quiet_until", "quiet_from", "notice_channels", "email", "phone"):
            batch_op.drop_column(column)
