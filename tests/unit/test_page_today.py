"""Today folds overdue invoices into one row per client and currency, the most urgent first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from renewals.api.pages.desk import group_by_client
from renewals.domain.alerts.schemas import TodayInvoice


def overdue(invoice_id: int, client_id: int, balance: str, level: int, days: int, *, currency: str = "USD", hold=None):
    return TodayInvoice(
        id=invoice_id,
        number=f"INV-{invoice_id}",
        client_id=client_id,
        client_name=f"Client {client_id}",
        currency=currency,
        balance=Decimal(balance),
        due_date=date(2026, 1, 1),
        days_overdue=days,
        dunning_level=level,
        hold=hold,
    )


def test_one_row_per_client_and_currency_with_total_highest_level_and_oldest_age():
    rows = group_by_client(
        [
            overdue(1, 7, "100.00", 1, 3),
            overdue(2, 7, "250.50", 3, 40, hold="dispute"),
            overdue(3, 7, "9000", 2, 20, currency="KRW"),
            overdue(4, 8, "10.00", 4, 61),
        ]
    )
    assert [(r.client_id, r.currency) for r in rows] == [(8, "USD"), (7, "USD"), (7, "KRW")]
    usd = rows[1]
    assert (usd.invoices, usd.total, usd.highest_level, usd.oldest_days, usd.on_hold) == (
        2,
        Decimal("350.50"),
        3,
        40,
        1,
    )


def test_no_overdue_invoice_gives_no_row():
    assert group_by_client([]) == []
