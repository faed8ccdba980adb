"""How the daily scan writes alerts: insert-or-skip by dedupe key from a SELECT, and resolution by
a condition. Shared by raising, dunning and resolving; nothing here decides.

Every newly raised alert asks for the background job `alerts.deliver` with `alert_id=<id>` (sent
after commit; see renewals.db.uow.request_job). Bookkeeping stamps (created_at, updated_at) are
the columns' defaults.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import Session

from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import Alert, User
from renewals.db.uow import request_job
from renewals.domain.alerts.sqlrules import ALERT_COLUMNS

DELIVER_ACTOR = "alerts.deliver"


def raise_selected(session: Session, rows: Select[Any]) -> int:
    """Insert the alerts `rows` selects (its columns in `sqlrules.ALERT_COLUMNS` order), skipping
    any whose dedupe key exists, and ask for the delivery of each new one after commit; count them.

    One INSERT … SELECT … ON CONFLICT DO NOTHING: the candidates never leave the database. The
    SELECT already leaves out the alerts that stand (`sqlrules.standing`); the unique key is the
    guard against a concurrent scan. Rows are inserted in the SELECT's order (by subject), one lock
    order for every writer, so two concurrent scans never deadlock on the unique index.
    """
    stmt = insert_ignoring_conflicts(session, Alert.__table__, ["dedupe_key"]).from_select(list(ALERT_COLUMNS), rows)
    new_ids = sorted(session.scalars(stmt.returning(Alert.id)))
    for alert_id in new_ids:
        request_job(session, DELIVER_ACTOR, alert_id=alert_id)
    return len(new_ids)


def resolve_where(session: Session, gone: ColumnElement[bool], as_of: date, *, end_resolved: bool) -> int:
    """Resolve on `as_of` (`resolution = auto`) the alerts `gone` selects and end their episodes
    (`ended_on`); count those whose status changed.

    With `end_resolved`, an alert a person already resolved by hand has its episode ended too
    (resolving by hand says "dealt with", not "the cause is gone"), so the same cause coming back
    is a new episode.
    """
    resolved = session.execute(
        update(Alert)
        .where(gone, Alert.status != "resolved")
        .values(status="resolved", resolved_on=as_of, resolution="auto", ended_on=func.coalesce(Alert.ended_on, as_of))
        .execution_options(synchronize_session=False)
    )
    if end_resolved:
        session.execute(
            update(Alert)
            .where(gone, Alert.ended_on.is_(None))
            .values(ended_on=as_of)
            .execution_options(synchronize_session=False)
        )
    expire_all_loaded(session, Alert)
    return int(resolved.rowcount or 0)  # type: ignore[attr-defined]


def expire_all_loaded(session: Session, model: type[Any]) -> None:
    """Forget the cached state of every loaded row of `model` after a set-based UPDATE."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model):
            session.expire(obj)


def first_active(session: Session, role: str) -> int | None:
    """The lowest-id active user of a role: the default assignee of that role's alerts."""
    return session.scalar(select(func.min(User.id)).where(User.role == role, User.active.is_(True)))


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def hand_over(session: Session, client_id: int, previous_owner_id: int, new_owner_id: int) -> int:
    """Unresolved alerts about a reassigned client follow it: those assigned to, or meant for, its
    previous owner go to the new one. Return how many assignments moved."""
    moved = 0
    for column in (Alert.assignee_id, Alert.informed_id):
        result = session.execute(
            update(Alert)
            .where(Alert.client_id == client_id, Alert.status != "resolved", column == previous_owner_id)
            .values({column.key: new_owner_id})
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount  # type: ignore[attr-defined]
    return moved
