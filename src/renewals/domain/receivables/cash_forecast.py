"""The cash-in forecast as of a date: load what is owed and each client's habit, then decide.

Three kinds of query, all point in time (only what took effect on or before ``as_of`` counts),
so a forecast for a past date can be checked against what really came in afterwards:

* each client's delays on its latest fully paid invoices (a window function, 12 rows per
  client at most);
* open balances grouped by client, currency, due date and hold (one grouped statement);
* the invoices the billing schedule will issue within the horizon: billable contracts in id
  chunks with their lines and their latest invoiced period, priced with the pure schedule.

The rule itself is in ``forecast`` (pure).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Allocation, Client, Contract, ContractLine, CreditNote, Invoice, User, WriteOff
from renewals.domain import money
from renewals.domain.access.rules import scope_clients
from renewals.domain.receivables.billing import BILLED_STATUSES, TERMS_COLUMNS
from renewals.domain.receivables.forecast import (
    HISTORY,
    CashForecast,
    Receivable,
    check_weeks,
    forecast,
    iso_weeks,
    median_delay,
)
from renewals.domain.receivables.reports import open_invoices
from renewals.domain.receivables.schedule import billing_periods, cycle_months, period_amounts

CHUNK = 2000


def cash_forecast(session: Session, user: User, as_of: date, weeks: int) -> CashForecast:
    """Forecast receipts per currency and ISO week from ``as_of`` over ``weeks`` weeks.

    An account manager's forecast covers only their own clients. Raise ValidationFailed naming
    `weeks` outside 1..104.
    """
    horizon_end = iso_weeks(as_of, check_weeks(weeks))[-1].end
    delays = client_delays(session, user, as_of)
    items = [*open_receivables(session, user, as_of), *scheduled_receivables(session, user, as_of, horizon_end)]
    return forecast(as_of, weeks, items, delays)


def paid_delays(session: Session, user: User, as_of: date) -> dict[int, list[int]]:
    """Per client, ``date fully paid − due date`` of its latest fully paid invoices, newest first.

    Fully paid as of D: issued and not voided by D, nothing written off by D, some payment
    applied, and payments plus credit notes cover the total. The date fully paid is the latest
    of those events. At most ``HISTORY`` per client.
    """
    live = (Allocation.applied_on <= as_of) & or_(Allocation.reversed_on.is_(None), Allocation.reversed_on > as_of)
    paid = (
        select(
            Allocation.invoice_id,
            func.sum(Allocation.amount_minor).label("minor"),
            func.max(Allocation.applied_on).label("last"),
        )
        .where(live)
        .group_by(Allocation.invoice_id)
        .subquery("paid")
    )
    credited = (
        select(
            CreditNote.invoice_id,
            func.sum(CreditNote.amount_minor).label("minor"),
            func.max(CreditNote.issued_on).label("last"),
        )
        .where(CreditNote.issued_on <= as_of)
        .group_by(CreditNote.invoice_id)
        .subquery("credited")
    )
    written = select(WriteOff.id).where(WriteOff.invoice_id == Invoice.id, WriteOff.written_off_on <= as_of)
    settled_on = case(
        (credited.c.last.is_not(None) & (credited.c.last > paid.c.last), credited.c.last), else_=paid.c.last
    )
    rank = (
        func.row_number()
        .over(partition_by=Invoice.client_id, order_by=(settled_on.desc(), Invoice.due_date.desc(), Invoice.id.desc()))
        .label("rank")
    )
    settled: Any = (
        select(Invoice.client_id, Invoice.due_date, settled_on.label("settled_on"), rank)
        .join(paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        .join(Client, Client.id == Invoice.client_id)
        .where(
            Invoice.issue_date <= as_of,
            or_(Invoice.voided_on.is_(None), Invoice.voided_on > as_of),
            Invoice.total_minor - paid.c.minor - func.coalesce(credited.c.minor, 0) <= 0,
            ~written.exists(),
        )
    )
    ranked = scope_clients(settled, user).subquery("ranked")
    rows = session.execute(
        select(ranked.c.client_id, ranked.c.due_date, ranked.c.settled_on)
        .where(ranked.c.rank <= HISTORY)
        .order_by(ranked.c.client_id, ranked.c.rank)
    )
    out: dict[int, list[int]] = defaultdict(list)
    for client_id, due, settled_day in rows:
        out[client_id].append((settled_day - due).days)
    return out


def client_delays(session: Session, user: User, as_of: date) -> dict[int, int]:
    """Each client's delay in days as of a date (clients with no paid history are absent: 0)."""
    return {client_id: median_delay(days) for client_id, days in paid_delays(session, user, as_of).items()}


