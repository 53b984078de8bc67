"""portal accounts: people who may sign in, their one-time sign-in links and their sessions (the
secrets of both kept as sha256 only)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.String(length=64), nullable=True),
        sa.Column("company_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_accounts")),
    )
    for table in ("sign_in_links", "portal_sessions"):
        columns = [
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("email", sa.String(length=320), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        ]
        if table == "sign_in_links":
            columns.append(sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))
        else:
            columns.append(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False))
        op.create_table(
            table, *columns,
            sa.ForeignKeyConstraint(["email"], ["accounts.email"], name=op.f(f"fk_{table}_email_accounts"),
                                    ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("token_hash", name=op.f(f"pk_{table}")),
        )
        op.create_index(op.f(f"ix_{table}_email"), table, ["email"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_sessions_email"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index(op.f("ix_sign_in_links_email"), table_name="sign_in_links")
    op.drop_table("sign_in_links")
    op.drop_table("accounts")
