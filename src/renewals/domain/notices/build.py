"""Build each notice kind's context from the database: every query is done here, and what comes
out is plain values matching the TypedDicts in `context` (the renderer never sees a session).

The sender's details (letterhead, the accounts-receivable contact, the aging buckets) come from
settings through `Sender`; the dates come from the notice's params, never from the clock, so
building the same notice twice over the same data gives the same context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Client, Contact, Contract, Invoice, User
from renewals.db.models.notices import Notice, NoticeDelivery
from renewals.domain import money
from renewals.domain.alerts.rules import dunning_level, opt_out_deadline
from renewals.domain.notices import rules
from renewals.domain.notices.context import (
    LANGUAGES,
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
from renewals.domain.notices.context import (
    Contact as ContactCtx,
)
from renewals.domain.notices.i18n import load_translations
from renewals.domain.receivables import reports
from renewals.domain.receivables.aging import DEFAULT_BOUNDS
from renewals.domain.renewals import rules as renewal_rules
from renewals.errors import Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:  # the values only, read by the edges; building never reads the environment
    from renewals.settings import Settings

# Only an active contract is offered a renewal; a draft has not started, the others are over.
RENEWABLE_STATUSES = ("active",)


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is used."""
    return message


DEFAULT_PAYMENT_INSTRUCTIONS = (N_("Bank transfer to the account shown on your invoice."),)
DEFAULT_AR_NAME = N_("Accounts receivable")


@dataclass(frozen=True)
class Sender:
    """Who the notices come from (settings), per language, passed in so that building stays free
    of settings. A language without its own value uses the installation's; the payment
    instructions default to a translated line. With no accounts-receivable contact configured,
    reminders and statements name the first active finance user, else the client's account
    manager: a real person who answers, never a placeholder address."""

    letterheads: Mapping[str, Letterhead]
    receivables_contacts: Mapping[str, ContactCtx | None]
    aging_bounds: tuple[int, ...] = DEFAULT_BOUNDS
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: Settings) -> Sender:
        """The letterhead and receivables contact configured for this installation, per language."""
        letterheads: dict[str, Letterhead] = {}
        contacts: dict[str, ContactCtx | None] = {}
        for language in LANGUAGES:
            own = settings.notice_texts.get(language, {})
            gettext = load_translations(language).gettext

            def lines(name: str, default: tuple[str, ...], own: dict[str, str] = own) -> list[str]:
                raw = own.get(name)
                return [p.strip() for p in raw.split("|") if p.strip()] if raw else list(default)

            payment = (
                tuple(settings.payment_instructions)
                if settings.payment_instructions is not None
                else tuple(gettext(line) for line in DEFAULT_PAYMENT_INSTRUCTIONS)
            )
            letterheads[language] = {
                "company_name": own.get("company_name", settings.company_name),
                "address_lines": lines("company_address", settings.company_address),
                "contact_lines": lines("company_contact", settings.company_contact),
                "logo_path": str(settings.logo_path) if settings.logo_path else None,
                "payment_instructions": lines("payment_instructions", payment),
            }
            email = own.get("ar_email", settings.ar_email)
            contacts[language] = (
                {
                    "name": own.get("ar_name", settings.ar_name or gettext(DEFAULT_AR_NAME)),
                    "email": email,
                    "phone": own.get("ar_phone", settings.ar_phone),
                }
                if email
                else None
            )
        return cls(letterheads, contacts, settings.aging_buckets, settings.timezone)

    def letterhead(self, language: str) -> Letterhead:
        return self.letterheads.get(language) or self.letterheads["en"]


def _receivables_contact(session: Session, sender: Sender, language: str, client: Client) -> ContactCtx:
    """The configured accounts-receivable contact, else the first active finance user, else the
    client's account manager."""
    configured = sender.receivables_contacts.get(language)
    if configured is not None:
        return configured
    person = session.scalar(
        select(User).where(User.role == "finance", User.active.is_(True)).order_by(User.id).limit(1)
    ) or session.get_one(User, client.owner_id)
    return {"name": person.name, "email": person.email, "phone": None}


