"""The billing run: issue every invoice whose period starts on or before a date, set-based.

A run is cut into slices of contracts in id order (`CHUNK` contracts each). A slice reads its
contracts and their lines in two narrow queries and the periods they already invoiced in one more,
prices the missing periods in integer minor units (`schedule_minor`, held to the Decimal
`schedule` by a property test), and bulk-inserts the invoices and their lines (`db.bulk`: COPY
on PostgreSQL, one executemany on SQLite) with ids reserved up front, so each invoice is numbered
as it is written and nothing is read back.

Idempotence: a slice first takes the billing lock (a transaction-scoped advisory lock on
PostgreSQL; SQLite's one write lock is already held), then reads what is invoiced; so two runs
at once, or the same run twice, issue each period exactly once, and the unique key
(contract_id, period_start) stays as the database's last word.

`run_billing` runs every slice in the caller's transaction (tests, the demo, a dry run's
rehearsal). `run_billing_in_slices` commits each slice in its own unit of work, so a long run
never holds the write lock for more than a slice, and a run that dies half-way leaves whole
slices behind that the next run completes (it issues only what is missing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import BigInteger, Table, bindparam, func, select, text, type_coerce, update
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.bulk import insert_rows, reserve_ids
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
from renewals.db.uow import unit_of_work
from renewals.domain import money
from renewals.domain.access.rules import WRITE_RECEIVABLES, require_role
from renewals.domain.audit import record
from renewals.domain.receivables import schedule_minor
from renewals.domain.receivables.allocation import OpenItem, allocate_oldest_first
from renewals.domain.receivables.ledger import Figures, invoice_number, status_for
from renewals.domain.receivables.schedule import cycle_months
from renewals.domain.receivables.schemas import BillingSummary

BILLED_STATUSES = ("active", "terminated", "expired", "renewed")
CHUNK = 2000
# Any fixed 64-bit key: PostgreSQL's advisory lock that orders billing slices.
BILLING_LOCK = 0x62696C6C696E67
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
# The same, with the tax rate as stored (percent × 10^4) for the integer schedule.
_STORED_TERMS = tuple(type_coerce(c, BigInteger) if c is Contract.tax_rate else c for c in TERMS_COLUMNS)
# The invoice columns a billing run writes; the rest take their defaults (paid 0, version 1, …).
_INVOICE_COLUMNS = (
    "id",
    "number",
    "client_id",
    "contract_id",
    "billing_run_id",
    "period_start",
    "period_end",
    "issue_date",
    "due_date",
    "currency",
    "net_minor",
    "tax_minor",
    "total_minor",
    "balance_minor",
    "status",
)
_LINE_COLUMNS = (
    "invoice_id",
    "position",
    "description",
    "quantity",
    "monthly_unit_price_minor",
    "months",
    "amount_minor",
)
# (invoice id, client id, currency, issue date, total minor) of an invoice a run issued.
Issued = tuple[int, int, str, date, int]
_Missing = tuple["_Terms", date, date, "_Priced"]  # a contract's period (start, end) and its price


@dataclass(slots=True)
class _Terms:
    id: int
    client_id: int
    start: date
    end: date
    step: int
    currency: str
    tax4: int
    terms: timedelta
    """payment terms: from issue to due date"""
    stop: date | None
    lines: list[tuple[str, int, int]]
    """(description, quantity × 10^4, monthly unit price in minor units)"""


class Slice(NamedTuple):
    """What one slice of a run did: its contracts' id range and counts."""

    first_id: int
    last_id: int
    contracts_scanned: int
    invoices_issued: int
    credit_applied: int


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _load_chunk(session: Session, after_id: int, through: date, size: int) -> list[_Terms]:
    """Two queries: the next ``size`` billable contracts after ``after_id``, then their lines.

    A contract without lines comes back with none (it has nothing to bill) but still moves the
    chunk forward. Quantities and tax rates come as stored (scaled integers), prices in minor units.
    """
    conn = session.connection()  # Core rows: nothing to track, typed by the unpacking below
    contracts: Iterable[Any] = conn.execute(
        select(*_STORED_TERMS)
        .where(Contract.id > after_id, Contract.status.in_(BILLED_STATUSES), Contract.start_date <= through)
        .order_by(Contract.id)
        .limit(size)
    ).all()
    chunk: dict[int, _Terms] = {}
    for cid, client_id, start, end, cycle, currency, tax4, days, status, terminated_on in contracts:
        stop = terminated_on if status == "terminated" else None
        due = timedelta(days=days)
        chunk[cid] = _Terms(cid, client_id, start, end, cycle_months(cycle), currency, tax4, due, stop, [])
    if not chunk:
        return []
    lines: Iterable[Any] = conn.execute(
        select(
            ContractLine.contract_id,
            ContractLine.description,
            type_coerce(ContractLine.quantity, BigInteger),
            ContractLine.monthly_unit_price_minor,
        )
        .where(ContractLine.contract_id.between(min(chunk), max(chunk)))
        .order_by(ContractLine.contract_id, ContractLine.position)
    ).all()
    for cid, desc, q4, unit in lines:
        terms = chunk.get(cid)
        if terms is not None:  # not a contract in between that is not billed (a draft, say)
            terms.lines.append((desc, q4, unit))
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
        if t.id in counts and schedule_minor.add_months(t.start, (counts[t.id][0] - 1) * t.step) != counts[t.id][1]
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


