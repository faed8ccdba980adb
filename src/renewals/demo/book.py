"""The demo book: a realistic small company's clients, contracts and one user per role.

Loaded on the first start of an empty database (RENEWALS_DEMO=0 turns that off), or with
`renewals demo load`. Dates are placed relative to `as_of`, so the renewal list is never empty.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contact, Contract, User
from renewals.demo import receivables as demo_receivables
from renewals.demo import renewals as demo_renewals
from renewals.domain.access.rules import Role
from renewals.domain.access.users import UserIn, create_user
from renewals.domain.clients.schemas import ClientIn, ContactIn, Language
from renewals.domain.clients.service import add_contact, create_client, refresh_tier_and_status
from renewals.domain.contracts.schemas import ContractIn, Kind, LineIn, TerminationIn
from renewals.domain.contracts.service import create_contract, terminate_contract
from renewals.domain.daily import scan
from renewals.settings import Settings

DEMO_PASSWORD = "renewals-demo"  # noqa: S105 — published demo credentials, printed at first start

USERS: list[tuple[str, str, Role]] = [
    ("admin@demo.renewals", "Ada Admin", "admin"),
    ("manager@demo.renewals", "Morgan Lee", "manager"),
    ("mina@demo.renewals", "Mina Park", "account_manager"),
    ("wei@demo.renewals", "Chen Wei", "account_manager"),
    ("finance@demo.renewals", "Farah Okafor", "finance"),
]

# (display name, legal name, language, currency, segment)
CLIENTS: list[tuple[str, str, Language, str, str]] = [
    ("Northwind Hosting", "Northwind Hosting Ltd.", "en", "USD", "channel"),
    ("Contoso Bank", "Contoso Bank plc", "en", "EUR", "finance"),
    ("Fabrikam Media", "Fabrikam Media Inc.", "en", "USD", "media"),
    ("Adatum Health", "Adatum Health Systems LLC", "en", "USD", "healthcare"),
    ("Tailspin Logistics", "Tailspin Logistics GmbH", "en", "EUR", "enterprise"),
    ("Woodgrove Insurance", "Woodgrove Insurance Group", "en", "USD", "finance"),
    ("City of Riverside", "City of Riverside", "en", "USD", "government"),
    ("Litware Analytics", "Litware Analytics Ltd.", "en", "USD", "enterprise"),
    ("Proseware Labs", "Proseware Labs Inc.", "en", "USD", "smb"),
    ("Blue Yonder Air", "Blue Yonder Airlines Corp.", "en", "EUR", "enterprise"),
    ("云启科技", "上海云启科技有限公司", "zh-Hans", "CNY", "enterprise"),
    ("北辰数据", "北京北辰数据服务有限公司", "zh-Hans", "CNY", "channel"),
    ("华南证券", "华南证券股份有限公司", "zh-Hans", "CNY", "finance"),
    ("深圳智联", "深圳智联网络技术有限公司", "zh-Hans", "CNY", "enterprise"),
    ("杭州市政务云", "杭州市数据资源管理局", "zh-Hans", "CNY", "government"),
    ("成都天府传媒", "成都天府传媒集团有限公司", "zh-Hans", "CNY", "media"),
    ("苏州工业云", "苏州工业园区云计算有限公司", "zh-Hans", "CNY", "channel"),
    ("武汉光谷医疗", "武汉光谷医疗科技有限公司", "zh-Hans", "CNY", "healthcare"),
    ("宁波港信息", "宁波港信息通信有限公司", "zh-Hans", "CNY", "enterprise"),
    ("南京教育网", "南京教育信息网络中心", "zh-Hans", "CNY", "education"),
    ("台灣數據", "台灣數據服務股份有限公司", "zh-Hant", "TWD", "channel"),
    ("香港環球銀行", "香港環球銀行有限公司", "zh-Hant", "HKD", "finance"),
    ("新竹晶片", "新竹晶片設計股份有限公司", "zh-Hant", "TWD", "enterprise"),
    ("台北市資訊局", "臺北市政府資訊局", "zh-Hant", "TWD", "government"),
    ("九龍物流", "九龍物流集團有限公司", "zh-Hant", "HKD", "enterprise"),
    ("高雄港務", "高雄港務資訊股份有限公司", "zh-Hant", "TWD", "enterprise"),
    ("澳門娛樂傳媒", "澳門娛樂傳媒有限公司", "zh-Hant", "HKD", "media"),
    ("台中醫療", "台中醫療網路股份有限公司", "zh-Hant", "TWD", "healthcare"),
    ("桃園教育雲", "桃園市教育網路中心", "zh-Hant", "TWD", "education"),
    ("한빛클라우드", "주식회사 한빛클라우드", "ko", "KRW", "channel"),
    ("서울데이터", "서울데이터센터 주식회사", "ko", "KRW", "enterprise"),
    ("미래금융", "미래금융지주 주식회사", "ko", "KRW", "finance"),
    ("부산항만정보", "부산항만정보통신 주식회사", "ko", "KRW", "enterprise"),
    ("대전시청", "대전광역시청", "ko", "KRW", "government"),
    ("누리미디어", "주식회사 누리미디어", "ko", "KRW", "media"),
    ("한결의료", "한결의료재단", "ko", "KRW", "healthcare"),
    ("별빛게임즈", "주식회사 별빛게임즈", "ko", "KRW", "smb"),
    ("인천물류", "인천물류서비스 주식회사", "ko", "KRW", "enterprise"),
    ("광주교육망", "광주교육정보원", "ko", "KRW", "education"),
    ("제주리조트", "제주리조트개발 주식회사", "ko", "KRW", "smb"),
]

# (description, kind, monthly unit price in USD-equivalent)
PRODUCTS: list[tuple[str, Kind, Decimal]] = [
    ("42U rack, 5 kW, Tier III", "rental", Decimal("1450")),
    ("Dedicated bandwidth 1 Gbps", "service", Decimal("620")),
    ("Cloud vCPU bundle (32 vCPU / 128 GB)", "service", Decimal("890")),
    ("Managed backup, 10 TB", "service", Decimal("410")),
    ("Cross-connect, single-mode fibre", "rental", Decimal("95")),
    ("Half rack, 2.5 kW", "rental", Decimal("780")),
]
FX = {
    "USD": Decimal(1),
    "EUR": Decimal("0.92"),
    "CNY": Decimal("7.2"),
    "TWD": Decimal("32"),
    "HKD": Decimal("7.8"),
    "KRW": Decimal("1350"),
}
TAX = {
    "USD": Decimal(0),
    "EUR": Decimal(19),
    "CNY": Decimal(6),
    "TWD": Decimal(5),
    "HKD": Decimal(0),
    "KRW": Decimal(10),
}
SEATS = {
    "en": ("Alex Morgan", "Jamie Patel"),
    "zh-Hans": ("王芳", "李强"),
    "zh-Hant": ("陳美玲", "林志明"),
    "ko": ("김민준", "이서연"),
}


@dataclass(frozen=True)
class DemoResult:
    users: list[tuple[str, str, str]]
    clients: int
    contracts: int


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def _birthday(day: date) -> date:
    return date(1985, day.month, min(day.day, 28))


def _price(usd: Decimal, currency: str) -> Decimal:
    value = usd * FX[currency]
    return value.quantize(Decimal(1) if currency == "KRW" else Decimal("0.01"))


def load(session: Session, settings: Settings, as_of: date, seed: int = 7) -> DemoResult:
    """Create the demo users, clients and contracts in the caller's transaction."""
    rng = random.Random(seed)  # noqa: S311 — reproducible demo data, not security
    users = {
        email: create_user(session, UserIn(email=email, name=name, role=role, password=DEMO_PASSWORD))
        for email, name, role in USERS
    }
    admin = users["admin@demo.renewals"]
    managers = [users["mina@demo.renewals"], users["wei@demo.renewals"]]
    tiers = settings.tier_thresholds
    n_contracts = 0
    # End-date offsets that fill every part of the renewal list: ending within 7/30/60/90 days,
    # already lapsed, and comfortably far away.
    offsets = [5, 12, 25, 28, 45, 58, 75, 88, 120, 150, 200, 300, 420, 560, -3, -20]
    for i, (name, legal, lang, currency, segment) in enumerate(CLIENTS):
        owner = managers[0] if lang in ("en", "ko") else managers[1]
        if i % 10 == 9:
            owner = managers[(i // 10) % 2]
        client = create_client(
            session,
            admin,
            ClientIn(
                name=name,
                legal_name=legal,
                segment=segment,
                size=rng.choice(["small", "medium", "large", "enterprise"]),
                language=lang,
                currency=currency,
                credit_limit=_price(Decimal(rng.choice([20000, 50000, 120000])), currency),
                owner_id=owner.id,
            ),
        )
        billing_name, signer_name = SEATS[lang]
        slug = f"client{i + 1}"
        add_contact(
            session,
            admin,
            client.id,
            ContactIn(
                name=billing_name,
                email=f"billing@{slug}.example",
                role="Accounts payable",
                is_billing=True,
                birthday=_birthday(as_of + timedelta(days=rng.randint(0, 40))),
            ),
        )
        add_contact(
            session,
            admin,
            client.id,
            ContactIn(name=signer_name, email=f"ceo@{slug}.example", role="Director", is_signatory=True),
        )
        for k in range(3):
            n_contracts += 1
            end = as_of + timedelta(days=offsets[(i * 3 + k) % len(offsets)])
            years = rng.choice([1, 1, 2, 3, 5])
            start = end - relativedelta(years=years) + timedelta(days=1)
            picks = rng.sample(PRODUCTS, k=rng.randint(1, 3))
            status: Literal["draft", "active"] = "draft" if (i + k) % 17 == 0 else "active"
            auto_renew = (i + k) % 3 == 0
            # Some contracts are history: expired or terminated before the book starts, so they get
            # no renewal record (the others get theirs as they are created, as through the API).
            expired = status == "active" and end < as_of and not auto_renew and k == 2
            terminated = status == "active" and i % 13 == 5 and k == 1 and end > as_of + timedelta(days=60)
            contract = create_contract(
                session,
                admin,
                ContractIn(
                    client_id=client.id,
                    number=f"CT-{as_of.year % 100:02d}{i + 1:03d}-{k + 1}",
                    title=f"{picks[0][0]} — {name}",
                    kind=picks[0][1],
                    start_date=start,
                    end_date=end,
                    billing_cycle=rng.choice(["monthly", "monthly", "quarterly", "annual"]),
                    currency=currency,
                    tax_rate=TAX[currency],
                    payment_terms_days=rng.choice([15, 30, 30, 45, 60]),
                    notice_period_days=rng.choice([30, 60, 90]),
                    auto_renew=auto_renew,
                    renewal_term_months=12,
                    renewal_uplift_pct=Decimal(rng.choice([0, 3, 5])),
                    status=status,
                    lines=[
                        LineIn(
                            description=d, quantity=Decimal(rng.randint(1, 6)), monthly_unit_price=_price(p, currency)
                        )
                        for d, _, p in picks
                    ],
                ),
                tiers,
                as_of=None if expired or terminated else as_of,
                horizon_days=settings.renewal_horizon_days,
            )
            if expired:
                contract.status = "expired"
            if terminated:
                terminate_contract(
                    session,
                    admin,
                    contract.id,
                    TerminationIn(
                        effective_date=max(start, as_of - timedelta(days=10)), reason="Consolidated into another site"
                    ),
                    tiers,
                )
        refresh_tier_and_status(session, client, tiers)
    session.flush()
    demo_receivables.load(session, users["finance@demo.renewals"], as_of)
    demo_renewals.load(
        session,
        {u.id: u for u in managers},
        users["manager@demo.renewals"],
        as_of,
        settings.renewal_horizon_days,
        tiers,
    )
    # The morning's scan, so the first sign-in shows dunning levels, alerts and today's desk.
    scan.run_day(session, as_of, horizon_days=settings.renewal_horizon_days)
    return DemoResult(
        users=[(e, n, r) for e, n, r in USERS],
        clients=session.scalar(select(func.count()).select_from(Client)) or 0,
        contracts=session.scalar(select(func.count()).select_from(Contract)) or 0,
    )


def sign_in_help(result: DemoResult, base_url: str) -> str:
    lines = [
        "Demo book loaded: "
        f"{result.clients} clients, {result.contracts} contracts. Sign in with any of these "
        f"(password {DEMO_PASSWORD!r}):"
    ]
    lines += [f"  {role:<16} {email:<24} {name}" for email, name, role in result.users]
    lines.append(f'  POST {base_url}/api/v1/auth/token {{"email": ..., "password": ...}} → bearer token')
    return "\n".join(lines)


__all__ = ["Contact", "DemoResult", "is_empty", "load", "sign_in_help"]
