"""The registry of notice kinds: what each kind is addressed to, what it asks of its reader, what
a request for it must name and the e-mail that carries it. Services, sending, the reply page and
the renderer read a kind's facts from here, never from a list of their own.

Adding a kind: its name in `context.Kind` and its context TypedDict beside it, an entry here with
its builder (in `build`), its view in `render.VIEWS`, its template
`templates/notices/<kind>.html` and its catalog entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from sqlalchemy.orm import Session

from renewals.domain.notices import build
from renewals.domain.notices.context import Kind, NoticeContext
from renewals.errors import ValidationFailed

if TYPE_CHECKING:
    from renewals.db.models import User

Addressee = Literal["signatory", "billing"]
TEMPLATES_DIR = Path(__file__).resolve().parents[4] / "templates" / "notices"
"""`<kind>.html` for each kind's PDF, `reply_page.html` for the page its reader answers on."""


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is used."""
    return message


# How the reply page offers each choice, in the client's words.
CHOICE_LABELS: Mapping[str, str] = {
    "renew": N_("We wish to renew on the proposed terms"),
    "call_me": N_("Please call us to discuss the renewal"),
    "not_renewing": N_("We do not wish to renew (please tell us why below)"),
    "promise": N_("We will pay by a date (at most 30 days from today)"),
    "dispute": N_("We dispute these invoices (please tell us why below)"),
    "paid_already": N_("We have already paid (please give the payment reference)"),
}


@dataclass(frozen=True)
class NoticeKind:
    name: Kind
    build: Callable[[Session, build.BuildRequest], NoticeContext]
    """Its context from the database (`build`); the template is `<name>.html`, its derived
    values `render.VIEWS[name]`."""
    addressee: Addressee
    """Whom the letter is for and e-mailed to: the client's signatories or billing contacts."""
    reply_choices: tuple[str, ...]
    """What the reader may answer through the letter's link; empty: no reply page."""
    names_contract: bool
    """A request names one contract (and the client is the contract's)."""
    covers_period: bool
    """A request may name a period (`from`, `to`)."""
    mail: Mapping[str, tuple[str, str]]
    """Per language, the e-mail's subject and body; `{reference}`, `{company}` and `{reply}` (the
    reply link's sentence, or nothing) are filled in."""
    reply_title: str = ""
    """The reply page's heading (a catalog message)."""


RENEWAL_NOTICE = NoticeKind(
    name="renewal_notice",
    build=build.build_renewal_notice,
    addressee="signatory",
    reply_choices=("renew", "call_me", "not_renewing"),
    names_contract=True,
    covers_period=False,
    reply_title=N_("Your answer to our renewal notice"),
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
PAYMENT_REMINDER = NoticeKind(
    name="payment_reminder",
    build=build.build_payment_reminder,
    addressee="billing",
    reply_choices=("promise", "dispute", "paid_already"),
    names_contract=False,
    covers_period=False,
    reply_title=N_("Your answer to our payment reminder"),
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
STATEMENT = NoticeKind(
    name="statement",
    build=build.build_statement,
    addressee="billing",
    reply_choices=(),
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

REGISTRY: Mapping[str, NoticeKind] = {kind.name: kind for kind in (RENEWAL_NOTICE, PAYMENT_REMINDER, STATEMENT)}
if set(REGISTRY) != set(get_args(Kind)):  # pragma: no cover - a kind named in one place only
    raise RuntimeError(f"notice kinds {sorted(get_args(Kind))} and their registry {sorted(REGISTRY)} differ")

# The sentence that carries the reply link in a letter's e-mail, per language.
REPLY_LINE: Mapping[str, str] = {
    "en": "\nYou can answer this letter online: {url}\n",
    "zh-Hans": "\n您可以通过以下链接在线回复本函：{url}\n",
    "zh-Hant": "\n您可以透過以下連結線上回覆本函：{url}\n",
    "ko": "\n아래 링크에서 본 안내문에 온라인으로 회신하실 수 있습니다: {url}\n",
}


def notice_kind(kind: str) -> NoticeKind:
    """The registered kind; ValidationFailed naming `kind` for anything else."""
    found = REGISTRY.get(kind)
    if found is None:
        raise ValidationFailed("kind", f"must be one of {', '.join(REGISTRY)}")
    return found


def reply_choices(kind: str) -> tuple[str, ...]:
    found = REGISTRY.get(kind)
    return found.reply_choices if found else ()


def build_context(
    session: Session,
    kind: str,
    client_id: int,
    contract_id: int | None,
    params: dict[str, Any],
    sender: build.Sender,
    user: User | None,
    language: str,
) -> NoticeContext:
    """Build the context of a notice of any kind from its stored params (`as_of`, and `from` /
    `to` for a period). Raises what the kind's builder raises, and ValidationFailed for an
    unknown kind."""
    request = build.BuildRequest.from_params(client_id, contract_id, params, sender, user, language)
    return notice_kind(kind).build(session, request)
