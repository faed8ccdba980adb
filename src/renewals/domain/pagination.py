"""List responses: `{items, total, limit, offset}`."""

from __future__ import annotations

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


def paginate(session: Session, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """Run `stmt` for one page and count all its rows (ordering must be set by the caller)."""
    check_window(limit, offset)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(limit).offset(offset)))
    return rows, total
