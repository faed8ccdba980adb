"""The billing run: issue every invoice whose period starts on or before a date, set-based.

Contracts are read in id-ordered chunks, each chunk in one query together with its lines and one
more for the periods it already invoiced; the periods are computed in Python with the pure
schedule; the missing invoices and their lines are inserted with executemany. The unique key
(contract_id, period_start) makes the insert idempotent: ``ON CONFLICT DO NOTHING`` on
PostgreSQL, ``INSERT … ON CONFLICT DO NOTHING`` (SQLite's INSERT OR IGNORE) on SQLite, so two
runs at once, or the same run twice, issue each period exactly once. Only the rows a run really
inserted come back from ``RETURNING``, so only that run numbers them, adds their lines and pays
them from unapplied credit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

from sqlalchemy import ColumnElement, String, Table, bindparam, case, func, literal, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import (
    Allocation,
    BillingRun,
    Contract,
    ContractLine,
    Invoice,
    InvoiceLine,
    Payment,
    User,
)
from renewals.domain import money
from renewals.domain.access.rules import WRITE_RECEIVABLES, require_role
from renewals.domain.audit import record
from renewals.domain.receivables.allocation import OpenItem, allocate_oldest_first
from renewals.domain.receivables.ledger import Figures, status_for
from renewals.domain.receivables.schedule import (
    Period,
    PeriodAmount,
    add_months,
    billing_periods,
    cycle_months,
    period_amounts,
)
from renewals.domain.receivables.schemas import BillingSummary

BILLED_STATUSES = ("active", "terminated", "expired", "renewed")
CHUNK = 2000
_MONTHS_PLACES = Decimal("0.000001")
# What the schedule needs of a contract to bill it (with its lines), also read by the cash forecast.
TERMS_COLUMNS = (
    Contract.id,
    Contract.client_id,
    Contract.start_date,
    Contract.end_date,
    Contract.billing_cycle,
    Contract.currency,
    Contract.tax_rate,
    Contract.payment_terms_days,
    Contract.status,
    Contract.terminated_on,
)


@dataclass
class _Terms:
    id: int
    client_id: int
    start: date
    end: date
    cycle: str
    currency: str
    tax_rate: Decimal
    terms_days: int
    stop: date | None
    lines: list[tuple[str, Decimal, Decimal]]


@dataclass
class _NewInvoice:
    row: dict[str, Any]
    lines: list[dict[str, Any]]


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _load_chunk(session: Session, after_id: int, through: date, size: int) -> list[_Terms]:
    """One query: the next ``size`` billable contracts after ``after_id``, with their lines.

    A contract without lines comes back with none (it has nothing to bill) but still moves the
    chunk forward.
    """
    ids = (
        select(Contract.id)
        .where(Contract.id > after_id, Contract.status.in_(BILLED_STATUSES), Contract.start_date <= through)
        .order_by(Contract.id)
        .limit(size)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            *TERMS_COLUMNS,
            ContractLine.description,
            ContractLine.quantity,
            ContractLine.monthly_unit_price_minor,
        )
        .outerjoin(ContractLine, ContractLine.contract_id == Contract.id)
        .where(Contract.id.in_(ids))
        .order_by(Contract.id, ContractLine.position)
    ).all()
    chunk: dict[int, _Terms] = {}
    for r in rows:
        terms = chunk.get(r.id)
        if terms is None:
            stop = r.terminated_on if r.status == "terminated" else None
            terms = _Terms(
                r.id,
                r.client_id,
                r.start_date,
                r.end_date,
                r.billing_cycle,
                r.currency,
                r.tax_rate,
                r.payment_terms_days,
                stop,
                [],
            )
            chunk[r.id] = terms
        if r.description is not None:
            terms.lines.append((r.description, r.quantity, money.from_minor(r.monthly_unit_price_minor, r.currency)))
    return list(chunk.values())


@dataclass
class _Invoiced:
    """What a chunk's contracts were already invoiced: count and latest period start per contract,
    plus the exact period starts of the few contracts whose invoices are not a prefix of their
    current schedule (e.g. dates edited after billing)."""

    counts: dict[int, tuple[int, date]]
    exact: set[tuple[int, date]]


def _invoiced(session: Session, chunk: Sequence[_Terms]) -> _Invoiced:
    """Two queries at most: an aggregate per contract, and exact periods for irregular ones."""
    low, high = chunk[0].id, chunk[-1].id
    rows = session.execute(
        select(Invoice.contract_id, func.count(), func.max(Invoice.period_start))
        .where(Invoice.contract_id.between(low, high))
        .group_by(Invoice.contract_id)
    ).all()
    counts = {contract_id: (n, latest) for contract_id, n, latest in rows}
    irregular = [
        t.id
        for t in chunk
        if t.id in counts and add_months(t.start, (counts[t.id][0] - 1) * cycle_months(t.cycle)) != counts[t.id][1]
    ]
    exact: set[tuple[int, date]] = set()
    if irregular:
        exact = {
            (r.contract_id, r.period_start)
            for r in session.execute(
                select(Invoice.contract_id, Invoice.period_start).where(Invoice.contract_id.in_(irregular))
            )
        }
        for contract_id in irregular:
            del counts[contract_id]
    return _Invoiced(counts, exact)


def _missing_invoices(terms: _Terms, through: date, invoiced: _Invoiced, run_id: int) -> Iterable[_NewInvoice]:
    cur = terms.currency
    if not terms.lines:
        return
    step = cycle_months(terms.cycle)
    done, _ = invoiced.counts.get(terms.id, (0, terms.start))
    last_day = terms.end if terms.stop is None else min(terms.end, terms.stop)
    if done and add_months(terms.start, done * step) > min(through, last_day):
        # Everything due is invoiced: skip the schedule (what makes a re-run cheap).
        return
    # Full periods of one contract cost the same: price each distinct length once.
    priced_by_ratio: dict[Fraction, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for period in billing_periods(terms.start, terms.end, terms.cycle, terms.stop)[done:]:
        if period.start > through:
            break
        if (terms.id, period.start) in invoiced.exact:
            continue
        priced = priced_by_ratio.get(period.ratio)
        if priced is None:
            priced = priced_by_ratio[period.ratio] = _price(terms, period)
        amounts, lines = priced
        yield _NewInvoice(
            row={
                "client_id": terms.client_id,
                "contract_id": terms.id,
                "billing_run_id": run_id,
                "period_start": period.start,
                "period_end": period.end,
                "issue_date": period.start,
                "due_date": period.start + timedelta(days=terms.terms_days),
                "currency": cur,
                "paid_minor": 0,
                "credited_minor": 0,
                "written_off_minor": 0,
                "dunning_level": 0,
                "version": 1,
                **amounts,
            },
            lines=lines,
        )


def _price(terms: _Terms, period: Period) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An invoice's amounts (minor units) and line rows for one period of a contract."""
    cur = terms.currency
    priced: PeriodAmount = period_amounts(terms.lines, period, cur, terms.tax_rate)
    total = money.to_minor(priced.total, cur)
    amounts = {
        "net_minor": money.to_minor(priced.net, cur),
        "tax_minor": money.to_minor(priced.tax, cur),
        "total_minor": total,
        "balance_minor": total,
        "status": status_for(Figures(total)),
    }
    lines = [
        {
            "position": i,
            "description": line.description,
            "quantity": line.quantity,
            "monthly_unit_price_minor": money.to_minor(line.monthly_unit_price, cur),
            "months": period.months.quantize(_MONTHS_PLACES),
            "amount_minor": money.to_minor(line.amount, cur),
        }
        for i, line in enumerate(priced.lines)
    ]
    return amounts, lines


