"""Idempotency keys unique per user; token generations on users

Revision ID: 0007_idempotency_per_user
Revises: 0006_notices
Create Date: 2026-11-27 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_idempotency_per_user"
down_revision: str | None = "0006_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_payments_created_by_idempotency_key", ["created_by", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_generation")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_created_by_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_payments_idempotency_key", ["idempotency_key"])
