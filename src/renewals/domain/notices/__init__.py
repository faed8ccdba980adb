"""Notice PDFs: renewal notices, payment reminders and statements in four languages.

The rendering half is pure: `Renderer.render(kind, language, context)` turns a plain
context (see `context`) into PDF bytes. Loading the context and storing the PDF belong to
the services built on top.
"""

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
from renewals.domain.notices.render import DEFAULT_TEMPLATES_DIR, RenderedPdf, Renderer

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
