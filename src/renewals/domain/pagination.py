"""List responses: `{items, total, limit, offset}`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from renewals.errors import ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 500


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def check_window(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("limit", f"must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationFailed("offset", "must not be negative")


@dataclass
class Captured:
    stmt: Select[Any] | None = None


_capture: ContextVar[Captured | None] = ContextVar("renewals_paginate_capture", default=None)


@contextmanager
def capture_query() -> Iterator[Captured]:
    """Within this block `paginate` runs nothing: it records its (ordered, unpaged) statement
    and returns an empty page, so an export can stream every row of the very query a list uses,
    with its filters and access scope, from one cursor instead of page after page."""
    slot = Captured()
    token = _capture.set(slot)
    try:
        yield slot
    finally:
        _capture.reset(token)


def paginate(session: Session, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """Run `stmt` for one page and count all its rows (ordering must be set by the caller)."""
    slot = _capture.get()
    if slot is not None:
        slot.stmt = stmt
        return [], 0
    check_window(limit, offset)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(limit).offset(offset)))
    return rows, total
