"""Raising the scan's alerts for contracts, renewals and clients, one id range at a time.

Per rule one INSERT … SELECT: the rule's data (band cut-offs, windows, severities; see `rules`
and `sqlrules`) become conditions on indexed columns, the message and details are built in the
statement, and subjects that already carry the alert are left out (`sqlrules.standing`). Nothing
is shipped to Python but the ids of the new alerts. Each chunk then resolves its subjects'
alerts whose cause is gone (`resolving`). Invoices have their own chunk in `dunning`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, func, literal, select
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Client, Contract, Renewal
from renewals.db.sqlfunc import days_before, days_between, iso_date, yyyymmdd
from renewals.domain.alerts.resolving import (
    latest_activity,
    open_balances,
    resolve_client_alerts,
    resolve_contract_alerts,
    resolve_renewal_alerts,
)
from renewals.domain.alerts.rules import (
    DEFAULT_THRESHOLDS,
    AlertKind,
    Thresholds,
    follow_up_window,
    lapse_window,
    notice_window,
    renewal_due_bands,
    severity,
)
from renewals.domain.alerts.sqlrules import (
    Said,
    alert_columns,
    day,
    json_of,
    money_text,
    renewal_band,
    severity_of,
    standing,
    text_of,
)
from renewals.domain.alerts.store import first_active, raise_selected
from renewals.domain.renewals.rules import OPEN_STATUSES


def scan_contracts(
    session: Session, as_of: date, lo: int, hi: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> dict[str, int]:
    """Raise renewal_due and notice_deadline for contracts lo..hi, resolve the moot ones; count both."""
    raised = raise_selected(session, _renewal_due(as_of, lo, hi, thresholds))
    raised += raise_selected(session, _notice_deadline(as_of, lo, hi, thresholds))
    return {"raised": raised, "resolved": resolve_contract_alerts(session, as_of, lo, hi, thresholds)}


def undecided_contracts(lo: int, hi: int) -> list[ColumnElement[bool]]:
    """Active contracts lo..hi whose renewal, if there is one, carries no decision yet."""
    decided = select(Renewal.id).where(Renewal.contract_id == Contract.id, Renewal.status.not_in(OPEN_STATUSES))
    return [Contract.id.between(lo, hi), Contract.status == "active", ~decided.exists()]


def _contract_alert(
    kind: AlertKind,
    as_of: date,
    lo: int,
    hi: int,
    said: Said,
    *,
    where: tuple[ColumnElement[bool], ...],
) -> Any:
    """The new alerts of `kind` on the undecided contracts lo..hi that `where` selects, for their
    account manager."""
    return (
        select(
            *alert_columns(
                kind,
                as_of,
                said,
                subject_id=Contract.id,
                assignee_id=Client.owner_id,
                informed_id=None,
                client_id=Contract.client_id,
            )
        )
        .join(Client, Client.id == Contract.client_id)
        .where(*undecided_contracts(lo, hi), *where, ~standing(kind, Contract.id, said.threshold))
        .order_by(Contract.id)
    )


def _renewal_due(as_of: date, lo: int, hi: int, thresholds: Thresholds) -> Any:
    """renewal_due: the contract's nearest band crossed (`rules.renewal_due_threshold`)."""
    kind = AlertKind.RENEWAL_DUE
    band = renewal_band(Contract.end_date, as_of, thresholds.renewal_due)
    days = days_between(Contract.end_date, day(as_of))
    end = iso_date(Contract.end_date)
    farthest = renewal_due_bands(as_of, thresholds.renewal_due)[-1][0]
    said = Said(
        threshold=band,
        severity=severity_of(kind, band, thresholds.renewal_due),
        message=text_of("Contract ", Contract.number, " ends in ", days, " days, on ", end),
        details=json_of("contract_number", Contract.number, "end_date", end, "days_left", days),
    )
    return _contract_alert(kind, as_of, lo, hi, said, where=(Contract.end_date.between(day(as_of), day(farthest)),))


def _notice_deadline(as_of: date, lo: int, hi: int, thresholds: Thresholds) -> Any:
    """notice_deadline: an auto-renew contract's opt-out deadline within the lead days
    (`rules.notice_deadline_due`), keyed by the lead days."""
    kind = AlertKind.NOTICE_DEADLINE
    first, last = notice_window(as_of, thresholds.notice_lead_days)
    opt_out = days_before(Contract.end_date, Contract.notice_period_days)
    said = Said(
        threshold=literal(thresholds.notice_lead_days, BigInteger),
        severity=severity(kind).value,
        message=text_of(
            "Contract ", Contract.number, " renews automatically unless the client opts out by ", iso_date(opt_out)
        ),
        details=json_of(
            "contract_number",
            Contract.number,
            "opt_out_deadline",
            iso_date(opt_out),
            "end_date",
            iso_date(Contract.end_date),
        ),
    )
    return _contract_alert(
        kind,
        as_of,
        lo,
        hi,
        said,
        where=(
            Contract.auto_renew.is_(True),
            Contract.end_date >= day(as_of),
            opt_out.between(day(first), day(last)),
        ),
    )


