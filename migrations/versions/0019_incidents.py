"""incidents a municipality's callers may join, and who joined them

Revision ID: 0019_incidents
Revises: 0014_token_label
Create Date: 2026-12-07 16:50:00.000000

"""

from alembic import op
import sqlalchemy as sa

import core.dbtypes


# revision identifiers, used by Alembic.
revision = "0019_incidents"
down_revision = "0015_floor"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("area", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("expected_end_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("declared_by_id", sa.Integer(), nullable=True),
        sa.Column("declared_at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_incidents_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_incidents_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["declared_by_id"], ["users.id"], name=op.f("fk_incidents_declared_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_incidents_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_open", ["municipality_id", "closed_at"], unique=False)
    op.create_table(
        "incident_callers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("caller_key", sa.String(length=80), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sms_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_incident_callers_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_callers_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["sms_id"],
            ["outbound_messages.id"],
            name=op.f("fk_incident_callers_sms_id_outbound_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_callers")),
        sa.UniqueConstraint(
            "incident_id", "caller_key", name=op.f("uq_incident_callers_incident_id")
        ),
    )
    with op.batch_alter_table("incident_callers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_callers_incident_id"), ["incident_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("incident_callers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_callers_incident_id"))
    op.drop_table("incident_callers")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_open")
    op.drop_table("incidents")
