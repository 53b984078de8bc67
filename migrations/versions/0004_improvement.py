"""continual improvement: objective direction, aspect and earlier targets; core indicators;
integrated management systems

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults let rows imported before this revision take the models' defaults.
    with op.batch_alter_table("objectives") as batch_op:
        batch_op.add_column(sa.Column("direction", sa.String(length=16), nullable=False,
                                      server_default="decrease"))
        batch_op.add_column(sa.Column("aspect", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_targets", sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
    with op.batch_alter_table("companies") as batch_op:
        batch_op.add_column(sa.Column("integrated_with", sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
    op.create_table(
        "indicators",
        sa.Column("network_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["network_id", "company_id"], ["companies.network_id", "companies.id"],
                                name="fk_indicators_company", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_indicators_network_id_networks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "company_id", "kind", name=op.f("pk_indicators")),
    )


def downgrade() -> None:
    op.drop_table("indicators")
    with op.batch_alter_table("companies") as batch_op:
        batch_op.drop_column("integrated_with")
    with op.batch_alter_table("objectives") as batch_op:
        batch_op.drop_column("previous_targets")
        batch_op.drop_column("aspect")
        batch_op.drop_column("direction")
