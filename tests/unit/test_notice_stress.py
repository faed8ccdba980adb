"""Typesetting that cannot break: every kind in every language rendered from a stress context (the
largest amount of each currency, 40 statement lines, long names) and read back with pypdf. Every
amount, date and reference must come out whole on one line, no raw code may show, and the
page count is what the content calls for."""

from __future__ import annotations

import copy
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from renewals.domain.notices import KINDS, LANGUAGES, RenderedPdf, Renderer
from renewals.domain.notices.i18n import Formatter, load_translations
from renewals.domain.notices.render import keep_korean_words
from renewals.domain.notices.samples import SAMPLE_LOGO, sample_context

# The largest amounts a letter must set without wrapping, per currency.
LARGEST = {"USD": Decimal("999999999.99"), "CNY": Decimal("999999999.99"), "HKD": Decimal("999999999.99")}
LARGEST["KRW"] = Decimal("99999999999")
CURRENCY = {"en": "USD", "zh-Hans": "CNY", "zh-Hant": "HKD", "ko": "KRW"}
LONG_NAME = {
    "en": "Northwind Hosting and Managed Infrastructure Services for Financial Institutions (Europe) Ltd.",
    "zh-Hans": "上海云启科技有限公司暨华东地区金融机构数据中心托管与云计算基础设施综合服务分公司",
    "zh-Hant": "台灣數據服務股份有限公司暨北部地區金融機構資料中心代管與雲端基礎設施綜合服務分公司",
    "ko": "주식회사 한빛클라우드 금융기관 전용 데이터센터 위탁운영 및 클라우드 인프라 통합서비스 사업본부",
}
RAW_CODES = [
    "bank_transfer",
    "cheque",
    "credit_note",
    "payment_reversal",
    "write_off",
    "invoice_void",
    "quarterly",
    "monthly",
    "localhost",
]
STATEMENT_LINES = 40
# Pages each kind takes from the stress context (CJK sets denser than English): a reminder of ten
# invoices fits one page, a renewal notice with long names overflows at most onto a second, 40
# statement lines take three or four.
EXPECTED_PAGES = {"renewal_notice": (1, 2), "payment_reminder": (1, 1), "statement": (3, 4)}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def stress_context(kind: str, language: str) -> dict[str, Any]:
    ctx: dict[str, Any] = copy.deepcopy(dict(sample_context(kind, language)))  # type: ignore[arg-type]
    currency, top = CURRENCY[language], LARGEST[CURRENCY[language]]
    ctx["client"]["name"] = LONG_NAME[language]
    ctx["reference"] = f"{ctx['reference']}-20261231-000123"
    if kind == "renewal_notice":
        ctx["contract"]["currency"] = currency
        ctx["contract"]["title"] = LONG_NAME[language]
        for line in ctx["proposal"]["lines"]:
            line["quantity"] = Decimal(1)
            line["current_unit_price"] = line["new_unit_price"] = (top / 4).quantize(top)
        ctx["proposal"]["lines"][0]["description"] = LONG_NAME[language]
        ctx["proposal"]["uplift_pct"] = Decimal(0)
        ctx["proposal"]["term_months"] = 1
    elif kind == "payment_reminder":
        ctx["invoices"] = [
            {**invoice, "currency": currency, "amount_due": top / 8, "number": f"INV-2026-{i:08d}"}
            for i, invoice in enumerate(ctx["invoices"] * 2)
        ]
        ctx["earlier_reminders"] = [date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)]
    else:
        account = ctx["accounts"][0]
        account["currency"] = currency
        account["opening_balance"] = top
        entries = []
        for i in range(STATEMENT_LINES):
            day = date(2026, 1, 1) + timedelta(days=i * 2)
            charge = i % 2 == 0
            entries.append(
                {
                    "date": day,
                    "kind": "invoice" if charge else ("payment" if i % 4 == 1 else "payment_reversal"),
                    "reference": f"INV-2026-{100000 + i}" if charge else f"PAY-2026-{200000 + i}",
                    "description": LONG_NAME[language] if i == 0 else "",
                    "amount": -top if not charge and i % 4 == 1 else top,
                    "method": None if charge else ("cheque" if i % 8 == 1 else "bank_transfer"),
                    "period_start": day if charge else None,
                    "period_end": day + timedelta(days=30) if charge else None,
                }
            )
        # The running balance stays between 0 and twice the top amount: each charge is paid back.
        for i, entry in enumerate(entries):
            if entry["kind"] == "payment_reversal":
                entries[i] = {**entry, "kind": "payment", "amount": -top}
        account["entries"] = entries
        account["aging"] = dict.fromkeys(account["aging"], top)
        ctx["aging_buckets"] = list(account["aging"])
    return ctx


def amounts_of(kind: str, language: str, ctx: dict[str, Any]) -> list[str]:
    fmt = Formatter(language)  # type: ignore[arg-type]
    if kind == "renewal_notice":
        currency = ctx["contract"]["currency"]
        return [fmt.money(line["new_unit_price"], currency) for line in ctx["proposal"]["lines"]]
    if kind == "payment_reminder":
        return [fmt.money(invoice["amount_due"], invoice["currency"]) for invoice in ctx["invoices"]]
    account = ctx["accounts"][0]
    return [fmt.money(abs(entry["amount"]), account["currency"]) for entry in account["entries"]] + [
        fmt.money(account["opening_balance"], account["currency"])
    ]


