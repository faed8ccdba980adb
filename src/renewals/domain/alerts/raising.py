"""Raising the scan's alerts for contracts, renewals and clients, one id range at a time.

SQL selects the candidates (the thresholds become date ranges on indexed columns); the pure rules
in `rules` decide what each row means on `as_of`; `store` inserts each alert once under its
dedupe key. Each chunk then resolves its subjects' alerts whose cause is gone (`resolving`).
Invoices have their own chunk in `dunning`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Client, Contract, Renewal
from renewals.domain import money
from renewals.domain.alerts.lifecycle import over_credit_limit
from renewals.domain.alerts.resolving import (
    latest_activity,
    open_balances,
    resolve_client_alerts,
    resolve_contract_alerts,
    resolve_renewal_alerts,
)
from renewals.domain.alerts.rules import (
    NOTICE_LEAD_DAYS,
    RENEWAL_DUE_THRESHOLDS,
    AlertKind,
    AlertSpec,
    date_threshold,
    notice_deadline_alert,
    opt_out_deadline,
    renewal_due_alert,
)
from renewals.domain.alerts.store import alert_row, days_before, first_active, raise_alerts
from renewals.domain.renewals.rules import OPEN_STATUSES

# A lapse is announced if the scan sees it within this many days of the end date (a scan that
# was down for a while still tells), but a book loaded with old lapses is not flooded.
LAPSE_ANNOUNCE_DAYS = 30
# A follow-up date the scan missed (it was down) is still raised for this many days after it,
# unless someone has logged a newer activity on the renewal meanwhile.
FOLLOW_UP_CATCH_UP_DAYS = 7


def scan_contracts(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    """Raise renewal_due and notice_deadline for contracts lo..hi, resolve the moot ones; count both."""
    horizon = as_of + timedelta(days=max(RENEWAL_DUE_THRESHOLDS))
    undecided = or_(Renewal.id.is_(None), Renewal.status.in_(OPEN_STATUSES))
    base = (
        select(
            Contract.id,
            Contract.number,
            Contract.client_id,
            Contract.end_date,
            Contract.notice_period_days,
            Client.owner_id,
        )
        .join(Client, Client.id == Contract.client_id)
        .outerjoin(Renewal, Renewal.contract_id == Contract.id)
        .where(Contract.id.between(lo, hi), Contract.status == "active", undecided)
    )
    rows: list[dict[str, Any]] = []
    for c in session.execute(base.where(Contract.end_date.between(as_of, horizon))):
        spec = renewal_due_alert(c.id, c.end_date, as_of)
        if spec is not None:
            days = (c.end_date - as_of).days
            rows.append(
                alert_row(
                    spec,
                    as_of,
                    assignee_id=c.owner_id,
                    informed_id=None,
                    client_id=c.client_id,
                    message=f"Contract {c.number} ends in {days} days, on {c.end_date.isoformat()}",
                    details={"contract_number": c.number, "end_date": c.end_date.isoformat(), "days_left": days},
                )
            )
    deadline = days_before(Contract.end_date, Contract.notice_period_days)
    notice = base.where(
        Contract.auto_renew.is_(True),
        Contract.end_date >= as_of,
        deadline.between(as_of, as_of + timedelta(days=NOTICE_LEAD_DAYS)),
    )
    for c in session.execute(notice):
        spec = notice_deadline_alert(c.id, c.end_date, c.notice_period_days, as_of)
        if spec is not None:
            opt_out = opt_out_deadline(c.end_date, c.notice_period_days)
            rows.append(
                alert_row(
                    spec,
                    as_of,
                    assignee_id=c.owner_id,
                    informed_id=None,
                    client_id=c.client_id,
                    message=(
                        f"Contract {c.number} renews automatically unless the client opts out by {opt_out.isoformat()}"
                    ),
                    details={
                        "contract_number": c.number,
                        "opt_out_deadline": opt_out.isoformat(),
                        "end_date": c.end_date.isoformat(),
                    },
                )
            )
    raised = raise_alerts(session, rows)
    return {"raised": raised, "resolved": resolve_contract_alerts(session, as_of, lo, hi)}


def scan_renewals(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    """Raise renewal_lapsed and follow_up_due for renewals lo..hi, resolve the moot ones; count both."""
    manager_id = first_active(session, "manager")
    rows: list[dict[str, Any]] = []
    lapsed = session.execute(
        select(
            Renewal.id,
            Renewal.end_date,
            Contract.id.label("contract_id"),
            Contract.number,
            Contract.client_id,
            Client.owner_id,
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Renewal.id.between(lo, hi),
            Renewal.status == "lapsed",
            Renewal.end_date.between(as_of - timedelta(days=LAPSE_ANNOUNCE_DAYS), as_of),
        )
    )
    for r in lapsed:
        rows.append(
            alert_row(
                AlertSpec.of(AlertKind.RENEWAL_LAPSED, r.id),
                as_of,
                assignee_id=r.owner_id,
                informed_id=manager_id,
                client_id=r.client_id,
                message=f"Contract {r.number} ended on {r.end_date.isoformat()} with no renewal decision; it lapsed",
                details={"contract_id": r.contract_id, "contract_number": r.number, "end_date": r.end_date.isoformat()},
            )
        )
    latest = latest_activity(lo, hi)
    follow_ups = session.execute(
        select(
            Activity.id,
            Activity.renewal_id,
            Activity.author_id,
            Activity.next_follow_up_on,
            Activity.kind,
            Contract.number,
            Contract.client_id,
            Client.owner_id,
        )
        .join(latest, and_(latest.c.renewal_id == Activity.renewal_id, latest.c.latest_id == Activity.id))
        .join(Renewal, Renewal.id == Activity.renewal_id)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Renewal.id.between(lo, hi),
            Renewal.status.in_(OPEN_STATUSES),
            Activity.next_follow_up_on.between(as_of - timedelta(days=FOLLOW_UP_CATCH_UP_DAYS), as_of),
        )
    )
    for f in follow_ups:
        if f.next_follow_up_on is None:  # selected by its date
            continue
        rows.append(
            alert_row(
                AlertSpec.of(AlertKind.FOLLOW_UP_DUE, f.renewal_id, date_threshold(f.next_follow_up_on)),
                as_of,
                # An activity logged by the system has no author: the account manager follows up.
                assignee_id=f.author_id if f.author_id is not None else f.owner_id,
                informed_id=None,
                client_id=f.client_id,
                message=f"Follow up on the renewal of contract {f.number} (planned for "
                f"{f.next_follow_up_on.isoformat()} after a {f.kind})",
                details={
                    "activity_id": f.id,
                    "contract_number": f.number,
                    "follow_up_on": f.next_follow_up_on.isoformat(),
                },
            )
        )
    raised = raise_alerts(session, rows)
    return {"raised": raised, "resolved": resolve_renewal_alerts(session, as_of, lo, hi)}


def scan_clients(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    """Raise credit_limit for clients lo..hi over their limit, resolve the moot ones; count both."""
    finance_id = first_active(session, "finance")
    balances = open_balances(as_of, lo, hi)
    over = session.execute(
        select(
            Client.id, Client.name, Client.currency, Client.credit_limit_minor, Client.owner_id, balances.c.open_minor
        )
        .join(balances, balances.c.client_id == Client.id)
        .where(Client.credit_limit_minor > 0, balances.c.open_minor > Client.credit_limit_minor)
    )
    rows = []
    for c in over:
        if not over_credit_limit(int(c.open_minor), c.credit_limit_minor):
            continue
        limit = money.from_minor(c.credit_limit_minor, c.currency)
        balance = money.from_minor(int(c.open_minor), c.currency)
        rows.append(
            alert_row(
                AlertSpec.of(AlertKind.CREDIT_LIMIT, c.id, c.credit_limit_minor),
                as_of,
                assignee_id=finance_id,
                informed_id=c.owner_id,
                client_id=c.id,
                message=f"{c.name} owes {balance} {c.currency}, above its credit limit of {limit} {c.currency}",
                details={
                    "open_balance": format(balance, "f"),
                    "credit_limit": format(limit, "f"),
                    "currency": c.currency,
                },
            )
        )
    raised = raise_alerts(session, rows)
    return {"raised": raised, "resolved": resolve_client_alerts(session, as_of, lo, hi)}
