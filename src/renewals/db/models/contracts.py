from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from renewals.db.models.base import Base, BigId, Timestamped
from renewals.db.types import Scaled


class Contract(Timestamped, Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    number: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    billing_cycle: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate: Mapped[Decimal] = mapped_column(Scaled(4), default=Decimal(0))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    notice_period_days: Mapped[int] = mapped_column(Integer, default=90)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    renewal_term_months: Mapped[int] = mapped_column(Integer, default=12)
    renewal_uplift_pct: Mapped[Decimal] = mapped_column(Scaled(4), default=Decimal(0))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), unique=True)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    # Sum of lines' quantity × monthly unit price, kept for set-based reports (minor units).
    monthly_value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    lines: Mapped[list[ContractLine]] = relationship(
        back_populates="contract", order_by="ContractLine.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_contracts_client_id", "client_id"),
        Index("ix_contracts_status_end_date", "status", "end_date"),
    )


class ContractLine(Base):
    __tablename__ = "contract_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Scaled(4))
    monthly_unit_price_minor: Mapped[int] = mapped_column(BigInteger)

    contract: Mapped[Contract] = relationship(back_populates="lines")

    __table_args__ = (Index("ix_contract_lines_contract_id", "contract_id"),)
