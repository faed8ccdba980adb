"""Notice PDFs rendered for real (WeasyPrint, system fonts) and read back with pypdf."""

from __future__ import annotations

import copy
import hashlib
import io
import re
import socket
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import tinyhtml5
from babel.messages.pofile import read_po
from pypdf import PdfReader

from renewals.domain.notices import KINDS, LANGUAGES, RenderedPdf, Renderer
from renewals.domain.notices.corefonts import core_font_faces
from renewals.domain.notices.i18n import BABEL_IDS, Formatter, load_translations, po_path
from renewals.domain.notices.render import DEFAULT_TEMPLATES_DIR, parse_letter
from renewals.domain.notices.samples import SAMPLE_LOGO, sample_context, statement
from renewals.errors import FontMissing, NoticeRenderFailed, ValidationFailed

CASES = [(kind, language) for kind in KINDS for language in LANGUAGES]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(allowed_files=[SAMPLE_LOGO])


@pytest.fixture(scope="module")
def rendered(renderer: Renderer) -> dict[tuple[str, str], RenderedPdf]:
    return {(kind, lang): renderer.render(kind, lang, sample_context(kind, lang)) for kind, lang in CASES}


def squash(text: str) -> str:
    """Text without any whitespace: PDF extraction breaks lines and spaces CJK freely."""
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: RenderedPdf) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages]


def all_text(pdf: RenderedPdf) -> str:
    return squash("".join(pdf_text(pdf)))


# The sample notices' amounts as a reader of each language expects them, written out rather than
# computed with the formatter under test: renewal notices (new unit price, new monthly total),
# reminders (each invoice's amount due, then the total per currency), statements (opening and
# closing balance).
SAMPLE_AMOUNTS: dict[tuple[str, str], list[str]] = {
    ("renewal_notice", "en"): ["£1,500.75", "£8,021.28"],
    ("renewal_notice", "zh-Hans"): ["¥7,038.00", "¥94,392.00"],
    ("renewal_notice", "zh-Hant"): ["$39,330.00", "$188,887.50"],
    ("renewal_notice", "ko"): ["₩1,914,750", "₩25,150,500"],
    ("payment_reminder", "en"): ["£2,150.75", "£7,412.40", "€3,890.00", "£9,563.15"],
    ("payment_reminder", "zh-Hans"): ["¥59,299.20"],
    ("payment_reminder", "zh-Hant"): ["$296,496.00", "$86,030.00", "$679,022.00"],
    ("payment_reminder", "ko"): ["₩12,601,080", "₩3,656,275", "₩41,459,515"],
    ("statement", "en"): ["£2,150.75", "£9,192.53"],
    ("statement", "zh-Hans"): ["¥17,206.00", "¥73,540.24"],
    ("statement", "zh-Hant"): ["$86,030.00", "$367,701.20"],
    ("statement", "ko"): ["₩3,656,275", "₩15,627,301"],
}

# Money as each language writes it (Babel's CLDR data, rounded half-up by the Formatter first):
# KRW and JPY have no minor unit; zh-Hant writes its own TWD as `$` and the won with a full-width
# sign; zh-Hans writes its own CNY as `¥` and the yen as `JP¥`.
MONEY_1234567_5: dict[str, dict[str, str]] = {
    "en": {
        "CNY": "CN¥1,234,567.50",
        "HKD": "HK$1,234,567.50",
        "TWD": "NT$1,234,567.50",
        "KRW": "₩1,234,568",
        "JPY": "¥1,234,568",
        "USD": "$1,234,567.50",
        "EUR": "€1,234,567.50",
    },
    "zh-Hans": {
        "CNY": "¥1,234,567.50",
        "HKD": "HK$1,234,567.50",
        "TWD": "NT$1,234,567.50",
        "KRW": "₩1,234,568",
        "JPY": "JP¥1,234,568",
        "USD": "US$1,234,567.50",
        "EUR": "€1,234,567.50",
    },
    "zh-Hant": {
        "CNY": "CN¥1,234,567.50",
        "HKD": "HK$1,234,567.50",
        "TWD": "$1,234,567.50",
        "KRW": "￦1,234,568",
        "JPY": "¥1,234,568",
        "USD": "US$1,234,567.50",
        "EUR": "€1,234,567.50",
    },
    "ko": {
        "CNY": "CN¥1,234,567.50",
        "HKD": "HK$1,234,567.50",
        "TWD": "NT$1,234,567.50",
        "KRW": "₩1,234,568",
        "JPY": "JP¥1,234,568",
        "USD": "US$1,234,567.50",
        "EUR": "€1,234,567.50",
    },
}
MONEY_CASES = [(language, currency) for language, row in MONEY_1234567_5.items() for currency in row]


