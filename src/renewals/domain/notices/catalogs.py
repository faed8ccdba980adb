"""Maintain the notice message catalogs.

After changing a template's or this package's translatable strings:

    python -m renewals.domain.notices.catalogs extract   # → locale/notices.pot, merged into each .po
    (translate the new entries in each locale/<id>/LC_MESSAGES/notices.po)

Only the `.po` files are committed: `renewals.domain.notices.i18n` compiles them in memory when a
process first renders a notice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from renewals.domain.notices.context import LANGUAGES
from renewals.domain.notices.i18n import BABEL_IDS, DOMAIN, LOCALE_DIR, po_path

_DEFAULT_TEMPLATES = Path(__file__).resolve().parents[4] / "templates" / "notices"


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
    write_catalogs(
        extract_messages(templates_dir),
        LOCALE_DIR,
        DOMAIN,
        [(BABEL_IDS[language], po_path(BABEL_IDS[language])) for language in LANGUAGES],
    )


def write_catalogs(template: Catalog, locale_dir: Path, domain: str, targets: list[tuple[str, Path]]) -> None:
    """Write `<domain>.pot` into `locale_dir` and merge it into each (babel id, `.po` path):
    new messages arrive untranslated, messages gone from the sources are dropped."""
    locale_dir.mkdir(parents=True, exist_ok=True)
    with (locale_dir / f"{domain}.pot").open("wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=False, width=100)
    for babel_id, po in targets:
        if po.exists():
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=babel_id, domain=domain)
        else:
            catalog = Catalog(locale=babel_id, domain=domain, project="renewals", version="1")
        catalog.update(template, no_fuzzy_matching=True)
        po.parent.mkdir(parents=True, exist_ok=True)
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100, ignore_obsolete=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands: dict[str, Callable[[], object]] = {"extract": update_catalogs}
    if len(args) != 1 or args[0] not in commands:
        print("usage: python -m renewals.domain.notices.catalogs extract", file=sys.stderr)
        return 2
    commands[args[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
