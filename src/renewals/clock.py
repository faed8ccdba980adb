"""The only place that reads the clock. Everything inside takes `as_of`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """Aware UTC timestamp, for audit rows and created_at columns."""
    return datetime.now(UTC)


def today(timezone: str) -> date:
    """Today's calendar date in the organisation's time zone (the date of `now()` there, so one
    function decides what the time is)."""
    return now().astimezone(ZoneInfo(timezone)).date()
