"""Payment reminders: one letter for all of a client's invoices overdue on its date, with days
overdue, open balances and dunning levels as of that date; its tone follows the highest level, and
it speaks of earlier reminders only when some were delivered. Addressed to the client's billing
contacts; the reader answers `promise`, `dispute` or `paid_already`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Contact, Contract, Invoice
from renewals.db.models.notices import Notice, NoticeDelivery, NoticeReply
from renewals.domain import money
from renewals.domain.alerts.rules import DUNNING_THRESHOLDS, dunning_level
from renewals.domain.money import round_money
from renewals.domain.notices import rules
from renewals.domain.notices.build import BuildRequest, Sender, client_of, receivables_contact, recipient
from renewals.domain.notices.context import Contact as ContactCtx
from renewals.domain.notices.context import Language, Letterhead, NoticeContext, Recipient
from renewals.domain.notices.kinds.base import (
    N_,
    AuditEntry,
    Effect,
    LetterInvoice,
    NoticeKind,
    ReplyData,
    ViewLocale,
    reply_text,
)
from renewals.domain.notices.sample_data import (
    CLIENTS,
    CONTACTS,
    CONTRACT_NUMBERS,
    CURRENCY,
    ISSUE_DATE,
    LETTERHEADS,
    REMINDER_LEVEL,
    SCALE,
    d,
)
from renewals.domain.receivables import reports
from renewals.domain.receivables.invoices import snapshot as invoice_snapshot
from renewals.domain.receivables.ledger import OPEN_STATUSES
from renewals.errors import Conflict, NoticeRenderFailed, ValidationFailed

DunningLevel = Literal[1, 2, 3, 4]
REMINDER_HEADINGS: dict[int, str] = {
    1: N_("Payment reminder"),
    2: N_("Second payment reminder"),
    3: N_("Urgent: overdue payment"),
    4: N_("Final notice before further action"),
}


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
    contact: ContactCtx


# --- the context, from the database ----------------------------------------------------------


def payment_reminder(
    session: Session, client_id: int, issue_date: date, sender: Sender, language: str = "en"
) -> PaymentReminderContext:
    """Build one payment reminder listing every invoice of the client overdue on the issue date,
    with days overdue, the open balance and the dunning level *on that date* (payments, credit
    notes and write-offs dated later do not count), and the dates earlier reminders were actually
    delivered. Paid, voided, written-off and held invoices are never listed.

    Raises NotFound for an unknown client and Conflict when the client has nothing overdue.
    """
    client = client_of(session, client_id)
    invoices = [invoice for _id, invoice in reminder_invoices(session, client.id, issue_date, sender.dunning_days)]
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
        "client": recipient(session, client, signatory=False),
        "invoices": invoices,
        "pay_by": rules.pay_by(issue_date, highest),
        "earlier_reminders": delivered_reminders(session, client.id, issue_date, sender.timezone),
        "contact": receivables_contact(session, sender, language, client),
    }


def reminder_invoices(
    session: Session, client_id: int, issue_date: date, dunning: tuple[int, ...] = DUNNING_THRESHOLDS
) -> list[tuple[int, OverdueInvoice]]:
    """The invoices a payment reminder issued on `issue_date` lists, with their ids: every invoice
    of the client overdue then with an open balance then, not on hold then; oldest due first. Each
    level counts `dunning` (RENEWALS_DUNNING_DAYS) days past due."""
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
                "level": _level(dunning_level(due, issue_date, dunning)),
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


def build(session: Session, request: BuildRequest) -> NoticeContext:
    """The reminder a request asks for: the client's overdue invoices, as of its date."""
    return payment_reminder(session, request.client_id, request.as_of, request.sender, request.language)


# --- what the template sees ------------------------------------------------------------------


