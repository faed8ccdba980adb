"""Renewal notices: the contract's current term, the proposed term with its renewal uplift, the
opt-out deadline while it is still open, and the account manager to answer. Addressed to the
client's signatories; the reader answers `renew`, `call_me` or `not_renewing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Contact, Contract, Renewal, User
from renewals.db.models.notices import Notice, NoticeReply
from renewals.db.models.renewals import Activity
from renewals.domain import money
from renewals.domain.alerts.rules import opt_out_deadline
from renewals.domain.money import round_money
from renewals.domain.notices import rules
from renewals.domain.notices.build import BuildRequest, Sender, client_of, recipient
from renewals.domain.notices.context import Contact as ContactCtx
from renewals.domain.notices.context import Language, Letterhead, NoticeContext, Recipient
from renewals.domain.notices.kinds.base import (
    N_,
    AuditEntry,
    Effect,
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
    d,
)
from renewals.domain.renewals import risk
from renewals.domain.renewals import rules as renewal_rules
from renewals.domain.renewals.records import open_renewal_for
from renewals.domain.renewals.records import snapshot as renewal_snapshot
from renewals.errors import Conflict, NotFound, ValidationFailed

BillingCycle = Literal["monthly", "quarterly", "semiannual", "annual"]
# Only an active contract is offered a renewal; a draft has not started, the others are over.
RENEWABLE_STATUSES = ("active",)


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
    account_manager: ContactCtx


# --- the context, from the database ----------------------------------------------------------


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
    client = client_of(session, contract.client_id)
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
        "client": recipient(session, client, signatory=True),
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


def build(session: Session, request: BuildRequest) -> NoticeContext:
    """The renewal notice a request asks for: its contract, as of its date."""
    if request.contract_id is None:
        raise ValidationFailed("contract_id", "a renewal notice names the contract to renew")
    return renewal_notice(session, request.contract_id, request.as_of, request.sender, request.language)


# --- what the template sees ------------------------------------------------------------------


def view(ctx: Mapping[str, Any], locale: ViewLocale) -> dict[str, Any]:
    """The letter's figures: each line's current and new monthly amount, the monthly totals and the
    new term's total, and whether the opt-out deadline is still open on the letter's date."""
    currency: str = ctx["contract"]["currency"]
    proposal = ctx["proposal"]
    lines = []
    monthly_current = monthly_new = Decimal(0)
    for line in proposal["lines"]:
        current = round_money(line["quantity"] * line["current_unit_price"], currency)
        new = round_money(line["quantity"] * line["new_unit_price"], currency)
        monthly_current += current
        monthly_new += new
        lines.append({**line, "current_amount": current, "new_amount": new})
    uplift_label = locale.fmt.percent(abs(proposal["uplift_pct"]))
    deadline = ctx["opt_out_deadline"]
    return {
        **ctx,
        # A deadline already past on the letter's date is never asked of the client.
        "opt_out_open": deadline is not None and deadline >= ctx["issue_date"],
        "lines": lines,
        "monthly_current": monthly_current,
        "monthly_new": monthly_new,
        "term_total": monthly_new * proposal["term_months"],
        "uplift_label": uplift_label,
    }


# --- the reader's answer ---------------------------------------------------------------------


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
    """A renewal notice's answer: `renew` moves the open renewal to awaiting signature, `call_me`
    sets a follow-up for today, `not_renewing` (with a reason) leaves the decision to the owner;
    each is an activity by the letter's addressee."""
    for field in ("promise_date", "invoice_ids", "reference"):
        if getattr(data, field) is not None:
            raise ValidationFailed(field, "applies only to an answer to a payment reminder")
    reason = reply_text(
        data.reason, "reason", required="say why you do not wish to renew" if data.choice == "not_renewing" else None
    )
    reply.reason = reason
    renewal = _renewal_of(session, notice, today)
    name = contact.name if contact else "the client"
    audit: list[AuditEntry] = []
    if data.choice == "renew":
        message = f"{name} wants to renew: send the renewal agreement for signature"
    elif data.choice == "call_me":
        message = f"{name} asks to be called about the renewal"
    else:
        message = f"{name} does not wish to renew: {reason}"
    if renewal is None:  # not yet within the renewal horizon, or already decided long ago
        return Effect(message, audit)
    before = renewal_snapshot(renewal)
    status = renewal_rules.RenewalStatus(renewal.status)
    waiting = renewal_rules.RenewalStatus.AWAITING_SIGNATURE
    if data.choice == "renew" and status in renewal_rules.OPEN_STATES and status != waiting:
        renewal_rules.check_transition(renewal.status, waiting.value)
        renewal.status = waiting.value
        renewal.sent_for_signature_on = renewal.sent_for_signature_on or today
    follow_up = today if data.choice == "call_me" else None
    if follow_up is not None and status in renewal_rules.OPEN_STATES:
        renewal.next_action_date = today
    session.add(
        Activity(
            renewal_id=renewal.id,
            kind="note",
            author_id=None,
            author_contact_id=contact.id if contact else None,
            at=at,
            text=f"Answer to renewal notice #{notice.id}: {message}"
            + (f" — “{reason}”" if reason and data.choice != "not_renewing" else ""),
            next_follow_up_on=follow_up,
        )
    )
    session.flush()
    risk.refresh_renewal(session, renewal.id, today)
    after = renewal_snapshot(renewal)
    if after != before:
        audit.append(
            ("renewal", renewal.id, "transition" if after["status"] != before["status"] else "update", before, after)
        )
    return Effect(message, audit)


