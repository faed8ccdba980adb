"""Receivables: invoices and their lines, payments and their allocations, credit notes, write-offs.

Every event that changes a balance carries the date it takes effect (invoice ``issue_date``,
allocation ``applied_on`` and ``reversed_on``, credit note ``issued_on``, write-off
``written_off_on``, invoice ``voided_on``), so a report "as of D" can count only what is dated on
or before D. Beside the event rows, each invoice keeps its current paid / credited / written-off
/ balance figures denormalised, maintained by the services, for fast current lists.

All amounts are integer counts of the currency's minor unit (``*_minor``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from renewals.db.models.base import Base, BigId, Timestamped
from renewals.db.types import Scaled

INVOICE_STATUSES = ("open", "partially_paid", "paid", "void", "written_off")
HOLD_KINDS = ("dispute", "promise")


class BillingRun(Timestamped, Base):
    """One execution of the billing run: what it was asked for and what it issued (audited once)."""

    __tablename__ = "billing_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    through: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contracts_scanned: Mapped[int] = mapped_column(Integer, default=0)
    invoices_issued: Mapped[int] = mapped_column(Integer, default=0)
    credit_applied: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Timestamped, Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Set from the id right after the (bulk) insert: INV-<issue year>-<id, 6+ digits>.
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    billing_run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # Denormalised current figures; balance = total - paid - credited - written_off.
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    written_off_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="open")
    voided_on: Mapped[date | None] = mapped_column(Date)
    # Maintained by the early-warning scan (0 = not dunned; 1..4 at 1/15/30/60 days past due).
    dunning_level: Mapped[int] = mapped_column(Integer, default=0)
    hold_kind: Mapped[str | None] = mapped_column(String(10))
    hold_until: Mapped[date | None] = mapped_column(Date)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    held_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("contract_id", "period_start", name="uq_invoices_contract_id_period_start"),
        Index("ix_invoices_client_id_status", "client_id", "status"),
        Index("ix_invoices_due_date", "due_date"),
        Index("ix_invoices_issue_date", "issue_date"),
        Index("ix_invoices_status_due_date", "status", "due_date"),
        Index("ix_invoices_client_id_currency_due_date", "client_id", "currency", "due_date"),
        Index("ix_invoices_voided_on", "voided_on"),
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Scaled(4))
    monthly_unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    # Months billed, rounded to 6 decimals for display (amounts use the exact ratio).
    months: Mapped[Decimal] = mapped_column(Scaled(6))
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (Index("ix_invoice_lines_invoice_id", "invoice_id"),)


class Payment(Timestamped, Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str | None] = mapped_column(String(200))
    # Denormalised: amount minus live (not reversed) allocations; 0 once reversed.
    unapplied_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    # Unique per user who sent it (with created_by): one user's key never answers for another's.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # sha256 of the canonical request body, to tell a retry from a different request reusing a key.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The first response, replayed verbatim for a retry with the same key and body.
    first_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    allocations: Mapped[list[Allocation]] = relationship(back_populates="payment", order_by="Allocation.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_payments_client_id_received_on", "client_id", "received_on"),
        Index("ix_payments_client_id_currency_unapplied", "client_id", "currency", "unapplied_minor"),
        Index("ix_payments_received_on", "received_on"),
        UniqueConstraint("created_by", "idempotency_key", name="uq_payments_created_by_idempotency_key"),
    )


class Allocation(Base):
    """Part of a payment applied to an invoice, from ``applied_on`` until ``reversed_on`` (if bounced).

    An allocation of unapplied credit to a later invoice takes effect on the later of that
    invoice's issue date and the day it was applied.
    """

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    applied_on: Mapped[date] = mapped_column(Date)
    reversed_on: Mapped[date | None] = mapped_column(Date)

    payment: Mapped[Payment] = relationship(back_populates="allocations")

    __table_args__ = (
        Index("ix_allocations_payment_id", "payment_id"),
        Index("ix_allocations_invoice_id", "invoice_id"),
        Index("ix_allocations_reversed_on", "reversed_on"),
    )


class CreditNote(Timestamped, Base):
    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Set from the id right after insert: CN-<issue year>-<id, 6+ digits>.
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    issued_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_credit_notes_invoice_id", "invoice_id"),
        Index("ix_credit_notes_client_id_issued_on", "client_id", "issued_on"),
    )


class WriteOff(Timestamped, Base):
    __tablename__ = "write_offs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    written_off_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Not unique per invoice: a debt written off, then reopened by a bounced payment, can be written off again.
    __table_args__ = (
        Index("ix_write_offs_client_id_written_off_on", "client_id", "written_off_on"),
        Index("ix_write_offs_invoice_id", "invoice_id"),
    )
