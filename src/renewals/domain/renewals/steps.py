"""The renewal steps of the daily scan: auto-renew, lapse and expire, churn. Set-based, in chunks
of ids, idempotent; `renewals.domain.daily.scan` runs them in order.

Each step moves rows with a handful of statements per chunk and writes one audit row (and, for
renewals, one system note) per row moved. Nothing here reads the clock or commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, and_, exists, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Client, Contract, ContractLine, Renewal, User
from renewals.domain.audit import AuditRow, record_many
from renewals.domain.clients.service import snapshot as client_snapshot
from renewals.domain.contracts.service import snapshot as contract_snapshot
from renewals.domain.renewals import rules
from renewals.domain.renewals.records import activity_row, as_int, bump, insert_activities, open_renewals, snapshot
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS, OPEN_STATUSES, RenewalStatus
from renewals.domain.renewals.successors import line_values, successor_numbers, successor_terms, successor_values

CHUNK = 500


def _due_chunks(
    session: Session, as_of: date, outcome: RenewalStatus, id_range: tuple[int, int] | None, chunk: int
) -> Iterable[list[tuple[int, int]]]:
    """Yield (renewal id, contract id) chunks the scan must close as `outcome`, locking them.

    On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so a second scan running at the same
    time passes over them instead of renewing twice; SQLite serialises writers anyway.
    """
    after = 0
    while True:
        stmt = (
            select(
                Renewal.id, Renewal.contract_id, Renewal.status, Contract.end_date, Contract.auto_renew, Contract.status
            )
            .join(Contract, Contract.id == Renewal.contract_id)
            .where(
                Renewal.status.in_(OPEN_STATUSES),
                Contract.end_date < as_of,
                Renewal.id > after,
                Contract.status.in_(("active", "terminated")),
            )
        )
        if outcome == RenewalStatus.AUTO_RENEWED:
            stmt = stmt.where(Contract.auto_renew.is_(True), Contract.status == "active")
        else:
            stmt = stmt.where(or_(Contract.auto_renew.is_(False), Contract.status == "terminated"))
        if id_range is not None:
            stmt = stmt.where(Contract.id.between(*id_range))
        rows = session.execute(
            stmt.order_by(Renewal.id).limit(chunk).with_for_update(of=Renewal, skip_locked=True)
        ).all()
        if not rows:
            return
        after = rows[-1][0]
        picked = [
            (renewal_id, contract_id)
            for renewal_id, contract_id, status, end_date, auto_renew, contract_status in rows
            if rules.scan_outcome(
                status,
                end_date=end_date,
                as_of=as_of,
                auto_renew=auto_renew,
                terminated=contract_status == "terminated",
            )
            == outcome
        ]
        if picked:
            yield picked


def auto_renew_due(
    session: Session,
    as_of: date,
    actor: User | None = None,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    id_range: tuple[int, int] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Renew every auto-renew contract whose end date has passed and whose renewal is still open.

    Each gets a successor for its renewal term with its uplift; the renewal becomes
    `auto_renewed` and the contract `renewed`, exactly once: the renewal leaves the open states,
    and the successor's predecessor_id is unique. Work goes in chunks of ids with a handful of
    statements per chunk. Returns the number of contracts renewed.
    """
    renewed = 0
    for pairs in _due_chunks(session, as_of, RenewalStatus.AUTO_RENEWED, id_range, chunk):
        renewed += _auto_renew_chunk(session, pairs, as_of, actor, horizon_days)
    return renewed


