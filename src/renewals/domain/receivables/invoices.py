"""Invoice services: read and list, credit notes, write-offs, holds — each change audited once."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from renewals.db.models import Allocation, Client, CreditNote, Invoice, User, WriteOff
from renewals.db.models.receivables import INVOICE_STATUSES
from renewals.domain import money
from renewals.domain.access.rules import (
    MANAGERS,
    WRITE_RECEIVABLES,
    require_role,
    scope_clients,
)
from renewals.domain.access.visible import load_visible
from renewals.domain.alerts.instant import resolve_for_invoice
from renewals.domain.audit import record
from renewals.domain.pagination import paginate
from renewals.domain.receivables.ledger import OPEN_STATUSES, Figures, invoice_number, status_for
from renewals.domain.receivables.queries import overdue
from renewals.domain.receivables.schemas import (
    CreditNoteIn,
    CreditNoteOut,
    HoldIn,
    HoldOut,
    InvoiceAllocationOut,
    InvoiceDetail,
    InvoiceLineOut,
    InvoiceOut,
    ReleaseIn,
    WriteOffIn,
    WriteOffOut,
)
from renewals.domain.renewals import risk
from renewals.errors import Conflict, ValidationFailed

# Who may put an invoice on hold: receivables writers, and the account manager who owns the
# client (disputes and promises usually reach them first).
HOLDERS = WRITE_RECEIVABLES | {"account_manager"}


def _amounts(invoice: Invoice) -> dict[str, Any]:
    cur = invoice.currency
    return {
        "net": money.from_minor(invoice.net_minor, cur),
        "tax": money.from_minor(invoice.tax_minor, cur),
        "total": money.from_minor(invoice.total_minor, cur),
        "paid": money.from_minor(invoice.paid_minor, cur),
        "credited": money.from_minor(invoice.credited_minor, cur),
        "balance": money.from_minor(invoice.balance_minor, cur),
        "written_off": money.from_minor(invoice.written_off_minor, cur),
    }


def _hold(invoice: Invoice) -> HoldOut | None:
    if invoice.hold_kind is None:
        return None
    return HoldOut(kind=invoice.hold_kind, until=invoice.hold_until, reason=invoice.hold_reason, since=invoice.held_on)


def invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=invoice.id,
        number=invoice.number,
        client_id=invoice.client_id,
        contract_id=invoice.contract_id,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        status=invoice.status,
        dunning_level=invoice.dunning_level,
        hold=_hold(invoice),
        version=invoice.version,
        **_amounts(invoice),
    )


def invoice_detail(session: Session, invoice: Invoice) -> InvoiceDetail:
    """The invoice with its lines, credit notes, allocations and write-offs (three small queries)."""
    cur = invoice.currency
    base = msgspec.structs.asdict(invoice_out(invoice))
    credits = session.scalars(
        select(CreditNote).where(CreditNote.invoice_id == invoice.id).order_by(CreditNote.issued_on, CreditNote.id)
    )
    allocations = session.scalars(
        select(Allocation).where(Allocation.invoice_id == invoice.id).order_by(Allocation.applied_on, Allocation.id)
    )
    write_offs = session.scalars(select(WriteOff).where(WriteOff.invoice_id == invoice.id).order_by(WriteOff.id))
    return InvoiceDetail(
        **base,
        lines=[
            InvoiceLineOut(
                description=ln.description,
                quantity=ln.quantity,
                monthly_unit_price=money.from_minor(ln.monthly_unit_price_minor, cur),
                months=ln.months,
                amount=money.from_minor(ln.amount_minor, cur),
            )
            for ln in invoice.lines
        ],
        credit_notes=[credit_note_out(c) for c in credits],
        allocations=[
            InvoiceAllocationOut(
                payment_id=a.payment_id,
                amount=money.from_minor(a.amount_minor, cur),
                applied_on=a.applied_on,
                reversed_on=a.reversed_on,
            )
            for a in allocations
        ],
        write_offs=[
            WriteOffOut(
                id=w.id,
                invoice_id=w.invoice_id,
                amount=money.from_minor(w.amount_minor, w.currency),
                currency=w.currency,
                written_off_on=w.written_off_on,
                reason=w.reason,
                approved_by=w.approved_by,
            )
            for w in write_offs
        ],
    )


def credit_note_out(note: CreditNote) -> CreditNoteOut:
    return CreditNoteOut(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        amount=money.from_minor(note.amount_minor, note.currency),
        currency=note.currency,
        issued_on=note.issued_on,
        reason=note.reason,
        client_id=note.client_id,
        created_by=note.created_by,
    )


def snapshot(invoice: Invoice) -> dict[str, Any]:
    out = msgspec.structs.asdict(invoice_out(invoice))
    out["hold"] = msgspec.structs.asdict(out["hold"]) if out["hold"] is not None else None
    return out


def refresh(invoice: Invoice) -> None:
    """Recompute the balance and status from the invoice's stored figures."""
    figures = Figures(invoice.total_minor, invoice.paid_minor, invoice.credited_minor, invoice.written_off_minor)
    invoice.balance_minor = figures.balance
    invoice.status = status_for(figures, voided=invoice.voided_on is not None)