def _number_sql(session: Session) -> ColumnElement[str]:
    """SQL for ``invoice_number("INV", year of issue, id)``, so numbering is one UPDATE per chunk."""
    inv = _table(Invoice)
    if session.get_bind().dialect.name == "postgresql":
        padded = case(
            (inv.c.id < 1_000_000, func.lpad(sql_cast(inv.c.id, String), 6, "0")), else_=sql_cast(inv.c.id, String)
        )
        return literal("INV-") + func.to_char(inv.c.issue_date, "YYYY") + literal("-") + padded
    return func.printf("INV-%s-%06d", func.strftime("%Y", inv.c.issue_date), inv.c.id)


def _issue(
    session: Session, new: Sequence[_NewInvoice], run_id: int, low: int, high: int
) -> list[tuple[int, int, str, date, int]]:
    """Insert the invoices (skipping periods someone else issued meanwhile), number them, add lines.

    The rows this run really inserted are read back by ``billing_run_id`` (a concurrent run's
    rows carry its own), which keeps the insert a plain executemany. Return ``(invoice id, client
    id, currency, issue date, total minor)`` for them.
    """
    if not new:
        return []
    inv = _table(Invoice)
    session.execute(
        insert_ignoring_conflicts(session, _table(Invoice), ["contract_id", "period_start"]),
        [n.row for n in new],
    )
    mine = (inv.c.billing_run_id == run_id) & inv.c.contract_id.between(low, high)
    session.execute(update(inv).where(mine, inv.c.number.is_(None)).values(number=_number_sql(session)))
    inserted = session.execute(select(inv.c.id, inv.c.contract_id, inv.c.period_start).where(mine)).all()
    by_key = {(n.row["contract_id"], n.row["period_start"]): n for n in new}
    lines: list[dict[str, Any]] = []
    issued: list[tuple[int, int, str, date, int]] = []
    for invoice_id, contract_id, period_start in inserted:
        item = by_key[(contract_id, period_start)]
        lines.extend({**line, "invoice_id": invoice_id} for line in item.lines)
        issued.append((invoice_id, item.row["client_id"], item.row["currency"], period_start, item.row["total_minor"]))
    if lines:
        session.execute(_table(InvoiceLine).insert(), lines)
    return issued


