"""What a notice kind declares (`NoticeKind`), and the pieces its module may use to declare it:
the view's locale, the reply's effect, the letter's invoices, the text of an answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from babel.support import Translations
from sqlalchemy.orm import Session

from renewals.db.models import Contact
from renewals.db.models.notices import Notice, NoticeReply
from renewals.domain.notices.build import BuildRequest
from renewals.domain.notices.context import Language, NoticeContext
from renewals.domain.notices.i18n import Formatter
from renewals.domain.notices.labels import N_
from renewals.errors import ValidationFailed

__all__ = ["N_"]

Addressee = Literal["signatory", "billing"]
TEMPLATES_DIR = Path(__file__).resolve().parents[5] / "templates" / "notices"
"""`<kind>.html` for each kind's PDF, `reply_page.html` for the page its reader answers on."""
MAX_TEXT = 2000


class ViewLocale(Protocol):
    """What a kind's view may use of the letter's language."""

    @property
    def translations(self) -> Translations: ...

    @property
    def fmt(self) -> Formatter: ...


class ReplyData(Protocol):
    """A client's answer as the reply endpoint received it (`schemas.ReplyIn`)."""

    @property
    def choice(self) -> str: ...

    @property
    def promise_date(self) -> date | None: ...

    @property
    def invoice_ids(self) -> Sequence[int] | None: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def reference(self) -> str | None: ...


AuditEntry = tuple[str, int, str, dict[str, Any] | None, dict[str, Any]]


@dataclass
class Effect:
    """What an answer did: the alert's message, and the audit rows (entity type, id, action,
    before, after) of what it changed."""

    message: str
    audit: list[AuditEntry] = field(default_factory=list)


@dataclass(frozen=True)
class LetterInvoice:
    """An invoice a letter lists, as its reply page shows it."""

    id: int
    number: str
    due_date: date
    currency: str
    amount_due: Decimal


class Answer(Protocol):
    """A kind's effect of a client's answer: checks the fields its choice allows, fills `reply`,
    acts (a renewal's state, holds, activities) and says what it did."""

    def __call__(
        self,
        session: Session,
        notice: Notice,
        reply: NoticeReply,
        data: ReplyData,
        contact: Contact | None,
        *,
        at: datetime,
        today: date,
    ) -> Effect: ...


def _no_invoices(session: Session, notice: Notice) -> list[LetterInvoice]:
    return []


@dataclass(frozen=True)
class NoticeKind:
    """One kind of notice, everything about it in one place (its module in `kinds/`)."""

    name: str
    build: Callable[[Session, BuildRequest], NoticeContext]
    """Its context from the database, every query done there."""
    view: Callable[[Mapping[str, Any], ViewLocale], dict[str, Any]]
    """What the template sees: the context and the values derived from it (sums and maxima of the
    rows given, so printed totals always agree with the printed rows)."""
    sample: Callable[[Language], NoticeContext]
    """A realistic context per language: the samples people look at and the rendering tests."""
    addressee: Addressee
    """Whom the letter is for and e-mailed to: the client's signatories or billing contacts."""
    names_contract: bool
    """A request names one contract (and the client is the contract's)."""
    covers_period: bool
    """A request may name a period (`from`, `to`)."""
    mail: Mapping[str, tuple[str, str]]
    """Per language, the e-mail's subject and body; `{reference}`, `{company}` and `{reply}` (the
    reply link's sentence, or nothing) are filled in."""
    reply_choices: Mapping[str, str] = field(default_factory=dict)
    """What the reader may answer through the letter's link, each with how the reply page offers it
    (a catalog message); empty: no reply page."""
    reply_title: str = ""
    """The reply page's heading (a catalog message)."""
    answer: Answer | None = None
    """What an answer does; None for a letter that asks nothing."""
    letter_invoices: Callable[[Session, Notice], list[LetterInvoice]] = _no_invoices
    """The invoices the letter lists, which an answer may name (and the reply page shows)."""
    answered_by: Literal["owner", "finance"] = "owner"
    """Who is alerted to an answer: the client's owner, or finance (the owner informed)."""
    warning_choices: frozenset[str] = frozenset()
    """Answers that ask someone to act against the client's wish: their alert is a warning, the
    others' is news."""

    @property
    def template(self) -> str:
        return f"{self.name}.html"


def reply_text(value: str | None, field: str, *, required: str | None = None, limit: int = MAX_TEXT) -> str | None:
    """A free-text field of an answer, trimmed; ValidationFailed naming it when it is required and
    missing, too long or holds a NUL."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(field, required)
        return None
    if len(text) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    if "\x00" in text:
        raise ValidationFailed(field, "must not contain NUL characters")
    return text