def addressee(session: Session, client_id: int, *, signatory: bool) -> Contact | None:
    """The contact a letter is for: the client's first signatory (renewal notices) or first
    billing contact (reminders, statements), if it has one. An answer through the letter's link
    is theirs."""
    flag = Contact.is_signatory if signatory else Contact.is_billing
    return session.scalar(
        select(Contact).where(Contact.client_id == client_id, flag.is_(True)).order_by(Contact.id).limit(1)
    )


def _recipient(session: Session, client: Client, *, signatory: bool) -> Recipient:
    """The client as the letter is addressed, for the attention of its addressee."""
    person = addressee(session, client.id, signatory=signatory)
    return {"name": client.legal_name, "attention": person.name if person else None, "address_lines": []}


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client", client_id)
    return client


def renewal_notice(
    session: Session, contract_id: int, issue_date: date, sender: Sender, language: str = "en"
) -> RenewalNoticeContext:
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
        "letterhead": sender.letterhead(language),
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


def payment_reminder(
    session: Session, client_id: int, issue_date: date, sender: Sender, language: str = "en"
) -> PaymentReminderContext:
    """Build one payment reminder listing every invoice of the client overdue on the issue date,
    with days overdue, the open balance and the dunning level *on that date* (payments, credit
    notes and write-offs dated later do not count), and the dates earlier reminders were actually
    delivered. Paid, voided, written-off and held invoices are never listed.

    Raises NotFound for an unknown client and Conflict when the client has nothing overdue.
    """
    client = _client(session, client_id)
    invoices = [invoice for _id, invoice in reminder_invoices(session, client.id, issue_date)]
    if not invoices:
        raise Conflict(
            f"client {client.name} has no open overdue invoice on {issue_date.isoformat()}: nothing to remind",
            extra={"client_id": client.id, "as_of": issue_date.isoformat()},
        )
    highest = max(invoice["level"] for invoice in invoices)
    return {
        "letterhead": sender.letterhead(language),
        "issue_date": issue_date,
        "reference": rules.reminder_reference(client.id, issue_date),
        "client": _recipient(session, client, signatory=False),
        "invoices": invoices,
        "pay_by": rules.pay_by(issue_date, highest),
        "earlier_reminders": delivered_reminders(session, client.id, issue_date, sender.timezone),
        "contact": _receivables_contact(session, sender, language, client),
    }


def reminder_invoices(session: Session, client_id: int, issue_date: date) -> list[tuple[int, OverdueInvoice]]:
    """The invoices a payment reminder issued on `issue_date` lists, with their ids: every invoice
    of the client overdue then with an open balance then, not on hold then; oldest due first."""
    opened = reports.open_invoices(issue_date, client_id)
    held = and_(
        Invoice.hold_kind.is_not(None),
        or_(Invoice.held_on.is_(None), Invoice.held_on <= issue_date),
        or_(Invoice.hold_kind == "dispute", Invoice.hold_until.is_(None), Invoice.hold_until >= issue_date),
    )
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Contract.number,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.currency,
            opened.c.open_minor,
        )
        .join(opened, opened.c.invoice_id == Invoice.id)
        .outerjoin(Contract, Contract.id == Invoice.contract_id)
        .where(opened.c.open_minor > 0, Invoice.due_date < issue_date, ~held)
        .order_by(Invoice.due_date, Invoice.id)
    )
    return [
        (
            invoice_id,
            {
                "number": number or f"#{invoice_id}",
                "contract_number": contract_number,
                "issue_date": issued,
                "due_date": due,
                "days_overdue": (issue_date - due).days,
                "currency": currency,
                "amount_due": money.from_minor(open_minor, currency),
                "level": _level(dunning_level(due, issue_date)),
            },
        )
        for invoice_id, number, contract_number, issued, due, currency, open_minor in rows
    ]


