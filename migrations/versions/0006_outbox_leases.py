"""outbox leases: who is sending a message and until when, when to try again after a
transient failure; messages can now also be undeliverable or dropped

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A message being sent goes back to the queue; the older code leaves undeliverable and dropped
    # ones alone, as it does every status but "queued".
    op.execute("UPDATE outbox SET status = 'queued' WHERE status = 'sending'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