@pytest.mark.parametrize(("language", "currency"), MONEY_CASES)
def test_money_is_written_the_way_a_reader_of_the_language_expects(language: str, currency: str) -> None:
    assert Formatter(language).money(Decimal("1234567.5"), currency) == MONEY_1234567_5[language][currency]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1234.5"), "KRW", "₩1,235"),  # half-up: Babel alone would round half-even to ₩1,234
        (Decimal("1234.5"), "JPY", "¥1,235"),
        (Decimal("2.345"), "USD", "$2.35"),
        (Decimal("1234.5"), "HKD", "HK$1,234.50"),
        (Decimal("-1234.5"), "EUR", "-€1,234.50"),
        (Decimal("0"), "CNY", "CN¥0.00"),
    ],
)
def test_money_is_rounded_half_up_to_the_currencys_minor_unit(amount: Decimal, currency: str, expected: str) -> None:
    assert Formatter("en").money(amount, currency) == expected


def test_every_language_is_in_the_money_table() -> None:
    assert sorted(MONEY_1234567_5) == sorted(LANGUAGES)


def expected_strings(kind: str, language: str, ctx: Any) -> list[str]:
    """What a reader must find: the client, the numbers, dates and amounts as the locale writes them."""
    fmt = Formatter(language)  # type: ignore[arg-type]
    gettext = load_translations(language).gettext  # type: ignore[arg-type]
    found = [ctx["client"]["name"], ctx["reference"], fmt.date(ctx["issue_date"])]
    found += SAMPLE_AMOUNTS[(kind, language)]
    if kind == "renewal_notice":
        found += [
            gettext("Contract renewal notice"),
            ctx["contract"]["number"],
            ctx["contract"]["title"],
            fmt.date(ctx["contract"]["end_date"]),
            fmt.date(ctx["reply_by"]),
            ctx["account_manager"]["name"],
            ctx["account_manager"]["email"],
        ]
        if ctx["opt_out_deadline"] is not None:
            found.append(fmt.date(ctx["opt_out_deadline"]))
    elif kind == "payment_reminder":
        for invoice in ctx["invoices"]:
            found += [invoice["number"], fmt.date(invoice["due_date"], "compact")]
        found += [fmt.date(ctx["pay_by"]), ctx["letterhead"]["payment_instructions"][-1]]
    else:
        account = ctx["accounts"][0]
        found += [
            gettext("Statement of account"),
            account["entries"][0]["reference"],
            account["entries"][0]["description"],
            fmt.date(ctx["period_end"]),
        ]
    return found


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_notice_shows_client_numbers_dates_and_amounts_in_its_language(
    rendered: dict[tuple[str, str], RenderedPdf], kind: str, language: str
) -> None:
    pdf = rendered[(kind, language)]
    text = all_text(pdf)

    missing = [s for s in expected_strings(kind, language, sample_context(kind, language)) if squash(s) not in text]

    assert missing == []
    assert pdf.size == len(pdf.data)
    assert pdf.sha256 == hashlib.sha256(pdf.data).hexdigest()


def test_chinese_and_korean_text_comes_out_as_written(rendered: dict[tuple[str, str], RenderedPdf]) -> None:
    assert "合同续约通知" in all_text(rendered[("renewal_notice", "zh-Hans")])
    assert "合約續約通知" in all_text(rendered[("renewal_notice", "zh-Hant")])
    assert squash("계약 갱신 안내") in all_text(rendered[("renewal_notice", "ko")])
    assert "第1頁，共2頁" in squash(pdf_text(rendered[("statement", "zh-Hant")])[0])
    assert "1/1페이지" in squash(pdf_text(rendered[("payment_reminder", "ko")])[0])


