"""alert episodes: the day an alert's cause was seen gone

Revision ID: 0009_alert_episodes
Revises: 0008_notice_replies
Create Date: 2026-11-27 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_alert_episodes"
down_revision: str | None = "0008_notice_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
    # Alerts resolved by the scan or an event ended with their cause.
    op.execute("UPDATE alerts SET ended_on = resolved_on WHERE resolution = 'auto'")


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("ended_on")
