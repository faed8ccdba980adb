"""The receivables ledger: every change of an invoice's open balance, and its running totals.

Written only by database triggers (see the migration ``0011_receivables_ledger``), in the same
statement as the invoice, allocation, credit note or write-off that causes it, so every writer
(the services, the bulk billing run, an import, a bulk load) keeps them right without knowing
about them, and two transactions at once each add their own rows.

* ``receivable_changes``: append-only, one row per change, dated when it takes effect: an
  invoice (+total on its issue date), its voiding (−total), an allocation (−amount on its
  applied date), an allocation's reversal (+amount), a credit note and a write-off (−amount).
  The open balance of a client's invoices due on a day, as of D, is the sum of the rows dated
  on or before D.
* ``receivable_totals``: the sum of all changes per (client, currency, due date), only where it
  is not zero: what is open now. As of D it is these totals less the changes dated after D.
* ``receivable_sales``: invoiced less credited per (currency, day), and how many of each, for DSO.

All amounts are integer counts of the currency's minor unit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from renewals.db.models.base import Base, BigId

CHANGE_KINDS = ("invoice", "void", "allocation", "reversal", "credit_note", "write_off")


class ReceivableChange(Base):
    __tablename__ = "receivable_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column(Date)
    effective_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # Covering: an "as of" sum reads this index only, from either end of the dates.
        Index(
            "ix_receivable_changes_effective_on",
            "effective_on",
            "client_id",
            "currency",
            "due_date",
            "amount_minor",
        ),
        Index("ix_receivable_changes_invoice_id", "invoice_id", "effective_on"),
        Index("ix_receivable_changes_client_id", "client_id", "effective_on"),
    )


class ReceivableTotal(Base):
    __tablename__ = "receivable_totals"

    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    # SQLite: one B-tree ordered by the key (a client's rows together), none beside it.
    __table_args__ = {"sqlite_with_rowid": False}


class ReceivableSale(Base):
    __tablename__ = "receivable_sales"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)
    """How many invoices and credit notes make up the amount."""

    __table_args__ = {"sqlite_with_rowid": False}