# A new invoice's status: open when it asks for money, paid when its total is nothing.
_FRESH_STATUS = {True: status_for(Figures(1)), False: status_for(Figures(0))}


class _Priced(NamedTuple):
    """One period's figures of one contract: its total, the invoice's columns from `currency`
    to `status`, and its line rows but for the invoice id."""

    total: int
    figures: tuple[Any, ...]
    lines: tuple[tuple[Any, ...], ...]


def _price(terms: _Terms, step: int, billed_days: int, full_days: int) -> _Priced:
    price = schedule_minor.price([(q4, unit) for _, q4, unit in terms.lines], step, billed_days, full_days, terms.tax4)
    months6 = price.months6
    lines = tuple(
        [
            (position, desc, q4, unit, months6, amount)
            for position, ((desc, q4, unit), amount) in enumerate(zip(terms.lines, price.line_amounts, strict=True))
        ]
    )
    total = price.total
    status = _FRESH_STATUS[total > 0]
    return _Priced(total, (terms.currency, price.net, price.tax, total, total, status), lines)


def _missing(chunk: Sequence[_Terms], through: date, invoiced: _Invoiced) -> list[_Missing]:
    """Every period of the chunk's contracts due through ``through`` and not invoiced, priced."""
    counts, exact = invoiced.counts, invoiced.exact
    periods = schedule_minor.periods
    missing: list[_Missing] = []
    add = missing.append
    for terms in chunk:
        if not terms.lines:
            continue
        done = counts[terms.id][0] if terms.id in counts else 0
        step = terms.step
        whole: _Priced | None = None  # whole periods of one contract cost the same: priced once
        for start, end, billed, full in periods(terms.start, terms.end, step, terms.stop, through, done):
            if exact and (terms.id, start) in exact:
                continue
            if billed != full:
                add((terms, start, end, _price(terms, step, billed, full)))
            else:
                if whole is None:
                    whole = _price(terms, step, 1, 1)
                add((terms, start, end, whole))
    return missing


def _issue(session: Session, missing: Sequence[_Missing], run_id: int, with_credit: set[int]) -> list[Issued]:
    """Write the missing invoices, numbered, and their lines; return those of the clients in
    ``with_credit`` (the ones unapplied credit may pay)."""
    ids = reserve_ids(session, _table(Invoice), len(missing))
    invoices: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    issued: list[Issued] = []
    add_invoice, add_line = invoices.append, lines.append
    for invoice_id, (terms, start, end, price) in zip(ids, missing, strict=True):
        issue = start.isoformat()
        add_invoice(
            (
                invoice_id,
                invoice_number("INV", start.year, invoice_id),
                terms.client_id,
                terms.id,
                run_id,
                issue,
                end.isoformat(),
                issue,
                (start + terms.terms).isoformat(),
                *price.figures,
            )
        )
        key = (invoice_id,)
        for line in price.lines:
            add_line(key + line)
        if terms.client_id in with_credit:
            issued.append((invoice_id, terms.client_id, terms.currency, start, price.total))
    insert_rows(session, _table(Invoice), _INVOICE_COLUMNS, invoices)
    insert_rows(session, _table(InvoiceLine), _LINE_COLUMNS, lines)
    return issued


def _clients_with_credit(session: Session, low: int, high: int) -> set[int]:
    """The clients of the contracts from ``low`` to ``high`` that have unapplied credit."""
    return set(
        session.execute(
            select(Payment.client_id)
            .where(
                Payment.client_id.in_(select(Contract.client_id).where(Contract.id.between(low, high))),
                Payment.unapplied_minor > 0,
                Payment.reversed.is_(False),
            )
            .distinct()
        ).scalars()
    )


def apply_unapplied_credit(session: Session, issued: Sequence[Issued], low: int, high: int) -> int:
    """Pay freshly issued invoices from their clients' unapplied credit, oldest credit first.

    ``issued`` holds ``(invoice id, client id, currency, issue date, total minor)`` of invoices no
    other transaction has touched yet, of contracts with ids from ``low`` to ``high``. The
    payments are locked (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock already), so two
    runs never spend the same credit twice. Each allocation takes effect on the later of the
    invoice's issue date and the payment's received date. Return the number of allocations made.
    """
    if not issued:
        return 0
    # The clients of the contracts billed (a subquery: no list of ids bound).
    clients = select(Contract.client_id).where(Contract.id.between(low, high))
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


