"""Reading renewals: the worklist (by end date or by risk) and one renewal with its activities,
each with its client's receivables figures (from `receivables.queries`) and its risk score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Activity, Client, Contract, Renewal, User
from renewals.domain import money
from renewals.domain.access.rules import can_see_client, scope_clients
from renewals.domain.pagination import check_window
from renewals.domain.receivables.queries import Balances, balances_by_client
from renewals.domain.renewals import rules
from renewals.domain.renewals.records import activity_out
from renewals.domain.renewals.rules import OPEN_STATUSES, RenewalStatus
from renewals.domain.renewals.schemas import RenewalOut
from renewals.errors import NotFound, ValidationFailed


@dataclass(frozen=True, slots=True)
class _Row:
    renewal: Renewal
    contract_number: str
    currency: str
    monthly_value_minor: int
    auto_renew: bool
    client_id: int
    client_name: str


def _base_select() -> Select[Any]:
    stmt = (
        select(
            Renewal,
            Contract.number,
            Contract.currency,
            Contract.monthly_value_minor,
            Contract.auto_renew,
            Client.id,
            Client.name,
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
    )
    return cast("Select[Any]", stmt)


def _rows(result: Iterable[Any]) -> list[_Row]:
    return [_Row(*row) for row in result]


def get_visible_renewal(
    session: Session, user: User, renewal_id: int, *, for_update: bool = False
) -> tuple[Renewal, Contract, Client]:
    """Load a renewal with its contract and client. Raises NotFound unless the user may see the client."""
    stmt = (
        select(Renewal, Contract, Client)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(Renewal.id == renewal_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Renewal)
    row = session.execute(stmt).first()
    if row is None or not can_see_client(user, row[2]):
        raise NotFound("renewal", renewal_id)
    return row[0], row[1], row[2]


def _last_activity(session: Session, renewal_ids: Sequence[int]) -> dict[int, datetime]:
    if not renewal_ids:
        return {}
    stmt = (
        select(Activity.renewal_id, func.max(Activity.at))
        .where(Activity.renewal_id.in_(renewal_ids))
        .group_by(Activity.renewal_id)
    )
    out: dict[int, datetime] = {}
    for renewal_id, at in session.execute(stmt):
        if at is not None:
            out[renewal_id] = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return out


def _risk(row: _Row, rec: Balances, dunning: int, last_at: datetime | None, as_of: date, tz: str) -> int:
    renewal = row.renewal
    if renewal.status not in OPEN_STATUSES:
        # A decided renewal carries no renewal risk any more: it must not crowd the top of the list.
        return 0
    ratio = rules.overdue_ratio(
        money.from_minor(rec.overdue_minor, row.currency), money.from_minor(row.monthly_value_minor, row.currency)
    )
    silent = None if last_at is None else (as_of - last_at.astimezone(ZoneInfo(tz)).date()).days
    return rules.risk_score((renewal.end_date - as_of).days, ratio, dunning, silent)


def _outs(
    session: Session, rows: Sequence[_Row], as_of: date, tz: str, *, with_activities: bool = False
) -> list[RenewalOut]:
    balances, dunning = balances_by_client(session, ((r.client_id, r.currency) for r in rows), as_of)
    last = _last_activity(session, [r.renewal.id for r in rows])
    outs = []
    for row in rows:
        renewal = row.renewal
        rec = balances.get((row.client_id, row.currency), Balances())
        level = dunning.get(row.client_id, 0)
        outs.append(
            RenewalOut(
                id=renewal.id,
                contract_id=renewal.contract_id,
                owner_id=renewal.owner_id,
                status=renewal.status,
                end_date=renewal.end_date,
                next_action_date=renewal.next_action_date,
                risk_score=_risk(row, rec, level, last.get(renewal.id), as_of, tz),
                open_balance=money.from_minor(rec.open_minor, row.currency),
                overdue_balance=money.from_minor(rec.overdue_minor, row.currency),
                dunning_level=level,
                activities=[activity_out(a) for a in renewal.activities] if with_activities else [],
                client_id=row.client_id,
                client_name=row.client_name,
                contract_number=row.contract_number,
                currency=row.currency,
                monthly_value=money.from_minor(row.monthly_value_minor, row.currency),
                auto_renew=row.auto_renew,
                days_left=(renewal.end_date - as_of).days,
                last_activity_at=last.get(renewal.id),
                sent_for_signature_on=renewal.sent_for_signature_on,
                signed_on=renewal.signed_on,
                signed_by=renewal.signed_by,
                seal_received=renewal.seal_received,
                successor_contract_id=renewal.successor_contract_id,
                lost_reason=renewal.lost_reason,
                decided_on=renewal.decided_on,
                override_reason=renewal.override_reason,
                version=renewal.version,
                allowed_transitions=[s.value for s in rules.allowed_transitions(renewal.status)],
            )
        )
    return outs


def renewal_out(session: Session, user: User, renewal_id: int, as_of: date, tz: str = "UTC") -> RenewalOut:
    """Return one renewal with its activities and receivables figures. Raises NotFound."""
    get_visible_renewal(session, user, renewal_id)
    rows = _rows(
        session.execute(_base_select().where(Renewal.id == renewal_id).options(selectinload(Renewal.activities)))
    )
    return _outs(session, rows, as_of, tz, with_activities=True)[0]


def parse_statuses(values: Iterable[str] | None) -> list[str]:
    """Accept `status=a&status=b` and `status=a,b`. Raises ValidationFailed (query `status`)."""
    out: list[str] = []
    for value in values or ():
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            try:
                out.append(RenewalStatus(name).value)
            except ValueError:
                known = ", ".join(s.value for s in RenewalStatus)
                raise ValidationFailed(
                    "status", f"unknown renewal status {name!r}; one of {known}", source="query"
                ) from None
    return out


def list_renewals(
    session: Session,
    user: User,
    *,
    as_of: date,
    limit: int = 50,
    offset: int = 0,
    owner_id: int | None = None,
    statuses: Sequence[str] = (),
    ending_within_days: int | None = None,
    client_id: int | None = None,
    sort: str = "end_date",
    tz: str = "UTC",
) -> tuple[list[RenewalOut], int]:
    """List the worklist the user may see, by end date or by risk (highest first).

    An account manager only ever sees renewals of their own clients, whatever the filters say.
    Raises ValidationFailed naming `limit`, `offset`, `status`, `ending_within_days` or `sort`.
    """
    check_window(limit, offset)
    if sort not in {"end_date", "risk"}:
        raise ValidationFailed("sort", "one of end_date, risk", source="query")
    stmt = scope_clients(_base_select(), user)
    if owner_id is not None:
        stmt = stmt.where(Renewal.owner_id == owner_id)
    if statuses:
        stmt = stmt.where(Renewal.status.in_(statuses))
    if ending_within_days is not None:
        if not 0 <= ending_within_days <= 3660:
            raise ValidationFailed("ending_within_days", "must be between 0 and 3660 (ten years)", source="query")
        stmt = stmt.where(Renewal.end_date >= as_of, Renewal.end_date <= as_of + timedelta(days=ending_within_days))
    if client_id is not None:
        stmt = stmt.where(Contract.client_id == client_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    ordered = stmt.order_by(Renewal.end_date, Renewal.id)
    if sort == "end_date":
        rows = _rows(session.execute(ordered.limit(limit).offset(offset)))
        return _outs(session, rows, as_of, tz), total
    # Risk mixes receivables, activity and dates through the pure rule: score the filtered set
    # (one grouped query each for balances and last activities), then page in memory.
    scored = _outs(session, _rows(session.execute(ordered)), as_of, tz)
    scored.sort(key=lambda r: (-r.risk_score, r.end_date, r.id))
    return scored[offset : offset + limit], total
