"""How the daily scan writes alerts: portable date arithmetic, insert-or-skip by dedupe key, the
row shape, and resolution by id. Shared by raising, dunning and resolving; nothing here decides.

Every newly raised alert asks for the background job `alerts.deliver` with `alert_id=<id>` (sent
after commit; see renewals.db.uow.request_job). Bookkeeping stamps (created_at, updated_at) are
the columns' defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, func, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import Alert, User
from renewals.db.uow import request_job
from renewals.domain.alerts.rules import AlertSpec

DELIVER_ACTOR = "alerts.deliver"


class days_before(FunctionElement[date]):
    """`day − n days` for a date column and an integer column, on PostgreSQL and SQLite."""

    type = Date()
    inherit_cache = True


@compiles(days_before)
def _days_before_default(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} - {compiler.process(days, **kw)})"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, printf('%d days', -({compiler.process(days, **kw)})))"


def insert_new(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert alert rows, skipping any whose dedupe key exists; return the ids actually inserted."""
    if not rows:
        return []
    # One lock order for every writer, so two concurrent scans never deadlock on the unique index.
    rows = sorted(rows, key=lambda row: str(row["dedupe_key"]))
    stmt = insert_ignoring_conflicts(session, Alert.__table__, ["dedupe_key"])
    # Rows as parameters (executemany, batched by SQLAlchemy's insertmanyvalues with RETURNING),
    # not `.values(rows)`: a multi-row VALUES clause is compiled afresh for every call, which cost
    # about three quarters of a daily scan's CPU (docs/benchmarks.md).
    return sorted(session.scalars(stmt.returning(Alert.id), rows))


def raise_alerts(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the alerts that are new and ask for their delivery after commit; count them."""
    new_ids = insert_new(session, rows)
    for alert_id in new_ids:
        request_job(session, DELIVER_ACTOR, alert_id=alert_id)
    return len(new_ids)


def alert_row(
    spec: AlertSpec,
    as_of: date,
    *,
    assignee_id: int | None,
    informed_id: int | None,
    client_id: int | None,
    message: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """The row of a new open alert raised on `as_of`, for `raise_alerts`."""
    return {
        "kind": spec.kind.value,
        "subject_type": spec.subject_type.value,
        "subject_id": spec.subject_id,
        "threshold": spec.threshold,
        "severity": spec.severity.value,
        "assignee_id": assignee_id,
        "informed_id": informed_id,
        "client_id": client_id,
        "status": "open",
        "raised_on": as_of,
        "dedupe_key": spec.dedupe_key,
        "message": message,
        "details": details,
    }


def resolve_ids(session: Session, ids: Sequence[int], as_of: date) -> int:
    """Mark the alerts resolved on `as_of` unless they already are; count those changed."""
    if not ids:
        return 0
    result = session.execute(
        update(Alert)
        .where(Alert.id.in_(sorted(ids)), Alert.status != "resolved")
        .values(status="resolved", resolved_on=as_of, resolution="auto")
        .execution_options(synchronize_session=False)
    )
    expire_loaded(session, Alert, ids)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_loaded(session: Session, model: type[Any], ids: Sequence[int]) -> None:
    """Forget the cached state of rows changed behind the ORM's back (bulk UPDATEs), so that a
    later change through the same session sees their new version instead of failing as stale."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and getattr(obj, "id", None) in wanted:
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