def _take_billing_lock(session: Session) -> None:
    """Order billing slices: a concurrent run waits here, then sees what this one issued."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BILLING_LOCK})


def start_run(session: Session, through: date, actor: User | None) -> int:
    """Record a billing run through ``through`` and return its id. Raise Forbidden when the actor
    is neither finance, a manager nor an admin."""
    if actor is not None:
        require_role(actor, WRITE_RECEIVABLES, "running the billing")
    run = BillingRun(
        through=through,
        actor_id=actor.id if actor is not None else None,
        contracts_scanned=0,
        invoices_issued=0,
        credit_applied=0,
    )
    session.add(run)
    session.flush()
    return run.id


def bill_slice(session: Session, run_id: int, through: date, after_id: int, size: int = CHUNK) -> Slice | None:
    """Bill the next ``size`` billable contracts after id ``after_id`` for run ``run_id``: issue
    their missing invoices through ``through``, pay them from unapplied credit, and add the counts
    to the run's row. Return what the slice did, or None when no contract is left."""
    _take_billing_lock(session)
    chunk = _load_chunk(session, after_id, through, size)
    if not chunk:
        return None
    missing = _missing(chunk, through, _invoiced(session, chunk))
    low, high = chunk[0].id, chunk[-1].id
    credit = 0
    if missing:
        issued = _issue(session, missing, run_id, _clients_with_credit(session, low, high))
        credit = apply_unapplied_credit(session, issued, low, high)
    runs = _table(BillingRun)
    session.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            contracts_scanned=runs.c.contracts_scanned + len(chunk),
            invoices_issued=runs.c.invoices_issued + len(missing),
            credit_applied=runs.c.credit_applied + credit,
        )
    )
    return Slice(low, high, len(chunk), len(missing), credit)


def finish_run(session: Session, run_id: int, actor: User | None) -> BillingSummary:
    """Audit a billing run once with what its slices issued, and return its summary."""
    run = session.get_one(BillingRun, run_id, populate_existing=True)
    summary = BillingSummary(
        run_id=run.id,
        through=run.through,
        contracts_scanned=run.contracts_scanned,
        invoices_issued=run.invoices_issued,
        credit_applied=run.credit_applied,
    )
    record(
        session,
        actor,
        "run",
        "billing_run",
        run.id,
        None,
        {
            "through": run.through,
            "contracts_scanned": run.contracts_scanned,
            "invoices_issued": run.invoices_issued,
            "credit_allocations": run.credit_applied,
        },
    )
    session.flush()
    return summary


def run_billing(session: Session, through: date, actor: User | None, *, chunk_size: int = CHUNK) -> BillingSummary:
    """Issue every missing invoice whose period starts on or before ``through`` in the caller's
    transaction; audit the run once.

    Active contracts are billed up to their end date, terminated ones up to the termination's
    effective date, expired and renewed ones for their past periods. Safe to run twice or
    concurrently. Raise Forbidden when the actor is neither finance, a manager nor an admin.
    """
    run_id = start_run(session, through, actor)
    after_id = 0
    while (done := bill_slice(session, run_id, through, after_id, chunk_size)) is not None:
        after_id = done.last_id
    return finish_run(session, run_id, actor)


def run_billing_in_slices(
    sessions: sessionmaker[Session],
    through: date,
    actor_id: int | None,
    *,
    chunk_size: int = CHUNK,
    in_slice: Callable[[Session, Slice], None] | None = None,
    between: Callable[[Slice], None] | None = None,
    at_end: Callable[[Session, BillingSummary], None] | None = None,
) -> BillingSummary:
    """`run_billing` in bounded transactions: the run's record, each slice of ``chunk_size``
    contracts, and the audit each commit in a unit of work of their own.

    ``in_slice`` runs inside each slice's transaction (a job records its progress there),
    ``between`` after each slice commits, ``at_end`` inside the audit's transaction. An error
    rolls back only the slice in flight: what earlier slices issued stays, consistent, and the
    next run issues the rest. Raise Forbidden when the actor is neither finance, a manager nor
    an admin.
    """
    with unit_of_work(sessions) as session:
        actor = session.get(User, actor_id) if actor_id is not None else None
        run_id = start_run(session, through, actor)
    after_id = 0
    while True:
        with unit_of_work(sessions) as session:
            done = bill_slice(session, run_id, through, after_id, chunk_size)
            if done is not None and in_slice is not None:
                in_slice(session, done)
        if done is None:
            break
        after_id = done.last_id
        if between is not None:
            between(done)
    with unit_of_work(sessions) as session:
        actor = session.get(User, actor_id) if actor_id is not None else None
        summary = finish_run(session, run_id, actor)
        if at_end is not None:
            at_end(session, summary)
    return summary