def get_visible_invoice(session: Session, user: User, invoice_id: int, *, for_update: bool = False) -> Invoice:
    """Load an invoice of a client the user may see, with its lines (one query); anything else is NotFound."""
    return load_visible(session, user, Invoice, invoice_id, lines=Invoice.lines, what="invoice", for_update=for_update)


def list_invoices(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    client_id: int | None = None,
    contract_id: int | None = None,
    currency: str | None = None,
    overdue_as_of: date | None = None,
    on_hold: bool | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    unpaid: bool = False,
) -> tuple[list[Invoice], int]:
    """Invoices of clients the user may see, by due date. Raise ValidationFailed on an unknown status.

    `due_from` / `due_to` bound the due date (both inclusive) and `unpaid` keeps open invoices
    with a balance left: together, the invoices of one aging bucket today.
    """
    stmt: Select[tuple[Invoice]] = scope_clients(select(Invoice).join(Client, Client.id == Invoice.client_id), user)
    if status is not None:
        if status not in INVOICE_STATUSES:
            raise ValidationFailed(
                "status", f"unknown status {status!r}; use one of {', '.join(INVOICE_STATUSES)}", source="query"
            )
        stmt = stmt.where(Invoice.status == status)
    if client_id is not None:
        stmt = stmt.where(Invoice.client_id == client_id)
    if contract_id is not None:
        stmt = stmt.where(Invoice.contract_id == contract_id)
    if currency is not None:
        stmt = stmt.where(Invoice.currency == currency)
    if overdue_as_of is not None:
        stmt = stmt.where(overdue(overdue_as_of))
    if on_hold is not None:
        stmt = stmt.where(Invoice.hold_kind.is_not(None) if on_hold else Invoice.hold_kind.is_(None))
    if due_from is not None:
        stmt = stmt.where(Invoice.due_date >= due_from)
    if due_to is not None:
        stmt = stmt.where(Invoice.due_date <= due_to)
    if unpaid:
        stmt = stmt.where(Invoice.balance_minor > 0, Invoice.status.in_(OPEN_STATUSES))
    return paginate(session, stmt.order_by(Invoice.due_date, Invoice.id), limit, offset)


def _effective(day: date | None, today: date, invoice: Invoice, field: str) -> date:
    effective = day or today
    if effective < invoice.issue_date:
        raise ValidationFailed(field, f"must not be before the invoice's issue date {invoice.issue_date}")
    if effective > today:
        raise ValidationFailed(field, f"must not be after today ({today})")
    return effective


def issue_credit_note(session: Session, actor: User, invoice_id: int, data: CreditNoteIn, today: date) -> CreditNote:
    """Credit part or all of an invoice's balance.

    Raise Forbidden (not finance, manager or admin), NotFound, ValidationFailed (amount not
    positive or above the balance, date before the issue date).
    """
    invoice = get_visible_invoice(session, actor, invoice_id, for_update=True)  # 404 before 403
    require_role(actor, WRITE_RECEIVABLES, "issuing a credit note")
    cur = invoice.currency
    amount = money.to_minor(money.parse_amount(data.amount, cur, "amount"), cur)
    if amount <= 0:
        raise ValidationFailed("amount", "must be positive")
    if invoice.status not in OPEN_STATUSES or amount > invoice.balance_minor:
        balance = money.from_minor(invoice.balance_minor, cur)
        raise ValidationFailed("amount", f"exceeds the invoice's balance of {balance} {cur}")
    issued_on = _effective(data.issued_on, today, invoice, "issued_on")
    before = snapshot(invoice)
    note = CreditNote(
        invoice_id=invoice.id,
        client_id=invoice.client_id,
        currency=cur,
        amount_minor=amount,
        issued_on=issued_on,
        reason=data.reason.strip(),
        created_by=actor.id,
    )
    session.add(note)
    session.flush()
    note.number = invoice_number("CN", issued_on.year, note.id)
    invoice.credited_minor += amount
    refresh(invoice)
    session.flush()
    after = snapshot(invoice) | {"credit_note": msgspec.structs.asdict(credit_note_out(note))}
    record(session, actor, "credit_note", "invoice", invoice.id, before, after)
    resolve_for_invoice(session, invoice.id, today)
    risk.refresh_client(session, invoice.client_id, today)
    return note


