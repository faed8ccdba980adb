"""Configuration from the environment (12-factor); every variable has a documented default."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIER_THRESHOLDS = (
    "USD=100000:25000,EUR=90000:22000,CNY=700000:175000,HKD=780000:195000,TWD=3200000:800000,"
    "KRW=130000000:32000000,JPY=15000000:3700000"
)
DEFAULT_AGING_BUCKETS = "0,30,60,90,180"
DEFAULT_LOGO = Path(__file__).resolve().parents[2] / "templates" / "notices" / "sample-logo.svg"
# What a notice prints can be set per language: RENEWALS_<NAME>_<SUFFIX> (e.g.
# RENEWALS_COMPANY_NAME_ZH_HANS) wins over RENEWALS_<NAME> for letters in that language.
NOTICE_TEXT_NAMES = (
    "COMPANY_NAME",
    "COMPANY_ADDRESS",
    "COMPANY_CONTACT",
    "PAYMENT_INSTRUCTIONS",
    "AR_NAME",
    "AR_EMAIL",
    "AR_PHONE",
)
LANGUAGE_SUFFIXES = {"en": "EN", "zh-Hans": "ZH_HANS", "zh-Hant": "ZH_HANT", "ko": "KO"}


def _parse_tiers(raw: str) -> dict[str, tuple[Decimal, Decimal]]:
    """`USD=100000:25000,...` → {"USD": (A-minimum, B-minimum)} of annual contract value."""
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        code, _, limits = part.partition("=")
        a_min, _, b_min = limits.partition(":")
        out[code.strip().upper()] = (Decimal(a_min), Decimal(b_min))
    return out


def _parse_buckets(raw: str) -> tuple[int, ...]:
    """`0,30,60,90,180` → upper bounds of days past due for each bucket but the last."""
    bounds = tuple(int(x) for x in raw.split(",") if x.strip())
    if not bounds or bounds[0] != 0 or list(bounds) != sorted(set(bounds)):
        raise ValueError("RENEWALS_AGING_BUCKETS must start at 0 and increase, e.g. 0,30,60,90,180")
    return bounds


def _lines(raw: str | None) -> tuple[str, ...]:
    """`line one|line two` → ("line one", "line two"): one printed line each."""
    return tuple(part.strip() for part in (raw or "").split("|") if part.strip())


def _logo(raw: str | None) -> Path | None:
    """RENEWALS_LOGO: unset for the sample logo, empty for none, else a local image file."""
    if raw is None:
        return DEFAULT_LOGO
    if not raw.strip():
        return None
    path = Path(raw.strip()).expanduser().resolve()
    if not path.is_file():
        raise ValueError(f"RENEWALS_LOGO={raw!r} is not a file")
    return path


def _notice_texts() -> dict[str, dict[str, str]]:
    """Every RENEWALS_<NAME>_<language suffix> that is set: {language: {name in lower case: raw}}."""
    out: dict[str, dict[str, str]] = {}
    for language, suffix in LANGUAGE_SUFFIXES.items():
        found = {
            name.lower(): raw
            for name in NOTICE_TEXT_NAMES
            if (raw := os.environ.get(f"RENEWALS_{name}_{suffix}", "").strip())
        }
        if found:
            out[language] = found
    return out


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    host: str
    port: int
    secret_key: str
    timezone: str
    webhook_url: str | None
    smtp_url: str | None
    demo: bool
    tier_thresholds: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    aging_buckets: tuple[int, ...] = (0, 30, 60, 90, 180)
    renewal_horizon_days: int = 180
    max_days_ahead: int = 31
    """How far past today a scan or billing run may go without an admin's `force`."""
    token_ttl_hours: int = 12
    mail_from: str = "renewals@localhost"
    public_url: str = "http://127.0.0.1:8000"
    """Where clients reach this service: the base of the reply links in letters' e-mails."""
    # Notices: the letterhead, the accounts-receivable contact and the daily auto-reminders.
    company_name: str = "Renewals Data Centres Ltd."
    company_address: tuple[str, ...] = ()
    company_contact: tuple[str, ...] = ()
    payment_instructions: tuple[str, ...] | None = None
    """None: the default lines, in the letter's language."""
    logo_path: Path | None = DEFAULT_LOGO
    ar_name: str | None = None
    """None with ar_email None: the first active finance user, else the client's account manager."""
    ar_email: str | None = None
    ar_phone: str | None = None
    notice_texts: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per-language overrides of the above (see NOTICE_TEXT_NAMES)."""
    auto_reminders: bool = False


def _secret_key(data_dir: Path) -> str:
    """RENEWALS_SECRET_KEY, else one generated on first use and kept in the data directory."""
    explicit = os.environ.get("RENEWALS_SECRET_KEY")
    if explicit:
        return explicit
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load() -> Settings:
    data_dir = Path(os.environ.get("RENEWALS_DATA_DIR", "./var")).resolve()
    timezone = os.environ.get("RENEWALS_TIMEZONE", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"RENEWALS_TIMEZONE={timezone!r} is not a known time zone") from exc
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'renewals.db'}",
        redis_url=os.environ.get("REDIS_URL") or None,
        host=os.environ.get("RENEWALS_HOST", "127.0.0.1"),
        port=int(os.environ.get("RENEWALS_PORT", "8000")),
        secret_key=_secret_key(data_dir),
        timezone=timezone,
        webhook_url=os.environ.get("RENEWALS_WEBHOOK_URL") or None,
        smtp_url=os.environ.get("RENEWALS_SMTP_URL") or None,
        demo=_flag("RENEWALS_DEMO", True),
        tier_thresholds=_parse_tiers(os.environ.get("RENEWALS_TIER_THRESHOLDS", DEFAULT_TIER_THRESHOLDS)),
        aging_buckets=_parse_buckets(os.environ.get("RENEWALS_AGING_BUCKETS", DEFAULT_AGING_BUCKETS)),
        renewal_horizon_days=int(os.environ.get("RENEWALS_RENEWAL_HORIZON_DAYS", "180")),
        max_days_ahead=int(os.environ.get("RENEWALS_MAX_DAYS_AHEAD", "31")),
        token_ttl_hours=int(os.environ.get("RENEWALS_TOKEN_TTL_HOURS", "12")),
        mail_from=os.environ.get("RENEWALS_MAIL_FROM", "renewals@localhost"),
        public_url=(
            os.environ.get("RENEWALS_PUBLIC_URL")
            or f"http://{os.environ.get('RENEWALS_HOST', '127.0.0.1')}:{os.environ.get('RENEWALS_PORT', '8000')}"
        ).rstrip("/"),
        company_name=os.environ.get("RENEWALS_COMPANY_NAME") or "Renewals Data Centres Ltd.",
        company_address=_lines(os.environ.get("RENEWALS_COMPANY_ADDRESS", "1 Example Street|London EC1A 1AA")),
        company_contact=_lines(os.environ.get("RENEWALS_COMPANY_CONTACT")),
        payment_instructions=_lines(os.environ["RENEWALS_PAYMENT_INSTRUCTIONS"])
        if os.environ.get("RENEWALS_PAYMENT_INSTRUCTIONS", "").strip()
        else None,
        logo_path=_logo(os.environ.get("RENEWALS_LOGO")),
        ar_name=os.environ.get("RENEWALS_AR_NAME") or None,
        ar_email=os.environ.get("RENEWALS_AR_EMAIL") or None,
        ar_phone=os.environ.get("RENEWALS_AR_PHONE") or None,
        notice_texts=_notice_texts(),
        auto_reminders=_flag("RENEWALS_AUTO_REMINDERS", False),
    )


@lru_cache(maxsize=1)
def get() -> Settings:
    """Settings of this process (read once). Tests build their own with `load()`."""
    return load()