def delivered_reminders(session: Session, client_id: int, before: date, timezone: str) -> list[date]:
    """The days (in the organisation's time zone) on which a payment reminder to the client was
    delivered, before `before`, oldest first: what a later reminder may call "our reminders"."""
    zone = ZoneInfo(timezone)
    until = datetime.combine(before, time(), tzinfo=zone)
    sent = session.scalars(
        select(NoticeDelivery.sent_at)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(
            Notice.client_id == client_id,
            Notice.kind == "payment_reminder",
            NoticeDelivery.status == "sent",
            NoticeDelivery.sent_at.is_not(None),
            NoticeDelivery.sent_at < until,
        )
    )
    return sorted({at.astimezone(zone).date() for at in sent if at is not None})


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
    language: str = "en",
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
            _entry(e.date, _entry_kind(e.kind), e.reference, e.description, e.amount) for e in section.entries
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
        "letterhead": sender.letterhead(language),
        "issue_date": issue_date,
        "reference": rules.statement_reference(client.id, period_start, period_end),
        "client": _recipient(session, client, signatory=False),
        "period_start": period_start,
        "period_end": period_end,
        "aging_buckets": list(found.buckets),
        "accounts": accounts,
        "contact": _receivables_contact(session, sender, language, client),
    }


def _entry(day: date, kind: EntryKind, reference: str, description: str, amount: Decimal) -> StatementEntry:
    """A statement line for the letter. The receivables statement describes an invoice by its
    period (`YYYY-MM-DD – YYYY-MM-DD`), a payment by its method code and a write-off in English;
    the letter gets them as values, so the renderer prints them in the letter's language."""
    entry: StatementEntry = {
        "date": day,
        "kind": kind,
        "reference": reference,
        "description": description,
        "amount": amount,
        "method": None,
        "period_start": None,
        "period_end": None,
    }
    if kind in ("invoice", "invoice_void"):
        start, _sep, end = description.partition(" – ")
        try:
            entry["period_start"], entry["period_end"] = date.fromisoformat(start), date.fromisoformat(end)
            entry["description"] = ""
        except ValueError:
            pass  # not a period: printed as given
    elif kind in ("payment", "payment_reversal"):
        entry["method"], entry["description"] = description or None, ""
    elif kind == "write_off":
        entry["description"] = ""
    return entry


def _entry_kind(kind: str) -> EntryKind:
    out: EntryKind = kind  # type: ignore[assignment]  # the statement service's kinds are the notice's
    return out


def _day(params: dict[str, Any], key: str) -> date:
    raw = params.get(key)
    if not isinstance(raw, str):
        raise ValidationFailed(key, "is required")
    return date.fromisoformat(raw)


@dataclass(frozen=True)
class BuildRequest:
    """What a notice's context is built from: its stored params, read, and who asked for it (a
    statement is seen through their eyes; a notice the scan asked for has nobody)."""

    client_id: int
    contract_id: int | None
    as_of: date
    period_start: date | None
    period_end: date | None
    sender: Sender
    user: User | None
    language: str

    @classmethod
    def from_params(
        cls,
        client_id: int,
        contract_id: int | None,
        params: dict[str, Any],
        sender: Sender,
        user: User | None,
        language: str,
    ) -> BuildRequest:
        """Read a notice's stored params (`as_of`, and `from` / `to` for a period)."""
        period = "from" in params or "to" in params
        return cls(
            client_id,
            contract_id,
            _day(params, "as_of"),
            _day(params, "from") if period else None,
            _day(params, "to") if period else None,
            sender,
            user,
            language,
        )


# Each kind's builder as the registry (`kinds.REGISTRY`) calls it.


def build_renewal_notice(session: Session, request: BuildRequest) -> NoticeContext:
    if request.contract_id is None:
        raise ValidationFailed("contract_id", "a renewal notice names the contract to renew")
    return renewal_notice(session, request.contract_id, request.as_of, request.sender, request.language)


def build_payment_reminder(session: Session, request: BuildRequest) -> NoticeContext:
    return payment_reminder(session, request.client_id, request.as_of, request.sender, request.language)


def build_statement(session: Session, request: BuildRequest) -> NoticeContext:
    if request.user is None:
        raise Conflict("a statement is built for the user who asked for it, and this one has none")
    if request.period_start is None or request.period_end is None:
        raise ValidationFailed("from", "a statement covers a period")
    return statement(
        session,
        request.user,
        request.client_id,
        request.period_start,
        request.period_end,
        request.as_of,
        request.sender,
        request.language,
    )
