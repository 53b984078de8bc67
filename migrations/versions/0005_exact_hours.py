"""exact hours: training hours as NUMERIC(7, 4); review and legal-evaluation intervals in months

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The policy parameters that were counted in days and are now counted in calendar months.
RENAMED = {"management_review_interval_days": "management_review_interval_months",
           "legal_evaluation_interval_days": "legal_evaluation_interval_months"}
DAYS_PER_MONTH = 365.25 / 12

networks = sa.table("networks", sa.column("id", sa.String), sa.column("policy_overrides", sa.JSON))


def upgrade() -> None:
    # Hours become exact decimals of at most 4 places: round what binary floating point stored
    # (PostgreSQL in the type change itself; SQLite keeps the rounded value in its NUMERIC column).
    if op.get_bind().dialect.name != "postgresql":
        op.execute("UPDATE training_sessions SET hours = ROUND(hours, 4)")
    with op.batch_alter_table("training_sessions") as batch:
        batch.alter_column("hours", type_=sa.Numeric(7, 4), existing_type=sa.Float(),
                           existing_nullable=False, postgresql_using="ROUND(CAST(hours AS NUMERIC), 4)")
    _convert_overrides(lambda days: max(1, round(days / DAYS_PER_MONTH)), RENAMED)


def downgrade() -> None:
    with op.batch_alter_table("training_sessions") as batch:
        batch.alter_column("hours", type_=sa.Float(), existing_type=sa.Numeric(7, 4),
                           existing_nullable=False)
    _convert_overrides(lambda months: round(months * DAYS_PER_MONTH),
                       {new: old for old, new in RENAMED.items()})


def _convert_overrides(convert, names: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Rename each network's overridden interval and convert its value."""
    bind = op.get_bind()
    for network_id, overrides in bind.execute(sa.select(networks.c.id, networks.c.policy_overrides)):
        if not overrides or not set(overrides) & set(names):
            continue
        changed = {names.get(key, key): convert(value) if key in names else value
                   for key, value in overrides.items()}
        bind.execute(networks.update().where(networks.c.id == network_id).values(policy_overrides=changed))