def scan_renewals(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    """Raise renewal_lapsed and follow_up_due for renewals lo..hi, resolve the moot ones; count both."""
    manager_id = first_active(session, "manager")
    raised = raise_selected(session, _renewal_lapsed(as_of, lo, hi, manager_id))
    raised += raise_selected(session, _follow_up_due(as_of, lo, hi))
    return {"raised": raised, "resolved": resolve_renewal_alerts(session, as_of, lo, hi)}


def _renewal_lapsed(as_of: date, lo: int, hi: int, manager_id: int | None) -> Any:
    """renewal_lapsed: a renewal that lapsed within the announcement window, once."""
    kind = AlertKind.RENEWAL_LAPSED
    first, last = lapse_window(as_of)
    end = iso_date(Renewal.end_date)
    return (
        select(
            *alert_columns(
                kind,
                as_of,
                Said(
                    threshold=None,
                    severity=severity(kind).value,
                    message=text_of(
                        "Contract ", Contract.number, " ended on ", end, " with no renewal decision; it lapsed"
                    ),
                    details=json_of("contract_id", Contract.id, "contract_number", Contract.number, "end_date", end),
                ),
                subject_id=Renewal.id,
                assignee_id=Client.owner_id,
                informed_id=manager_id,
                client_id=Contract.client_id,
            )
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Renewal.id.between(lo, hi),
            Renewal.status == "lapsed",
            Renewal.end_date.between(day(first), day(last)),
            ~standing(kind, Renewal.id, None),
        )
        .order_by(Renewal.id)
    )


def _follow_up_due(as_of: date, lo: int, hi: int) -> Any:
    """follow_up_due: the newest activity of an open renewal planned a follow-up within the
    window, keyed by its date; an activity logged by the system (no author) goes to the account
    manager."""
    kind = AlertKind.FOLLOW_UP_DUE
    first, last = follow_up_window(as_of)
    latest = latest_activity(lo, hi)
    threshold = yyyymmdd(Activity.next_follow_up_on)
    planned = iso_date(Activity.next_follow_up_on)
    return (
        select(
            *alert_columns(
                kind,
                as_of,
                Said(
                    threshold=threshold,
                    severity=severity(kind).value,
                    message=text_of(
                        "Follow up on the renewal of contract ",
                        Contract.number,
                        " (planned for ",
                        planned,
                        " after a ",
                        Activity.kind,
                        ")",
                    ),
                    details=json_of(
                        "activity_id", Activity.id, "contract_number", Contract.number, "follow_up_on", planned
                    ),
                ),
                subject_id=Activity.renewal_id,
                assignee_id=func.coalesce(Activity.author_id, Client.owner_id),
                informed_id=None,
                client_id=Contract.client_id,
            )
        )
        .join(latest, and_(latest.c.renewal_id == Activity.renewal_id, latest.c.latest_id == Activity.id))
        .join(Renewal, Renewal.id == Activity.renewal_id)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Renewal.id.between(lo, hi),
            Renewal.status.in_(OPEN_STATUSES),
            Activity.next_follow_up_on.between(day(first), day(last)),
            ~standing(kind, Activity.renewal_id, threshold),
        )
        .order_by(Activity.renewal_id)
    )


def scan_clients(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    """Raise credit_limit for clients lo..hi over their limit, resolve the moot ones; count both."""
    finance_id = first_active(session, "finance")
    raised = raise_selected(session, _credit_limit(as_of, lo, hi, finance_id))
    return {"raised": raised, "resolved": resolve_client_alerts(session, as_of, lo, hi)}


def _credit_limit(as_of: date, lo: int, hi: int, finance_id: int | None) -> Any:
    """credit_limit: the open balance above a set limit (`lifecycle.over_credit_limit`), keyed
    by the limit and numbered by episode."""
    kind = AlertKind.CREDIT_LIMIT
    balances = open_balances(as_of, lo, hi)
    balance = money_text(balances.c.open_minor, Client.currency)
    limit = money_text(Client.credit_limit_minor, Client.currency)
    return (
        select(
            *alert_columns(
                kind,
                as_of,
                Said(
                    threshold=Client.credit_limit_minor,
                    severity=severity(kind).value,
                    message=text_of(
                        Client.name,
                        " owes ",
                        balance,
                        " ",
                        Client.currency,
                        ", above its credit limit of ",
                        limit,
                        " ",
                        Client.currency,
                    ),
                    details=json_of("open_balance", balance, "credit_limit", limit, "currency", Client.currency),
                ),
                subject_id=Client.id,
                assignee_id=finance_id,
                informed_id=Client.owner_id,
                client_id=Client.id,
            )
        )
        .join(balances, balances.c.client_id == Client.id)
        .where(
            Client.credit_limit_minor > 0,
            balances.c.open_minor > Client.credit_limit_minor,
            ~standing(kind, Client.id, Client.credit_limit_minor),
        )
        .order_by(Client.id)
    )
