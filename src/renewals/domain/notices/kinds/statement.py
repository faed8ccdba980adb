"""Statements of account: per currency, the opening balance, every dated entry of the period
with a running balance, and the aging as of the period's end, each entry described in the
letter's language. Addressed to the client's billing contacts; a statement asks for no answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, TypedDict

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from renewals.db.models import User
from renewals.domain.money import round_money
from renewals.domain.notices import rules
from renewals.domain.notices.build import BuildRequest, Sender, client_of, receivables_contact, recipient
from renewals.domain.notices.context import Contact, Language, Letterhead, NoticeContext, Recipient
from renewals.domain.notices.kinds.base import N_, NoticeKind, ViewLocale
from renewals.domain.notices.labels import method_label, whole
from renewals.domain.notices.sample_data import (
    AGING_BUCKETS,
    CLIENTS,
    CONTACTS,
    CONTRACT_NUMBERS,
    CURRENCY,
    LETTERHEADS,
    SCALE,
)
from renewals.domain.receivables import reports
from renewals.errors import Conflict, ValidationFailed

EntryKind = Literal["invoice", "payment", "credit_note", "payment_reversal", "write_off", "invoice_void"]
WRITTEN_OFF = N_("Written off as bad debt")
SERVICE_PERIOD = N_("Service %(start)s – %(end)s")


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


# --- the context, from the database ----------------------------------------------------------


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
    client = client_of(session, found.client_id)
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
        "client": recipient(session, client, signatory=False),
        "period_start": period_start,
        "period_end": period_end,
        "aging_buckets": list(found.buckets),
        "accounts": accounts,
        "contact": receivables_contact(session, sender, language, client),
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


def build(session: Session, request: BuildRequest) -> NoticeContext:
    """The statement a request asks for, seen through the eyes of whoever asked, for its period."""
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


# --- what the template sees ------------------------------------------------------------------


def view(ctx: Mapping[str, Any], locale: ViewLocale) -> dict[str, Any]:
    """The letter's figures: each entry's description in the letter's language, charge or credit
    and running balance, and each account's closing balance and aging total."""
    accounts = []
    for account in ctx["accounts"]:
        balance: Decimal = account["opening_balance"]
        rows = []
        for entry in account["entries"]:
            amount: Decimal = entry["amount"]
            balance += amount
            rows.append(
                {
                    **entry,
                    "detail": _entry_detail(entry, locale),
                    "charge": amount if amount > 0 else None,
                    "credit": -amount if amount < 0 else None,
                    "balance": balance,
                }
            )
        aging = account["aging"]
        accounts.append(
            {
                **account,
                "rows": rows,
                "closing_balance": balance,
                "aging_total": sum((aging[b] for b in ctx["aging_buckets"]), Decimal(0)),
            }
        )
    return {**ctx, "accounts": accounts}


def _entry_detail(entry: Mapping[str, Any], locale: ViewLocale) -> Markup:
    """What a statement line says in its description column, in the letter's language."""
    gettext = locale.translations.gettext
    parts: list[Markup | str] = []
    if entry["period_start"] is not None and entry["period_end"] is not None:
        dates = whole(lambda day: locale.fmt.date(day, "compact"))
        parts.append(
            escape(gettext(SERVICE_PERIOD)) % {"start": dates(entry["period_start"]), "end": dates(entry["period_end"])}
        )
    if entry["method"]:
        parts.append(method_label(locale.translations, entry["method"]))
    if entry["kind"] == "write_off":
        parts.append(gettext(WRITTEN_OFF))
    if entry["description"]:
        parts.append(entry["description"])
    return Markup(" · ").join(parts)


# --- the sample --------------------------------------------------------------------------------


STATEMENT_TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "fee": "Colocation fees, {m}",
        "credit": "SLA credit: outage on 9 February",
        "bounce": "Returned payment",
        "months": "January 2026|February 2026|March 2026",
    },
    "zh-Hans": {
        "fee": "机柜租用费（{m}）",
        "credit": "服务中断补偿（2 月 9 日）",
        "bounce": "付款退回",
        "months": "2026 年 1 月|2026 年 2 月|2026 年 3 月",
    },
    "zh-Hant": {
        "fee": "主機代管費（{m}）",
        "credit": "服務中斷補償（2 月 9 日）",
        "bounce": "退匯",
        "months": "2026 年 1 月|2026 年 2 月|2026 年 3 月",
    },
    "ko": {
        "fee": "서버 임대료 ({m})",
        "credit": "서비스 장애 보상 (2월 9일)",
        "bounce": "입금 반환",
        "months": "2026년 1월|2026년 2월|2026년 3월",
    },
}


