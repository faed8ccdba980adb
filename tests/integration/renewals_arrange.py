"""Arranging renewals: contracts through the contract service, renewal records through the scan step."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contract, Invoice, Renewal, User
from renewals.domain.renewals.records import open_renewals
from tests.factories import make_contract


def contract_ending(
    session: Session, *, client: Client, actor: User, end: date, as_of: date | None = None, **terms: Any
) -> tuple[Contract, Renewal]:
    """A one-year active contract ending on `end`, with its renewal record opened as of `as_of`
    (default: 30 days before the end, well inside the horizon)."""
    start = end + timedelta(days=1) - relativedelta(years=1)
    contract = make_contract(session, client=client, actor=actor, start_date=start, end_date=end, **terms)
    open_renewals(session, as_of or end - timedelta(days=30), 180, contract_ids=[contract.id])
    renewal = session.execute(select(Renewal).where(Renewal.contract_id == contract.id)).scalar_one()
    return contract, renewal


def open_invoice(
    session: Session, *, contract: Contract, due: date, balance: str, dunning_level: int = 0, total: str | None = None
) -> Invoice:
    """An unpaid invoice as the billing run and the dunning scan would have left it.

    Written directly: what matters to renewals is the state of the receivable (balance, due
    date, dunning level), not how the billing run and the scan arrived at it.
    """
    from decimal import Decimal

    from renewals.domain.money import to_minor

    cur = contract.currency
    total_minor = to_minor(Decimal(total or balance), cur)
    balance_minor = to_minor(Decimal(balance), cur)
    inv = Invoice(
        client_id=contract.client_id,
        contract_id=contract.id,
        period_start=due - timedelta(days=60),
        period_end=due - timedelta(days=31),
        issue_date=due - timedelta(days=30),
        due_date=due,
        currency=cur,
        net_minor=total_minor,
        tax_minor=0,
        total_minor=total_minor,
        paid_minor=total_minor - balance_minor,
        credited_minor=0,
        written_off_minor=0,
        balance_minor=balance_minor,
        status="open" if balance_minor == total_minor else "partially_paid",
        dunning_level=dunning_level,
    )
    session.add(inv)
    session.flush()
    return inv
