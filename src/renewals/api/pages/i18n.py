"""The pages' own message catalogs (domain `pages`) and one Jinja environment per language.

Catalogs live beside this module as `locale/<babel id>/LC_MESSAGES/pages.po`, the only committed
form, compiled in memory when a process first renders a page in that language. Maintain them
with `python -m renewals.api.pages.catalogs extract`.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_datetime, format_skeleton
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from renewals.api.pages import labels
from renewals.domain.notices.i18n import BABEL_IDS, Formatter, compile_catalog

DOMAIN = "pages"
LANGUAGES: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant", "ko")
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文", "ko": "한국어"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
TEMPLATES_DIR = Path(__file__).resolve().parents[4] / "templates" / "pages"
STATIC_DIR = TEMPLATES_DIR / "static"


def po_path(language: str) -> Path:
    return LOCALE_DIR / BABEL_IDS[language] / "LC_MESSAGES" / f"{DOMAIN}.po"  # type: ignore[index]


@cache
def translations(language: str) -> Translations:
    return Translations(io.BytesIO(compile_catalog(po_path(language))), domain=DOMAIN)


def best_language(accept_language: str | None) -> str:
    """The first of our languages the browser asks for (`zh-TW` → `zh-Hant`), else English."""
    wanted: list[str] = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if tag:
            wanted.append(tag.replace("-", "_"))
    aliases = {"zh_TW": "zh_Hant", "zh_HK": "zh_Hant", "zh_MO": "zh_Hant", "zh_CN": "zh_Hans", "zh_SG": "zh_Hans"}
    wanted = [aliases.get(w, w) for w in wanted]
    found = negotiate_locale(wanted, ["en", "zh_Hans", "zh_Hant", "ko", "zh"], sep="_")
    by_babel = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "ko": "ko", "zh": "zh-Hans"}
    return by_babel.get(found or "en", "en")


class PageFormatter(Formatter):
    """The notices' formatting (dates and money by Babel) plus times in the organisation's zone."""

    def __init__(self, language: str, timezone: str) -> None:
        super().__init__(language)  # type: ignore[arg-type]
        self.zone = ZoneInfo(timezone)

    def moment(self, value: datetime) -> str:
        return format_datetime(value.astimezone(self.zone), format="short", locale=self.locale)

    def day(self, value: date) -> str:
        """A day within its year, for chart axes: `Nov 23`, `11月23日`, `11월 23일`."""
        return format_skeleton("MMMd", value, locale=self.locale)

    def month(self, value: str) -> str:
        """`2026-12` → `Dec 2026`, `2026年12月`, `2026년 12월`."""
        year, _, month = value.partition("-")
        return format_skeleton("yMMM", date(int(year), int(month), 1), locale=self.locale)


@cache
def environment(language: str, timezone: str) -> Environment:
    """Templates compiled once per language, autoescaped, strict about missing values."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    trans = translations(language)
    env.install_gettext_translations(trans, newstyle=True)  # type: ignore[attr-defined]
    fmt = PageFormatter(language, timezone)
    env.filters.update(
        date=fmt.date,
        money=fmt.money,
        number=fmt.number,
        percent=fmt.percent,
        moment=fmt.moment,
        month=fmt.month,
        day=fmt.day,
        label=lambda value: trans.gettext(labels.LABELS.get(str(value), str(value))),
    )
    env.globals.update(language_names=LANGUAGE_NAMES, languages=LANGUAGES, html_lang=language)
    return env


def render(language: str, timezone: str, template: str, values: dict[str, Any]) -> str:
    return environment(language, timezone).get_template(template).render(values)


def locale_of(language: str) -> Locale:
    return Locale.parse(BABEL_IDS[language])  # type: ignore[index]
