"""evidence recorded in the portal: the source of each history entry (portal, file, cli), the
evidence files (stored by sha256 under the data folder), which fields the portal recorded (so a
re-imported network file never silently removes them), a corrective action's closing note and
evidence

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): on SQLite a copied table would lose the append-only triggers.
    op.add_column("history", sa.Column("source", sa.String(length=16), nullable=True))
    op.add_column("corrective_actions", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("corrective_actions", sa.Column("evidence", sa.JSON(), nullable=True))
    op.create_table(
        "evidence_files",
        sa.Column("network_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["network_id", "company_id"], ["companies.network_id", "companies.id"],
                                name="fk_evidence_files_company", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_evidence_files_network_id_networks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "company_id", "sha256", name=op.f("pk_evidence_files")),
    )
    op.create_table(
        "recorded_fields",
        sa.Column("network_id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_key", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_recorded_fields_network_id_networks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "entity", "entity_key", "field", name=op.f("pk_recorded_fields")),
    )


def downgrade() -> None:
    op.drop_table("recorded_fields")
    op.drop_table("evidence_files")
    with op.batch_alter_table("corrective_actions") as batch_op:
        batch_op.drop_column("evidence")
        batch_op.drop_column("note")
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy would lose the history's triggers.
    op.execute("ALTER TABLE history DROP COLUMN source")
