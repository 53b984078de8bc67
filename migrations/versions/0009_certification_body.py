"""the certification body of each network, each member's organisation number and site address, and
the register of signing keys (their public halves) that the published key set is made from

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("networks") as batch_op:
        batch_op.add_column(sa.Column("certification_body", sa.JSON(), nullable=True))
    with op.batch_alter_table("companies") as batch_op:
        batch_op.add_column(sa.Column("organisation_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("site_address", sa.String(length=200), nullable=True))
    # Stores signed before this register existed record their key on its next use (tasks/signing.py).
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_keys")),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    with op.batch_alter_table("companies") as batch_op:
        batch_op.drop_column("site_address")
        batch_op.drop_column("organisation_number")
    with op.batch_alter_table("networks") as batch_op:
        batch_op.drop_column("certification_body")