def statement_entries(language: Language, months: int = 3, start: date = date(2026, 1, 1)) -> list[StatementEntry]:
    """A quarter's activity: monthly invoices, payments, a credit note, a bounced payment.

    `months` > 3 repeats the pattern, for multi-page statements.
    """
    currency = CURRENCY[language]
    scale = SCALE[currency]
    text = STATEMENT_TEXT[language]
    names = text["months"].split("|")
    fee = round_money(Decimal("7412.40") * scale, currency)
    entries: list[StatementEntry] = []
    for i in range(months):
        first = date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        month_name = names[i] if i < len(names) else first.strftime("%Y-%m")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        entries.append(
            {
                "date": first,
                "kind": "invoice",
                "reference": f"INV-{first:%Y}-{1000 + 7 * i:05d}",
                "description": text["fee"].format(m=month_name),
                "amount": fee,
                "method": None,
                "period_start": first,
                "period_end": following - timedelta(days=1),
            }
        )
        entries.append(
            {
                "date": first + timedelta(days=12),
                "kind": "payment",
                "reference": f"PAY-{4410 + i}",
                "description": "",
                "amount": -fee,
                "method": "cheque" if i % 4 == 3 else "bank_transfer",
                "period_start": None,
                "period_end": None,
            }
        )
        if i % 3 == 1:
            entries.append(
                {
                    "date": first + timedelta(days=15),
                    "kind": "credit_note",
                    "reference": f"CN-{first:%Y}-{31 + i:04d}",
                    "description": text["credit"],
                    "amount": -round_money(fee * Decimal("0.05"), currency),
                    "method": None,
                    "period_start": None,
                    "period_end": None,
                }
            )
        if i % 3 == 2:
            entries.append(
                {
                    "date": first + timedelta(days=19),
                    "kind": "payment_reversal",
                    "reference": f"PAY-{4410 + i}",
                    "description": text["bounce"],
                    "amount": fee,
                    "method": "bank_transfer",
                    "period_start": None,
                    "period_end": None,
                }
            )
    return entries


def sample(language: Language, months: int = 3) -> StatementContext:
    currency = CURRENCY[language]
    scale = SCALE[currency]
    opening = round_money(Decimal("2150.75") * scale, currency)
    entries = statement_entries(language, months)
    closing = opening + sum((e["amount"] for e in entries), Decimal(0))
    aging = dict.fromkeys(AGING_BUCKETS, Decimal(0))
    aging["current"] = closing - opening
    aging["31-60"] = opening
    accounts: list[StatementAccount] = [
        {"currency": currency, "opening_balance": opening, "entries": entries, "aging": aging}
    ]
    return {
        "letterhead": LETTERHEADS[language],
        "issue_date": date(2026, 3, 31) + timedelta(days=months - 3 if months > 3 else 0),
        "reference": f"ST-2026Q1-{CONTRACT_NUMBERS[language][-4:]}",
        "client": CLIENTS[language],
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 3, 31),
        "aging_buckets": list(AGING_BUCKETS),
        "accounts": accounts,
        "contact": CONTACTS[language][1],
    }


KIND = NoticeKind(
    name="statement",
    build=build,
    view=view,
    sample=sample,
    addressee="billing",
    names_contract=False,
    covers_period=True,
    mail={
        "en": (
            "Statement of account {reference}",
            "Dear customer,\n\nplease find attached your statement of account.\n{reply}\nKind regards,\n{company}\n",
        ),
        "zh-Hans": ("对账单 {reference}", "尊敬的客户：\n\n附件为贵司的对账单，请查收。\n{reply}\n此致\n{company}\n"),
        "zh-Hant": (
            "對帳單 {reference}",
            "敬愛的客戶：\n\n附件為貴公司的對帳單，請查收。\n{reply}\n敬祝 商祺\n{company}\n",
        ),
        "ko": (
            "거래 명세서 {reference}",
            "고객님께,\n\n거래 명세서를 첨부하여 드립니다.\n{reply}\n감사합니다.\n{company}\n",
        ),
    },
)
