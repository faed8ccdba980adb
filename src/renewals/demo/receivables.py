"""The demo book's receivables: invoices billed up to ``as_of`` and a payment history that reads
like a real company's.

Everything goes through the receivables services, as a finance clerk would do it:

* the billing run issues every invoice of the demo contracts up to ``as_of``;
* every client has a payment habit, and pays each invoice that many days after its due date,
  one remittance a month covering what it pays that month (a quarter, more than half a year back):

  ======== ============================ ==========================================
  habit    share of clients             days after the due date
  ======== ============================ ==========================================
  prompt   about six in ten             3 early to 4 late
  late     about two in ten             8 to 24 late
  chronic  about one in ten             40 to 100 late (they reach dunning level 4)
  partial  about one in ten             half at 5 days late, the rest 35 days late
  ======== ============================ ==========================================

  an invoice whose payment day has not come by ``as_of`` is still open, so the book has open,
  partly paid and overdue invoices at every dunning level, spread the way habits spread them;
* one prompt payer's latest remittance overpays (unapplied credit the next billing run spends);
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
from renewals.domain.receivables.schemas import AllocationIn, HoldIn, PaymentIn

# Habits dealt out in client order: ten clients get six prompt, two late, one chronic, one partial.
HABITS = ("prompt", "late", "prompt", "chronic", "prompt", "prompt", "partial", "late", "prompt", "prompt")
# Days after the due date each habit pays, as (first, spread): first + (a stable draw) % spread.
DELAYS = {"prompt": (-3, 8), "late": (8, 17), "chronic": (40, 61), "partial": (5, 1)}
PARTIAL_REST_AFTER = 30  # a partial payer settles the rest this many days after its first half
OVERPAYMENT_MAJOR_UNITS = 500
RECENT_DAYS = 183  # remittances are monthly over this last stretch, quarterly before it


@dataclass(frozen=True)
class DemoReceivables:
    invoices: int
    payments: int


@dataclass(frozen=True)
class _Instalment:
    invoice_id: int
    minor: int
    on: date


def _habit(client_index: int) -> str:
    return HABITS[client_index % len(HABITS)]


def _delay(habit: str, invoice_id: int) -> int:
    first, spread = DELAYS[habit]
    return first + (invoice_id * 7919) % spread  # stable across loads: the invoice ids are


def _instalments(habit: str, invoice: Invoice) -> list[_Instalment]:
    """When and how much a client with this habit pays of one invoice (possibly after as_of)."""
    on = invoice.due_date + timedelta(days=_delay(habit, invoice.id))
    on = max(on, invoice.issue_date)  # nobody pays an invoice before it was issued
    if habit != "partial":
        return [_Instalment(invoice.id, invoice.total_minor, on)]
    half = invoice.total_minor // 2
    return [
        _Instalment(invoice.id, half, on),
        _Instalment(invoice.id, invoice.total_minor - half, on + timedelta(days=PARTIAL_REST_AFTER)),
    ]


def _remittance(on: date, as_of: date) -> tuple[int, int]:
    """Which remittance pays on this day: monthly over the last half year, quarterly before (the
    book keeps fewer, larger payments from its older history)."""
    if on >= as_of - timedelta(days=RECENT_DAYS):
        return on.year, on.month
    return on.year, 100 + (on.month - 1) // 3


def _remit(
    session: Session, finance: User, client_id: int, currency: str, due: list[_Instalment], extra_minor: int = 0
) -> None:
    """One remittance paying exactly these instalments (plus any overpayment), on the last day."""
    total = sum(i.minor for i in due) + extra_minor
    on = max(i.on for i in due)
    per_invoice: dict[int, int] = defaultdict(int)  # both halves of a partial payer may fall in one month
    for instalment in due:
        per_invoice[instalment.invoice_id] += instalment.minor
    record_payment(
        session,
        finance,
        PaymentIn(
            client_id=client_id,
            amount=money.fmt(money.from_minor(total, currency)),
            currency=currency,
            method="bank_transfer",
            reference=f"TT-{client_id}-{on:%Y%m%d}",
            received_on=on,
            allocations=[
                AllocationIn(invoice_id=invoice_id, amount=money.fmt(money.from_minor(minor, currency)))
                for invoice_id, minor in per_invoice.items()
            ],
        ),
        None,
        on,
    )


def load(session: Session, finance: User, as_of: date) -> DemoReceivables:
    """Bill the demo contracts up to ``as_of`` and record the demo payments and holds."""
    summary = run_billing(session, as_of, finance)
    by_client: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in session.scalars(select(Invoice).order_by(Invoice.client_id, Invoice.due_date, Invoice.id)):
        by_client[invoice.client_id].append(invoice)
    payments = 0
    overpaid = False
    still_open: list[tuple[str, Invoice]] = []
    for index, (client_id, invoices) in enumerate(by_client.items()):
        habit = _habit(index)
        currency = invoices[0].currency
        months: dict[tuple[int, int], list[_Instalment]] = defaultdict(list)
        for invoice in invoices:
            paid_by_now = [i for i in _instalments(habit, invoice) if i.on < as_of]
            for instalment in paid_by_now:
                months[_remittance(instalment.on, as_of)].append(instalment)
            if len(paid_by_now) < len(_instalments(habit, invoice)) and invoice.due_date < as_of:
                still_open.append((habit, invoice))
        for n, key in enumerate(sorted(months)):
            last = n == len(months) - 1
            extra = 0
            if last and habit == "prompt" and not overpaid:
                extra = OVERPAYMENT_MAJOR_UNITS * 10 ** money.decimals(currency)
                overpaid = True
            _remit(session, finance, client_id, currency, months[key], extra)
            payments += 1
    _hold_two(session, finance, as_of, still_open)
    session.flush()
    return DemoReceivables(invoices=summary.invoices_issued, payments=payments)


def _hold_two(session: Session, finance: User, as_of: date, still_open: list[tuple[str, Invoice]]) -> None:
    """A late payer disputes its newest overdue invoice; a chronic one promises to pay its oldest."""
    late = [inv for habit, inv in still_open if habit == "late"]
    chronic = [inv for habit, inv in still_open if habit == "chronic"]
    if late:
        hold(session, finance, late[-1].id, HoldIn(kind="dispute", reason="Client disputes the rack count"), as_of)
    if chronic:
        hold(
            session,
            finance,
            chronic[0].id,
            HoldIn(kind="promise", until=as_of + timedelta(days=7), reason="CFO promised payment by phone"),
            as_of,
        )
