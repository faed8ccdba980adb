"""Settings of the jobs layer only (read from the environment; each has a default)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time, timedelta

from renewals.domain.daily.scan import DEFAULT_CHUNK_SIZE
from renewals.domain.daily.sweep import LOST_AFTER


def _time(name: str, default: str) -> time:
    raw = os.environ.get(name) or default
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a time of day like 06:00") from None


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class JobsConfig:
    scan_at: time
    billing_at: time
    digest_at: time
    scan_chunk_size: int
    worker_threads: int
    webhook_secret: str | None = None
    delivery_timeout_s: float = 10.0
    # How long work may show no progress before the sweep sends its messages again.
    sweep_lost_after: timedelta = LOST_AFTER


def load() -> JobsConfig:
    return JobsConfig(
        scan_at=_time("RENEWALS_SCAN_AT", "06:00"),
        billing_at=_time("RENEWALS_BILLING_AT", "05:00"),
        digest_at=_time("RENEWALS_DIGEST_AT", "07:00"),
        scan_chunk_size=_int("RENEWALS_SCAN_CHUNK_SIZE", DEFAULT_CHUNK_SIZE),
        worker_threads=_int("RENEWALS_WORKER_THREADS", 4),
        webhook_secret=os.environ.get("RENEWALS_WEBHOOK_SECRET") or None,
        sweep_lost_after=timedelta(seconds=_int("RENEWALS_SWEEP_LOST_AFTER", int(LOST_AFTER.total_seconds()))),
    )