def test_korean_amounts_have_no_decimals() -> None:
    assert Formatter("ko").money(Decimal("1914750"), "KRW") == "₩1,914,750"
    assert Formatter("en").money(Decimal("1914750.4"), "KRW") == "₩1,914,750"


def test_amounts_round_half_up_like_the_ledger() -> None:
    assert Formatter("en").money(Decimal("0.125"), "USD") == "$0.13"


def embedded_fonts(pdf: RenderedPdf) -> dict[str, bool]:
    """BaseFont name → whether a font file is embedded, over every page."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(pdf.data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            has_file = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"]).split("+", 1)[-1]] = has_file
    return fonts


@pytest.mark.parametrize(
    ("language", "font_names"),
    [
        ("zh-Hans", ("Notice-Core-SC", "Noto-Sans-CJK-SC")),
        ("zh-Hant", ("Notice-Core-TC", "Noto-Sans-CJK-TC")),
        ("ko", ("NanumGothic",)),
    ],
)
def test_cjk_notice_embeds_a_cjk_font(
    rendered: dict[tuple[str, str], RenderedPdf], language: str, font_names: tuple[str, ...]
) -> None:
    fonts = embedded_fonts(rendered[("payment_reminder", language)])

    cjk = {name: embedded for name, embedded in fonts.items() if name.startswith(font_names)}

    assert cjk, f"none of {font_names} among {sorted(fonts)}"
    assert all(cjk.values())
    assert any("Bold" in name for name in cjk), "headings use the real bold face"


def test_rendering_again_gives_the_same_bytes(renderer: Renderer, rendered: dict[tuple[str, str], RenderedPdf]) -> None:
    for case in [("renewal_notice", "en"), ("statement", "zh-Hans"), ("payment_reminder", "ko")]:
        again = renderer.render(*case, sample_context(*case))  # type: ignore[arg-type]

        assert again.sha256 == rendered[case].sha256
        assert again.data == rendered[case].data


def test_another_process_renderer_gives_the_same_bytes(rendered: dict[tuple[str, str], RenderedPdf]) -> None:
    fresh = Renderer(allowed_files=[SAMPLE_LOGO], warm=False)

    again = fresh.render("payment_reminder", "zh-Hant", sample_context("payment_reminder", "zh-Hant"))

    assert again.sha256 == rendered[("payment_reminder", "zh-Hant")].sha256


def test_pdf_dates_are_the_issue_date_not_the_clock(rendered: dict[tuple[str, str], RenderedPdf]) -> None:
    info = PdfReader(io.BytesIO(rendered[("renewal_notice", "en")].data)).metadata

    assert info is not None
    assert str(info["/CreationDate"]).startswith("D:20260316")
    assert str(info["/ModDate"]).startswith("D:20260316")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that records whether anyone connected."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.setblocking(False)
    yield sock
    sock.close()


def connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_remote_logo_is_refused_and_never_fetched(renderer: Renderer, listener: socket.socket, scheme: str) -> None:
    port = listener.getsockname()[1]
    ctx = copy.deepcopy(sample_context("payment_reminder", "en"))
    ctx["letterhead"]["logo_path"] = f"{scheme}://127.0.0.1:{port}/x.png"

    with pytest.raises(NoticeRenderFailed, match="refused to fetch"):
        renderer.render("payment_reminder", "en", ctx)

    assert not connected(listener)


def test_remote_stylesheet_in_text_is_escaped_not_fetched(renderer: Renderer, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    ctx = copy.deepcopy(sample_context("payment_reminder", "en"))
    ctx["client"]["name"] = f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">Evil Ltd.'

    pdf = renderer.render("payment_reminder", "en", ctx)

    assert not connected(listener)
    assert squash('<link rel="stylesheet"') in all_text(pdf)


def test_local_file_outside_the_allowed_ones_is_refused(renderer: Renderer) -> None:
    ctx = copy.deepcopy(sample_context("payment_reminder", "en"))
    ctx["letterhead"]["logo_path"] = "/etc/hostname"

    with pytest.raises(NoticeRenderFailed, match="refused to fetch"):
        renderer.render("payment_reminder", "en", ctx)


def test_missing_context_key_is_an_error_not_a_blank(renderer: Renderer) -> None:
    ctx = copy.deepcopy(sample_context("renewal_notice", "en"))
    del ctx["account_manager"]["phone"]  # type: ignore[misc]

    with pytest.raises(NoticeRenderFailed, match="phone"):
        renderer.render("renewal_notice", "en", ctx)


def test_missing_top_level_key_is_an_error(renderer: Renderer) -> None:
    ctx = copy.deepcopy(sample_context("renewal_notice", "en"))
    del ctx["reply_by"]  # type: ignore[misc]

    with pytest.raises(NoticeRenderFailed, match="reply_by"):
        renderer.render("renewal_notice", "en", ctx)


def test_unknown_kind_or_language_is_rejected(renderer: Renderer) -> None:
    with pytest.raises(ValidationFailed):
        renderer.render("invoice", "en", sample_context("statement", "en"))
    with pytest.raises(ValidationFailed):
        renderer.render("statement", "ja", sample_context("statement", "en"))


@pytest.mark.parametrize(
    ("language", "page_two", "headers"),
    [
        ("en", "Page 2 of", ["Date", "Transaction", "Payments and credits", "Balance"]),
        ("zh-Hant", "第2頁，共", ["日期", "交易類別", "付款及折讓", "餘額"]),
    ],
)
def test_long_statement_breaks_across_pages_with_headers_repeated(
    renderer: Renderer, language: str, page_two: str, headers: list[str]
) -> None:
    ctx = statement(language, months=24)  # type: ignore[arg-type]

    pdf = renderer.render("statement", language, ctx)
    pages = [squash(text) for text in pdf_text(pdf)]

    assert pdf.pages == len(pages) >= 3
    assert squash(page_two) in pages[1]
    assert pages[1].split(squash(page_two), 1)[1].startswith(str(pdf.pages))
    for header in headers:
        assert squash(header) in pages[1], f"{header} not repeated on page 2"


@pytest.mark.parametrize(
    ("level", "heading"),
    [
        (1, "Payment reminder"),
        (2, "Second payment reminder"),
        (3, "Urgent: overdue payment"),
        (4, "Final notice before further action"),
    ],
)
def test_reminder_tone_follows_the_highest_level(renderer: Renderer, level: int, heading: str) -> None:
    ctx = copy.deepcopy(sample_context("payment_reminder", "en"))
    for invoice in ctx["invoices"]:
        invoice["level"] = 1
    ctx["invoices"][-1]["level"] = level  # type: ignore[typeddict-item]

    text = all_text(renderer.render("payment_reminder", "en", ctx))

    assert squash(heading) in text
    if level == 4:
        assert squash("refer the matter for collection") in text
    else:
        assert squash("refer the matter for collection") not in text


def test_cjk_notice_is_refused_when_no_font_covers_it(renderer: Renderer, monkeypatch: pytest.MonkeyPatch) -> None:
    latin_only = {"en": ["Liberation Sans"], "zh-Hans": [], "zh-Hant": [], "ko": []}
    monkeypatch.setattr(renderer, "font_coverage", latin_only)

    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        renderer.render("statement", "zh-Hans", sample_context("statement", "zh-Hans"))
    with pytest.raises(FontMissing, match="fonts-nanum"):
        renderer.render("statement", "ko", sample_context("statement", "ko"))
    english_letter_to_korean_client = copy.deepcopy(sample_context("statement", "en"))
    english_letter_to_korean_client["client"]["name"] = "주식회사 한빛클라우드"
    with pytest.raises(FontMissing):
        renderer.render("statement", "en", english_letter_to_korean_client)
    assert renderer.render("statement", "en", sample_context("statement", "en")).pages >= 1


def test_fonts_for_every_language_are_installed(renderer: Renderer) -> None:
    assert renderer.usable_languages() == list(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_are_complete_and_every_translation_is_what_notices_use(language: str) -> None:
    with po_path(BABEL_IDS[language]).open("rb") as fh:  # type: ignore[index]
        catalog = read_po(fh)
    translations = load_translations(language)  # type: ignore[arg-type]

    if language != "en":
        untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not all(_strings_of(m.string)))]
        assert untranslated == []
    singles = [m for m in catalog if m.id and isinstance(m.id, str) and not m.fuzzy]
    assert len(singles) > 50
    # English is written in the message ids: an empty translation falls back to the id.
    assert [translations.gettext(m.id) for m in singles] == [m.string or m.id for m in singles]


def _strings_of(value: object) -> list[str]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, tuple | list) else [""]


def test_page_dates_follow_the_locale() -> None:
    day = date(2026, 6, 30)

    assert Formatter("en").date(day) == "June 30, 2026"
    assert Formatter("zh-Hans").date(day) == "2026年6月30日"
    assert Formatter("zh-Hant").date(day) == "2026年6月30日"
    assert Formatter("ko").date(day) == "2026년 6월 30일"
    assert Formatter("zh-Hant").date(day, "compact") == "2026/6/30"


def test_core_font_copies_are_made_once_and_reused(tmp_path: Path) -> None:
    text = {"zh-Hans": "顺颂商祺", "zh-Hant": "敬祝商祺"}

    first = core_font_faces(tmp_path, text)
    again = core_font_faces(tmp_path, text)

    assert first == again
    assert sorted(family for family, _ in first.values()) == [
        "Notice Core SC",
        "Notice Core SC",
        "Notice Core TC",
        "Notice Core TC",
    ]
    assert len(list(tmp_path.iterdir())) == 4


def test_rare_character_falls_back_to_the_full_font(renderer: Renderer) -> None:
    ctx = copy.deepcopy(sample_context("payment_reminder", "zh-Hans"))
    ctx["client"]["name"] = "上海𬭚堃科技有限公司"

    pdf = renderer.render("payment_reminder", "zh-Hans", ctx)

    assert "上海𬭚堃科技有限公司" in all_text(pdf)
    assert any(name.startswith("Noto-Sans-CJK-SC") for name in embedded_fonts(pdf))


def test_core_fonts_are_not_taken_from_a_folder_others_can_write(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)

    assert core_font_faces(shared, {}) == {}
    assert list(shared.iterdir()) == []


def _shape(element: Any) -> tuple[Any, ...]:
    """An element tree as rendering sees it: tags, attributes and text, whitespace aside."""
    return (
        element.tag,
        dict(element.attrib),
        (element.text or "").strip(),
        [_shape(child) for child in element],
        (element.tail or "").strip(),
    )


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_the_quick_parser_reads_every_notice_as_the_html5_parser_does(
    renderer: Renderer, kind: str, language: str
) -> None:
    html = renderer.html(kind, language, sample_context(kind, language))  # type: ignore[arg-type]

    assert _shape(parse_letter(html)) == _shape(tinyhtml5.parse(html, namespace_html_elements=False))


def test_free_text_the_quick_parser_refuses_is_read_by_the_html5_parser(renderer: Renderer) -> None:
    context: dict[str, Any] = copy.deepcopy(dict(sample_context("payment_reminder", "en")))
    context["client"]["name"] = 'Tricky <b>&amp; \x0b Sons</b> <!DOCTYPE x> "Ltd"'  # a control character
    html = renderer.html("payment_reminder", "en", context)
    with pytest.raises(ElementTree.ParseError):
        parse_letter(html)

    pdf = renderer.render("payment_reminder", "en", context)

    assert pdf.pages == 1
    assert squash("Dear Ms Sarah Whitfield,") in all_text(pdf)


def test_the_user_agent_stylesheet_knows_every_element_the_notices_use() -> None:
    templates = Path(DEFAULT_TEMPLATES_DIR)
    used = {
        tag
        for path in templates.glob("*.html")
        if path.name != "reply_page.html"
        for tag in re.findall(r"<([a-z][a-z0-9]*)", path.read_text())
    }
    sheet = (templates / "ua.css").read_text()
    known = set(re.findall(r"(?<![\w.#:-])([a-z][a-z0-9]*)(?=[\s,{>:\[])", re.sub(r"/\*.*?\*/", "", sheet, flags=re.S)))

    # Inline elements without defaults of their own need no rule.
    assert used - known - {"span"} == set()
