"""Build each notice kind's context from the database: every query is done here, and what comes
out is plain values matching the TypedDicts in `context` (the renderer never sees a session).

The sender's details (letterhead, the accounts-receivable contact, the aging buckets) come from
settings through `Sender`; the dates come from the notice's params, never from the clock, so
building the same notice twice over the same data gives the same context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Client, Contact, Contract, User
from renewals.domain import money
from renewals.domain.alerts.rules import opt_out_deadline
from renewals.domain.notices import rules
from renewals.domain.notices.context import (
    Contact as ContactCtx,
)
from renewals.domain.notices.context import (
    DunningLevel,
    EntryKind,
    Letterhead,
    NoticeContext,
    OverdueInvoice,
    PaymentReminderContext,
    Recipient,
    RenewalLine,
    RenewalNoticeContext,
    StatementAccount,
    StatementContext,
    StatementEntry,
)
from renewals.domain.receivables import reports
from renewals.domain.receivables.aging import DEFAULT_BOUNDS
from renewals.domain.receivables.queries import overdue_by_client
from renewals.domain.renewals import rules as renewal_rules
from renewals.errors import Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:  # the values only, read by the edges; building never reads the environment
    from renewals.settings import Settings

# Only an active contract is offered a renewal; a draft has not started, the others are over.
RENEWABLE_STATUSES = ("active",)


@dataclass(frozen=True)
class Sender:
    """Who the notices come from (settings), passed in so that building stays free of settings."""

    letterhead: Letterhead
    receivables_contact: ContactCtx
    aging_bounds: tuple[int, ...] = DEFAULT_BOUNDS

    @classmethod
    def from_settings(cls, settings: Settings) -> Sender:
        """The letterhead and receivables contact configured for this installation."""
        letterhead: Letterhead = {
            "company_name": settings.company_name,
            "address_lines": list(settings.company_address),
            "contact_lines": list(settings.company_contact),
            "logo_path": str(settings.logo_path) if settings.logo_path else None,
            "payment_instructions": list(settings.payment_instructions),
        }
        return cls(
            letterhead=letterhead,
            receivables_contact={"name": settings.ar_name, "email": settings.ar_email, "phone": settings.ar_phone},
            aging_bounds=settings.aging_buckets,
        )


def _recipient(session: Session, client: Client, *, signatory: bool) -> Recipient:
    """The client as the letter is addressed, for the attention of its first signatory (renewal
    notices) or first billing contact (reminders, statements), if it has one."""
    flag = Contact.is_signatory if signatory else Contact.is_billing
    attention = session.scalar(
        select(Contact.name).where(Contact.client_id == client.id, flag.is_(True)).order_by(Contact.id).limit(1)
    )
    return {"name": client.legal_name, "attention": attention, "address_lines": []}


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client", client_id)
    return client


def renewal_notice(session: Session, contract_id: int, issue_date: date, sender: Sender) -> RenewalNoticeContext:
    """Build a renewal notice: the current term, the proposed term with the contract's renewal
    term and uplift applied to every line, the opt-out deadline (auto-renewing contracts) and the
    account manager's contact.

    Raises NotFound for an unknown contract, Conflict for a contract that is not active, and
    ValidationFailed when the contract's renewal terms are invalid (no lines, uplift out of range).
    """
    contract = session.get(Contract, contract_id, options=[selectinload(Contract.lines)])
    if contract is None:
        raise NotFound("contract", contract_id)
    if contract.status not in RENEWABLE_STATUSES:
        raise Conflict(
            f"contract {contract.number} is {contract.status}; only an active contract gets a renewal notice",
            extra={"contract_id": contract.id, "status": contract.status},
        )
    client = _client(session, contract.client_id)
    owner = session.get_one(User, client.owner_id)
    currency = contract.currency
    current = [
        renewal_rules.TermLine(
            line.description, line.quantity, money.from_minor(line.monthly_unit_price_minor, currency)
        )
        for line in contract.lines
    ]
    terms = renewal_rules.renewal_terms(
        contract.end_date, contract.renewal_term_months, contract.renewal_uplift_pct, current, currency=currency
    )
    lines: list[RenewalLine] = [
        {
            "description": old.description,
            "quantity": old.quantity,
            "current_unit_price": old.monthly_unit_price,
            "new_unit_price": new.monthly_unit_price,
        }
        for old, new in zip(current, terms.lines, strict=True)
    ]
    opt_out = opt_out_deadline(contract.end_date, contract.notice_period_days) if contract.auto_renew else None
    return {
        "letterhead": sender.letterhead,
        "issue_date": issue_date,
        "reference": rules.renewal_reference(contract.number, issue_date),
        "client": _recipient(session, client, signatory=True),
        "contract": {
            "number": contract.number,
            "title": contract.title,
            "currency": currency,
            "billing_cycle": contract.billing_cycle,  # type: ignore[typeddict-item]  # checked on input
            "start_date": contract.start_date,
            "end_date": contract.end_date,
            "auto_renew": contract.auto_renew,
            "notice_period_days": contract.notice_period_days,
        },
        "proposal": {
            "start_date": terms.start_date,
            "end_date": terms.end_date,
            "term_months": contract.renewal_term_months,
            "uplift_pct": terms.uplift_pct,
            "lines": lines,
        },
        "opt_out_deadline": opt_out,
        "reply_by": rules.reply_by(issue_date, contract.end_date, opt_out),
        "account_manager": {"name": owner.name, "email": owner.email, "phone": None},
    }


def payment_reminder(session: Session, client_id: int, issue_date: date, sender: Sender) -> PaymentReminderContext:
    """Build one payment reminder listing every open overdue invoice of the client on the issue
    date, with days overdue, open balance and dunning level; paid, credited, voided, written-off
    and held invoices are never listed.

    Raises NotFound for an unknown client and Conflict when the client has nothing overdue.
    """
    client = _client(session, client_id)
    overdue = overdue_by_client(session, issue_date, client.id)
    if not overdue:
        raise Conflict(
            f"client {client.name} has no open overdue invoice on {issue_date.isoformat()}: nothing to remind",
            extra={"client_id": client.id, "as_of": issue_date.isoformat()},
        )
    numbers = dict(
        session.execute(
            select(Contract.id, Contract.number).where(Contract.id.in_({i.contract_id for i in overdue}))
        ).all()
    )
    invoices: list[OverdueInvoice] = [
        {
            "number": i.number or f"#{i.invoice_id}",
            "contract_number": numbers.get(i.contract_id),
            "issue_date": i.issue_date,
            "due_date": i.due_date,
            "days_overdue": i.days_overdue,
            "currency": i.currency,
            "amount_due": money.from_minor(i.balance_minor, i.currency),
            "level": _level(i.dunning_level),
        }
        for i in overdue
    ]
    highest = max(invoice["level"] for invoice in invoices)
    return {
        "letterhead": sender.letterhead,
        "issue_date": issue_date,
        "reference": rules.reminder_reference(client.id, issue_date),
        "client": _recipient(session, client, signatory=False),
        "invoices": invoices,
        "pay_by": rules.pay_by(issue_date, highest),
        "contact": sender.receivables_contact,
    }


def _level(level: int) -> DunningLevel:
    # An invoice past its due date is at least level 1; the scale stops at 4.
    clamped = min(max(level, 1), 4)
    out: DunningLevel = clamped  # type: ignore[assignment]
    return out


def statement(
    session: Session,
    user: User,
    client_id: int,
    period_start: date,
    period_end: date,
    issue_date: date,
    sender: Sender,
) -> StatementContext:
    """Build a statement of account for the period from the receivables statement service: per
    currency the opening balance, every dated entry and the aging as of the period end.

    Raises NotFound for a client the user may not see and ValidationFailed when the period ends
    before it starts.
    """
    found = reports.statement(session, user, client_id, period_start, period_end, sender.aging_bounds)
    client = _client(session, found.client_id)
    accounts: list[StatementAccount] = []
    for section in found.currencies:
        entries: list[StatementEntry] = [
            {
                "date": e.date,
                "kind": _entry_kind(e.kind),
                "reference": e.reference,
                "description": e.description,
                "amount": e.amount,
            }
            for e in section.entries
        ]
        accounts.append(
            {
                "currency": section.currency,
                "opening_balance": section.opening_balance,
                "entries": entries,
                "aging": dict(section.aging.buckets),
            }
        )
    return {
        "letterhead": sender.letterhead,
        "issue_date": issue_date,
        "reference": rules.statement_reference(client.id, period_start, period_end),
        "client": _recipient(session, client, signatory=False),
        "period_start": period_start,
        "period_end": period_end,
        "aging_buckets": list(found.buckets),
        "accounts": accounts,
        "contact": sender.receivables_contact,
    }


def _entry_kind(kind: str) -> EntryKind:
    out: EntryKind = kind  # type: ignore[assignment]  # the statement service's kinds are the notice's
    return out


def _day(params: dict[str, Any], key: str) -> date:
    raw = params.get(key)
    if not isinstance(raw, str):
        raise ValidationFailed(key, "is required")
    return date.fromisoformat(raw)


def build(
    session: Session,
    kind: str,
    client_id: int,
    contract_id: int | None,
    params: dict[str, Any],
    sender: Sender,
    user: User | None,
) -> NoticeContext:
    """Build the context of a notice of any kind from its stored params (`as_of`, and `from` /
    `to` for statements). `user` is whoever asked for it (a statement is seen through their eyes).

    Raises what the kind's builder raises, and ValidationFailed for an unknown kind or a renewal
    notice without a contract.
    """
    as_of = _day(params, "as_of")
    if kind == "renewal_notice":
        if contract_id is None:
            raise ValidationFailed("contract_id", "a renewal notice names the contract to renew")
        return renewal_notice(session, contract_id, as_of, sender)
    if kind == "payment_reminder":
        return payment_reminder(session, client_id, as_of, sender)
    if kind == "statement":
        if user is None:
            raise Conflict("a statement is built for the user who asked for it, and this one has none")
        return statement(session, user, client_id, _day(params, "from"), _day(params, "to"), as_of, sender)
    raise ValidationFailed("kind", f"unknown notice kind {kind!r}")
