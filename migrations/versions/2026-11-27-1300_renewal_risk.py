"""renewal risk: the stored risk score of each renewal, the worklist's indexes, a backfill

Revision ID: 0012_renewal_risk
Revises: 0011_receivables_ledger
Create Date: 2026-11-27 13:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from renewals.domain.renewals import risk

revision: str = "0012_renewal_risk"
down_revision: str | None = "0011_receivables_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_score", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_index("ix_renewals_end_date_id", "renewals", ["end_date", "id"], unique=False)
    op.create_index("ix_renewals_risk", "renewals", [sa.text("risk_score DESC"), "end_date", "id"], unique=False)
    op.create_index(
        "ix_renewals_owner_id_risk",
        "renewals",
        ["owner_id", sa.text("risk_score DESC"), "end_date", "id"],
        unique=False,
    )
    # The backfill is the daily scan's refresh, as of today in UTC (the next scan uses the
    # service's day and time zone): one UPDATE … FROM computed in the database.
    risk.refresh_all(Session(bind=op.get_bind()), datetime.now(UTC).date())


def downgrade() -> None:
    op.drop_index("ix_renewals_owner_id_risk", table_name="renewals")
    op.drop_index("ix_renewals_risk", table_name="renewals")
    op.drop_index("ix_renewals_end_date_id", table_name="renewals")
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_column("risk_score")
