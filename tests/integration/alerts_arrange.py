"""Arranging the early-warning tests: people, one-invoice contracts, holds and settlements.

Invoices come from the real billing run. Holds and settlements are written straight onto the
invoice row, the way the receivables services leave it, so these tests depend only on the
invoice's columns (status, balance, hold) and not on how finance got there.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from renewals.db.models import Base, Client, Invoice, User
from renewals.domain.receivables.billing import run_billing
from tests.factories import make_contract


def invoice_due(
    session: Session, *, client: Client, actor: User, due: date, monthly: str = "100.00", years: int = 1
) -> Invoice:
    """Issue one annual invoice (12 × `monthly`, issued 30 days before `due`) through the billing run,
    from a contract of `years` years (only its first year is billed)."""
    issued = due - timedelta(days=30)
    contract = make_contract(
        session,
        client=client,
        actor=actor,
        start_date=issued,
        end_date=issued + timedelta(days=365 * years - 1),
        billing_cycle="annual",
        payment_terms_days=30,
        lines=[("Managed service", "1", monthly)],
    )
    run_billing(session, issued, None)
    return session.execute(select(Invoice).where(Invoice.contract_id == contract.id)).scalar_one()


def hold(session: Session, invoice: Invoice, kind: str, until: date | None = None, on: date | None = None) -> None:
    session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(hold_kind=kind, hold_until=until, hold_reason=f"{kind} noted", held_on=on)
    )
    session.expire(invoice)


def settle(session: Session, invoice: Invoice) -> None:
    """The invoice is paid in full."""
    session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(paid_minor=Invoice.total_minor, balance_minor=0, status="paid")
    )
    session.expire(invoice)


def database_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: two equal answers mean nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = ", ".join(c.name for c in table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table.name} ORDER BY {order}"))]
    return out
