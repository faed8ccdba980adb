"""Realistic sample notices, rendered to page-1 PNGs for people to look at.

    python -m renewals.domain.notices.samples docs/samples     (or `make samples`)

writes `<kind>-<lang>.png` for every kind and language (and, with `--pdf`, the PDFs). The
same contexts feed the rendering tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from renewals.domain.money import round_money
from renewals.domain.notices.context import (
    KINDS,
    LANGUAGES,
    Contact,
    Kind,
    Language,
    Letterhead,
    NoticeContext,
    OverdueInvoice,
    PaymentReminderContext,
    Recipient,
    RenewalLine,
    RenewalNoticeContext,
    StatementAccount,
    StatementContext,
    StatementEntry,
)
from renewals.domain.notices.render import DEFAULT_TEMPLATES_DIR, Renderer

ISSUE_DATE = date(2026, 3, 16)
SAMPLE_LOGO = DEFAULT_TEMPLATES_DIR / "sample-logo.svg"
AGING_BUCKETS = ["current", "1-30", "31-60", "61-90", "91-180", "180+"]

LETTERHEADS: dict[Language, Letterhead] = {
    "en": {
        "company_name": "Meridian Data Centres Ltd.",
        "address_lines": ["12 Harbour Exchange Square", "London E14 9GE, United Kingdom"],
        "contact_lines": ["+44 20 7946 0321 · accounts@meridian-dc.example", "VAT GB 318 4471 26"],
        "logo_path": str(SAMPLE_LOGO),
        "payment_instructions": [
            "Barclays Bank PLC, 1 Churchill Place, London E14 5HP",
            "Account name: Meridian Data Centres Ltd.",
            "IBAN GB29 BARC 2004 1541 2093 47 · SWIFT BARCGB22",
        ],
    },
    "zh-Hans": {
        "company_name": "美瑞迪安数据中心（上海）有限公司",
        "address_lines": ["上海市静安区南京西路 1266 号恒隆广场一期 38 楼", "邮编 200040"],
        "contact_lines": ["电话 021-6288 0321 · 邮箱 ar@meridian-dc.example", "统一社会信用代码 91310000MA1FL7XK3Q"],
        "logo_path": str(SAMPLE_LOGO),
        "payment_instructions": [
            "开户银行：招商银行上海分行营业部",
            "户名：美瑞迪安数据中心（上海）有限公司",
            "账号：1219 0863 5510 601",
        ],
    },
    "zh-Hant": {
        "company_name": "美瑞迪安數據中心股份有限公司",
        "address_lines": ["臺北市信義區信義路五段 7 號 56 樓", "郵遞區號 110"],
        "contact_lines": ["電話 (02) 8101-0321 · 電子郵件 ar@meridian-dc.example", "統一編號 5468 2173"],
        "logo_path": str(SAMPLE_LOGO),
        "payment_instructions": [
            "匯款銀行：國泰世華商業銀行 信義分行（銀行代碼 013）",
            "戶名：美瑞迪安數據中心股份有限公司",
            "帳號：0150 3500 8812",
        ],
    },
    "ko": {
        "company_name": "메리디안데이터센터 주식회사",
        "address_lines": ["서울특별시 영등포구 국제금융로 10, 원아이에프씨 32층", "(우) 07326"],
        "contact_lines": ["전화 02-6137-0321 · 이메일 ar@meridian-dc.example", "사업자등록번호 107-87-43125"],
        "logo_path": str(SAMPLE_LOGO),
        "payment_instructions": [
            "입금 은행: 신한은행 여의도금융센터지점",
            "예금주: 메리디안데이터센터 주식회사",
            "계좌번호: 140-013-582947",
        ],
    },
}

CLIENTS: dict[Language, Recipient] = {
    "en": {
        "name": "Northwind Hosting Ltd.",
        "attention": "Ms Sarah Whitfield",
        "address_lines": ["Unit 4, Canal Wharf", "Leeds LS11 5PS", "United Kingdom"],
    },
    "zh-Hans": {
        "name": "上海云启科技有限公司",
        "attention": "王建国先生",
        "address_lines": ["上海市浦东新区张江高科技园区", "碧波路 690 号 3 号楼 502 室", "邮编 201203"],
    },
    "zh-Hant": {
        "name": "台灣數據服務股份有限公司",
        "attention": "陳怡君經理",
        "address_lines": ["臺北市內湖區瑞光路 399 號 8 樓", "郵遞區號 114"],
    },
    "ko": {
        "name": "주식회사 한빛클라우드",
        "attention": "김민준 부장",
        "address_lines": ["경기도 성남시 분당구 판교역로 235", "에이치스퀘어 N동 7층 (우) 13494"],
    },
}

CONTACTS: dict[Language, tuple[Contact, Contact]] = {
    # (account manager, accounts receivable)
    "en": (
        {"name": "James Thornton", "email": "j.thornton@meridian-dc.example", "phone": "+44 20 7946 0388"},
        {"name": "Priya Natarajan", "email": "ar@meridian-dc.example", "phone": "+44 20 7946 0321"},
    ),
    "zh-Hans": (
        {"name": "李晓峰", "email": "xiaofeng.li@meridian-dc.example", "phone": "+86 21 6288 0388"},
        {"name": "周婷", "email": "ar.sh@meridian-dc.example", "phone": "+86 21 6288 0321"},
    ),
    "zh-Hant": (
        {"name": "林志明", "email": "zhiming.lin@meridian-dc.example", "phone": "+886 2 8101 0388"},
        {"name": "黃淑芬", "email": "ar.tw@meridian-dc.example", "phone": "+886 2 8101 0321"},
    ),
    "ko": (
        {"name": "박서연", "email": "seoyeon.park@meridian-dc.example", "phone": "+82 2 6137 0388"},
        {"name": "이준호", "email": "ar.kr@meridian-dc.example", "phone": "+82 2 6137 0321"},
    ),
}

CURRENCY: dict[Language, str] = {"en": "GBP", "zh-Hans": "CNY", "zh-Hant": "TWD", "ko": "KRW"}

# (title, auto-renew, lines as (description, quantity, monthly unit price))
CONTRACTS: dict[Language, tuple[str, bool, list[tuple[str, str, str]]]] = {
    "en": (
        "Colocation, London LD4: 4 racks",
        True,
        [
            ("42U rack, 8 kW, secure cage", "4", "1450.00"),
            ("Cross-connect, single-mode fibre", "6", "85.00"),
            ("IP transit, 1 Gbps committed", "2", "420.00"),
            ("Remote hands, 10 hours a month", "1", "600.00"),
        ],
    ),
    "zh-Hans": (
        "上海二号数据中心机柜租用及带宽服务",
        False,
        [
            ("标准机柜（42U，电力 6 kW）", "10", "6800.00"),
            ("BGP 多线带宽 200 Mbps", "2", "9500.00"),
            ("公网 IPv4 地址（/28）", "1", "1200.00"),
            ("7×24 小时现场运维服务", "1", "3000.00"),
        ],
    ),
    "zh-Hant": (
        "內湖機房主機代管服務",
        True,
        [
            ("標準機櫃（42U，電力 5 kW）", "3", "38000"),
            ("頻寬 500 Mbps（國際及國內）", "1", "52000"),
            ("異地備份儲存空間 20 TB", "1", "16500"),
        ],
    ),
    "ko": (
        "판교 IDC 전용 서버 임대 및 관리 서비스",
        False,
        [
            ("전용 서버 (2소켓, 512GB 메모리)", "8", "1850000"),
            ("백본 회선 1Gbps", "2", "2400000"),
            ("DDoS 방어 서비스", "1", "3200000"),
            ("24시간 관제 및 장애 대응", "1", "1500000"),
        ],
    ),
}

CONTRACT_NUMBERS: dict[Language, str] = {
    "en": "CT-2023-0417",
    "zh-Hans": "CT-2023-0582",
    "zh-Hant": "CT-2024-0091",
    "ko": "CT-2023-0733",
}

REMINDER_LEVEL: dict[Language, int] = {"en": 2, "zh-Hans": 1, "zh-Hant": 3, "ko": 4}


def _d(value: str) -> Decimal:
    return Decimal(value)


def renewal_notice(language: Language) -> RenewalNoticeContext:
    currency = CURRENCY[language]
    title, auto_renew, raw_lines = CONTRACTS[language]
    uplift = Decimal("3.5")
    lines: list[RenewalLine] = [
        {
            "description": description,
            "quantity": _d(qty),
            "current_unit_price": _d(price),
            "new_unit_price": round_money(_d(price) * (1 + uplift / 100), currency),
        }
        for description, qty, price in raw_lines
    ]
    end = date(2026, 6, 30)
    notice_days = 60
    return {
        "letterhead": LETTERHEADS[language],
        "issue_date": ISSUE_DATE,
        "reference": f"RN-2026-{CONTRACT_NUMBERS[language][-4:]}",
        "client": CLIENTS[language],
        "contract": {
            "number": CONTRACT_NUMBERS[language],
            "title": title,
            "currency": currency,
            "billing_cycle": "quarterly" if language == "en" else "monthly",
            "start_date": date(2023, 7, 1),
            "end_date": end,
            "auto_renew": auto_renew,
            "notice_period_days": notice_days,
        },
        "proposal": {
            "start_date": end + timedelta(days=1),
            "end_date": date(2027, 6, 30),
            "term_months": 12,
            "uplift_pct": uplift,
            "lines": lines,
        },
        "opt_out_deadline": end - timedelta(days=notice_days) if auto_renew else None,
        "reply_by": date(2026, 4, 15),
        "account_manager": CONTACTS[language][0],
    }


def _invoices(language: Language) -> list[OverdueInvoice]:
    currency = CURRENCY[language]
    top = REMINDER_LEVEL[language]
    scale = {"GBP": 1, "CNY": 8, "TWD": 40, "KRW": 1700}[currency]
    contract = CONTRACT_NUMBERS[language]
    # (number, due date, amount in GBP-equivalent, level), oldest first
    rows = [
        ("INV-2025-11873", date(2026, 1, 14), "7412.40", 4),
        ("INV-2026-00412", date(2026, 2, 1), "7412.40", 3),
        ("INV-2026-00957", date(2026, 2, 14), "2150.75", 2),
        ("INV-2026-01388", date(2026, 3, 1), "7412.40", 1),
    ]
    invoices: list[OverdueInvoice] = []
    for number, due, amount, level in rows:
        if level > top:
            continue
        invoices.append(
            {
                "number": number,
                "contract_number": contract,
                "issue_date": due - timedelta(days=30),
                "due_date": due,
                "days_overdue": (ISSUE_DATE - due).days,
                "currency": currency,
                "amount_due": round_money(_d(amount) * scale, currency),
                "level": level,  # type: ignore[typeddict-item]  # 1..4 by construction
            }
        )
    if language == "en":  # a second currency: totals are per currency, never summed
        invoices.append(
            {
                "number": "INV-2026-00761",
                "contract_number": "CT-2024-0208",
                "issue_date": date(2026, 1, 8),
                "due_date": date(2026, 2, 7),
                "days_overdue": (ISSUE_DATE - date(2026, 2, 7)).days,
                "currency": "EUR",
                "amount_due": Decimal("3890.00"),
                "level": 2,
            }
        )
    return invoices


def payment_reminder(language: Language) -> PaymentReminderContext:
    return {
        "letterhead": LETTERHEADS[language],
        "issue_date": ISSUE_DATE,
        "reference": f"PR-2026-{CONTRACT_NUMBERS[language][-4:]}-{REMINDER_LEVEL[language]}",
        "client": CLIENTS[language],
        "invoices": _invoices(language),
        "pay_by": ISSUE_DATE + timedelta(days=10 if REMINDER_LEVEL[language] < 4 else 7),
        # Levels 2 and up were preceded by delivered reminders, except the Korean final notice.
        "earlier_reminders": [date(2026, 2, 2), date(2026, 2, 16)][: REMINDER_LEVEL[language] - 1]
        if language != "ko"
        else [],
        "contact": CONTACTS[language][1],
    }


STATEMENT_TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "fee": "Colocation fees, {m}",
        "credit": "SLA credit: outage on 9 February",
        "bounce": "Returned payment",
        "months": "January 2026|February 2026|March 2026",
    },
    "zh-Hans": {
        "fee": "机柜租用费（{m}）",
        "credit": "服务中断补偿（2 月 9 日）",
        "bounce": "付款退回",
        "months": "2026 年 1 月|2026 年 2 月|2026 年 3 月",
    },
    "zh-Hant": {
        "fee": "主機代管費（{m}）",
        "credit": "服務中斷補償（2 月 9 日）",
        "bounce": "退匯",
        "months": "2026 年 1 月|2026 年 2 月|2026 年 3 月",
    },
    "ko": {
        "fee": "서버 임대료 ({m})",
        "credit": "서비스 장애 보상 (2월 9일)",
        "bounce": "입금 반환",
        "months": "2026년 1월|2026년 2월|2026년 3월",
    },
}


def statement_entries(language: Language, months: int = 3, start: date = date(2026, 1, 1)) -> list[StatementEntry]:
    """A quarter's activity: monthly invoices, payments, a credit note, a bounced payment.

    `months` > 3 repeats the pattern, for multi-page statements.
    """
    currency = CURRENCY[language]
    scale = {"GBP": 1, "CNY": 8, "TWD": 40, "KRW": 1700}[currency]
    text = STATEMENT_TEXT[language]
    names = text["months"].split("|")
    fee = round_money(Decimal("7412.40") * scale, currency)
    entries: list[StatementEntry] = []
    for i in range(months):
        first = date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        month_name = names[i] if i < len(names) else first.strftime("%Y-%m")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        entries.append(
            {
                "date": first,
                "kind": "invoice",
                "reference": f"INV-{first:%Y}-{1000 + 7 * i:05d}",
                "description": text["fee"].format(m=month_name),
                "amount": fee,
                "method": None,
                "period_start": first,
                "period_end": following - timedelta(days=1),
            }
        )
        entries.append(
            {
                "date": first + timedelta(days=12),
                "kind": "payment",
                "reference": f"PAY-{4410 + i}",
                "description": "",
                "amount": -fee,
                "method": "cheque" if i % 4 == 3 else "bank_transfer",
                "period_start": None,
                "period_end": None,
            }
        )
        if i % 3 == 1:
            entries.append(
                {
                    "date": first + timedelta(days=15),
                    "kind": "credit_note",
                    "reference": f"CN-{first:%Y}-{31 + i:04d}",
                    "description": text["credit"],
                    "amount": -round_money(fee * Decimal("0.05"), currency),
                    "method": None,
                    "period_start": None,
                    "period_end": None,
                }
            )
        if i % 3 == 2:
            entries.append(
                {
                    "date": first + timedelta(days=19),
                    "kind": "payment_reversal",
                    "reference": f"PAY-{4410 + i}",
                    "description": text["bounce"],
                    "amount": fee,
                    "method": "bank_transfer",
                    "period_start": None,
                    "period_end": None,
                }
            )
    return entries


def statement(language: Language, months: int = 3) -> StatementContext:
    currency = CURRENCY[language]
    scale = {"GBP": 1, "CNY": 8, "TWD": 40, "KRW": 1700}[currency]
    opening = round_money(Decimal("2150.75") * scale, currency)
    entries = statement_entries(language, months)
    closing = opening + sum((e["amount"] for e in entries), Decimal(0))
    aging = dict.fromkeys(AGING_BUCKETS, Decimal(0))
    aging["current"] = closing - opening
    aging["31-60"] = opening
    accounts: list[StatementAccount] = [
        {"currency": currency, "opening_balance": opening, "entries": entries, "aging": aging}
    ]
    return {
        "letterhead": LETTERHEADS[language],
        "issue_date": date(2026, 3, 31) + timedelta(days=months - 3 if months > 3 else 0),
        "reference": f"ST-2026Q1-{CONTRACT_NUMBERS[language][-4:]}",
        "client": CLIENTS[language],
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 3, 31),
        "aging_buckets": list(AGING_BUCKETS),
        "accounts": accounts,
        "contact": CONTACTS[language][1],
    }


def sample_context(kind: Kind, language: Language) -> NoticeContext:
    if kind == "renewal_notice":
        return renewal_notice(language)
    if kind == "payment_reminder":
        return payment_reminder(language)
    return statement(language)


def page_one_png(pdf: bytes, target: Path, dpi: int = 110) -> None:
    """Write page 1 of a PDF as a PNG with poppler's pdftoppm."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm not found: install poppler-utils (see system-packages.txt)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "notice.pdf"
        src.write_bytes(pdf)
        subprocess.run(  # noqa: S603 - fixed arguments, our own temporary files
            [pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(src), str(Path(tmp) / "page")],
            check=True,
        )
        shutil.move(Path(tmp) / "page.png", target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--pdf", action="store_true", help="also write the PDFs")
    args = parser.parse_args(argv)
    out: Path = args.directory
    out.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(allowed_files=[SAMPLE_LOGO])
    for kind in KINDS:
        for language in LANGUAGES:
            started = time.perf_counter()
            pdf = renderer.render(kind, language, sample_context(kind, language))
            elapsed = time.perf_counter() - started
            name = f"{kind}-{language}"
            if args.pdf:
                (out / f"{name}.pdf").write_bytes(pdf.data)
            page_one_png(pdf.data, out / f"{name}.png")
            print(f"{name}: {pdf.pages} page(s), {pdf.size} bytes, {elapsed * 1000:.0f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
