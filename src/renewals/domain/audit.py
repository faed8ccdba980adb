"""The append-only audit log: one row per change, with who, when, what, before and after."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from renewals.db.models import AuditEntry, User

# Core's executemany, built once: the ORM's bulk-insert path costs more than the rows themselves.
_INSERT = insert(cast(Table, AuditEntry.__table__))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Append one audit row in the caller's transaction (it commits or rolls back with the change)."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    session.add(entry)
    return entry


AuditRow = tuple[str, str, int, "dict[str, Any] | None", "dict[str, Any] | None"]


def record_many(session: Session, actor: User | None, rows: list[AuditRow]) -> int:
    """Append many audit rows (action, entity type, entity id, before, after) in one executemany.

    For the scan's set-based steps: the same rows `record` writes, without a statement per row
    (their time, like `record`'s, is the column's default). Returns the number of rows written.
    """
    if not rows:
        return 0
    actor_id = actor.id if actor is not None else None
    session.execute(
        _INSERT,
        [
            {
                "actor_id": actor_id,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "before": _plain(before) if before is not None else None,
                "after": _plain(after) if after is not None else None,
            }
            for action, entity_type, entity_id, before, after in rows
        ],
    )
    return len(rows)
