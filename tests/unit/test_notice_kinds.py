"""One place per notice kind: every part of the system that takes a kind accepts exactly the kinds
of the registry (`notices.kinds.REGISTRY`), each kind's module is registered, and no module outside
`kinds/` writes the list of kinds again."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import msgspec
import pytest

from renewals.api import reply_page
from renewals.domain.notices import kinds, service
from renewals.domain.notices.catalogs import extract_messages
from renewals.domain.notices.context import LANGUAGES
from renewals.domain.notices.i18n import BABEL_IDS, load_translations, po_path
from renewals.domain.notices.kinds import KINDS, REGISTRY, TEMPLATES_DIR, notice_kind
from renewals.domain.notices.render import Renderer
from renewals.domain.notices.samples import SAMPLE_LOGO, sample_context
from renewals.domain.notices.schemas import NoticeIn
from renewals.errors import ValidationFailed

SRC = Path(__file__).resolve().parents[2] / "src" / "renewals"
# Modules that may name every kind at once, and why.
LISTS_ALLOWED = {
    # The pages' own catalog labels every code the pages show, kinds among them (checked complete by
    # test_page_catalogs): the notices' catalog is not the pages'.
    "api/pages/labels.py",
}


def test_the_registry_holds_every_kind_module_and_nothing_else() -> None:
    modules = {m.name for m in pkgutil.iter_modules([str(Path(kinds.__file__).parent)])} - {"base"}

    assert set(REGISTRY) == modules
    assert tuple(REGISTRY) == KINDS
    for name, kind in REGISTRY.items():
        assert kind.name == name
        assert (TEMPLATES_DIR / kind.template).is_file()
        assert set(kind.mail) == set(LANGUAGES)
        assert (kind.answer is not None) == bool(kind.reply_choices), "a kind with choices says what they do"
        assert kind.warning_choices <= set(kind.reply_choices)


def test_the_request_schema_accepts_exactly_the_registered_kinds() -> None:
    schema = msgspec.json.schema(NoticeIn)

    assert set(schema["$defs"]["NoticeIn"]["properties"]["kind"]["enum"]) == set(REGISTRY)
    for name in REGISTRY:
        assert msgspec.json.decode(msgspec.json.encode({"kind": name}), type=NoticeIn).kind == name
    with pytest.raises(msgspec.ValidationError, match=r"\$\.kind"):
        msgspec.json.decode(b'{"kind": "invoice"}', type=NoticeIn)


def test_the_services_accept_exactly_the_registered_kinds() -> None:
    assert service.KINDS == KINDS
    for name in REGISTRY:
        assert notice_kind(name).name == name
    with pytest.raises(ValidationFailed) as refused:
        notice_kind("invoice")
    assert "kind" in refused.value.fields


def test_the_renderer_and_the_samples_take_every_registered_kind() -> None:
    renderer = Renderer(allowed_files=[SAMPLE_LOGO], warm=False)

    for name in REGISTRY:
        assert renderer.render(name, "en", sample_context(name, "en")).pages >= 1
    with pytest.raises(ValidationFailed):
        renderer.render("invoice", "en", sample_context("statement", "en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reply_page_words_every_choice_of_every_kind(language: str) -> None:
    label = reply_page._environment(language).globals["choice_label"]  # type: ignore[arg-type]
    catalog = load_translations(language)  # type: ignore[arg-type]

    for kind in REGISTRY.values():
        if kind.reply_choices:
            assert kind.reply_title
            assert catalog.gettext(kind.reply_title)
        for choice in kind.reply_choices:
            assert label(choice)


def test_the_catalogs_hold_every_kind_s_template_and_messages() -> None:
    extracted = extract_messages()
    sources = {location for message in extracted for location, _line in message.locations}
    messages = {message.id for message in extracted if message.id}

    for kind in REGISTRY.values():
        assert f"templates/notices/{kind.template}" in sources
        assert {kind.reply_title, *kind.reply_choices.values()} - {""} <= messages
    for language in LANGUAGES:
        assert po_path(BABEL_IDS[language]).is_file()


def _string_sets(tree: ast.AST) -> list[tuple[int, set[str]]]:
    found = []
    for node in ast.walk(tree):
        elements: list[ast.expr | None] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            elements = list(node.elts)
        elif isinstance(node, ast.Dict):
            elements = list(node.keys)
        strings = {e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if strings:
            found.append((node.lineno, strings))
    return found


def test_no_module_outside_the_registry_lists_the_kinds() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("domain/notices/kinds/") or relative in LISTS_ALLOWED:
            continue
        for line, strings in _string_sets(ast.parse(path.read_text(), filename=str(path))):
            if len(strings & set(REGISTRY)) > 1:
                offenders.append(f"{relative}:{line}")

    assert offenders == []
