from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from renewals import demo
from renewals.db.models import Invoice, Payment

AS_OF = date(2026, 11, 20)


def test_demo_book_has_paid_partly_paid_overdue_overpaid_and_disputed_invoices(session, settings):
    demo.load(session, settings, AS_OF)
    session.flush()

    statuses = set(session.scalars(select(Invoice.status).distinct()))
    assert {"paid", "partially_paid", "open"} <= statuses
    for days in (1, 15, 30, 60):
        overdue = session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.balance_minor > 0, Invoice.due_date <= AS_OF - timedelta(days=days))
        )
        assert overdue, f"no invoice is {days}+ days past due"
    assert session.scalar(select(func.count()).select_from(Payment).where(Payment.unapplied_minor > 0)) == 1
    assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.hold_kind == "dispute")) == 1
    assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.hold_kind == "promise")) == 1
    assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.issue_date > AS_OF)) == 0
