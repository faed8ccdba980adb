"""notice replies: clients answer letters through their links

A `notice_replies` row per answer, and `renewal_activities.author_contact_id` for an activity a
client contact wrote. The new alert kind `client_response` needs no schema change (alert kinds
are plain strings).

Revision ID: 0008_notice_replies
Revises: 0007_idempotency_per_user
Create Date: 2026-11-27 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import renewals.db.types

revision: str = "0008_notice_replies"
down_revision: str | None = "0007_idempotency_per_user"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("link_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("choice", sa.String(length=20), nullable=False),
        sa.Column("promise_date", sa.Date(), nullable=True),
        sa.Column("invoice_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("nonce", sa.String(length=40), nullable=True),
        sa.Column("created_at", renewals.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_notice_replies_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["notice_links.id"], name=op.f("fk_notice_replies_link_id_notice_links"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_replies_notice_id_notices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_replies")),
        sa.UniqueConstraint("link_id", "nonce", name="uq_notice_replies_link_id_nonce"),
    )
    with op.batch_alter_table("notice_replies", schema=None) as batch_op:
        batch_op.create_index("ix_notice_replies_link_id_created_at", ["link_id", "created_at"], unique=False)
        batch_op.create_index("ix_notice_replies_notice_id", ["notice_id"], unique=False)

    with op.batch_alter_table("renewal_activities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("author_contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_renewal_activities_author_contact_id_contacts"),
            "contacts",
            ["author_contact_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("renewal_activities", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_renewal_activities_author_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_column("author_contact_id")

    with op.batch_alter_table("notice_replies", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_replies_notice_id")
        batch_op.drop_index("ix_notice_replies_link_id_created_at")

    op.drop_table("notice_replies")
