"""Reading the audit log (managers and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import AuditEntry, User
from renewals.domain.access.rules import MANAGERS, require_role
from renewals.domain.pagination import paginate


class AuditOut(msgspec.Struct):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
    )


def list_audit(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    entity_type: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
) -> tuple[list[AuditEntry], int]:
    """Newest first. Raises Forbidden for anyone but managers and admins."""
    require_role(user, MANAGERS, "reading the audit log")
    stmt = select(AuditEntry)
    for column, value in {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "actor_id": actor_id,
        "action": action,
    }.items():
        if value is not None:
            stmt = stmt.where(getattr(AuditEntry, column) == value)
    return paginate(session, stmt.order_by(AuditEntry.id.desc()), limit, offset)