def view(ctx: Mapping[str, Any], locale: ViewLocale) -> dict[str, Any]:
    """The letter's figures: the totals per currency, the highest level and its heading, and every
    amount the last column sets (to size it)."""
    invoices = ctx["invoices"]
    if not invoices:
        raise NoticeRenderFailed("a payment reminder needs at least one overdue invoice")
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        totals[invoice["currency"]] = totals.get(invoice["currency"], Decimal(0)) + invoice["amount_due"]
    level = max(int(invoice["level"]) for invoice in invoices)
    money = locale.fmt.money
    return {
        **ctx,
        # Every amount the last column sets, to size it (see column_width).
        "amounts_due": [money(i["amount_due"], i["currency"]) for i in invoices]
        + [money(amount, currency) for currency, amount in totals.items()],
        "level": level,
        "heading": locale.translations.gettext(REMINDER_HEADINGS[min(max(level, 1), 4)]),
        "totals": [{"currency": c, "amount": a} for c, a in sorted(totals.items())],
    }


# --- the reader's answer ---------------------------------------------------------------------


def letter_invoices(session: Session, notice: Notice) -> list[LetterInvoice]:
    if notice.kind != "payment_reminder":
        return []
    issued = date.fromisoformat(str(notice.params["as_of"]))
    return [
        LetterInvoice(i, row["number"], row["due_date"], row["currency"], row["amount_due"])
        for i, row in reminder_invoices(session, notice.client_id, issued)
    ]


def answer(
    session: Session,
    notice: Notice,
    reply: NoticeReply,
    data: ReplyData,
    contact: Contact | None,
    *,
    at: datetime,
    today: date,
) -> Effect:
    """A reminder's answer: `promise` (a hold until a date) and `dispute` (a hold with the reason)
    on the letter's invoices still open; `paid_already` records the payment's reference."""
    name = contact.name if contact else "the client"
    if data.choice != "promise" and data.promise_date is not None:
        raise ValidationFailed("promise_date", "applies only to a promise to pay")
    letter = {invoice.id: invoice for invoice in letter_invoices(session, notice)}
    if data.choice == "paid_already":
        if data.invoice_ids is not None:
            raise ValidationFailed("invoice_ids", "a payment is matched by finance; give its reference")
        reply.reference = reply_text(
            data.reference or data.reason, "reference", required="give the payment's reference", limit=100
        )
        reply.reason = reply_text(data.reason, "reason") if data.reference else None
        return Effect(f"{name} says the invoices were paid already, reference {reply.reference}", [])
    if data.reference is not None:
        raise ValidationFailed("reference", "applies only to an answer that the invoices were paid already")
    wanted = list(dict.fromkeys(data.invoice_ids)) if data.invoice_ids is not None else list(letter)
    strangers = [i for i in wanted if i not in letter]
    if strangers or not wanted:
        raise ValidationFailed("invoice_ids", "name one or more of the invoices listed in this letter")
    if data.choice == "promise":
        if data.promise_date is None:
            raise ValidationFailed("promise_date", "say by which day you will pay")
        refused = rules.promise_date_error(data.promise_date, today)
        if refused:
            raise ValidationFailed("promise_date", refused)
        reply.promise_date = data.promise_date
        reply.reason = reply_text(data.reason, "reason")
    else:
        reply.reason = reply_text(data.reason, "reason", required="say what is wrong with the invoices")
    reply.invoice_ids = wanted
    audit: list[AuditEntry] = []
    held = []
    for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(wanted)).order_by(Invoice.id)):
        if invoice.status not in OPEN_STATUSES:
            continue  # paid or closed since the letter: nothing to hold
        before = invoice_snapshot(invoice)
        invoice.hold_kind = data.choice
        invoice.hold_until = reply.promise_date
        invoice.hold_reason = f"{name} (client) via letter #{notice.id}" + (f": {reply.reason}" if reply.reason else "")
        invoice.held_on = today
        session.flush()
        audit.append(("invoice", invoice.id, "hold", before, invoice_snapshot(invoice)))
        held.append(letter[invoice.id].number)
    if data.choice == "promise":
        message = f"{name} promises to pay {', '.join(held)} by {reply.promise_date}"
    else:
        message = f"{name} disputes {', '.join(held)}: {reply.reason}"
    return Effect(message, audit)


# --- the sample --------------------------------------------------------------------------------


