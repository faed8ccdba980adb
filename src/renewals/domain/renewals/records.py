"""Renewal records: open them within the horizon, keep their end dates in step with their
contracts, hand them over with their client, snapshot them for the audit log, and write the
activities logged on them.

The lowest layer of the renewals feature: contracts, clients and the daily steps build on it,
and it builds on nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, exists, insert, literal, select, update
from sqlalchemy.orm import Session

from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import Activity, Client, Contract, Renewal, User
from renewals.domain.audit import record_many
from renewals.domain.renewals import risk
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS, OPEN_STATUSES, RenewalStatus
from renewals.domain.renewals.schemas import ActivityOut


def open_renewals(
    session: Session,
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    contract_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> int:
    """Create the renewal record of every active contract ending within the horizon that has none.

    One INSERT … SELECT; the unique contract_id makes it idempotent and safe when two scans run
    at once. Contracts already past their end get a record too, so the scan can decide them.
    `contract_ids` limits it to given contracts (a contract just created), `id_range` to an
    inclusive range of contract ids (a scan chunk). Returns the number of records created.
    """
    horizon_end = as_of + timedelta(days=horizon_days)
    source = (
        select(
            Contract.id,
            Client.owner_id,
            literal(RenewalStatus.UPCOMING.value, Renewal.status.type),
            Contract.end_date,
            literal(False, Renewal.seal_received.type),
            literal(1, Renewal.version.type),
        )
        .join(Client, Client.id == Contract.client_id)
        .where(
            Contract.status == "active",
            Contract.end_date <= horizon_end,
            ~exists().where(Renewal.contract_id == Contract.id),
        )
    )
    if contract_ids is not None:
        if not contract_ids:
            return 0
        source = source.where(Contract.id.in_(contract_ids))
    if id_range is not None:
        source = source.where(Contract.id.between(*id_range))
    # created_at and updated_at come from the columns' defaults (from_select includes them).
    columns = ["contract_id", "owner_id", "status", "end_date", "seal_received", "version"]
    table = cast(Table, Renewal.__table__)
    stmt = insert_ignoring_conflicts(session, table, ["contract_id"]).from_select(columns, source)
    # Core execution on the session's connection, keeping the rowcount of an INSERT … SELECT.
    result = session.connection().execute(stmt.execution_options(preserve_rowcount=True))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def open_renewal_for(session: Session, contract_id: int, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> int:
    """Create the renewal record of one contract at once if it is active and inside the horizon,
    and score its risk (a new record, or a contract whose value or end date just changed)."""
    opened = open_renewals(session, as_of, horizon_days, contract_ids=[contract_id])
    risk.refresh_contract(session, contract_id, as_of)
    return opened


def sync_end_dates(session: Session, contract_ids: Sequence[int] | None = None) -> int:
    """Copy a changed contract end date onto its open renewal (one UPDATE); return rows changed."""
    contract_end = select(Contract.end_date).where(Contract.id == Renewal.contract_id).scalar_subquery()
    stmt = update(Renewal).where(Renewal.status.in_(OPEN_STATUSES), Renewal.end_date != contract_end)
    if contract_ids is not None:
        stmt = stmt.where(Renewal.contract_id.in_(contract_ids))
    result = session.execute(
        stmt.values(end_date=contract_end, version=Renewal.version + 1).execution_options(synchronize_session=False)
    )
    changed = max(int(getattr(result, "rowcount", 0) or 0), 0)
    if changed:
        session.expire_all()
    return changed


_SNAPSHOT_FIELDS = (
    "id",
    "contract_id",
    "owner_id",
    "status",
    "end_date",
    "next_action_date",
    "sent_for_signature_on",
    "signed_on",
    "signed_by",
    "seal_received",
    "successor_contract_id",
    "lost_reason",
    "decided_on",
    "override_reason",
    "version",
)


def snapshot(renewal: Renewal) -> dict[str, object]:
    return {field: getattr(renewal, field) for field in _SNAPSHOT_FIELDS}


def as_int(value: object) -> int:
    return int(str(value))


def bump(snap: dict[str, object]) -> int:
    """The version a snapshot's row has after one more change."""
    return as_int(snap["version"]) + 1


def activity_out(activity: Activity) -> ActivityOut:
    return ActivityOut(
        id=activity.id,
        renewal_id=activity.renewal_id,
        kind=activity.kind,
        author_id=activity.author_id,
        at=activity.at,
        text=activity.text,
        next_follow_up_on=activity.next_follow_up_on,
        author_contact_id=activity.author_contact_id,
    )


def new_activity(
    session: Session,
    renewal: Renewal,
    author: User | None,
    kind: str,
    text: str,
    follow_up: date | None = None,
    at: datetime | None = None,
) -> Activity:
    activity = Activity(
        renewal_id=renewal.id,
        kind=kind,
        author_id=author.id if author else None,
        text=text,
        next_follow_up_on=follow_up,
    )
    if at is not None:
        activity.at = at.astimezone(UTC)
    session.add(activity)
    return activity


def activity_row(renewal_id: int, author: User | None, text: str) -> dict[str, Any]:
    """A system note on a renewal, for `insert_activities` (its time is the column's default)."""
    return {
        "renewal_id": renewal_id,
        "kind": "note",
        "author_id": author.id if author else None,
        "text": text,
        "next_follow_up_on": None,
    }


def insert_activities(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(cast(Table, Activity.__table__)), rows)


def hand_over_renewals(session: Session, actor: User | None, client_id: int, owner_id: int) -> int:
    """Give a reassigned client's open renewals to its new owner, one audit row each.

    Decided renewals keep the owner who decided them: they are history. Returns the number moved.
    """
    renewals = list(
        session.scalars(
            select(Renewal)
            .join(Contract, Contract.id == Renewal.contract_id)
            .where(Contract.client_id == client_id, Renewal.status.in_(OPEN_STATUSES), Renewal.owner_id != owner_id)
        )
    )
    if not renewals:
        return 0
    before = {r.id: snapshot(r) for r in renewals}
    session.execute(
        update(Renewal)
        .where(Renewal.id.in_(list(before)))
        .values(owner_id=owner_id, version=Renewal.version + 1)
        .execution_options(synchronize_session=False)
    )
    record_many(
        session,
        actor,
        [
            ("reassign", "renewal", rid, snap, snap | {"owner_id": owner_id, "version": bump(snap)})
            for rid, snap in before.items()
        ],
    )
    for renewal in renewals:
        session.expire(renewal)
    return len(renewals)