def write_off(session: Session, actor: User, invoice_id: int, data: WriteOffIn, today: date) -> Invoice:
    """Close an invoice's balance as bad debt: `amount` of it, or the whole balance when absent.

    A partial write-off leaves the rest open (chased, aged, on hold if it was); closing the whole
    balance lifts any hold. Raise Forbidden (not a manager or admin), NotFound, Conflict (nothing
    left to write off), ValidationFailed (amount not positive or above the balance, date before
    the issue date).
    """
    invoice = get_visible_invoice(session, actor, invoice_id, for_update=True)  # 404 before 403
    require_role(actor, MANAGERS, "writing off an invoice")
    if invoice.status not in OPEN_STATUSES or invoice.balance_minor <= 0:
        raise Conflict(f"invoice {invoice.number} has no open balance to write off", extra={"status": invoice.status})
    written_off_on = _effective(data.written_off_on, today, invoice, "written_off_on")
    amount = invoice.balance_minor
    if data.amount is not None:
        cur = invoice.currency
        amount = money.to_minor(money.parse_amount(data.amount, cur, "amount"), cur)
        if not 0 < amount <= invoice.balance_minor:
            balance = money.from_minor(invoice.balance_minor, cur)
            raise ValidationFailed("amount", f"must be positive and at most the balance of {balance} {cur}")
    before = snapshot(invoice)
    session.add(
        WriteOff(
            invoice_id=invoice.id,
            client_id=invoice.client_id,
            currency=invoice.currency,
            amount_minor=amount,
            written_off_on=written_off_on,
            reason=data.reason.strip(),
            approved_by=actor.id,
        )
    )
    invoice.written_off_minor += amount
    refresh(invoice)
    if invoice.balance_minor == 0:
        # Nothing is chased any more, so a hold has nothing left to hold.
        invoice.hold_kind = invoice.hold_until = invoice.hold_reason = invoice.held_on = None
    session.flush()
    record(
        session,
        actor,
        "write_off",
        "invoice",
        invoice.id,
        before,
        snapshot(invoice) | {"written_off_on": written_off_on, "reason": data.reason.strip()},
    )
    resolve_for_invoice(session, invoice.id, today)
    risk.refresh_client(session, invoice.client_id, today)
    return invoice


def hold(session: Session, actor: User, invoice_id: int, data: HoldIn, today: date) -> Invoice:
    """Put an open invoice on hold: disputed, or promised to be paid by a date.

    A new hold replaces the current one. Raise Forbidden, NotFound, Conflict (nothing open to
    hold), ValidationFailed (a promise without a date or with a past one, a dispute with a date).
    """
    require_role(actor, HOLDERS, "putting an invoice on hold")
    invoice = get_visible_invoice(session, actor, invoice_id, for_update=True)
    if invoice.status not in OPEN_STATUSES:
        raise Conflict(f"a {invoice.status} invoice cannot be put on hold", extra={"status": invoice.status})
    if data.kind == "promise":
        if data.until is None:
            raise ValidationFailed("until", "a promise to pay needs the date it was promised for")
        if data.until < today:
            raise ValidationFailed("until", f"the promised date must not be in the past (today is {today})")
    elif data.until is not None:
        raise ValidationFailed("until", "only a promise to pay has a date; a dispute lasts until released")
    before = snapshot(invoice)
    invoice.hold_kind, invoice.hold_until = data.kind, data.until
    invoice.hold_reason, invoice.held_on = data.reason.strip(), today
    session.flush()
    record(session, actor, "hold", "invoice", invoice.id, before, snapshot(invoice))
    return invoice


def release(session: Session, actor: User, invoice_id: int, data: ReleaseIn) -> Invoice:
    """Lift an invoice's hold. Raise Forbidden, NotFound, Conflict (not on hold)."""
    require_role(actor, HOLDERS, "releasing an invoice's hold")
    invoice = get_visible_invoice(session, actor, invoice_id, for_update=True)
    if invoice.hold_kind is None:
        raise Conflict(f"invoice {invoice.number} is not on hold", extra={"hold": None})
    before = snapshot(invoice)
    invoice.hold_kind = invoice.hold_until = invoice.hold_reason = invoice.held_on = None
    session.flush()
    after = snapshot(invoice) | ({"reason": data.reason.strip()} if data.reason else {})
    record(session, actor, "release", "invoice", invoice.id, before, after)
    return invoice
