"""Notice PDFs: renewal notices, payment reminders and statements in four languages.

The rendering half is pure: `Renderer.render(kind, language, context)` turns a plain
context (see `context`) into PDF bytes. Loading the context and storing the PDF belong to
the services built on top.
"""

from typing import TYPE_CHECKING, Any

from renewals.domain.notices.context import (
    KINDS,
    LANGUAGES,
    Contact,
    CurrentTerm,
    Kind,
    Language,
    Letterhead,
    NoticeContext,
    OverdueInvoice,
    PaymentReminderContext,
    ProposedTerm,
    Recipient,
    RenewalLine,
    RenewalNoticeContext,
    StatementAccount,
    StatementContext,
    StatementEntry,
)

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
    "Contact",
    "CurrentTerm",
    "Kind",
    "Language",
    "Letterhead",
    "NoticeContext",
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