def dates_and_references(kind: str, language: str, ctx: dict[str, Any]) -> list[str]:
    fmt = Formatter(language)  # type: ignore[arg-type]
    found = [ctx["reference"], fmt.date(ctx["issue_date"])]
    if kind == "renewal_notice":
        found += [ctx["contract"]["number"], fmt.date(ctx["reply_by"]), fmt.date(ctx["contract"]["end_date"])]
    elif kind == "payment_reminder":
        found += [invoice["number"] for invoice in ctx["invoices"]]
        found += [fmt.date(invoice["due_date"], "compact") for invoice in ctx["invoices"]]
        if max(invoice["level"] for invoice in ctx["invoices"]) >= 2:  # a first reminder names none
            found += [fmt.date(day) for day in ctx["earlier_reminders"]]
    else:
        entries = ctx["accounts"][0]["entries"]
        found += [entry["reference"] for entry in entries]
        found += [fmt.date(entry["date"], "compact") for entry in entries]
    return found


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(allowed_files=[SAMPLE_LOGO])


@pytest.fixture(scope="module")
def stressed(renderer: Renderer) -> dict[tuple[str, str], tuple[dict[str, Any], RenderedPdf]]:
    out = {}
    for kind in KINDS:
        for language in LANGUAGES:
            ctx = stress_context(kind, language)
            out[kind, language] = (ctx, renderer.render(kind, language, ctx))
    return out


def lines_of(pdf: RenderedPdf) -> list[list[str]]:
    """Each page's text lines, whitespace removed (extraction spaces CJK text freely)."""
    return [
        [squash(line) for line in page.extract_text().splitlines()] for page in PdfReader(io.BytesIO(pdf.data)).pages
    ]


CASES = [(kind, language) for kind in KINDS for language in LANGUAGES]


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_every_amount_date_and_reference_is_whole_on_one_line(
    stressed: dict[tuple[str, str], tuple[dict[str, Any], RenderedPdf]], kind: str, language: str
) -> None:
    ctx, pdf = stressed[kind, language]
    lines = [line for page in lines_of(pdf) for line in page]

    broken = [
        token
        for token in amounts_of(kind, language, ctx) + dates_and_references(kind, language, ctx)
        if not any(squash(token) in line for line in lines)
    ]

    assert broken == []


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_no_raw_code_shows(
    stressed: dict[tuple[str, str], tuple[dict[str, Any], RenderedPdf]], kind: str, language: str
) -> None:
    _ctx, pdf = stressed[kind, language]
    text = " ".join(" ".join(page) for page in lines_of(pdf))

    assert [code for code in RAW_CODES if code in text] == []


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_pages_are_as_expected_and_the_sign_off_never_stands_alone(
    stressed: dict[tuple[str, str], tuple[dict[str, Any], RenderedPdf]], kind: str, language: str
) -> None:
    _ctx, pdf = stressed[kind, language]
    pages = lines_of(pdf)
    sign_off = squash(load_translations(language).gettext("Yours sincerely,"))  # type: ignore[arg-type]
    last = pages[-1]
    before_sign_off = last[: next(i for i, line in enumerate(last) if sign_off in line)]

    low, high = EXPECTED_PAGES[kind]
    assert pdf.pages == len(pages)
    assert low <= len(pages) <= high
    # The page with the sign-off carries the letter's last block with it, not just the closing.
    assert sum(len(line) for line in before_sign_off) > 60


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_40_line_statement_repeats_its_table_header_on_every_page(
    stressed: dict[tuple[str, str], tuple[dict[str, Any], RenderedPdf]], language: str
) -> None:
    _ctx, pdf = stressed["statement", language]
    header = squash(load_translations(language).gettext("Payments and credits"))  # type: ignore[arg-type]
    pages = lines_of(pdf)

    table_pages = [page for page in pages if any("INV-2026-1" in line for line in page)]

    assert len(table_pages) >= 2
    assert all(any(header in line for line in page) for page in table_pages)


def test_korean_words_are_joined_in_the_body_only() -> None:
    html = '<html><head><title>갱신 안내</title></head><body><img alt="한빛 클라우드"><p>계약 갱신</p></body></html>'

    out = keep_korean_words(html)

    assert "<title>갱신 안내</title>" in out
    assert 'alt="한빛 클라우드"' in out
    assert "<p>계\u2060약 갱\u2060신</p>" in out


def test_a_korean_letter_reads_back_without_the_joiners(
    stressed: dict[tuple[str, str], tuple[dict[str, Any], RenderedPdf]],
) -> None:
    _ctx, pdf = stressed["renewal_notice", "ko"]
    text = "".join(" ".join(page) for page in lines_of(pdf))

    assert "\u2060" not in text
    assert "갱신" in text
