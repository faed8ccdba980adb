"""Notice PDFs: renewal notices, payment reminders and statements in four languages.

The rendering half is pure: `Renderer.render(kind, language, context)` turns a plain
context (see `context` and each kind's module in `kinds/`) into PDF bytes. Loading the context
and storing the PDF belong to the services built on top.
"""

from typing import TYPE_CHECKING, Any

from renewals.domain.notices.context import LANGUAGES, Contact, Language, Letterhead, NoticeContext, Recipient
from renewals.domain.notices.kinds import KINDS, REGISTRY, Kind, NoticeKind
from renewals.domain.notices.kinds.payment_reminder import OverdueInvoice, PaymentReminderContext
from renewals.domain.notices.kinds.renewal_notice import CurrentTerm, ProposedTerm, RenewalLine, RenewalNoticeContext
from renewals.domain.notices.kinds.statement import StatementAccount, StatementContext, StatementEntry

if TYPE_CHECKING:
    from renewals.domain.notices.render import DEFAULT_TEMPLATES_DIR, RenderedPdf, Renderer

_RENDER_NAMES = frozenset({"DEFAULT_TEMPLATES_DIR", "RenderedPdf", "Renderer"})


def __getattr__(name: str) -> Any:
    # The renderer (and WeasyPrint, ~2 s to import) loads on first use, so the API and the
    # services that only build contexts or serve stored PDFs start without it.
    if name in _RENDER_NAMES:
        from renewals.domain.notices import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TEMPLATES_DIR",
    "KINDS",
    "LANGUAGES",
    "REGISTRY",
    "Contact",
    "CurrentTerm",
    "Kind",
    "Language",
    "Letterhead",
    "NoticeContext",
    "NoticeKind",
    "OverdueInvoice",
    "PaymentReminderContext",
    "ProposedTerm",
    "Recipient",
    "RenderedPdf",
    "Renderer",
    "RenewalLine",
    "RenewalNoticeContext",
    "StatementAccount",
    "StatementContext",
    "StatementEntry",
]
