"""Message catalogs and locale formatting for notices.

Catalogs live beside this module as `locale/<babel id>/LC_MESSAGES/notices.po`, the only
committed form; each process compiles them in memory on first use, so no build step or
generated file can fall out of step with the sources. `renewals.domain.notices.catalogs`
extracts and merges them.
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

from renewals.domain.money import round_money
from renewals.domain.notices.context import Language

DOMAIN = "notices"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Our language codes are BCP 47 (`zh-Hans`); Babel and the catalog folders use `zh_Hans`.
BABEL_IDS: dict[Language, str] = {"en": "en", "zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "ko": "ko"}


def po_path(babel_id: str) -> Path:
    return LOCALE_DIR / babel_id / "LC_MESSAGES" / f"{DOMAIN}.po"


def babel_locale(language: Language) -> Locale:
    return Locale.parse(BABEL_IDS[language])


def compile_catalog(path: Path) -> bytes:
    """Compile one `.po` file to `.mo` bytes (fuzzy entries left out)."""
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=path.parent.parent.name, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


@cache
def load_translations(language: Language) -> Translations:
    """The catalog for a language, compiled from its `.po`; English falls back to the message ids."""
    # Read from our own folder rather than through gettext.find, whose locale fallbacks
    # (`zh_Hant` → `zh`) could quietly pick the wrong script.
    return Translations(io.BytesIO(compile_catalog(po_path(BABEL_IDS[language]))), domain=DOMAIN)


class Formatter:
    """Locale-bound formatting of dates, money and numbers, used as template filters."""

    def __init__(self, language: Language) -> None:
        self.locale = babel_locale(language)

    def date(self, value: date, style: str = "long") -> str:
        """`long` in running text; `compact` in table cells: `Jan 13, 2026`, `2026/1/13`,
        `2026. 1. 13.` (year first and numeric where the locale reads it unambiguously)."""
        if style == "compact":
            if self.locale.language == "en":
                return format_date(value, format="medium", locale=self.locale)
            return format_skeleton("yMd", value, locale=self.locale)
        return format_date(value, format=style, locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        # Round half-up first: Babel would otherwise round half-even. KRW shows no decimals.
        return format_currency(round_money(amount, currency), currency, locale=self.locale)

    def join(self, items: list[str]) -> str:
        """`a, b and c` in the locale's words."""
        return format_list(items, locale=self.locale) if items else ""

    def number(self, value: Decimal | int) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: Decimal) -> str:
        """`Decimal("3.5")` (percent, as stored) → `3.5%` in the locale's style."""
        return format_percent(value / 100, format="#,##0.##%", locale=self.locale)


def page_counter_css(template: str) -> str:
    """Turn a translated "Page %(page)s of %(pages)s" into a CSS `content` value."""
    parts = re.split(r"(%\((?:page|pages)\)s)", template)
    out: list[str] = []
    for part in parts:
        if part == "%(page)s":
            out.append("counter(page)")
        elif part == "%(pages)s":
            out.append("counter(pages)")
        elif part:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
            out.append(f'"{escaped}"')
    return " ".join(out)


def catalog_text(language: Language) -> str:
    """Every translated string of a language, run together (to know which glyphs it uses)."""
    with po_path(BABEL_IDS[language]).open("rb") as fh:
        catalog = read_po(fh)
    parts: list[str] = []
    for message in catalog:
        value = message.string
        if isinstance(value, str):
            parts.append(value)
        elif value:
            parts.extend(s for s in value if isinstance(s, str))
    return "".join(parts)
