"""What each notice kind is rendered from: plain values only, every query already done.

Every key is required (templates run with `StrictUndefined`); optional facts are present
with the value `None`. Money is `Decimal` in the currency's unit (not minor units), dates
are `datetime.date`, quantities and percentages are `Decimal` (`Decimal("6")` is 6 %).
Free text (client names, line descriptions, addresses) is printed as given, escaped.

The renderer derives only sums and maxima from the rows it is given (totals per
currency, the highest dunning level, running balances and closing balances), so the
printed totals always agree with the printed rows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, TypedDict, get_args

Kind = Literal["renewal_notice", "payment_reminder", "statement"]
Language = Literal["en", "zh-Hans", "zh-Hant", "ko"]
BillingCycle = Literal["monthly", "quarterly", "semiannual", "annual"]
DunningLevel = Literal[1, 2, 3, 4]
EntryKind = Literal["invoice", "payment", "credit_note", "payment_reversal", "write_off", "invoice_void"]

# Written once, in the Literals above; each kind's facts are in `kinds.REGISTRY`.
KINDS: tuple[Kind, ...] = get_args(Kind)
LANGUAGES: tuple[Language, ...] = get_args(Language)


class Letterhead(TypedDict):
    """The sender, from settings; printed at the top of page 1 and in every page footer."""

    company_name: str
    address_lines: list[str]
    contact_lines: list[str]
    """Telephone, e-mail, web site, tax number: one printed line each; may be empty."""
    logo_path: str | None
    """A local image file (PNG, JPEG or SVG) the renderer was told to allow, or None."""
    payment_instructions: list[str]
    """Bank name, account, SWIFT, reference to quote: one printed line each."""


class Recipient(TypedDict):
    """The client as the letter is addressed."""

    name: str
    attention: str | None
    """The contact person the letter is for (signatory or billing contact)."""
    address_lines: list[str]


class Contact(TypedDict):
    """Whom the client should call about this notice."""

    name: str
    email: str
    phone: str | None


class RenewalLine(TypedDict):
    description: str
    quantity: Decimal
    current_unit_price: Decimal
    """Monthly unit price in the current term."""
    new_unit_price: Decimal
    """Monthly unit price proposed for the new term, after the uplift."""


class CurrentTerm(TypedDict):
    number: str
    title: str
    currency: str
    billing_cycle: BillingCycle
    start_date: date
    end_date: date
    """Inclusive: the last day of service in the current term."""
    auto_renew: bool
    notice_period_days: int


class ProposedTerm(TypedDict):
    start_date: date
    end_date: date
    term_months: int
    uplift_pct: Decimal
    lines: list[RenewalLine]


class RenewalNoticeContext(TypedDict):
    letterhead: Letterhead
    issue_date: date
    reference: str
    client: Recipient
    contract: CurrentTerm
    proposal: ProposedTerm
    opt_out_deadline: date | None
    """Last day to give notice that an auto-renewing contract should not renew; None if not
    auto-renewing."""
    reply_by: date
    account_manager: Contact


class OverdueInvoice(TypedDict):
    number: str
    contract_number: str | None
    issue_date: date
    due_date: date
    days_overdue: int
    currency: str
    amount_due: Decimal
    """The open balance, not the invoice total."""
    level: DunningLevel


class PaymentReminderContext(TypedDict):
    """One letter for all of a client's overdue invoices; tone follows the highest level."""

    letterhead: Letterhead
    issue_date: date
    reference: str
    client: Recipient
    invoices: list[OverdueInvoice]
    pay_by: date
    earlier_reminders: list[date]
    """The days earlier payment reminders to this client were delivered, before the issue date;
    the letter speaks of earlier reminders only when there are some."""
    contact: Contact


class StatementEntry(TypedDict):
    date: date
    kind: EntryKind
    reference: str
    description: str
    """Free text printed as given (may be empty)."""
    amount: Decimal
    """Signed: positive raises what the client owes (invoice, payment reversal), negative
    lowers it (payment, credit note, write-off)."""
    method: str | None
    """Payments and reversals: the payment method code (`bank_transfer`, `cheque`, …), printed
    in the letter's language."""
    period_start: date | None
    """Invoices: the service period billed."""
    period_end: date | None


class StatementAccount(TypedDict):
    """One currency's part of the statement; currencies are never summed together."""

    currency: str
    opening_balance: Decimal
    entries: list[StatementEntry]
    aging: dict[str, Decimal]
    """Open balance per aging bucket as of the period end, keyed like `aging_buckets`."""


class StatementContext(TypedDict):
    letterhead: Letterhead
    issue_date: date
    reference: str
    client: Recipient
    period_start: date
    period_end: date
    aging_buckets: list[str]
    """Bucket keys in order, as the aging report names them: `current`, `1-30`, … `180+`."""
    accounts: list[StatementAccount]
    contact: Contact


NoticeContext = RenewalNoticeContext | PaymentReminderContext | StatementContext
