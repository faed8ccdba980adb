"""The page a client answers a letter on (`/n/{token}/reply`): in the letter's language, from the
notice catalogs, with autoescape and plain values only."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from renewals.domain.notices.context import LANGUAGES, Language
from renewals.domain.notices.i18n import Formatter, load_translations
from renewals.domain.notices.kinds import REGISTRY, TEMPLATES_DIR, notice_kind
from renewals.domain.notices.replies import FIELD_PROBLEMS, FORM_PROBLEM, TOO_MANY_PROBLEM, ReplyView, TooManyReplies
from renewals.domain.notices.schemas import ReplyOut
from renewals.errors import RenewalsError, ValidationFailed

TEMPLATE = "reply_page.html"


@cache
def _environment(language: Language) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    translations = load_translations(language)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    fmt = Formatter(language)
    env.filters.update(date=fmt.date, money=fmt.money)
    # Every kind's choices, each as its kind's module words it.
    labels = {choice: label for kind in REGISTRY.values() for choice, label in kind.reply_choices.items()}
    env.globals.update(lang=language, choice_label=lambda choice: translations.gettext(labels[choice]))
    return env


def _problem(failure: RenewalsError) -> str:
    if isinstance(failure, ValidationFailed):
        return FIELD_PROBLEMS.get(next(iter(failure.fields)), FIELD_PROBLEMS["choice"])
    return TOO_MANY_PROBLEM if isinstance(failure, TooManyReplies) else FORM_PROBLEM


def render(
    view: ReplyView, *, pdf_url: str, csrf: str, done: ReplyOut | None = None, failure: RenewalsError | None = None
) -> str:
    """The reply page of a letter; `done` after an answer was recorded, `failure` when one was
    refused (said in the letter's language)."""
    language: Language = next((known for known in LANGUAGES if known == view.language), "en")
    env = _environment(language)
    title = load_translations(language).gettext(notice_kind(view.kind).reply_title)
    values: dict[str, Any] = {
        "title": title,
        "client_name": view.client_name,
        "contact_name": view.contact_name,
        "pdf_url": pdf_url,
        "csrf": csrf,
        "choices": view.choices,
        "invoices": view.invoices,
        "latest": view.latest,
        "today": view.today,
        "promise_until": view.promise_until,
        "done": done,
        "error": load_translations(language).gettext(_problem(failure)) if failure is not None else None,
    }
    return env.get_template(TEMPLATE).render(values)
