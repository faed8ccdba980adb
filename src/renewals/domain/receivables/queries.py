"""Invoice queries every feature shares: open, overdue, on hold, by client.

One definition of each, as SQL conditions on `Invoice` (for callers that add their own columns
and joins) and as a few small reads. The scan, payments, notices and renewals all ask here, so
"open", "overdue" and "on hold" mean the same thing wherever they are used. The figures are the
current ones kept on each invoice; point-in-time figures live in `reports`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Invoice
from renewals.domain.alerts.rules import dunning_level
from renewals.domain.receivables.ledger import OPEN_STATUSES

# --- conditions ---------------------------------------------------------------------------------


def unpaid() -> ColumnElement[bool]:
    """Open or partly paid, with a balance left: what the client still owes on the invoice."""
    return and_(Invoice.status.in_(OPEN_STATUSES), Invoice.balance_minor > 0)


def overdue(as_of: date) -> ColumnElement[bool]:
    """Unpaid and due before `as_of`."""
    return and_(unpaid(), Invoice.due_date < as_of)


def disputed() -> ColumnElement[bool]:
    """The client disputes the invoice: it is not chased and a payment does not pay it by itself."""
    return Invoice.hold_kind == "dispute"


def not_disputed() -> ColumnElement[bool]:
    return or_(Invoice.hold_kind.is_(None), ~disputed())


def on_hold(as_of: date) -> ColumnElement[bool]:
    """Held on `as_of`: disputed, or promised to be paid by a date not yet passed."""
    promised = and_(Invoice.hold_kind == "promise", or_(Invoice.hold_until.is_(None), Invoice.hold_until >= as_of))
    return or_(disputed(), promised)


def not_on_hold(as_of: date) -> ColumnElement[bool]:
    return or_(Invoice.hold_kind.is_(None), ~on_hold(as_of))


def unheld() -> ColumnElement[bool]:
    """Carrying no hold at all (a broken promise still counts as held until the scan lifts it)."""
    return Invoice.hold_kind.is_(None)


def broken_promise(as_of: date) -> ColumnElement[bool]:
    """Unpaid under a promise to pay whose date passed before `as_of`."""
    return and_(unpaid(), Invoice.hold_kind == "promise", Invoice.hold_until < as_of)


def chased(as_of: date) -> ColumnElement[bool]:
    """Overdue and not on hold on `as_of`: what a payment reminder names."""
    return and_(overdue(as_of), not_on_hold(as_of))


# --- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    """One line of a grouped payment reminder."""

    invoice_id: int
    number: str | None
    contract_id: int
    issue_date: date
    due_date: date
    days_overdue: int
    dunning_level: int
    currency: str
    total_minor: int
    balance_minor: int


def overdue_by_client(session: Session, as_of: date, client_id: int) -> list[OverdueInvoice]:
    """List every invoice of the client that a payment reminder on `as_of` should name, oldest
    due first, with its dunning level on that date.

    Never a paid, credited, voided or written-off invoice, nor one on hold (disputed, or a promise
    to pay whose date has not passed): one reminder lists them all, never one letter per invoice.
    """
    found = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.contract_id,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.currency,
            Invoice.total_minor,
            Invoice.balance_minor,
        )
        .where(Invoice.client_id == client_id, chased(as_of))
        .order_by(Invoice.due_date, Invoice.id)
    )
    return [
        OverdueInvoice(
            invoice_id=i.id,
            number=i.number,
            contract_id=i.contract_id,
            issue_date=i.issue_date,
            due_date=i.due_date,
            days_overdue=(as_of - i.due_date).days,
            dunning_level=dunning_level(i.due_date, as_of),
            currency=i.currency,
            total_minor=i.total_minor,
            balance_minor=i.balance_minor,
        )
        for i in found
    ]


@dataclass(frozen=True, slots=True)
class Balances:
    """A client's unpaid and overdue balances in one currency, in minor units."""

    open_minor: int = 0
    overdue_minor: int = 0


def balances_by_client(
    session: Session, keys: Iterable[tuple[int, str]], as_of: date
) -> tuple[dict[tuple[int, str], Balances], dict[int, int]]:
    """Sum unpaid and overdue balances per (client, currency) and the highest dunning level per
    client, in one grouped query for the whole set. Overdue means due before `as_of`."""
    client_ids = {client_id for client_id, _ in set(keys)}
    if not client_ids:
        return {}, {}
    stmt = (
        select(
            Invoice.client_id,
            Invoice.currency,
            func.sum(Invoice.balance_minor),
            func.sum(case((Invoice.due_date < as_of, Invoice.balance_minor), else_=0)),
            func.max(Invoice.dunning_level),
        )
        .where(Invoice.client_id.in_(client_ids), unpaid())
        .group_by(Invoice.client_id, Invoice.currency)
    )
    balances: dict[tuple[int, str], Balances] = {}
    dunning: dict[int, int] = {}
    for client_id, currency, open_minor, overdue_minor, level in session.execute(stmt):
        balances[(client_id, currency)] = Balances(int(open_minor or 0), int(overdue_minor or 0))
        dunning[client_id] = max(dunning.get(client_id, 0), int(level or 0))
    return balances, dunning


def dunning_level_of(session: Session, client_id: int) -> int:
    """Return the highest dunning level among the client's unpaid invoices (0 when none)."""
    level = session.scalar(select(func.max(Invoice.dunning_level)).where(Invoice.client_id == client_id, unpaid()))
    return int(level or 0)
