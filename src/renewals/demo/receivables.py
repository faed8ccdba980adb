"""The demo book's receivables: invoices billed up to ``as_of`` and payments that tell a story.

Everything goes through the receivables services, as a finance clerk would do it:

* the billing run issues every invoice of the demo contracts up to ``as_of``;
* each client's older history (due more than 75 days before ``as_of``) is paid in full;
* of the recent invoices, every fourth client has paid everything (one of them overpaid,
  leaving unapplied credit), every fourth client paid half of its oldest open invoice
  (partly paid), and the rest left theirs open, overdue by anything from a day to 75 days, so
  every dunning level (1+, 15+, 30+, 60+ days past due) is represented;
* one overdue invoice is disputed and one has a promise to pay.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Invoice, User
from renewals.domain import money
from renewals.domain.receivables.billing import run_billing
from renewals.domain.receivables.invoices import hold
from renewals.domain.receivables.payments import record_payment
from renewals.domain.receivables.schemas import HoldIn, PaymentIn

HISTORY_DAYS = 75


@dataclass(frozen=True)
class DemoReceivables:
    invoices: int
    payments: int


def _open_invoices(session: Session) -> dict[int, list[Invoice]]:
    by_client: dict[int, list[Invoice]] = defaultdict(list)
    stmt = select(Invoice).where(Invoice.balance_minor > 0).order_by(Invoice.client_id, Invoice.due_date, Invoice.id)
    for invoice in session.scalars(stmt):
        by_client[invoice.client_id].append(invoice)
    return by_client


def _pay(session: Session, finance: User, client_id: int, currency: str, minor: int, on: date, ref: str) -> None:
    amount = money.fmt(money.from_minor(minor, currency))
    record_payment(
        session,
        finance,
        PaymentIn(
            client_id=client_id, amount=amount, currency=currency, method="bank_transfer", reference=ref, received_on=on
        ),
        None,
        on,
    )


def load(session: Session, finance: User, as_of: date) -> DemoReceivables:
    """Bill the demo contracts up to ``as_of`` and record the demo payments and holds."""
    summary = run_billing(session, as_of, finance)
    history_end = as_of - timedelta(days=HISTORY_DAYS)
    payments = 0
    for client_id, invoices in _open_invoices(session).items():
        old = [i for i in invoices if i.due_date < history_end]
        if old:
            _pay(
                session,
                finance,
                client_id,
                old[0].currency,
                sum(i.balance_minor for i in old),
                max(i.due_date for i in old),
                f"HIST-{client_id}",
            )
            payments += 1
    overpaid = disputed = promised = False
    for n, (client_id, invoices) in enumerate(_open_invoices(session).items()):
        due = [i for i in invoices if i.due_date < as_of]
        if not due:
            continue
        currency = due[0].currency
        if n % 4 == 0:
            # One client pays everything it was invoiced and 500 (in its currency) more: unapplied
            # credit that the next billing run spends.
            settled = due if overpaid else invoices
            extra = 0 if overpaid else 500 * 10 ** money.decimals(currency)
            overpaid = True
            _pay(
                session,
                finance,
                client_id,
                currency,
                sum(i.balance_minor for i in settled) + extra,
                as_of - timedelta(days=2),
                f"RCPT-{client_id}",
            )
            payments += 1
        elif n % 4 == 1:
            _pay(
                session,
                finance,
                client_id,
                currency,
                due[0].balance_minor // 2,
                as_of - timedelta(days=3),
                f"PART-{client_id}",
            )
            payments += 1
        elif not disputed:
            hold(session, finance, due[-1].id, HoldIn(kind="dispute", reason="Client disputes the rack count"), as_of)
            disputed = True
        elif not promised:
            hold(
                session,
                finance,
                due[0].id,
                HoldIn(kind="promise", until=as_of + timedelta(days=7), reason="CFO promised payment by phone"),
                as_of,
            )
            promised = True
    session.flush()
    return DemoReceivables(invoices=summary.invoices_issued, payments=payments)
