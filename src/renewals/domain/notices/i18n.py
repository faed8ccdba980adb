"""Message catalogs and locale formatting for notices.

Catalogs live beside this module as `locale/<babel id>/LC_MESSAGES/notices.po` with the
compiled `.mo` next to them (both committed). After editing templates or a `.po` file:

    python -m renewals.domain.notices.i18n extract   # templates + Python → notices.pot, merged into each .po
    python -m renewals.domain.notices.i18n compile   # every .po → .mo

`compile` is deterministic, so a test can check that the committed `.mo` files are current.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

from renewals.domain.money import round_money
from renewals.domain.notices.context import LANGUAGES, Language

DOMAIN = "notices"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Our language codes are BCP 47 (`zh-Hans`); Babel and the catalog folders use `zh_Hans`.
BABEL_IDS: dict[Language, str] = {"en": "en", "zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "ko": "ko"}
_DEFAULT_TEMPLATES = Path(__file__).resolve().parents[4] / "templates" / "notices"


def babel_locale(language: Language) -> Locale:
    return Locale.parse(BABEL_IDS[language])


def load_translations(language: Language) -> Translations:
    """The compiled catalog for a language; English falls back to the message ids."""
    # Opened directly rather than through gettext.find, whose locale fallbacks (`zh_Hant` →
    # `zh`) could quietly pick the wrong script.
    with _po_path(BABEL_IDS[language]).with_suffix(".mo").open("rb") as fh:
        return Translations(fh, domain=DOMAIN)


class Formatter:
    """Locale-bound formatting of dates, money and numbers, used as template filters."""

    def __init__(self, language: Language) -> None:
        self.locale = babel_locale(language)

    def date(self, value: date, style: str = "long") -> str:
        return format_date(value, format=style, locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        # Round half-up first: Babel would otherwise round half-even. KRW shows no decimals.
        return format_currency(round_money(amount, currency), currency, locale=self.locale)

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


# --- catalog maintenance -------------------------------------------------------------


def _po_path(babel_id: str) -> Path:
    return LOCALE_DIR / babel_id / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalog(po_path: Path) -> bytes:
    """Compile one `.po` file to `.mo` bytes (fuzzy entries left out)."""
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=po_path.parent.parent.name, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def compile_catalogs() -> list[Path]:
    """Write `notices.mo` beside every `notices.po`; return the paths written."""
    written = []
    for language in LANGUAGES:
        po = _po_path(BABEL_IDS[language])
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_catalog(po))
        written.append(mo)
    return written


def extract_messages(templates_dir: Path = _DEFAULT_TEMPLATES) -> Catalog:
    """Collect translatable strings from the notice templates and this package's Python."""
    catalog = Catalog(domain=DOMAIN, project="renewals", version="1", charset="utf-8")
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    sources: list[tuple[Path, list[tuple[str, str]]]] = [
        (templates_dir, [("**.html", "jinja2")]),
        (Path(__file__).resolve().parent, [("**.py", "python")]),
    ]
    options = {"**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    for root, method_map in sources:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map=options, keywords=keywords, comment_tags=("TRANSLATORS:",)
        ):
            rel = (root / filename).resolve().relative_to(_repo_root())
            catalog.add(message, None, [(str(rel), lineno)], auto_comments=comments, context=context)
    return catalog


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[4]


def update_catalogs(templates_dir: Path = _DEFAULT_TEMPLATES) -> None:
    """Extract messages, write `notices.pot` and merge it into every language's `.po`."""
    template = extract_messages(templates_dir)
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=False, width=100)
    for language in LANGUAGES:
        babel_id = BABEL_IDS[language]
        po = _po_path(babel_id)
        if po.exists():
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=babel_id, domain=DOMAIN)
        else:
            catalog = Catalog(locale=babel_id, domain=DOMAIN, project="renewals", version="1")
        catalog.update(template, no_fuzzy_matching=True)
        po.parent.mkdir(parents=True, exist_ok=True)
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100, ignore_obsolete=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands: dict[str, Callable[[], object]] = {"extract": update_catalogs, "compile": compile_catalogs}
    if len(args) != 1 or args[0] not in commands:
        print("usage: python -m renewals.domain.notices.i18n extract|compile", file=sys.stderr)
        return 2
    commands[args[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
