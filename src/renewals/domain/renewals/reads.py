"""Reading renewals: the worklist (by end date or by stored risk) and one renewal with its
activities, each with its client's receivables figures and its risk score.

A page is two statements whatever the book's size: the page's renewal ids in order (an index
scan: `(end_date, id)`, or `(risk_score desc, end_date, id)` kept by `renewals.risk`), then
those rows with their contract, client, receivables and last activity joined as correlated
subqueries; and the exact total, counted over the renewals table alone unless a filter needs
the contract or the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Activity, Client, Contract, Invoice, Renewal, User
from renewals.domain import money
from renewals.domain.access.rules import can_see_client, sees_everything
from renewals.domain.pagination import check_window
from renewals.domain.receivables.queries import unpaid
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
    open_minor: int | None
    overdue_minor: int | None
    dunning_level: int | None
    last_activity_at: datetime | None


def _receivables(as_of: date) -> list[ColumnElement[Any]]:
    """The client's open and overdue balance in the contract's currency, its highest dunning
    level and the renewal's last activity, as subqueries correlated with the row."""
    mine = (Invoice.client_id == Contract.client_id, unpaid())
    same_currency = (*mine, Invoice.currency == Contract.currency)
    return [
        select(func.sum(Invoice.balance_minor)).where(*same_currency).scalar_subquery(),
        select(func.sum(Invoice.balance_minor)).where(*same_currency, Invoice.due_date < as_of).scalar_subquery(),
        select(func.max(Invoice.dunning_level)).where(*mine).scalar_subquery(),
        select(func.max(Activity.at)).where(Activity.renewal_id == Renewal.id).scalar_subquery(),
    ]


def _page_select(as_of: date) -> Select[Any]:
    stmt = (
        select(
            Renewal,
            Contract.number,
            Contract.currency,
            Contract.monthly_value_minor,
            Contract.auto_renew,
            Client.id,
            Client.name,
            *_receivables(as_of),
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


def _outs(rows: Sequence[_Row], as_of: date, *, with_activities: bool = False) -> list[RenewalOut]:
    outs = []
    for row in rows:
        renewal = row.renewal
        last_at = row.last_activity_at
        outs.append(
            RenewalOut(
                id=renewal.id,
                contract_id=renewal.contract_id,
                owner_id=renewal.owner_id,
                status=renewal.status,
                end_date=renewal.end_date,
                next_action_date=renewal.next_action_date,
                risk_score=renewal.risk_score,
                open_balance=money.from_minor(int(row.open_minor or 0), row.currency),
                overdue_balance=money.from_minor(int(row.overdue_minor or 0), row.currency),
                dunning_level=int(row.dunning_level or 0),
                activities=[activity_out(a) for a in renewal.activities] if with_activities else [],
                client_id=row.client_id,
                client_name=row.client_name,
                contract_number=row.contract_number,
                currency=row.currency,
                monthly_value=money.from_minor(row.monthly_value_minor, row.currency),
                auto_renew=row.auto_renew,
                days_left=(renewal.end_date - as_of).days,
                last_activity_at=last_at,
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


def renewal_out(session: Session, user: User, renewal_id: int, as_of: date) -> RenewalOut:
    """Return one renewal with its activities and receivables figures. Raises NotFound."""
    get_visible_renewal(session, user, renewal_id)
    stmt = _page_select(as_of).where(Renewal.id == renewal_id).options(selectinload(Renewal.activities))
    return _outs(_rows(session.execute(stmt)), as_of, with_activities=True)[0]


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


def _own_clients(user: User, *, open_only: bool) -> list[ColumnElement[bool]]:
    """The rule of `scope_clients` (the client's owner is the user) on the renewals alone, so that
    the count and the page's ids need no join.

    An open renewal's owner is its client's owner (`records.open_renewals` and
    `hand_over_renewals` keep it so), so open renewals are found by the owner's index and each
    one's client is still checked; a decided renewal keeps the owner who decided it, so any other
    selection takes the renewals of the user's clients' contracts (a few thousand at any size
    of the book).
    """
    if open_only:
        client_owned = (
            select(Contract.id)
            .join(Client, Client.id == Contract.client_id)
            .where(Contract.id == Renewal.contract_id, Client.owner_id == user.id)
            .exists()
        )
        return [Renewal.owner_id == user.id, client_owned]
    owned = select(Contract.id).join(Client, Client.id == Contract.client_id).where(Client.owner_id == user.id)
    return [Renewal.contract_id.in_(owned)]


_ORDERS = {
    "end_date": (Renewal.end_date, Renewal.id),
    "risk": (Renewal.risk_score.desc(), Renewal.end_date, Renewal.id),
}


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
) -> tuple[list[RenewalOut], int]:
    """List the worklist the user may see, by end date or by risk (highest first, then by end date).

    The risk order is the stored score (`renewals.risk`: as of the day's scan, or of the last event
    that changed it); the figures shown are as of `as_of`. An account manager only ever sees
    renewals of their own clients, whatever the filters say. Raises ValidationFailed naming
    `limit`, `offset`, `status`, `ending_within_days` or `sort`.
    """
    check_window(limit, offset)
    if sort not in _ORDERS:
        raise ValidationFailed("sort", "one of end_date, risk", source="query")
    conditions: list[ColumnElement[bool]] = []
    if owner_id is not None:
        conditions.append(Renewal.owner_id == owner_id)
    if statuses:
        conditions.append(Renewal.status.in_(statuses))
    if ending_within_days is not None:
        if not 0 <= ending_within_days <= 3660:
            raise ValidationFailed("ending_within_days", "must be between 0 and 3660 (ten years)", source="query")
        conditions += [Renewal.end_date >= as_of, Renewal.end_date <= as_of + timedelta(days=ending_within_days)]
    if client_id is not None:
        conditions.append(Renewal.contract_id.in_(select(Contract.id).where(Contract.client_id == client_id)))
    if not sees_everything(user):
        conditions += _own_clients(user, open_only=bool(statuses) and set(statuses) <= set(OPEN_STATUSES))

    def visible(stmt: Select[Any]) -> Select[Any]:
        return stmt.where(*conditions)

    total = session.scalar(visible(select(func.count()).select_from(Renewal))) or 0
    order = _ORDERS[sort]
    page = visible(select(Renewal.id)).order_by(*order).limit(limit).offset(offset).subquery("page")
    rows = _rows(session.execute(_page_select(as_of).join(page, page.c.id == Renewal.id).order_by(*order)))
    return _outs(rows, as_of), total