def _auto_renew_chunk(
    session: Session, pairs: Sequence[tuple[int, int]], as_of: date, actor: User | None, horizon_days: int
) -> int:
    renewal_ids = [r for r, _ in pairs]
    contract_ids = [c for _, c in pairs]
    contracts = list(
        session.scalars(select(Contract).where(Contract.id.in_(contract_ids)).options(selectinload(Contract.lines)))
    )
    renewals = {r.contract_id: r for r in session.scalars(select(Renewal).where(Renewal.id.in_(renewal_ids)))}
    numbers = successor_numbers(session, contracts)
    terms = {c.id: successor_terms(c, None) for c in contracts}
    # One multi-row INSERT … RETURNING for the successors, one executemany for their lines: the
    # ORM would insert row by row on SQLite, which cannot match returned ids to rows otherwise.
    contract_table = cast(Table, Contract.__table__)
    successor_of: dict[int, int] = {
        predecessor_id: successor_id
        for predecessor_id, successor_id in session.execute(
            insert(contract_table)
            .values([successor_values(c, terms[c.id], numbers[c.id]) for c in contracts])
            .returning(contract_table.c.predecessor_id, contract_table.c.id)
        ).all()
    }
    session.execute(
        insert(cast(Table, ContractLine.__table__)),
        [
            {"contract_id": successor_of[c.id], **values}
            for c in contracts
            for values in line_values(terms[c.id], c.currency)
        ],
    )
    contract_before = {c.id: contract_snapshot(c) for c in contracts}
    renewal_before = {cid: snapshot(r) for cid, r in renewals.items()}
    session.execute(
        update(Contract)
        .where(Contract.id.in_(contract_ids), Contract.status == "active")
        .values(status="renewed", version=Contract.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Renewal)
        .where(Renewal.id.in_(renewal_ids), Renewal.status.in_(OPEN_STATUSES))
        .values(
            status=RenewalStatus.AUTO_RENEWED.value,
            decided_on=as_of,
            next_action_date=None,
            successor_contract_id=select(Contract.id)
            .where(Contract.predecessor_id == Renewal.contract_id)
            .scalar_subquery(),
            version=Renewal.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    for obj in [*contracts, *renewals.values()]:
        session.expire(obj)
    successors = {
        s.predecessor_id: s
        for s in session.scalars(
            select(Contract).where(Contract.id.in_(list(successor_of.values()))).options(selectinload(Contract.lines))
        )
    }
    audit: list[AuditRow] = []
    activities: list[dict[str, Any]] = []
    for old_id, before in contract_before.items():
        successor = successors[old_id]
        r_before = renewal_before[old_id]
        audit += [
            ("create", "contract", successor.id, None, contract_snapshot(successor)),
            ("renew", "contract", old_id, before, before | {"status": "renewed", "version": bump(before)}),
            (
                "transition",
                "renewal",
                as_int(r_before["id"]),
                r_before,
                r_before
                | {
                    "status": RenewalStatus.AUTO_RENEWED.value,
                    "decided_on": as_of,
                    "next_action_date": None,
                    "successor_contract_id": successor.id,
                    "version": bump(r_before),
                },
            ),
        ]
        activities.append(
            activity_row(
                as_int(r_before["id"]),
                actor,
                f"{r_before['status']} → auto_renewed: renewed as {successor.number} from "
                f"{successor.start_date.isoformat()} to {successor.end_date.isoformat()}",
            )
        )
    record_many(session, actor, audit)
    insert_activities(session, activities)
    open_renewals(session, as_of, horizon_days, contract_ids=list(successor_of.values()))
    return len(successor_of)


def lapse_due(
    session: Session,
    as_of: date,
    actor: User | None = None,
    *,
    id_range: tuple[int, int] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Close undecided renewals of ended non-auto-renew (or terminated) contracts as `lapsed`.

    Their active contracts become `expired`; so do active contracts past their end whose renewal
    was `lost`. Returns the number of renewals lapsed.
    """
    lapsed = 0
    for pairs in _due_chunks(session, as_of, RenewalStatus.LAPSED, id_range, chunk):
        lapsed += _lapse_chunk(session, pairs, as_of, actor)
    _expire_lost(session, as_of, actor, id_range, chunk)
    return lapsed


def _move_status(
    session: Session,
    actor: User | None,
    model: Any,
    rows: Sequence[Any],
    snapshot: Callable[[Any], dict[str, Any]],
    from_status: str,
    to_status: str,
    action: str,
    entity_type: str,
) -> int:
    """Move rows still in `from_status` to `to_status` in one UPDATE, with one audit row each.

    The version bump keeps optimistic concurrency honest for anyone holding the old version.
    Return how many rows the UPDATE changed.
    """
    before = {row.id: snapshot(row) for row in rows}
    result = session.execute(
        update(model)
        .where(model.id.in_(list(before)), model.status == from_status)
        .values(status=to_status, version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    record_many(
        session,
        actor,
        [
            (action, entity_type, row_id, snap, snap | {"status": to_status, "version": bump(snap)})
            for row_id, snap in before.items()
        ],
    )
    for row in rows:
        session.expire(row)
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def _expire_contracts(session: Session, contract_ids: Sequence[int], actor: User | None) -> None:
    contracts = list(
        session.scalars(
            select(Contract)
            .where(Contract.id.in_(contract_ids), Contract.status == "active")
            .options(selectinload(Contract.lines))
        )
    )
    if not contracts:
        return
    _move_status(session, actor, Contract, contracts, contract_snapshot, "active", "expired", "expire", "contract")


def _lapse_chunk(session: Session, pairs: Sequence[tuple[int, int]], as_of: date, actor: User | None) -> int:
    renewal_ids = [r for r, _ in pairs]
    renewals = list(session.scalars(select(Renewal).where(Renewal.id.in_(renewal_ids))))
    before = {r.id: snapshot(r) for r in renewals}
    session.execute(
        update(Renewal)
        .where(Renewal.id.in_(renewal_ids), Renewal.status.in_(OPEN_STATUSES))
        .values(
            status=RenewalStatus.LAPSED.value,
            decided_on=as_of,
            next_action_date=None,
            version=Renewal.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    record_many(
        session,
        actor,
        [
            (
                "transition",
                "renewal",
                rid,
                snap,
                snap
                | {
                    "status": RenewalStatus.LAPSED.value,
                    "decided_on": as_of,
                    "next_action_date": None,
                    "version": bump(snap),
                },
            )
            for rid, snap in before.items()
        ],
    )
    insert_activities(
        session,
        [
            activity_row(
                r.id,
                actor,
                f"{before[r.id]['status']} → lapsed: the term ended on {r.end_date.isoformat()} with no decision",
            )
            for r in renewals
        ],
    )
    for renewal in renewals:
        session.expire(renewal)
    _expire_contracts(session, [c for _, c in pairs], actor)
    return len(renewals)


def _expire_lost(
    session: Session, as_of: date, actor: User | None, id_range: tuple[int, int] | None, chunk: int
) -> None:
    after = 0
    while True:
        stmt = (
            select(Contract.id)
            .join(Renewal, Renewal.contract_id == Contract.id)
            .where(
                Contract.status == "active",
                Contract.end_date < as_of,
                Contract.id > after,
                Renewal.status.in_((RenewalStatus.LOST.value, RenewalStatus.LAPSED.value)),
            )
        )
        if id_range is not None:
            stmt = stmt.where(Contract.id.between(*id_range))
        ids = list(session.scalars(stmt.order_by(Contract.id).limit(chunk)))
        if not ids:
            return
        after = ids[-1]
        _expire_contracts(session, ids, actor)
        session.flush()


def mark_churned(
    session: Session,
    as_of: date,
    actor: User | None = None,
    *,
    client_id_range: tuple[int, int] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Move active clients with no live contract left, and at least one that ended, to `churned`.

    A contract is live while active, or terminated with an effective date not yet passed. The
    churned clients are the win-back list (`GET /clients?status=churned`); a new active contract
    makes a client active again. Returns the number of clients churned.
    """
    live = exists().where(
        Contract.client_id == Client.id,
        or_(Contract.status == "active", and_(Contract.status == "terminated", Contract.terminated_on >= as_of)),
    )
    ended = exists().where(Contract.client_id == Client.id, Contract.status.in_(("expired", "terminated")))
    churned = 0
    after = 0
    while True:
        stmt = select(Client).where(Client.status == "active", ~live, ended, Client.id > after)
        if client_id_range is not None:
            stmt = stmt.where(Client.id.between(*client_id_range))
        clients = list(session.scalars(stmt.order_by(Client.id).limit(chunk)))
        if not clients:
            return churned
        after = clients[-1].id
        churned += _move_status(
            session, actor, Client, clients, client_snapshot, "active", "churned", "churn", "client"
        )
