"""Arranging receivables for the report tests, through the receivables services.

Each invoice comes from a one-year annual contract billed by the real billing run, so it is
issued on the contract's start date and due `terms` days later, for 12 × the monthly price.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Client, Invoice, User
from renewals.domain.receivables.billing import run_billing
from tests.factories import make_contract


def invoice(session: Session, *, client: Client, actor: User, issued: date, terms: int = 30,
            monthly: str = "100.00", currency: str | None = None) -> Invoice:
    """Issue one invoice (12 × `monthly`) on `issued`, due `terms` days later."""
    contract = make_contract(session, client=client, actor=actor, start_date=issued,
                             end_date=issued + timedelta(days=364), billing_cycle="annual",
                             currency=currency, payment_terms_days=terms,
                             lines=[("Managed service", "1", monthly)])
    run_billing(session, issued, None)
    return session.execute(select(Invoice).where(Invoice.contract_id == contract.id)).scalar_one()


def invoice_due(session: Session, *, client: Client, actor: User, due: date, monthly: str = "100.00",
                currency: str | None = None) -> Invoice:
    """Issue one invoice that falls due on `due` (issued 30 days before)."""
    return invoice(session, client=client, actor=actor, issued=due - timedelta(days=30), monthly=monthly,
                   currency=currency)
