from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from renewals.clock import now
from renewals.db.models.base import Base, BigId, Timestamped
from renewals.db.types import UTCDateTime


class Renewal(Timestamped, Base):
    """The renewal record of one contract term (at most one per contract: `contract_id` is unique)."""

    __tablename__ = "renewals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="upcoming")
    # A copy of the contract's end date, so the worklist sorts and filters on one table.
    end_date: Mapped[date] = mapped_column(Date)
    next_action_date: Mapped[date | None] = mapped_column(Date)
    sent_for_signature_on: Mapped[date | None] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_by: Mapped[str | None] = mapped_column(String(200))
    seal_received: Mapped[bool] = mapped_column(Boolean, default=False)
    successor_contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    lost_reason: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)
    override_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # `rules.risk_score` as of the last scan or event that changed an input (`renewals.risk`);
    # 0 once decided. Stored so that the worklist's risk order is an index scan.
    risk_score: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

    activities: Mapped[list[Activity]] = relationship(
        back_populates="renewal",
        order_by=lambda: (Activity.at.desc(), Activity.id.desc()),
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_renewals_status_end_date", "status", "end_date"),
        Index("ix_renewals_owner_id_end_date", "owner_id", "end_date"),
    )


# The worklist by end date and by risk: every visible renewal (a manager), one owner's (`owner=`).
Index("ix_renewals_end_date_id", Renewal.end_date, Renewal.id)
Index("ix_renewals_risk", Renewal.risk_score.desc(), Renewal.end_date, Renewal.id)
Index("ix_renewals_owner_id_risk", Renewal.owner_id, Renewal.risk_score.desc(), Renewal.end_date, Renewal.id)


class Activity(Base):
    """One entry of a renewal's activity log: a call, e-mail, meeting or note."""

    __tablename__ = "renewal_activities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    renewal_id: Mapped[int] = mapped_column(ForeignKey("renewals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A client contact who wrote it (an answer to a letter through its link), when not a user.
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    text: Mapped[str] = mapped_column(Text)
    next_follow_up_on: Mapped[date | None] = mapped_column(Date)

    renewal: Mapped[Renewal] = relationship(back_populates="activities")

    __table_args__ = (
        Index("ix_renewal_activities_renewal_id_at", "renewal_id", "at"),
        Index("ix_renewal_activities_next_follow_up_on", "next_follow_up_on"),
    )
