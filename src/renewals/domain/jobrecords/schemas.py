"""Job shapes as the API carries them (pinned: id, kind, status, result, error)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec


class ScanIn(msgspec.Struct, forbid_unknown_fields=True):
    as_of: date
    dry_run: bool = False
    """Report what the scan would change as of that day, and change nothing."""
    force: bool = False
    """An admin running the scan more than a month ahead of today, on purpose."""


class ScanRehearsal(msgspec.Struct):
    as_of: date
    dry_run: bool
    effects: dict[str, int]


class JobOut(msgspec.Struct):
    id: int
    kind: str
    status: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    chunks_total: int | None
    chunks_done: int
