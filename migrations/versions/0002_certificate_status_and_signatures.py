"""certificate status events and signatures

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("replaces", sa.String(length=64), nullable=True))
    op.create_table(
        "certificate_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["number"], ["certificates.number"], ondelete="CASCADE",
                                name=op.f("fk_certificate_events_number_certificates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_events")),
    )
    op.create_index(op.f("ix_certificate_events_number"), "certificate_events", ["number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_certificate_events_number"), table_name="certificate_events")
    op.drop_table("certificate_events")
    with op.batch_alter_table("certificates") as batch:
        for column in ("replaces", "key_id", "signature", "payload"):
            batch.drop_column(column)
