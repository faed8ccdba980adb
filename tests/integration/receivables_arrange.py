"""Arranging receivables for the report tests, through the receivables services.

Each invoice comes from a one-year annual contract billed by the real billing run, so it is
issued on the contract's start date and due `terms` days later, for 12 × the monthly price.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Client, CreditNote, Invoice, Payment, User
from renewals.domain.receivables.billing import run_billing
from renewals.domain.receivables.invoices import issue_credit_note
from renewals.domain.receivables.invoices import write_off as close_as_bad_debt
from renewals.domain.receivables.payments import record_payment, reverse_payment
from renewals.domain.receivables.schemas import CreditNoteIn, PaymentIn, ReversalIn, WriteOffIn
from tests.factories import make_contract


def invoice(
    session: Session,
    *,
    client: Client,
    actor: User,
    issued: date,
    terms: int = 30,
    monthly: str = "100.00",
    currency: str | None = None,
) -> Invoice:
    """Issue one invoice (12 × `monthly`) on `issued`, due `terms` days later."""
    contract = make_contract(
        session,
        client=client,
        actor=actor,
        start_date=issued,
        end_date=issued + timedelta(days=364),
        billing_cycle="annual",
        currency=currency,
        payment_terms_days=terms,
        lines=[("Managed service", "1", monthly)],
    )
    run_billing(session, issued, None)
    return session.execute(select(Invoice).where(Invoice.contract_id == contract.id)).scalar_one()


def invoice_due(
    session: Session, *, client: Client, actor: User, due: date, monthly: str = "100.00", currency: str | None = None
) -> Invoice:
    """Issue one invoice that falls due on `due` (issued 30 days before)."""
    return invoice(
        session, client=client, actor=actor, issued=due - timedelta(days=30), monthly=monthly, currency=currency
    )


def pay(
    session: Session,
    *,
    client: Client,
    actor: User,
    amount: str,
    on: date,
    currency: str = "USD",
    reference: str | None = None,
) -> Payment:
    """Record a payment received on `on`, applied oldest due first."""
    body, _ = record_payment(
        session,
        actor,
        PaymentIn(client_id=client.id, amount=amount, currency=currency, received_on=on, reference=reference),
        None,
        on,
    )
    return session.get_one(Payment, body["id"])


def bounce(session: Session, *, payment: Payment, actor: User, on: date) -> Payment:
    """Reverse a payment that bounced on `on`."""
    return reverse_payment(session, actor, payment.id, ReversalIn(reversed_on=on, reason="bounced"), on)


def credit(session: Session, *, invoice: Invoice, actor: User, amount: str, on: date) -> CreditNote:
    """Issue a credit note on `on` against an invoice."""
    return issue_credit_note(
        session, actor, invoice.id, CreditNoteIn(amount=amount, reason="service credit", issued_on=on), on
    )


def write_off(session: Session, *, invoice: Invoice, actor: User, on: date) -> Invoice:
    """Write off an invoice's remaining balance on `on` (the actor must be a manager)."""
    return close_as_bad_debt(session, actor, invoice.id, WriteOffIn(reason="insolvent", written_off_on=on), on)