def _renewal_of(session: Session, notice: Notice, today: date) -> Renewal | None:
    if notice.contract_id is None:
        return None
    found = session.scalar(
        select(Renewal).where(Renewal.contract_id == notice.contract_id).order_by(Renewal.id.desc()).limit(1)
    )
    if found is None and open_renewal_for(session, notice.contract_id, today):
        found = session.scalar(select(Renewal).where(Renewal.contract_id == notice.contract_id))
    return found


# --- the sample --------------------------------------------------------------------------------

# (title, auto-renew, lines as (description, quantity, monthly unit price))
CONTRACTS: dict[Language, tuple[str, bool, list[tuple[str, str, str]]]] = {
    "en": (
        "Colocation, London LD4: 4 racks",
        True,
        [
            ("42U rack, 8 kW, secure cage", "4", "1450.00"),
            ("Cross-connect, single-mode fibre", "6", "85.00"),
            ("IP transit, 1 Gbps committed", "2", "420.00"),
            ("Remote hands, 10 hours a month", "1", "600.00"),
        ],
    ),
    "zh-Hans": (
        "上海二号数据中心机柜租用及带宽服务",
        False,
        [
            ("标准机柜（42U，电力 6 kW）", "10", "6800.00"),
            ("BGP 多线带宽 200 Mbps", "2", "9500.00"),
            ("公网 IPv4 地址（/28）", "1", "1200.00"),
            ("7×24 小时现场运维服务", "1", "3000.00"),
        ],
    ),
    "zh-Hant": (
        "內湖機房主機代管服務",
        True,
        [
            ("標準機櫃（42U，電力 5 kW）", "3", "38000"),
            ("頻寬 500 Mbps（國際及國內）", "1", "52000"),
            ("異地備份儲存空間 20 TB", "1", "16500"),
        ],
    ),
    "ko": (
        "판교 IDC 전용 서버 임대 및 관리 서비스",
        False,
        [
            ("전용 서버 (2소켓, 512GB 메모리)", "8", "1850000"),
            ("백본 회선 1Gbps", "2", "2400000"),
            ("DDoS 방어 서비스", "1", "3200000"),
            ("24시간 관제 및 장애 대응", "1", "1500000"),
        ],
    ),
}


def sample(language: Language) -> RenewalNoticeContext:
    currency = CURRENCY[language]
    title, auto_renew, raw_lines = CONTRACTS[language]
    uplift = Decimal("3.5")
    lines: list[RenewalLine] = [
        {
            "description": description,
            "quantity": d(qty),
            "current_unit_price": d(price),
            "new_unit_price": round_money(d(price) * (1 + uplift / 100), currency),
        }
        for description, qty, price in raw_lines
    ]
    end = date(2026, 6, 30)
    notice_days = 60
    return {
        "letterhead": LETTERHEADS[language],
        "issue_date": ISSUE_DATE,
        "reference": f"RN-2026-{CONTRACT_NUMBERS[language][-4:]}",
        "client": CLIENTS[language],
        "contract": {
            "number": CONTRACT_NUMBERS[language],
            "title": title,
            "currency": currency,
            "billing_cycle": "quarterly" if language == "en" else "monthly",
            "start_date": date(2023, 7, 1),
            "end_date": end,
            "auto_renew": auto_renew,
            "notice_period_days": notice_days,
        },
        "proposal": {
            "start_date": end + timedelta(days=1),
            "end_date": date(2027, 6, 30),
            "term_months": 12,
            "uplift_pct": uplift,
            "lines": lines,
        },
        "opt_out_deadline": end - timedelta(days=notice_days) if auto_renew else None,
        "reply_by": date(2026, 4, 15),
        "account_manager": CONTACTS[language][0],
    }


KIND = NoticeKind(
    name="renewal_notice",
    build=build,
    view=view,
    sample=sample,
    addressee="signatory",
    names_contract=True,
    covers_period=False,
    reply_choices={
        "renew": N_("We wish to renew on the proposed terms"),
        "call_me": N_("Please call us to discuss the renewal"),
        "not_renewing": N_("We do not wish to renew (please tell us why below)"),
    },
    reply_title=N_("Your answer to our renewal notice"),
    answer=answer,
    answered_by="owner",
    warning_choices=frozenset({"not_renewing"}),
    mail={
        "en": (
            "Renewal of your contract {reference}",
            "Dear customer,\n\nplease find attached the renewal notice for your contract. "
            "We look forward to your reply.\n{reply}\nKind regards,\n{company}\n",
        ),
        "zh-Hans": (
            "合同续约通知 {reference}",
            "尊敬的客户：\n\n附件为贵司合同的续约通知，期待您的回复。\n{reply}\n此致\n{company}\n",
        ),
        "zh-Hant": (
            "合約續約通知 {reference}",
            "敬愛的客戶：\n\n附件為貴公司合約的續約通知，期待您的回覆。\n{reply}\n敬祝 商祺\n{company}\n",
        ),
        "ko": (
            "계약 갱신 안내 {reference}",
            "고객님께,\n\n계약 갱신 안내문을 첨부하여 드립니다. 회신을 기다리겠습니다.\n"
            "{reply}\n감사합니다.\n{company}\n",
        ),
    },
)
