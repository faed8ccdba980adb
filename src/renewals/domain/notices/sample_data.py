"""The sample book the notices' samples are cut from (one letterhead, client and contacts per
language, all invented): shared by every kind's `sample` (`kinds/`), so that the samples people
look at and the rendering tests read alike.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from renewals.domain.notices.context import Contact, Language, Letterhead, Recipient
from renewals.domain.notices.kinds.base import TEMPLATES_DIR

ISSUE_DATE = date(2026, 3, 16)
SAMPLE_LOGO = TEMPLATES_DIR / "sample-logo.svg"
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

CONTRACT_NUMBERS: dict[Language, str] = {
    "en": "CT-2023-0417",
    "zh-Hans": "CT-2023-0582",
    "zh-Hant": "CT-2024-0091",
    "ko": "CT-2023-0733",
}

REMINDER_LEVEL: dict[Language, int] = {"en": 2, "zh-Hans": 1, "zh-Hant": 3, "ko": 4}


# Amounts are written in pounds and scaled to each sample's currency.
SCALE: dict[str, int] = {"GBP": 1, "CNY": 8, "TWD": 40, "KRW": 1700}


def d(value: str) -> Decimal:
    return Decimal(value)
