"""Maintain the pages' message catalogs (domain `pages`, apart from the notices' catalogs).

After changing a page template's or this package's translatable strings:

    python -m renewals.api.pages.catalogs extract   # → locale/pages.pot, merged into each .po

then translate the new entries in each `locale/<id>/LC_MESSAGES/pages.po`. Only the `.po` files
are committed; `renewals.api.pages.i18n` compiles them in memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from renewals.api.pages.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, TEMPLATES_DIR, po_path
from renewals.domain.notices.catalogs import write_catalogs
from renewals.domain.notices.i18n import BABEL_IDS

_REPO = Path(__file__).resolve().parents[4]
_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    """Every translatable string of the page templates and of this package's Python."""
    catalog = Catalog(domain=DOMAIN, project="renewals", version="1", charset="utf-8")
    options = {"**.html": {"extensions": "jinja2.ext.i18n,jinja2.ext.do", "newstyle_gettext": "true"}}
    for root, method in ((TEMPLATES_DIR, ("**.html", "jinja2")), (Path(__file__).parent, ("**.py", "python"))):
        for filename, lineno, message, comments, context in extract_from_dir(
            str(root), [method], options_map=options, keywords=_KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            where = str((root / filename).resolve().relative_to(_REPO))
            catalog.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    return catalog


def update() -> None:
    """Write `pages.pot` and merge it into each language's `.po` (new entries untranslated)."""
    targets = [(BABEL_IDS[language], po_path(language)) for language in LANGUAGES]  # type: ignore[index]
    write_catalogs(extract(), LOCALE_DIR, DOMAIN, targets)


if __name__ == "__main__":
    if sys.argv[1:] != ["extract"]:
        print("usage: python -m renewals.api.pages.catalogs extract", file=sys.stderr)
        raise SystemExit(2)
    update()
