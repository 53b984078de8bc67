"""the kept readiness of each company (its to-do list and gates as last computed), an index that
finds a network's newest history entry without reading its history, and the rate limits' counted
requests (shared by every portal process)

Revision ID: 0017
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_readiness",
        sa.Column("network_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("history_mark", sa.Integer(), nullable=False),
        sa.Column("todo", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network_id", "company_id", "lang", name=op.f("pk_kept_readiness")),
    )
    op.create_index("ix_history_network_id_id", "history", ["network_id", "id"])
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("limit_name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    op.create_index("ix_rate_events_limit_key_at", "rate_events", ["limit_name", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_events_limit_key_at", table_name="rate_events")
    op.drop_table("rate_events")
    op.drop_index("ix_history_network_id_id", table_name="history")
    op.drop_table("kept_readiness")