def _invoices(language: Language) -> list[OverdueInvoice]:
    currency = CURRENCY[language]
    top = REMINDER_LEVEL[language]
    scale = SCALE[currency]
    contract = CONTRACT_NUMBERS[language]
    # (number, due date, amount in GBP-equivalent, level), oldest first
    rows = [
        ("INV-2025-11873", date(2026, 1, 14), "7412.40", 4),
        ("INV-2026-00412", date(2026, 2, 1), "7412.40", 3),
        ("INV-2026-00957", date(2026, 2, 14), "2150.75", 2),
        ("INV-2026-01388", date(2026, 3, 1), "7412.40", 1),
    ]
    invoices: list[OverdueInvoice] = []
    for number, due, amount, level in rows:
        if level > top:
            continue
        invoices.append(
            {
                "number": number,
                "contract_number": contract,
                "issue_date": due - timedelta(days=30),
                "due_date": due,
                "days_overdue": (ISSUE_DATE - due).days,
                "currency": currency,
                "amount_due": round_money(d(amount) * scale, currency),
                "level": level,  # type: ignore[typeddict-item]  # 1..4 by construction
            }
        )
    if language == "en":  # a second currency: totals are per currency, never summed
        invoices.append(
            {
                "number": "INV-2026-00761",
                "contract_number": "CT-2024-0208",
                "issue_date": date(2026, 1, 8),
                "due_date": date(2026, 2, 7),
                "days_overdue": (ISSUE_DATE - date(2026, 2, 7)).days,
                "currency": "EUR",
                "amount_due": Decimal("3890.00"),
                "level": 2,
            }
        )
    return invoices


def sample(language: Language) -> PaymentReminderContext:
    return {
        "letterhead": LETTERHEADS[language],
        "issue_date": ISSUE_DATE,
        "reference": f"PR-2026-{CONTRACT_NUMBERS[language][-4:]}-{REMINDER_LEVEL[language]}",
        "client": CLIENTS[language],
        "invoices": _invoices(language),
        "pay_by": ISSUE_DATE + timedelta(days=10 if REMINDER_LEVEL[language] < 4 else 7),
        # Levels 2 and up were preceded by delivered reminders, except the Korean final notice.
        "earlier_reminders": [date(2026, 2, 2), date(2026, 2, 16)][: REMINDER_LEVEL[language] - 1]
        if language != "ko"
        else [],
        "contact": CONTACTS[language][1],
    }


KIND = NoticeKind(
    name="payment_reminder",
    build=build,
    view=view,
    sample=sample,
    addressee="billing",
    names_contract=False,
    covers_period=False,
    reply_choices={
        "promise": N_("We will pay by a date (at most 30 days from today)"),
        "dispute": N_("We dispute these invoices (please tell us why below)"),
        "paid_already": N_("We have already paid (please give the payment reference)"),
    },
    reply_title=N_("Your answer to our payment reminder"),
    answer=answer,
    letter_invoices=letter_invoices,
    answered_by="finance",
    warning_choices=frozenset({"dispute"}),
    mail={
        "en": (
            "Payment reminder {reference}",
            "Dear customer,\n\naccording to our records some invoices are overdue; the attached reminder "
            "lists them. If you have paid already, please ignore this message.\n{reply}\nKind regards,\n{company}\n",
        ),
        "zh-Hans": (
            "付款提醒 {reference}",
            "尊敬的客户：\n\n根据我们的记录，贵司部分发票已逾期，详见附件。"
            "如已付款，请忽略本邮件。\n{reply}\n此致\n{company}\n",
        ),
        "zh-Hant": (
            "付款提醒 {reference}",
            "敬愛的客戶：\n\n依據我們的紀錄，貴公司部分發票已逾期，詳見附件。"
            "如已付款，請忽略本郵件。\n{reply}\n敬祝 商祺\n{company}\n",
        ),
        "ko": (
            "결제 안내 {reference}",
            "고객님께,\n\n저희 기록에 따르면 일부 청구서의 결제 기한이 지났습니다. "
            "첨부된 안내문을 확인해 주십시오. "
            "이미 결제하셨다면 이 메일은 무시하셔도 됩니다.\n{reply}\n감사합니다.\n{company}\n",
        ),
    },
)