def open_receivables(session: Session, user: User, as_of: date) -> Iterator[Receivable]:
    """Open balances as of a date, summed per client, currency, due date and (current) hold."""
    inv = open_invoices(as_of)
    # Holds keep no history: an invoice on hold now is held, whatever the date.
    held = case((Invoice.hold_kind.is_not(None), True), else_=False).label("held")
    stmt: Any = (
        select(inv.c.client_id, inv.c.currency, inv.c.due_date, held, func.sum(inv.c.open_minor))
        .join(Invoice, Invoice.id == inv.c.invoice_id)
        .join(Client, Client.id == inv.c.client_id)
        .where(inv.c.open_minor > 0)
    )
    stmt = scope_clients(stmt, user).group_by(inv.c.client_id, inv.c.currency, inv.c.due_date, held)
    for client_id, currency, due, is_held, minor in session.execute(stmt):
        yield Receivable(client_id, currency, due, money.from_minor(int(minor), currency), bool(is_held))


def scheduled_receivables(session: Session, user: User, as_of: date, through: date) -> Iterator[Receivable]:
    """Invoices the billing run will issue for periods starting on or before ``through``.

    A contract's periods after the latest one invoiced as of ``as_of`` (all of them when none
    was), priced and dated by the pure schedule: due ``payment_terms_days`` after the period
    starts. Only existing terms count: a renewal not yet decided forecasts nothing.
    """
    invoiced = (
        select(Invoice.contract_id, func.max(Invoice.period_start).label("latest"))
        .where(Invoice.issue_date <= as_of)
        .group_by(Invoice.contract_id)
        .subquery("invoiced")
    )
    last_day = case(
        (and_(Contract.status == "terminated", Contract.terminated_on < Contract.end_date), Contract.terminated_on),
        else_=Contract.end_date,
    )
    billable = and_(
        Contract.status.in_(BILLED_STATUSES),
        Contract.start_date <= through,
        or_(invoiced.c.latest.is_(None), invoiced.c.latest < last_day),
    )
    after_id = 0
    while True:
        ids: Any = (
            select(Contract.id)
            .join(Client, Client.id == Contract.client_id)
            .outerjoin(invoiced, invoiced.c.contract_id == Contract.id)
            .where(billable, Contract.id > after_id)
        )
        chunk_ids = scope_clients(ids, user).order_by(Contract.id).limit(CHUNK).scalar_subquery()
        rows = session.execute(
            select(
                *TERMS_COLUMNS,
                invoiced.c.latest,
                ContractLine.description,
                ContractLine.quantity,
                ContractLine.monthly_unit_price_minor,
            )
            .join(ContractLine, ContractLine.contract_id == Contract.id)
            .outerjoin(invoiced, invoiced.c.contract_id == Contract.id)
            .where(Contract.id.in_(chunk_ids))
            .order_by(Contract.id, ContractLine.position)
        ).all()
        if not rows:
            return
        by_contract: dict[int, list[Any]] = defaultdict(list)
        for r in rows:
            by_contract[r.id].append(r)
        for contract_rows in by_contract.values():
            yield from _periods_due(contract_rows, through)
        after_id = rows[-1].id


def _periods_due(rows: list[Any], through: date) -> Iterator[Receivable]:
    head = rows[0]
    cur = head.currency
    lines = [(r.description, r.quantity, money.from_minor(r.monthly_unit_price_minor, cur)) for r in rows]
    stop = head.terminated_on if head.status == "terminated" else None
    terms = timedelta(days=head.payment_terms_days)
    first = 0
    if head.latest is not None:
        # Period k starts k × cycle months after the start: begin with the one after the latest invoiced.
        months = (head.latest.year - head.start_date.year) * 12 + head.latest.month - head.start_date.month
        first = max(0, months // cycle_months(head.billing_cycle) + 1)
    for period in billing_periods(head.start_date, head.end_date, head.billing_cycle, stop, first_index=first):
        if period.start > through:
            break
        if head.latest is not None and period.start <= head.latest:
            continue
        total = period_amounts(lines, period, cur, head.tax_rate).total
        if total > 0:
            yield Receivable(head.client_id, cur, period.start + terms, total)
