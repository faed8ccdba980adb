"""Notice PDFs as stored products: the notice, a batch of renewal notices, shareable links and
e-mail deliveries (see renewals.domain.notices.service)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from renewals.clock import now
from renewals.db.models.base import Base, BigId
from renewals.db.types import UTCDateTime

NOTICE_STATUSES = ("queued", "rendering", "ready", "failed")
BATCH_STATUSES = ("queued", "rendering", "ready", "failed")
DELIVERY_STATUSES = ("sending", "sent", "failed")


class NoticeBatch(Base):
    """All renewal notices for one owner's contracts ending within N days, zipped when done."""

    __tablename__ = "notice_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    within_days: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    language: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    # Relative to the data directory, once the zip is built.
    zip_path: Mapped[str | None] = mapped_column(String(300))
    zip_sha256: Mapped[str | None] = mapped_column(String(64))
    zip_size: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_notice_batches_owner_id_created_at", "owner_id", "created_at"),)


class Notice(Base):
    """One requested notice. `params` holds what it is rendered from besides the database
    (`as_of`, and `from` / `to` for a statement), so rendering it again gives the same bytes.
    `dedupe_key` makes a notice requested by the daily scan unique per client and day."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    language: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    # Relative to the data directory: notices/<sha256[:2]>/<sha256>.pdf.
    file_path: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("notice_batches.id"))
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_notices_client_id_created_at", "client_id", "created_at"),
        Index("ix_notices_batch_id", "batch_id"),
        Index("ix_notices_status", "status"),
    )


class NoticeLink(Base):
    """A shareable link to one notice's PDF. The id is the token's random part (its jti); the
    token carries it with an HMAC under the secret key, and this row says whether it still works."""

    __tablename__ = "notice_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    __table_args__ = (Index("ix_notice_links_notice_id", "notice_id"),)


class NoticeDelivery(Base):
    """One e-mail of a notice's PDF to the client's contacts: every attempt is a row."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    to_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="sending")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    __table_args__ = (Index("ix_notice_deliveries_notice_id", "notice_id"),)


class NoticeReply(Base):
    """A client's answer to a letter, given through its shared link: every answer is a row (the
    latest stands). `nonce` is the reply form's one-time value, so a form sent twice is one answer."""

    __tablename__ = "notice_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    link_id: Mapped[str] = mapped_column(ForeignKey("notice_links.id", ondelete="CASCADE"))
    # The contact the letter was addressed to, who answers through its link (NULL: none on file).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    choice: Mapped[str] = mapped_column(String(20))
    promise_date: Mapped[date | None] = mapped_column(Date)
    invoice_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    nonce: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    __table_args__ = (
        Index("ix_notice_replies_link_id_created_at", "link_id", "created_at"),
        Index("ix_notice_replies_notice_id", "notice_id"),
        UniqueConstraint("link_id", "nonce", name="uq_notice_replies_link_id_nonce"),
    )