def apply_unapplied_credit(session: Session, issued: Sequence[tuple[int, int, str, date, int]]) -> int:
    """Pay freshly issued invoices from their clients' unapplied credit, oldest credit first.

    ``issued`` holds ``(invoice id, client id, currency, issue date, total minor)`` of invoices no
    other transaction has touched yet. The payments are locked (PostgreSQL ``FOR UPDATE``; SQLite
    holds the write lock already), so two runs never spend the same credit twice. Each allocation
    takes effect on the later of the invoice's issue date and the payment's received date.
    Return the number of allocations made.
    """
    if not issued:
        return 0
    clients = sorted({client_id for _, client_id, _, _, _ in issued})
    credits = session.execute(
        select(Payment.id, Payment.client_id, Payment.currency, Payment.unapplied_minor, Payment.received_on)
        .where(Payment.client_id.in_(clients), Payment.unapplied_minor > 0, Payment.reversed.is_(False))
        .order_by(Payment.received_on, Payment.id)
        .with_for_update()
    ).all()
    if not credits:
        return 0
    open_items: dict[tuple[int, str], dict[int, OpenItem]] = defaultdict(dict)
    for invoice_id, client_id, currency, issue_date, total in issued:
        if total > 0:
            # Due date only orders the items; new invoices of one run share the terms of their contract.
            open_items[(client_id, currency)][invoice_id] = OpenItem(
                invoice_id, issue_date, issue_date, money.from_minor(total, currency)
            )
    paid_by_invoice: dict[int, int] = defaultdict(int)
    spent: list[dict[str, Any]] = []
    allocations: list[dict[str, Any]] = []
    for payment in credits:
        items = open_items.get((payment.client_id, payment.currency))
        if not items:
            continue
        result = allocate_oldest_first(items.values(), money.from_minor(payment.unapplied_minor, payment.currency))
        for alloc in result.allocations:
            amount = money.to_minor(alloc.amount, payment.currency)
            item = items[alloc.invoice_id]
            allocations.append(
                {
                    "payment_id": payment.id,
                    "invoice_id": alloc.invoice_id,
                    "amount_minor": amount,
                    "applied_on": max(item.issue_date, payment.received_on),
                    "reversed_on": None,
                }
            )
            paid_by_invoice[alloc.invoice_id] += amount
            items[alloc.invoice_id] = item._replace(balance=item.balance - alloc.amount)
        if result.allocations:
            spent.append({"b_id": payment.id, "b_unapplied": money.to_minor(result.unapplied, payment.currency)})
    if not allocations:
        return 0
    session.execute(_table(Allocation).insert(), allocations)
    pay = _table(Payment)
    session.execute(
        update(pay)
        .where(pay.c.id == bindparam("b_id"))
        .values(unapplied_minor=bindparam("b_unapplied"), version=pay.c.version + 1),
        spent,
    )
    totals = {invoice_id: total for invoice_id, _, _, _, total in issued}
    inv = _table(Invoice)
    session.execute(
        update(inv)
        .where(inv.c.id == bindparam("b_id"))
        .values(
            paid_minor=bindparam("b_paid"),
            balance_minor=bindparam("b_balance"),
            status=bindparam("b_status"),
            version=inv.c.version + 1,
        ),
        [
            {
                "b_id": invoice_id,
                "b_paid": paid,
                "b_balance": totals[invoice_id] - paid,
                "b_status": status_for(Figures(totals[invoice_id], paid=paid)),
            }
            for invoice_id, paid in paid_by_invoice.items()
        ],
    )
    return len(allocations)


def run_billing(session: Session, through: date, actor: User | None, *, chunk_size: int = CHUNK) -> BillingSummary:
    """Issue every missing invoice whose period starts on or before ``through``; audit the run once.

    Active contracts are billed up to their end date, terminated ones up to the termination's
    effective date, expired and renewed ones for their past periods. Safe to run twice or
    concurrently. Raise Forbidden when the actor is neither finance, a manager nor an admin.
    """
    if actor is not None:
        require_role(actor, WRITE_RECEIVABLES, "running the billing")
    run = BillingRun(through=through, actor_id=actor.id if actor is not None else None)
    session.add(run)
    session.flush()
    scanned = issued_count = credit_count = 0
    after_id = 0
    while True:
        chunk = _load_chunk(session, after_id, through, chunk_size)
        if not chunk:
            break
        scanned += len(chunk)
        invoiced = _invoiced(session, chunk)
        new = [n for terms in chunk for n in _missing_invoices(terms, through, invoiced, run.id)]
        issued = _issue(session, new, run.id, chunk[0].id, chunk[-1].id)
        issued_count += len(issued)
        credit_count += apply_unapplied_credit(session, issued)
        after_id = chunk[-1].id
    run.contracts_scanned, run.invoices_issued, run.credit_applied = scanned, issued_count, credit_count
    summary = BillingSummary(
        run_id=run.id,
        through=through,
        contracts_scanned=scanned,
        invoices_issued=issued_count,
        credit_applied=credit_count,
    )
    record(
        session,
        actor,
        "run",
        "billing_run",
        run.id,
        None,
        {
            "through": through,
            "contracts_scanned": scanned,
            "invoices_issued": issued_count,
            "credit_allocations": credit_count,
        },
    )
    session.flush()
    return summary
